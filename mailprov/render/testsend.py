"""`mailprov test-send` as text and JSON: each step with its time, the advice on failure,
and for `--all` a table of every user. Reports hold no password (mailprov.smtp.report)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mailprov.i18n import _, ngettext
from mailprov.render.values import show
from mailprov.smtp.report import SendReport
from mailprov.smtp.text import format_report

_TLS = {"starttls": "STARTTLS", "implicit": "TLS", "none": "-"}


def render_report(report: SendReport, *, debug: bool = False) -> str:
    """One user's check: the headline, every step with its time, then what went wrong,
    the advice, and with `debug` the redacted SMTP transcript."""
    lines = format_report(report)
    if debug and report.transcript:
        lines += ["", _("SMTP transcript (passwords masked):"),
                  *(f"  {line}" for line in report.transcript)]
    return "\n".join(lines) + "\n"


def _result(report: SendReport) -> str:
    if report.failure is None:
        return _("message accepted") if report.sent else _("connection and login OK")
    return _("failed at {step}: {reason}").format(step=report.failure.step,
                                                  reason=report.failure.reason)


def render_table(reports: Sequence[SendReport], *, debug: bool = False) -> str:
    """`--all`: one line per user, then every failure with its advice, then a summary."""
    header = (_("USER"), _("SERVER"), _("TLS"), _("RESULT"), _("TIME"))
    rows = [(show(r.user_code), f"{show(r.server)}:{r.port}", _TLS.get(r.tls, r.tls),
             _result(r), f"{r.total_ms:.0f} ms") for r in reports]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in (header, *rows)]
    failed = [r for r in reports if not r.ok]
    for report in failed:
        lines += ["", *format_report(report, steps=debug)]
        if debug and report.transcript:
            lines += [f"  {line}" for line in report.transcript]
    lines.append("")
    lines.append(ngettext("{count} user checked: {ok} passed, {failed} failed.",
                          "{count} users checked: {ok} passed, {failed} failed.",
                          len(reports)).format(count=len(reports),
                                               ok=len(reports) - len(failed),
                                               failed=len(failed)))
    return "\n".join(lines) + "\n"


def render_json(target: str, reports: Sequence[SendReport]) -> str:
    """The reports as JSON: `{"target", "ok", "results": [report, ...]}`, stable keys."""
    data = {"target": target, "ok": all(r.ok for r in reports),
            "results": [r.to_json() for r in reports]}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

"""A report as lines for a terminal: the steps with their times, then the failure and advice."""

from __future__ import annotations

from mailprov.i18n import N_, _
from mailprov.smtp.report import SendReport

_TLS = {"starttls": "STARTTLS", "implicit": N_("implicit TLS"), "none": N_("no TLS")}


def headline(report: SendReport) -> str:
    """One line: who, where, how, and whether it worked."""
    who = report.user_code + (f" ({report.user_name})" if report.user_name else "")
    where = f"{report.server}:{report.port} {_(_TLS.get(report.tls, report.tls))}"
    if report.ok:
        status = _("message accepted") if report.sent else _("connection and login OK")
    else:
        assert report.failure is not None
        status = _("failed at {step}").format(step=report.failure.step)
    return f"{who}: {where}: {status}" if who else f"{where}: {status}"


def format_report(report: SendReport, *, steps: bool = True) -> list[str]:
    """The headline, the steps (unless `steps` is False), the failure, advice and notices."""
    lines = [headline(report)]
    if steps:
        for step in report.steps:
            said = " ".join(part for part in (str(step.code or ""), step.reply) if part)
            extra = " | ".join(part for part in (step.detail, said) if part)
            lines.append(f"  {step.outcome:<7} {step.name:<9} {step.ms:8.1f} ms  {extra}"
                         .rstrip())
    failure = report.failure
    if failure is not None:
        said = failure.text or failure.exception or ""
        if failure.code is not None:
            said = f"{failure.code} {said}"
        lines.append(_("Error: {reply}").format(reply=said))
    if report.advice:
        lines.append(_("Advice: {advice}").format(advice=report.advice))
    lines.extend(_("Note: {message}").format(message=n.message) for n in report.notices)
    if report.message_id and report.sent:
        lines.append(_("Message-ID: {id}").format(id=report.message_id))
    return lines

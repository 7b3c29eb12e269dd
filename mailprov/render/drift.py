"""Drift reports as text (terminal, CI log), Markdown (an issue body) and HTML, worded as
drift: what maestro* holds against what the files say, and the apply that last set the
files' value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mailprov.i18n import _, ngettext
from mailprov.plan.drift import DriftReport, RowDrift
from mailprov.plan.format import GENERAL, PlanWarning
from mailprov.plan.records import Applied
from mailprov.render.escape import MdSafe, marker_text
from mailprov.render.places import label, menu_path, setting_name
from mailprov.render.values import show
from mailprov.render.view import SHOWN_ADDRESSES, user_name

SHOWN_NAMES = 200  # unlisted overrides named before "and N more"


def set_by_text(applied: Applied | None) -> str:
    """`apply #12, 2025-11-30 19:02 UTC, by alice@laptop, commit 3f2a9c1e0b`."""
    if applied is None:
        return _("no recorded apply set this value")
    when = applied.applied_at.strftime("%Y-%m-%d %H:%M UTC") if applied.applied_at else "?"
    text = _("apply #{id}, {when}, by {who}").format(
        id=applied.id, when=when, who=show(f"{applied.os_user}@{applied.host}"))
    if applied.git_commit:
        sha, dirty, _rest = applied.git_commit.partition("+dirty")
        text += _(", commit {commit}").format(commit=sha[:10] + ("+dirty" if dirty else ""))
    return text


def rollback_text(applied: Applied) -> str:
    """What a rollback left behind: the files still say what it undid, so revert the
    commit of the apply it rolled back (or apply the files again to re-do it)."""
    if applied.rollback_commit:
        sha = applied.rollback_commit.partition("+")[0]
        return _("Apply #{id} rolled back apply #{of}: the files still say what #{of} applied "
                 "(commit {commit}). Revert that commit in Git (`git revert {commit}`) so that "
                 "they agree with maestro*, or apply them again to re-do #{of}.").format(
                     id=applied.id, of=applied.rollback_of, commit=sha[:10])
    return _("Apply #{id} rolled back apply #{of}: the files still say what #{of} applied "
             "(it recorded no Git commit). Change them back so that they agree with "
             "maestro*, or apply them again to re-do #{of}.").format(
                 id=applied.id, of=applied.rollback_of)


def _field_source(set_by: Applied | None, rolled_back_by: Applied | None) -> str:
    text = set_by_text(set_by)
    if rolled_back_by is not None:
        text += _("; rolled back by #{id}").format(id=rolled_back_by.id)
    return text


def _office365(row: RowDrift) -> bool:
    return any(f.field in ("mode", "email") for f in row.fields)


def _state_text(row: RowDrift) -> str:
    if row.address == GENERAL:
        return _("the general configuration differs from the files")
    if row.state == "missing" and _office365(row):
        return _("follows the general default in maestro*; the files give it Office 365 – "
                 "Modern Authentication")
    if row.state == "unexpected" and _office365(row):
        return _("sends with Office 365 – Modern Authentication in maestro*; the files make "
                 "it follow the general default")
    if row.state == "missing":
        return _("the per-user SMTP section is off in maestro*; the files enable it")
    if row.state == "unexpected":
        return _("the per-user SMTP section is on in maestro*; the files remove it")
    if any(f.field == "mode" for f in row.fields):
        return _("sends with another mode in maestro* than in the files")
    if row.follows_general:
        return _("keeps old general SMTP values; the files make it follow general.smtp")
    return _("differs from the files")


def render_drift_text(report: DriftReport) -> str:
    lines = [_("Drift check of target '{target}' ({url}), edition {edition}.").format(
        target=report.target, url=report.target_url, edition=report.edition), ""]
    if report.rows:
        lines.append(_("maestro* differs from the files here:"))
        lines.append("")
    for row in report.rows:
        lines.append("  " + _("{where}: {message}").format(where=show(row.address),
                                                          message=_state_text(row)))
        shown = {f.field: setting_name(f.field) for f in row.fields}
        width = max(len(name) for name in shown.values()) if shown else 0
        for field in row.fields:
            lines.append("      " + _("{field}  live {live}, file {file}  ({set_by})").format(
                field=shown[field.field].ljust(width), live=show(field.live), file=show(field.file),
                set_by=_field_source(field.set_by, field.rolled_back_by)))
        lines.append("")
    for applied in report.rollbacks:
        lines.extend([rollback_text(applied), ""])
    if report.departed:
        lines.append(ngettext(
            "{n} user listed in the files is no longer in maestro* (left the company?):",
            "{n} users listed in the files are no longer in maestro* (left the company?):",
            len(report.departed)).format(n=len(report.departed)))
        for departed in report.departed:
            p = departed.problem
            where = f"{p.file}:{p.line}" if p.line else p.file
            lines.append(f"  {show(departed.code)}  ({show(where)})")
        lines.append("")
    if report.unlisted:
        names = ", ".join(show(c) for c in report.unlisted[:SHOWN_NAMES])
        more = len(report.unlisted) - SHOWN_NAMES
        if more > 0:
            names += " " + _("and {n} more").format(n=more)
        lines.append(ngettext(
            "{n} override is on a user no file lists (left alone: prune is false): {names}",
            "{n} overrides are on users no file lists (left alone: prune is false): {names}",
            len(report.unlisted)).format(n=len(report.unlisted), names=names))
    for warning in report.warnings:
        lines.append(_("Warning: {message}").format(message=show(warning.message)))
    lines.append(report.summary_line())
    return "\n".join(lines) + "\n"


def _warnings(warnings: tuple[PlanWarning, ...]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for warning in warnings:
        groups.setdefault((warning.code, warning.message), []).append(
            user_name(warning.address))
    return [{"code": code, "message": message, "count": len(where),
             "addresses": where[:SHOWN_ADDRESSES], "more": max(0, len(where) - SHOWN_ADDRESSES)}
            for (code, message), where in groups.items()]


def _applied(applied: Applied | None) -> dict[str, Any] | None:
    if applied is None:
        return None
    return {**applied.to_json(), "text": set_by_text(applied)}


def drift_view(report: DriftReport) -> dict[str, Any]:
    """The drift report as the data of its Markdown and HTML pages."""
    titles = {
        "general": lambda n: _("General configuration"),
        "changed": lambda n: ngettext("{n} user's SMTP section differs",
                                      "{n} users' SMTP sections differ", n).format(n=n),
        "missing": lambda n: ngettext("{n} user's SMTP section is off in maestro*",
                                      "{n} users' SMTP sections are off in maestro*",
                                      n).format(n=n),
        "unexpected": lambda n: ngettext(
            "{n} SMTP section is on in maestro* that the files remove",
            "{n} SMTP sections are on in maestro* that the files remove", n).format(n=n),
    }
    by_kind: dict[str, list[RowDrift]] = {}
    for row in report.rows:
        by_kind.setdefault("general" if row.address == GENERAL else row.state, []).append(row)
    groups = []
    for kind in ("general", "changed", "missing", "unexpected"):
        rows = by_kind.get(kind)
        if not rows:
            continue
        flat = [{"user": user_name(row.address), "state": row.state,
                 "follows_general": row.follows_general, "field": f.field,
                 "label": label(f.field), "live": f.live, "file": f.file,
                 "set_by": _applied(f.set_by), "rolled_back_by": _applied(f.rolled_back_by),
                 "where": menu_path(f.field, row.user)}
                for row in rows for f in row.fields]
        groups.append({"kind": kind, "title": titles[kind](len(rows)), "users": len(rows),
                       "count": len(flat), "rows": flat, "shown": len(flat), "hidden": 0,
                       "open": len(flat) <= 20})
    if report.drifted:
        verdict = {"kind": "drift", "icon": "⚠️", "text": ngettext(
            "Drift: maestro* no longer matches the files on {n} row.",
            "Drift: maestro* no longer matches the files on {n} rows.",
            len(report.rows)).format(n=len(report.rows))}
        if not report.rows:
            verdict["text"] = _("Drift: users listed in the files are no longer in maestro*.")
    else:
        verdict = {"kind": "none", "icon": "✅",
                   "text": _("No drift: maestro* matches the files.")}
    return {
        "kind": "drift",
        "marker": MdSafe(marker_text("drift", report.target)),
        "target": report.target,
        "target_url": report.target_url,
        "edition": report.edition,
        "verdict": verdict,
        "summary_line": report.summary_line(),
        "counts": {"rows": len(report.rows), "fields": report.field_count,
                   "unlisted": len(report.unlisted), "departed": len(report.departed)},
        "groups": groups,
        "departed": [d.to_json() for d in report.departed],
        "rollbacks": [rollback_text(applied) for applied in report.rollbacks],
        "unlisted": list(report.unlisted[:SHOWN_NAMES]),
        "unlisted_more": max(0, len(report.unlisted) - SHOWN_NAMES),
        "prune": report.prune,
        "warnings": _warnings(report.warnings),
        "truncated": False,
        "passwords": [], "passwords_more": 0, "errors": [], "errors_more": 0,
        "removals": [], "removals_more": 0,
    }


def render_drift_markdown(report: DriftReport, max_chars: int,
                          measure: Callable[[str], int] | None = None) -> str:
    """The drift report as an issue body of at most `max_chars`."""
    from mailprov.render.markdown import chars, fit, packaged

    render: Callable[[Mapping[str, Any]], str] = packaged("drift.md.j2")
    return fit(drift_view(report), lambda v: render({"view": v}), max_chars,
               measure or chars, what="drift")


def render_drift_html(report: DriftReport) -> str:
    from mailprov.render.html import render_page

    return render_page("drift.html.j2", drift_view(report))

"""`mailprov office365 status` as text: who sends with Office 365, and who still has to
authenticate in maestro*."""

from __future__ import annotations

import json

from mailprov.i18n import _, ngettext
from mailprov.live.office365 import Office365Status
from mailprov.render.places import menu_path
from mailprov.render.values import show


def render_status_text(status: Office365Status, *, pending_only: bool = False) -> str:
    lines = [_("Office 365 – Modern Authentication on target '{target}' ({url}), edition "
               "{edition}, reference model version {version}.").format(
        target=show(status.target), url=show(status.target_url), edition=status.edition,
        version=status.model_version)]
    if status.model_version < 2:
        lines.append(_("This maestro* (before 3.05) has no Office 365 mode: nobody to "
                       "report."))
        return "\n".join(lines) + "\n"
    rows = status.pending if pending_only else status.rows
    if not status.rows:
        lines.append(_("No user sends with Office 365."))
        return "\n".join(lines) + "\n"
    lines.append("")
    width = max(len(show(row.code)) for row in rows) if rows else 0
    email_width = max((len(show(row.email)) for row in rows if row.email), default=0)
    for row in rows:
        account = show(row.email) if row.email else _("(general default)")
        if row.authenticated is None:
            state = _("unknown: the sign-in date maestro* holds is not a date")
        elif row.authenticated_at is not None:
            state = _("authenticated {when}").format(when=f"{row.authenticated_at:%Y-%m-%d %H:%M}")
        else:
            state = _("NOT authenticated yet")
        lines.append(f"  {show(row.code).ljust(width)}  {account.ljust(email_width)}  {state}")
    lines.append("")
    pending = status.pending
    done = len(status.authenticated)
    lines.append(ngettext(
        "{done} of {count} user has authenticated.",
        "{done} of {count} users have authenticated.", len(status.rows)).format(
        done=done, count=len(status.rows)))
    if pending:
        names = ", ".join(show(row.code) for row in pending[:20])
        if len(pending) > 20:
            names += " " + _("and {n} more").format(n=len(pending) - 20)
        lines.append(ngettext(
            "Remind {names}: maestro* cannot send for them until they sign in once ({where}).",
            "Remind {names}: maestro* cannot send for them until they sign in once ({where}).",
            len(pending)).format(names=names, where=menu_path("authenticate")))
    return "\n".join(lines) + "\n"


def render_status_json(status: Office365Status, *, pending_only: bool = False) -> str:
    data = status.to_json()
    if pending_only:
        data["users"] = [row.to_json() for row in status.pending]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

"""`mailprov password status` as text: one line per user, then a summary. Never a password."""

from __future__ import annotations

from datetime import datetime

from mailprov.errors import shell_word
from mailprov.i18n import _, ngettext
from mailprov.live.passwords import PasswordState, PasswordStatus
from mailprov.render.values import show


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment is not None else "-"


def _note(state: PasswordState) -> str:
    if state.orphaned:
        return _("orphaned: no SMTP login of its own any more; remove it with `mailprov "
                 "password clear {code}`").format(code=shell_word(state.code))
    if state.login is None:
        return _("no login: maestro* sends without authentication")
    if not state.password_set:
        return _("needs a password: `mailprov password set {code}`").format(
            code=shell_word(state.code))
    change = state.login_change
    if state.stale and change is not None:
        return _("stale: set before the login changed from {before} to {after} on {at} "
                 "(history #{id}); set it again").format(
            before=show(change.before), after=show(change.after), at=_when(change.at),
            id=change.history_id)
    return ""


def render_password_status(status: PasswordStatus) -> str:
    lines = [_("SMTP passwords on target '{target}' (password codec {codec}).").format(
        # a description may be a whole message ending with a full stop (a keyring error)
        target=status.target, codec=show(status.codec_description.rstrip("."))), ""]
    if not status.users:
        lines.append(_("No user sends through SMTP with a login of their own, and no password "
                       "is stored."))
        return "\n".join(lines + _office365_lines(status)) + "\n"
    header = (_("USER"), _("LOGIN"), _("PASSWORD"), _("SET AT"), _("NOTE"))
    rows = [(show(s.code), show(s.login) if s.login is not None else "-",
             _("set") if s.password_set else _("not set"), _when(s.set_at), _note(s))
            for s in status.users]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        lines.append(("  ".join(cells) + "  " + row[4]).rstrip())
    s = status.summary
    lines.append("")
    stale = _(" ({count} stale)").format(count=s["stale"]) if s["stale"] else ""
    summary = ngettext("{count} SMTP user: {set} with a password{stale}, {unset} without.",
                       "{count} SMTP users: {set} with a password{stale}, {unset} without.",
                       s["smtp_users"]).format(count=s["smtp_users"], set=s["set"],
                                               stale=stale, unset=s["not_set"])
    if s["orphaned"]:
        summary += " " + ngettext("{count} orphaned password.", "{count} orphaned passwords.",
                                  s["orphaned"]).format(count=s["orphaned"])
    lines.append(summary)
    return "\n".join(lines + _office365_lines(status)) + "\n"


def _office365_lines(status: PasswordStatus) -> list[str]:
    """The users on Office 365 – Modern Authentication: no password, but a sign-in in
    maestro* that mailprov can only report (o365_authenticated_at)."""
    if not status.office365:
        return []
    lines = ["", _("Office 365 – Modern Authentication (no SMTP password: each user signs in "
                   "once in maestro*, Préférences > Courriel > Authentifier):"), ""]
    header = (_("USER"), _("ACCOUNT"), _("SIGNED IN"))
    rows = [(show(r.code), show(r.email) if r.email else _("(general default)"),
             _when(r.authenticated_at) if r.authenticated
             else _("unknown: not a date in maestro*") if r.authenticated is None
             else _("not yet: remind them"))
            for r in status.office365]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(2)]
    for row in (header, *rows):
        lines.append(f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}".rstrip())
    s = status.summary
    lines.append("")
    lines.append(ngettext(
        "{count} Office 365 user: {done} signed in, {pending} not yet.",
        "{count} Office 365 users: {done} signed in, {pending} not yet.",
        s["office365_users"]).format(count=s["office365_users"],
                                     done=s["office365_authenticated"],
                                     pending=s["office365_users"] - s["office365_authenticated"]
                                     - s["office365_unknown"]))
    unknown = s["office365_unknown"]
    if unknown:
        lines.append(ngettext(
            "{n} of them is unknown: the sign-in date maestro* holds is not a date.",
            "{n} of them are unknown: the sign-in date maestro* holds is not a date.",
            unknown).format(n=unknown))
    return lines

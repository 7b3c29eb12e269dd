"""What a plan says about SMTP passwords: who its changes leave without a usable one.

Plan and apply never write a password (only `mailprov password set` does), so a change
that gives a user a login, or another login, leaves that user unable to send until a
password is set; and removing an override leaves the stored password in the row. The
planner reads, per user, only whether a password is stored and when it was set (the
same users query as the rest of the plan), never the password. Pure: no I/O.

The messages go into plan JSON and saved plans as they are: English, like the plan's
warnings, said of the user the note is addressed to; their `code` is what scripts test.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mailprov.errors import shell_word
from mailprov.i18n import N_, stored
from mailprov.model import LiveState, LiveUser, state_mode
from mailprov.plan.format import (
    NEEDS_PASSWORD,
    PASSWORD_FOR_OLD_LOGIN,
    PASSWORD_STAYS,
    Change,
    PasswordNote,
)


def password_notes(changes: Iterable[Change], live: LiveState) -> tuple[PasswordNote, ...]:
    """One note per user change that touches what a password is for, in change order:

    - a new override, or a new login, for a user with no stored password: `needs-password`;
    - a new login for a user whose stored password was entered for the old one (or for
      whatever login the user had before its override was removed):
      `password-for-old-login`;
    - an override removed from a user with a stored password: `password-stays`.

    A login of None (maestro* sends without authentication) needs no password.
    """
    notes = []
    for change in changes:
        code = change.user_code
        user = live.users.get(code) if code is not None else None
        if code is None or user is None:
            continue
        note = _note(change, code, user)
        if note is not None:
            notes.append(note)
    return tuple(notes)


def _note(change: Change, code: str, user: LiveUser) -> PasswordNote | None:
    when = _when(user.password_set_at)
    if change.action == "delete":
        if not user.password_set:
            return None
        return PasswordNote(change.address, PASSWORD_STAYS, stored(N_(
            "its stored SMTP password{when} stays in the row when the section is removed "
            "(plan and apply never touch passwords); remove it with `mailprov password "
            "clear {code}`"), when=when, code=code))
    if state_mode(change.after) == "office365":
        if state_mode(change.before) != "smtp" or not user.password_set:
            return None  # Office 365 – Modern Authentication needs no password
        return PasswordNote(change.address, PASSWORD_STAYS, stored(N_(
            "its stored SMTP password{when} stays in the row when the user moves to Office "
            "365 – Modern Authentication, which needs none (plan and apply never touch "
            "passwords); remove it with `mailprov password clear {code}`"), when=when,
            code=code))
    after = change.after or {}
    login = after.get("username")
    if login is None or (change.action == "update" and "username" not in change.changed):
        return None
    if not user.password_set:
        return PasswordNote(change.address, NEEDS_PASSWORD, stored(N_(
            "needs a password: none is stored for the login {login}; set it with "
            "`mailprov password set {code}` (or the user types it in maestro*, "
            "Préférences > Courriel)"), login=login, code=shell_word(code)))
    old = (change.before or {}).get("username") if change.action == "update" else None
    if old is None:
        return PasswordNote(change.address, PASSWORD_FOR_OLD_LOGIN, stored(N_(
            "check its password: the one stored{when} dates from before, not from the "
            "login {login}; if it is not that login's password, set it with `mailprov "
            "password set {code}`"), when=when, login=login, code=shell_word(code)))
    return PasswordNote(change.address, PASSWORD_FOR_OLD_LOGIN, stored(N_(
        "needs a password again: the stored one{when} was entered for the old login "
        "{old}, not {login}; set it with `mailprov password set {code}`"), when=when, old=old,
        login=login, code=shell_word(code)))


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return stored(N_(" (set on {date})"), date=f"{moment:%Y-%m-%d}")

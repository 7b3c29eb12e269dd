"""`mailprov password status`: per SMTP user, whether a password is stored, since when, and
whether it still matches the user's login; and per Office 365 user (who needs no password),
whether they have authenticated in maestro* yet (mailprov.live.office365).

A stored password is *stale* when the user's login changed after it was set: the history
says so (every apply records each user's `username` as `[before, after]`). It is
*orphaned* when it is stored for a user who no longer sends through SMTP with a login of
their own (the override was removed: plan and apply never touch passwords).

Only whether a password is stored, and when it was set, are read: never the password or
its stored form. Pure functions on what mailprov.db read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailprov.db.history import PASSWORD_KEY
from mailprov.live.office365 import SigninRow, office365_status, warning_json
from mailprov.model import LiveState, LiveUser, LiveWarning
from mailprov.model.sending import smtp_identity
from mailprov.plan.format import USER_PREFIX


@dataclass(frozen=True, slots=True)
class LoginChange:
    """The last apply that changed a user's login after their password was set."""

    history_id: int
    at: datetime
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class PasswordState:
    """One user's password, as far as mailprov may know it (never the password).

    `smtp`: the user sends through SMTP with a login or From address of their own;
    `login` is that login (None: maestro* sends without authentication, so no password
    is needed). `stale`: the login changed after the password was set (`login_change`
    says when). `orphaned`: a password is stored but the user no longer sends through
    SMTP of their own.
    """

    code: str
    name: str | None
    smtp: bool
    login: str | None
    password_set: bool
    set_at: datetime | None
    stale: bool
    login_change: LoginChange | None
    orphaned: bool

    @property
    def needs_password(self) -> bool:
        return self.smtp and self.login is not None and not self.password_set

    def to_json(self) -> dict[str, Any]:
        change = self.login_change
        return {
            "code": self.code,
            "name": self.name,
            "smtp": self.smtp,
            "login": self.login,
            "password_set": self.password_set,
            "set_at": _iso(self.set_at),
            "stale": self.stale,
            "login_changed": None if change is None else {
                "history_id": change.history_id, "at": _iso(change.at),
                "before": change.before, "after": change.after},
            "orphaned": self.orphaned,
        }


@dataclass(frozen=True)
class PasswordStatus:
    """Every SMTP user of a target, and every other user with a stored password; and the
    users who send with Office 365 – Modern Authentication, who need no password but must
    have signed in once in maestro* (`office365`, model version 2)."""

    target: str
    edition: str
    codec: str
    codec_description: str
    users: tuple[PasswordState, ...]
    office365: tuple[SigninRow, ...] = ()
    # what the database holds that was read as unknown or left out (a date that is no
    # date, a row without a user code: mailprov.db.livestate)
    warnings: tuple[LiveWarning, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        smtp = [u for u in self.users if u.smtp]
        return {
            "smtp_users": len(smtp),
            "set": sum(1 for u in smtp if u.password_set),
            "not_set": sum(1 for u in smtp if u.needs_password),
            "stale": sum(1 for u in smtp if u.stale),
            "orphaned": sum(1 for u in self.users if u.orphaned),
            "office365_users": len(self.office365),
            "office365_authenticated": sum(1 for u in self.office365 if u.authenticated),
            "office365_unknown": sum(1 for u in self.office365 if u.authenticated is None),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "edition": self.edition,
            "codec": self.codec,
            "codec_description": self.codec_description,
            "users": [u.to_json() for u in self.users],
            "office365": [u.to_json() for u in self.office365],
            "summary": self.summary,
            "warnings": [warning_json(w) for w in self.warnings],
        }


def history_since(live: LiveState) -> tuple[bool, datetime | None]:
    """Which history rows `password_status` needs: (any at all, recorded since when).
    Rows older than the oldest stored password cannot be login changes after it."""
    stored = [u for u in live.users.values() if u.password_set]
    if not stored:
        return False, None
    if any(u.password_set_at is None for u in stored):
        return True, None
    return True, min(u.password_set_at for u in stored if u.password_set_at is not None)


def password_status(target: str, live: LiveState, history: Sequence[Mapping[str, Any]], *,
                    codec: str, codec_description: str) -> PasswordStatus:
    """The status of every SMTP user and every orphaned password, by user code.

    `history`: the mailprov_history rows (id, applied_at, changes), oldest first, from
    `history_since`'s date on."""
    rows = _parsed(history)
    states = []
    for code in sorted(live.users):
        user = live.users[code]
        identity = smtp_identity(user, live.general)
        if identity is None and not user.password_set:
            continue
        change = _login_change(user, rows) if user.password_set and identity else None
        states.append(PasswordState(
            code=code, name=user.name, smtp=identity is not None,
            login=identity.login if identity is not None else None,
            password_set=user.password_set, set_at=user.password_set_at,
            stale=change is not None, login_change=change,
            orphaned=identity is None))
    return PasswordStatus(target, live.general.edition, codec, codec_description, tuple(states),
                          office365_status(live, target, "").rows, live.warnings)


# -- the history ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    at: datetime
    changes: Mapping[str, Any]


def _parsed(history: Iterable[Mapping[str, Any]]) -> list[_Row]:
    rows = []
    for row in history:
        try:
            changes = json.loads(row["changes"])
        except (TypeError, ValueError):
            continue  # not written by mailprov: nothing to learn from it
        if isinstance(changes, dict):
            rows.append(_Row(int(row["id"]), row["applied_at"], changes))
    return rows


def _login_change(user: LiveUser, rows: Sequence[_Row]) -> LoginChange | None:
    """The login change after the user's password was set, if the login is now another
    than the one it was set for (a change undone later is no change)."""
    address = USER_PREFIX + user.code
    later = _after_password(user, address, rows)
    transitions = []
    for row in later:
        for action in ("update", "create", "delete"):
            fields = row.changes.get(action)
            if isinstance(fields, Mapping) and isinstance(fields.get(address), Mapping):
                pair = fields[address].get("username")
                if isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]:
                    transitions.append((row, pair[0], pair[1]))
    if not transitions or transitions[0][1] == transitions[-1][2]:
        return None
    row, before, after = transitions[-1]
    return LoginChange(row.id, row.at, before, after)


def _after_password(user: LiveUser, address: str, rows: Sequence[_Row]) -> list[_Row]:
    """The rows recorded after the password was set. When mailprov set it (its history
    row has the same time as `password_set_at`), the row order says what came after,
    even within one second; otherwise (maestro* set it) the times do."""
    anchor = None
    for row in rows:
        password = row.changes.get(PASSWORD_KEY)
        if isinstance(password, Mapping) and password.get(address) == "set":
            anchor = row
    set_at = user.password_set_at
    if anchor is not None and (set_at is None or anchor.at == set_at):
        return [row for row in rows if row.id > anchor.id]
    if set_at is None:
        return []  # set by maestro* at an unknown time: nothing to compare with
    return [row for row in rows if row.at > set_at]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None

"""`mailprov password set` and `password clear`: the only writes of a user's SMTP password.

The password is stored the way the target's mapping says (its password codec) in the
user's row, with `password_set_at`, and a history row records who set or cleared whose
password, never the password. The write takes the target's lock (the general row, as
apply does) and the user's row lock, and checks again, under them, that the user still
has the login the password was typed for: an apply that changed it meanwhile makes the
command refuse rather than store a password for the wrong login.

Everything that can be refused (unknown user, no SMTP login, no codec or key) is checked
before the password is asked for, so nobody types a password for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from mailprov.apply.executor import history_entry_for, locked_transaction
from mailprov.db.database import Database
from mailprov.db.history import record_password_event
from mailprov.db.passwords import lock_user, write_password
from mailprov.db.read import read_general, read_users
from mailprov.errors import MailprovError
from mailprov.i18n import _
from mailprov.model import OVERRIDE_FIELDS, GeneralSettings, LiveUser
from mailprov.model.sending import smtp_identity
from mailprov.passwords.codec import encode_password, get_codec
from mailprov.plan.diff import unknown_user_error
from mailprov.plan.digest import digest_rows

# encoded once before the prompt, to fail on a missing codec or key before anyone types
_PROBE = "mailprov-probe"


class PasswordRefused(MailprovError):
    """The password cannot be set for this user (no SMTP login), or was not given."""


@dataclass(frozen=True, slots=True)
class PasswordUser:
    """Whose SMTP password is about to be set, for the prompt: the login it is for."""

    target: str
    code: str
    name: str | None
    login: str
    codec: str


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """What `set_password` or `clear_password` did; `history_id` is None when nothing
    changed (clearing a user who had no password). Never the password."""

    target: str
    code: str
    name: str | None
    login: str | None
    action: Literal["set", "cleared"]
    at: datetime | None
    history_id: int | None
    codec: str
    database_url: str

    @property
    def changed(self) -> bool:
        return self.history_id is not None


def password_user(db: Database, code: str) -> PasswordUser:
    """Check that `code` can have an SMTP password set on this target, and that the
    target's password codec (and its key) can store one; say for which login."""
    with db.connect() as conn, db.errors("reading"):
        general = read_general(conn, db.tables, db.backend)
        users = read_users(conn, db.tables, db.backend, [code])
        if code not in users:
            raise unknown_user_error(code, db.name, read_users(conn, db.tables, db.backend))
    user = users[code]
    login = _login_or_refuse(user, general, db.name)
    codec = get_codec(db.tables.mapping.password_codec)
    encode_password(codec, _PROBE, user=code)
    return PasswordUser(db.name, code, user.name, login, codec.name)


def set_password(db: Database, code: str, password: str | Callable[[PasswordUser], str], *,
                 lock_timeout: float = 10.0) -> PasswordChange:
    """Store `password` (or what the callable returns when asked, after every check) as
    the SMTP password of `code`, with the target's codec; record it in the history."""
    who = password_user(db, code)
    text = password(who) if callable(password) else password
    if not text:
        raise PasswordRefused(_("the password is empty; nothing was changed"))
    codec = get_codec(db.tables.mapping.password_codec)
    stored = encode_password(codec, text, user=code)
    now = datetime.now(UTC).replace(tzinfo=None)
    with locked_transaction(db, db.name, lock_timeout, "setting a password in") as conn:
        general = read_general(conn, db.tables, db.backend, for_update=True)
        user = lock_user(conn, db.tables, db.backend, code)
        if user is None or user.number is None:
            raise unknown_user_error(code, db.name, ())
        login = _login_or_refuse(user, general, db.name)
        if login != who.login:
            raise PasswordRefused(_(
                "the SMTP login of {code} changed from {old} to {new} while the password was "
                "typed (an apply ran meanwhile); nothing was changed: run `mailprov password "
                "set {code}` again if the password is for {new}"
            ).format(code=code, old=who.login, new=login))
        write_password(conn, db.tables, user.number, stored, now, user=code, secrets=(text,))
        db.backend.create_history(conn, db.tables)
        history_id = record_password_event(
            conn, db.tables, history_entry_for(db.name), code=code, action="set",
            digest=_digest(general, user), at=now)
    return PasswordChange(db.name, code, user.name, login, "set", now, history_id,
                          codec.name, db.display_url)


def clear_password(db: Database, code: str, *, lock_timeout: float = 10.0) -> PasswordChange:
    """Remove the stored SMTP password of `code` (and its `password_set_at`), whether or
    not the user still has an override; record it. Nothing to clear changes nothing."""
    now = datetime.now(UTC).replace(tzinfo=None)
    codec = db.tables.mapping.password_codec
    with locked_transaction(db, db.name, lock_timeout, "clearing a password in") as conn:
        general = read_general(conn, db.tables, db.backend, for_update=True)
        user = lock_user(conn, db.tables, db.backend, code)
        if user is None or user.number is None:
            raise unknown_user_error(code, db.name, read_users(conn, db.tables, db.backend))
        identity = smtp_identity(user, general)
        login = identity.login if identity is not None else None
        if not user.password_set and user.password_set_at is None:
            return PasswordChange(db.name, code, user.name, login, "cleared", None, None,
                                  codec, db.display_url)
        write_password(conn, db.tables, user.number, None, None, user=code)
        db.backend.create_history(conn, db.tables)
        history_id = record_password_event(
            conn, db.tables, history_entry_for(db.name), code=code, action="cleared",
            digest=_digest(general, user), at=now)
    return PasswordChange(db.name, code, user.name, login, "cleared", now, history_id, codec,
                          db.display_url)


def _login_or_refuse(user: LiveUser, general: GeneralSettings, target: str) -> str:
    identity = smtp_identity(user, general)
    if identity is None and (user.office365 is not None
                             or (user.mode is None and general.client == "office365")):
        raise PasswordRefused(_(
            "{code} sends with Office 365 – Modern Authentication on target '{target}': "
            "maestro* uses the user's own Office 365 sign-in, so there is no SMTP password "
            "to set (`mailprov office365 status` shows whether they have signed in)"
        ).format(code=user.code, target=target))
    if identity is None:
        raise PasswordRefused(_(
            "{code} has no SMTP override on target '{target}': maestro* sends its mail with "
            "the general default ({client}), with no SMTP login of its own, so there is no "
            "SMTP password to set. Give the user an `smtp` section (username and from) under "
            "`users:` in the configuration and run `mailprov apply`, then set the password"
        ).format(code=user.code, target=target, client=general.client))
    if identity.login is None:
        raise PasswordRefused(_(
            "the SMTP override of {code} on target '{target}' has no login (username): "
            "maestro* sends without authentication, so there is no SMTP password to set. Add "
            "`username` to the user's `smtp` section and run `mailprov apply` first"
        ).format(code=user.code, target=target))
    return identity.login


def _digest(general: GeneralSettings, user: LiveUser) -> str:
    """The state the event was based on: the general row and the user's row, as the base
    digest of plans fingerprints them (number, code, override flag, override columns)."""
    values = user.override.values() if user.override else [None] * len(OVERRIDE_FIELDS)
    return digest_rows(general, [(user.number, user.code, user.override is not None,
                                  *values)])

"""The live state built from the rows a target returned, without SQLAlchemy.

Two readers fetch those rows: mailprov.db.read through SQLAlchemy (every database),
and mailprov.db.sqlitefile through the standard sqlite3 module (plan on a SQLite
file, which then needs no SQLAlchemy import). Both hand their rows to the functions
here, so that what a row means is written once and the two readers can only differ
in the SQL they send.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from mailprov.errors import MappingError, printable
from mailprov.i18n import N_, Plural, _, stored
from mailprov.model import (
    MODE,
    OFFICE365_FIELDS,
    OFFICE365_MODE,
    OVERRIDE_FIELDS,
    SMTP_MODE,
    DbMapping,
    GeneralSettings,
    LiveState,
    LiveUser,
    LiveWarning,
    MailSettings,
    Office365Settings,
    stored_values,
)
from mailprov.model.mapping import VERSION2_USER_FIELDS
from mailprov.model.versions import VERSIONS

GENERAL_FIELDS = ("edition", "client", "server", "port", "ssl")


def state_fields(version: int) -> tuple[str, ...]:
    """A user's stored state as plan reads it and apply's re-check fingerprints
    (mailprov.plan.digest): the number, code and SMTP section flag, the SMTP section's
    columns, and from model version 2 the mode and the Office 365 account."""
    state = ("number", "code", "override", *OVERRIDE_FIELDS)
    return (*state, "mode", *OFFICE365_FIELDS) if version >= 2 else state


def user_fields(version: int) -> tuple[str, ...]:
    """What plan reads of a user: the name, the stored state, and from version 2 when
    the user last authenticated with Office 365 (not fingerprinted: maestro* writes
    it, and a user signing in between plan and apply changes nothing planned)."""
    extra = ("authenticated_at",) if version >= 2 else ()
    return ("name", *state_fields(version), *extra)


def date_positions(version: int) -> tuple[int, ...]:
    """Where a user row (`user_fields`, then whether a password is stored and
    `password_set_at`) holds dates, counted from its end."""
    return (-1, -3) if version >= 2 else (-1,)


def _reverse(values: Any) -> dict[Any, str]:
    return {stored: name for name, stored in (values or {}).items()}


def general_settings(row: Sequence[Any], mapping: DbMapping) -> GeneralSettings:
    """The general row (GENERAL_FIELDS, as stored) in mailprov's names."""
    edition, client, server, port, ssl = row
    editions = _reverse(mapping.edition_values)
    clients = _reverse(mapping.client_values)
    return GeneralSettings(
        edition=editions.get(edition, str(edition)) if editions else str(edition),
        client=clients.get(client, str(client)) if clients else str(client),
        server=server,
        port=port,
        ssl=bool(ssl),
    )


def stored_mode(mapping: DbMapping, value: Any) -> str | None:
    """The mode a stored `mail_mode` value names (through the mapping's mode_values)."""
    values = mapping.mode_values
    if values:
        for name, stored_value in values.items():
            if stored_value == value and name != "general":
                return name
        return None
    return value if value in (SMTP_MODE.name, OFFICE365_MODE.name) else None


def user_from_row(row: Iterable[Any], mapping: DbMapping | None, version: int) -> LiveUser:
    """A LiveUser from a user row: `user_fields(version)` in that order, then whether a
    password is stored and when it was set.

    From model version 2 the user's mode is read as maestro* 3.05 keeps it: the SMTP
    section flag first (`mail_override`, as in version 1), else the Office 365 mode when
    `mail_mode` says so; a user in neither follows the general mode."""
    if mapping is None or version < 2:
        name, number, code, override, *values, password_set, password_set_at = row
        return LiveUser(code, name, MailSettings.from_stored(values) if override else None,
                        number, bool(password_set), password_set_at)
    (name, number, code, override, *values, mode, email, authenticated_at, password_set,
     password_set_at) = row
    smtp = MailSettings.from_stored(values) if override else None
    office365 = None
    if smtp is None and stored_mode(mapping, mode) == OFFICE365_MODE.name:
        office365 = Office365Settings(email)
    return LiveUser(code, name, smtp, number, bool(password_set), password_set_at,
                    office365, authenticated_at)


def row_state(row: Sequence[Any], mapping: DbMapping, version: int) -> dict[str, Any] | None:
    """A state row (`state_fields(version)`) as plans write the user's state (None: follows
    the general mode), as `user_from_row(...).state()` gives it without making a
    LiveUser: apply compares it with the `before` of every change it writes."""
    width = len(OVERRIDE_FIELDS)
    if row[2]:
        return dict(zip(OVERRIDE_FIELDS, stored_values(row[3:3 + width]), strict=True))
    if version >= 2 and stored_mode(mapping, row[3 + width]) == OFFICE365_MODE.name:
        return {MODE: OFFICE365_MODE.name, "email": row[4 + width]}
    return None


def identity_fingerprint(backend: str, parts: Sequence[Any]) -> str | None:
    """A fingerprint of what identifies the database itself (Backend.identity), or None
    when the backend knows nothing better than the URL."""
    if not parts:
        return None
    text = json.dumps([backend, *parts], default=str, separators=(",", ":"))
    return "db:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def sqlite_file_identity(path: str) -> list[Any]:
    """A SQLite database is its file: real path, device and inode (a copy is another
    file). `path` is the main database's file as `PRAGMA database_list` gives it."""
    import os

    if not path:
        return ["memory"]
    try:
        stat = os.stat(path)
    except OSError:
        return [os.path.realpath(path)]
    return [os.path.realpath(path), stat.st_dev, stat.st_ino]


def live_state(general: GeneralSettings, rows: list[tuple[Any, ...]], mapping: DbMapping,
               version: int, database_id: str | None) -> LiveState:
    """The live state from the general settings and every user row (`user_fields`, then
    the password columns, dates as the driver gave them). A row without a code (a real
    installation's table may allow it) cannot be named by the files: it is left out,
    with a warning."""
    rows, warnings = parse_dates(rows, mapping, version)
    codeless = [row[1] for row in rows if row[2] is None]
    if codeless:
        warnings = (codeless_rows_warning(mapping, codeless), *warnings)
    if version >= 2:
        warnings = (*warnings, *unknown_modes(rows, mapping, version))
    end = 1 + len(state_fields(version))  # not the dates nor the password columns
    users = {row[2]: user_from_row(row, mapping, version) for row in rows
             if row[2] is not None}
    return LiveState(general, users, database_id, {row[1]: row[1:end] for row in rows},
                     warnings, version, (mapping.source or "") if mapping.model_version else "")


def unknown_modes(rows: list[tuple[Any, ...]], mapping: DbMapping, version: int
                  ) -> list[LiveWarning]:
    """A warning for each user whose `mail_mode` holds a value maestro* 3.05 does not use:
    mailprov reads such a user as following the general mode, as it cannot tell what
    maestro* makes of it."""
    index = user_fields(version).index("mode")
    values = mapping.mode_values
    known = set(values.values()) if values else {SMTP_MODE.name, OFFICE365_MODE.name}
    found = []
    for row in rows:
        value, code = row[index], row[2]
        # a user whose SMTP section is on sends with it, whatever the mode column says
        if value is None or value in known or code is None or row[3]:
            continue
        found.append(LiveWarning("unknown-mode", f"user.{code}", stored(N_(
            "user {user} ({table}.{column}) holds '{value}', which is no mode maestro* 3.05 "
            "knows: mailprov reads it as following the general mode; correct it in maestro*"),
            user=printable(str(code)), table=mapping.users_table,
            column=mapping.user_columns["mode"], value=_held(str(value)))))
    return found


def codeless_rows_warning(mapping: DbMapping, numbers: list[Any]) -> LiveWarning:
    """Name the rows without a user code by their user number."""
    try:
        numbers = sorted(numbers)
    except TypeError:  # a mapped key of mixed types
        numbers = sorted(numbers, key=str)
    listed = ", ".join(printable(str(n)) for n in numbers[:10])
    more = stored(N_(" and {count} more"), count=len(numbers) - 10) if len(numbers) > 10 else ""
    # a plan stores it in English (mailprov.i18n.stored)
    return LiveWarning("users-without-code", "database", Plural.ngettext(
        "user number {numbers}{more} ({table}.{column}) has no user code: mailprov leaves it "
        "alone (the files name users by their code); give it a code in maestro*",
        "users number {numbers}{more} ({table}.{column}) have no user code: mailprov leaves them "
        "alone (the files name users by their code); give them a code in maestro*",
        len(numbers)).format(numbers=listed, more=more, table=mapping.users_table,
                             column=mapping.user_columns["number"]))


_DATE_FIELDS = {-1: "password_set_at", -3: "authenticated_at"}
_ATTRIBUTES = {"password_set_at": "password_set_at", "authenticated_at": "o365_authenticated_at"}
"""The LiveUser attribute of each date column (mapping key -> attribute)."""


def parse_dates(rows: list[tuple[Any, ...]], mapping: DbMapping, version: int
                ) -> tuple[list[tuple[Any, ...]], tuple[LiveWarning, ...]]:
    """User rows with their dates as naive datetimes in UTC, as mailprov writes them:
    SQLite gives text, read as SQLAlchemy's SQLite dialect reads it
    (`datetime.fromisoformat`); a date with a time zone (text, or a `timestamptz` column
    of a mapped installation) is turned to UTC, so that dates compare.

    A value that is no date (a hand-edited row: text that does not parse, a number) is
    read as unknown, with a warning naming the user: it only tells how old a password or
    an Office 365 sign-in is, which is no reason to stop a plan."""
    warnings = []
    for index in date_positions(version):
        if all(row[index] is None or _naive(row[index]) for row in rows):
            continue
        converted = []
        for row in rows:
            value = row[index]
            if value is not None and not _naive(value):
                values = list(row)
                values[index] = _as_date(value)
                if values[index] is None:
                    warnings.append(_unreadable_date(row, mapping, _DATE_FIELDS[index], value))
                row = tuple(values)
            converted.append(row)
        rows = converted
    return rows, tuple(sorted(warnings))


def _naive(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is None


def _as_date(value: Any) -> datetime | None:
    """A stored date as a naive datetime in UTC, or None when it is no date."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo is None else value.astimezone(UTC).replace(
            tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _unreadable_date(row: tuple[Any, ...], mapping: DbMapping, field: str, value: Any
                     ) -> LiveWarning:
    code = row[2]
    who = printable(str(code)) if code is not None else stored(
        N_("number {number}"), number=printable(str(row[1])))
    shown = _held(value if isinstance(value, str) else repr(value))
    address = f"user.{code}" if isinstance(code, str) else "database"
    return LiveWarning("unreadable-date", address, stored(N_(
        "user {user} ({table}.{column}) holds '{value}', which is not a date: mailprov "
        "reads it as unknown; correct or clear it in maestro*"), user=who,
        table=mapping.users_table, column=mapping.user_columns[field], value=shown),
        _ATTRIBUTES[field])


def _held(text: str) -> str:
    """A value a row holds, as a warning quotes it: escaped, and clipped to 40 characters."""
    return printable(text if len(text) <= 40 else text[:39] + "…")


def version_columns(mapping: DbMapping, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Of the version-2 user columns the mapping names, those among the table's column
    `names` and those missing (compared case-insensitively, as the databases do)."""
    present_names = {str(name).lower() for name in names}
    columns = [mapping.user_columns[field] for field in VERSION2_USER_FIELDS]
    present = [c for c in columns if c.lower() in present_names]
    return present, [c for c in columns if c.lower() not in present_names]


def check_mapping(mapping: DbMapping, number: int) -> None:
    """The mapping's stored client values must name exactly the clients of version
    `number` (a 3.05 installation has `office365` and no `lotus_notes`)."""
    values = mapping.client_values
    if not values:
        return
    model = VERSIONS[number]
    missing = [c for c in model.clients if c not in values]
    extra = [c for c in values if c not in model.clients]
    if not missing and not extra:
        return
    where = mapping.source or _("the mapping")
    parts = []
    if missing:
        parts.append(_("it lacks {clients}").format(clients=", ".join(missing)))
    if extra:
        parts.append(_("it has {clients}, which this version does not offer").format(
            clients=", ".join(extra)))
    raise MappingError(_(
        "{where}: general.client_values do not fit model version {version} (maestro* "
        "{maestro}, clients {clients}): {problems}. Fix client_values, or declare the right "
        "`model_version:`").format(where=where, version=number, maestro=model.maestro,
                                   clients=", ".join(model.clients),
                                   problems="; ".join(parts)))

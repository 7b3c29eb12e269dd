"""Read the live state: two SELECTs whatever the number of users, never a password (only
whether one is stored, and since when)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, case, inspect, literal_column, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from mailprov.db.driver import compile_statement, execute, fetch_tuples
from mailprov.db.tables import Tables, state_fields
from mailprov.errors import DatabaseError, MappingError, printable
from mailprov.i18n import N_, Plural, _, stored
from mailprov.model import (
    OFFICE365_MODE,
    SMTP_MODE,
    GeneralSettings,
    LiveState,
    LiveUser,
    MailSettings,
    Office365Settings,
)

if TYPE_CHECKING:
    from mailprov.db.backends import Backend

# What plan reads of a user, and what apply's re-check fingerprints (mailprov.plan.digest),
# in model version 1; Tables.state_fields and Tables.user_fields give them for any version.
STATE_FIELDS = state_fields(1)
USER_FIELDS = ("name", *STATE_FIELDS)  # a user's stored state is its row without the name
GENERAL_FIELDS = ("edition", "client", "server", "port", "ssl")


def _reverse(values: Any) -> dict[Any, str]:
    return {stored: name for name, stored in (values or {}).items()}


def read_general(conn: Connection, tables: Tables, backend: Backend, *,
                 for_update: bool = False) -> GeneralSettings:
    """The general configuration row (locked until the transaction ends when asked)."""
    m = tables.mapping
    if backend.driver_statements:
        statement = compile_statement(
            conn, lambda: _general_query(tables, backend, for_update), ["key"],
            key=("general", tables.key, for_update))
        row = run_query(conn, tables, backend,
                        lambda: execute(conn, statement, [m.general_key_value])).first()
    else:
        row = run_query(conn, tables, backend, _general_query(tables, backend, for_update)
                        ).first()
    if row is None:
        raise DatabaseError(_(
            "no general configuration row ({column} = {value}) in table {table}: is this a "
            "maestro* database? (`mailprov sandbox URL` creates a test one)").format(
                column=m.general_key_column, value=repr(m.general_key_value),
                table=m.general_table))
    edition, client, server, port, ssl = row
    editions = _reverse(m.edition_values)
    clients = _reverse(m.client_values)
    return GeneralSettings(
        edition=editions.get(edition, str(edition)) if editions else str(edition),
        client=clients.get(client, str(client)) if clients else str(client),
        server=server,
        port=port,
        ssl=bool(ssl),
    )


def _general_query(tables: Tables, backend: Backend, for_update: bool) -> Any:
    m = tables.mapping
    query = select(*(tables.gcol(f) for f in GENERAL_FIELDS))
    key = tables.general.c[m.general_key_column]
    query = query.where(key == bindparam("key", m.general_key_value, type_=key.type))
    return backend.lock_rows(query, tables.general) if for_update else query


def user_from_row(row: Iterable[Any], tables: Tables | None = None) -> LiveUser:
    """A LiveUser from the columns of `users_query`: `tables.user_fields` (USER_FIELDS when
    no tables are given), in that order, then whether a password is stored and when it
    was set.

    From model version 2 the user's mode is read as maestro* 3.05 keeps it: the SMTP
    section flag first (`mail_override`, as in version 1), else the Office 365 mode when
    `mail_mode` says so; a user in neither follows the general mode."""
    if tables is None or tables.version < 2:
        name, number, code, override, *values, password_set, password_set_at = row
        return LiveUser(code, name, MailSettings.from_stored(values) if override else None,
                        number, bool(password_set), password_set_at)
    (name, number, code, override, *values, mode, email, authenticated_at, password_set,
     password_set_at) = row
    smtp = MailSettings.from_stored(values) if override else None
    office365 = None
    if smtp is None and stored_mode(tables, mode) == OFFICE365_MODE.name:
        office365 = Office365Settings(email)
    return LiveUser(code, name, smtp, number, bool(password_set), password_set_at,
                    office365, authenticated_at)


def stored_mode(tables: Tables, value: Any) -> str | None:
    """The mode a stored `mail_mode` value names (through the mapping's mode_values)."""
    values = tables.mapping.mode_values
    if values:
        for name, stored in values.items():
            if stored == value and name != "general":
                return name
        return None
    return value if value in (SMTP_MODE.name, OFFICE365_MODE.name) else None


def mode_value(tables: Tables, mode: str | None) -> Any:
    """What `mail_mode` stores for `mode` (None: follows general)."""
    values = tables.mapping.mode_values
    if values:
        return values.get("general") if mode is None else values[mode]
    return mode


def password_stored(tables: Tables) -> Any:
    """1 when a user has a stored password, else 0, without selecting it. A CASE rather
    than `IS NOT NULL` in the select list, which SQL Server does not accept."""
    return case((tables.ucol("password").is_(None), literal_column("0")),
                else_=literal_column("1"))


def users_query(tables: Tables) -> Any:
    """SELECT of `tables.user_fields`, whether a password is stored, and
    `password_set_at`: the password itself is never selected with the users."""
    return select(*(tables.ucol(f) for f in tables.user_fields), password_stored(tables),
                  tables.ucol("password_set_at"))


def read_users(conn: Connection, tables: Tables, backend: Backend,
               codes: Iterable[str] | None = None) -> dict[str, LiveUser]:
    """All users in one SELECT, or only `codes` in as few as the backend allows, as
    `tables` (for its model version: mailprov.db.version) names them.

    Of the password columns, only whether a password is stored, and when it was set, are
    read; never the password.
    """
    from mailprov.db.version import versioned

    tables = versioned(conn, tables, backend)
    return _users(_user_rows(conn, tables, backend, codes), tables)


def _user_rows(conn: Connection, tables: Tables, backend: Backend,
               codes: Iterable[str] | None = None) -> list[tuple[Any, ...]]:
    """User rows as tuples of `tables.user_fields`, then the password columns of
    `users_query`. Where the backend runs driver statements, the rows are the driver's
    own, exactly as apply's re-check reads them (the base digest compares the two)."""
    query = users_query(tables)
    if codes is None and backend.driver_statements:
        statement = compile_statement(conn, query, [], key=("users", tables.key))
        rows = fetch_tuples(run_query(conn, tables, backend,
                                      lambda: execute(conn, statement, [])))
        return _dates(conn, tables, rows)
    if codes is None:
        return [tuple(row) for row in run_query(conn, tables, backend, query).all()]
    return [tuple(row) for where in backend.in_filter(tables.ucol("code"), list(codes))
            for row in run_query(conn, tables, backend, query.where(where)).all()]


def _dates(conn: Connection, tables: Tables, rows: list[tuple[Any, ...]]
           ) -> list[tuple[Any, ...]]:
    """The dates of the user rows (`password_set_at`, last, and from version 2 the Office
    365 authentication date, third from last) as datetimes where the driver gives text
    (SQLite), converted as SQLAlchemy would; the rows are otherwise left as the driver
    gave them."""
    at = [(-1, "password_set_at")]
    if tables.version >= 2:
        at.append((-3, "authenticated_at"))
    for index, field in at:
        if not any(isinstance(row[index], str) for row in rows):
            continue
        column = tables.ucol(field)
        convert = column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None)
        if convert is None:
            continue
        rows = [_replaced(row, index, convert(row[index])) if isinstance(row[index], str)
                else row for row in rows]
    return rows


def _replaced(row: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    values = list(row)
    values[index] = value
    return tuple(values)


def _users(rows: list[tuple[Any, ...]], tables: Tables | None = None) -> dict[str, LiveUser]:
    """Users by code. A row without a code (a real installation's table may allow it)
    cannot be named by the files: it is left out, and read_live_state says so."""
    return {row[2]: user_from_row(row, tables) for row in rows if row[2] is not None}


def read_row_states(conn: Connection, tables: Tables, backend: Backend,
                    numbers: list[int] | None) -> list[tuple[Any, ...]]:
    """The fingerprinted rows of the users `numbers` (None: all), for apply's re-check."""
    return backend.read_row_states(conn, tables, numbers)


def database_id(conn: Connection, tables: Tables, backend: Backend) -> str | None:
    """A fingerprint of what identifies the database itself (Backend.identity), or None
    when the backend knows nothing better than the URL."""
    parts = backend.identity(conn, tables)
    if not parts:
        return None
    text = json.dumps([backend.name, *parts], default=str, separators=(",", ":"))
    return "db:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def read_live_state(conn: Connection, tables: Tables, backend: Backend, *,
                    for_update: bool = False) -> LiveState:
    """General row (locked when asked), every user and the database's identity: three
    queries whatever the user count, and a fourth the first time the process meets the
    database, to read its model version (mailprov.db.version)."""
    from mailprov.db.version import versioned

    general = read_general(conn, tables, backend, for_update=for_update)
    tables = versioned(conn, tables, backend)
    rows = _user_rows(conn, tables, backend)
    codeless = [row[1] for row in rows if row[2] is None]
    warnings = (_codeless_rows_warning(tables, codeless),) if codeless else ()
    end = 1 + len(tables.state_fields)  # not the dates nor the password columns
    return LiveState(general, _users(rows, tables), database_id(conn, tables, backend),
                     {row[1]: row[1:end] for row in rows}, warnings, tables.version,
                     (tables.mapping.source or "") if tables.mapping.model_version else "")


def _codeless_rows_warning(tables: Tables, numbers: list[Any]) -> str:
    """Name the rows without a user code by their user number."""
    try:
        numbers = sorted(numbers)
    except TypeError:  # a mapped key of mixed types
        numbers = sorted(numbers, key=str)
    listed = ", ".join(printable(str(n)) for n in numbers[:10])
    more = stored(N_(" and {count} more"), count=len(numbers) - 10) if len(numbers) > 10 else ""
    # a plan stores it in English (mailprov.i18n.stored)
    return Plural.ngettext(
        "user number {numbers}{more} ({table}.{column}) has no user code: mailprov leaves it "
        "alone (the files name users by their code); give it a code in maestro*",
        "users number {numbers}{more} ({table}.{column}) have no user code: mailprov leaves them "
        "alone (the files name users by their code); give them a code in maestro*",
        len(numbers)).format(numbers=listed, more=more, table=tables.users.name,
                             column=tables.mapping.user_columns["number"])




def password_is_set(conn: Connection, tables: Tables, backend: Backend, code: str) -> bool:
    """Whether a user has entered an SMTP password; the value itself is never selected."""
    query = select(password_stored(tables)).where(tables.ucol("code") == code)
    return bool(run_query(conn, tables, backend, query).scalar())


def run_query(conn: Connection, tables: Tables, backend: Backend,
              query: Any | Callable[[], Any]) -> Any:
    """Execute `query` (a statement, or a callable that runs one); a failure caused by
    a missing table or column becomes a MappingError naming it."""
    try:
        return query() if callable(query) else conn.execute(query)
    except DBAPIError as exc:
        if exc.connection_invalidated or backend.is_lock_error(exc):
            raise  # not a naming problem: keep the error for the caller
        problem = diagnose_schema(conn, tables)
        if problem:
            raise MappingError(problem) from None
        raise


def diagnose_schema(conn: Connection, tables: Tables) -> str | None:
    """Name the missing table or column after a failed query, if that is the cause."""
    if conn.in_transaction():
        conn.rollback()
    m = tables.mapping
    where = (_("mapping file {file}").format(file=m.source) if m.source
             else _("reference model"))
    try:
        inspector = inspect(conn)
        for table in (tables.general, tables.users):
            if not inspector.has_table(table.name, schema=m.schema):
                return _("table '{table}' does not exist in the database ({where}): check "
                         "the URL, or point the mapping file at the right table").format(
                             table=table.name, where=where)
            present = {c["name"].lower() for c in inspector.get_columns(table.name,
                                                                         schema=m.schema)}
            for column in table.columns:
                if column.name.lower() not in present:
                    return _("column '{column}' does not exist in table '{table}' "
                             "({where}): fix the mapping file's columns").format(
                                 column=column.name, table=table.name, where=where)
    except SQLAlchemyError:
        # Also InvalidRequestError: inside a caller's `with conn.begin()` (apply), the
        # rollback above closed the transaction; keep the original error (e.g. a lock timeout).
        return None
    finally:
        if conn.in_transaction():
            conn.rollback()
    return None


def count_overrides(conn: Connection, tables: Tables, backend: Backend) -> int:
    """How many users have a mode of their own (their SMTP section, any stored true value;
    from model version 2 also the Office 365 mode), counted by the database: the safety
    limits of a saved plan are judged against this, not against the count written in the
    plan file."""
    from sqlalchemy import and_, false, func, or_

    flag = tables.ucol("override")
    own: Any = and_(flag.is_not(None), flag != false())
    if tables.version >= 2:
        own = or_(own, tables.ucol("mode") == mode_value(tables, "office365"))
    query = select(func.count()).select_from(tables.users).where(own)
    return int(run_query(conn, tables, backend, query).scalar_one())

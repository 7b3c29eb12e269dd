"""Read the live state: two SELECTs whatever the number of users, never a password (only
whether one is stored, and since when)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, case, inspect, literal_column, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from mailprov.db import livestate
from mailprov.db.driver import compile_statement, execute, fetch_tuples
from mailprov.db.livestate import GENERAL_FIELDS, general_settings, state_fields
from mailprov.db.tables import Tables
from mailprov.errors import DatabaseError, MappingError
from mailprov.i18n import _
from mailprov.model import GeneralSettings, LiveState, LiveUser

if TYPE_CHECKING:
    from mailprov.db.backends import Backend

# What plan reads of a user, and what apply's re-check fingerprints (mailprov.plan.digest),
# in model version 1; Tables.state_fields and Tables.user_fields give them for any version.
STATE_FIELDS = state_fields(1)
USER_FIELDS = ("name", *STATE_FIELDS)  # a user's stored state is its row without the name


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
    return general_settings(row, m)


def _general_query(tables: Tables, backend: Backend, for_update: bool) -> Any:
    m = tables.mapping
    query = select(*(tables.gcol(f) for f in GENERAL_FIELDS))
    key = tables.general.c[m.general_key_column]
    query = query.where(key == bindparam("key", m.general_key_value, type_=key.type))
    return backend.lock_rows(query, tables.general) if for_update else query


def user_from_row(row: Iterable[Any], tables: Tables | None = None) -> LiveUser:
    """A LiveUser from the columns of `users_query`: `tables.user_fields` (USER_FIELDS when
    no tables are given), in that order, then whether a password is stored and when it
    was set (mailprov.db.livestate.user_from_row)."""
    if tables is None:
        return livestate.user_from_row(row, None, 1)
    return livestate.user_from_row(row, tables.mapping, tables.version)


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
    rows, _unreadable = livestate.parse_dates(_user_rows(conn, tables, backend, codes),
                                              tables.mapping, tables.version)
    return {row[2]: user_from_row(row, tables) for row in rows if row[2] is not None}


def _user_rows(conn: Connection, tables: Tables, backend: Backend,
               codes: Iterable[str] | None = None) -> list[tuple[Any, ...]]:
    """User rows as tuples of `tables.user_fields`, then the password columns of
    `users_query`. Where the backend runs driver statements, as the driver gives them
    (dates as text on SQLite: see livestate.parse_dates), as apply's re-check reads
    them (the base digest compares the two reads); elsewhere as SQLAlchemy converts
    them, as that backend's re-check does."""
    query = users_query(tables)
    if codes is None and backend.driver_statements:
        statement = compile_statement(conn, query, [], key=("users", tables.key))
        return fetch_tuples(run_query(conn, tables, backend,
                                      lambda: execute(conn, statement, [])))
    queries = [query] if codes is None else [
        query.where(where) for where in backend.in_filter(tables.ucol("code"), list(codes))]
    return [row for one in queries
            for row in fetch_rows(run_query(conn, tables, backend, one), backend)]


def fetch_rows(result: Any, backend: Backend) -> list[tuple[Any, ...]]:
    """A user query's rows as tuples: the driver's values where the backend runs driver
    statements (as its plan and re-check read them), else SQLAlchemy's."""
    if backend.driver_statements:
        return fetch_tuples(result)
    return [tuple(row) for row in result]


def read_row_states(conn: Connection, tables: Tables, backend: Backend,
                    numbers: list[int] | None) -> list[tuple[Any, ...]]:
    """The fingerprinted rows of the users `numbers` (None: all), for apply's re-check."""
    return backend.read_row_states(conn, tables, numbers)


def database_id(conn: Connection, tables: Tables, backend: Backend) -> str | None:
    """A fingerprint of what identifies the database itself (Backend.identity), or None
    when the backend knows nothing better than the URL."""
    return livestate.identity_fingerprint(backend.name, backend.identity(conn, tables))


def read_live_state(conn: Connection, tables: Tables, backend: Backend, *,
                    for_update: bool = False) -> LiveState:
    """General row (locked when asked), every user and the database's identity: three
    queries whatever the user count, and a fourth the first time the process meets the
    database, to read its model version (mailprov.db.version)."""
    from mailprov.db.version import versioned

    general = read_general(conn, tables, backend, for_update=for_update)
    tables = versioned(conn, tables, backend)
    return livestate.live_state(general, _user_rows(conn, tables, backend), tables.mapping,
                                tables.version, database_id(conn, tables, backend))


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
    """Name the missing table or column after a failed query, if that is the cause.

    The failed connection may be inside the caller's transaction (apply's, under its
    lock), which stays the caller's to end: on PostgreSQL, where a failed statement aborts
    the transaction, the schema is looked at through a connection of its own; elsewhere
    (SQLite, MariaDB), where the transaction goes on, through the same one (an in-memory
    SQLite database is only seen through it)."""
    m = tables.mapping
    where = (_("mapping file {file}").format(file=m.source) if m.source
             else _("reference model"))
    try:
        if conn.dialect.name == "postgresql":
            with conn.engine.connect() as other:
                return _missing(inspect(other), tables, where)
        return _missing(inspect(conn), tables, where)
    except SQLAlchemyError:
        return None  # the original error says more (a lock timeout, a lost connection)


def _missing(inspector: Any, tables: Tables, where: str) -> str | None:
    schema = tables.mapping.schema
    for table in (tables.general, tables.users):
        if not inspector.has_table(table.name, schema=schema):
            return _("table '{table}' does not exist in the database ({where}): check the URL, "
                     "or point the mapping file at the right table").format(
                         table=table.name, where=where)
        present = {c["name"].lower() for c in inspector.get_columns(table.name, schema=schema)}
        for column in table.columns:
            if column.name.lower() not in present:
                return _("column '{column}' does not exist in table '{table}' ({where}): fix "
                         "the mapping file's columns").format(
                             column=column.name, table=table.name, where=where)
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

"""Read the live state: two SELECTs whatever the number of users, never a password."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, any_, bindparam, func, inspect, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from mailprov.db.connect import is_lock_error
from mailprov.db.driver import compile_statement, driver_ready, execute
from mailprov.db.tables import Tables
from mailprov.digest import user_state, user_state_from_row
from mailprov.errors import DatabaseError, MappingError
from mailprov.model import GeneralSettings, LiveState, LiveUser, MailSettings

_USER_FIELDS = ("code", "name", "override", "username", "from", "server", "port", "ssl")


def _reverse(values: Any) -> dict[Any, str]:
    return {stored: name for name, stored in (values or {}).items()}


def read_general(conn: Connection, tables: Tables, *, for_update: bool = False) -> GeneralSettings:
    """The general configuration row (locked FOR UPDATE when asked, where supported)."""
    m = tables.mapping
    if driver_ready(conn):
        statement = compile_statement(conn, lambda: _general_query(conn, tables, for_update),
                                      ["key"], key=("general", tables.key, for_update))
        row = _run(conn, tables, lambda: execute(conn, statement, [m.general_key_value])).first()
    else:
        row = _run(conn, tables, _general_query(conn, tables, for_update)).first()
    if row is None:
        raise DatabaseError(
            f"no general configuration row ({m.general_key_column} = {m.general_key_value!r}) "
            f"in table {m.general_table}: is this a maestro* database? "
            "(`mailprov sandbox URL` creates a test one)"
        )
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


def _general_query(conn: Connection, tables: Tables, for_update: bool) -> Any:
    m = tables.mapping
    query = select(*(tables.gcol(f) for f in ("edition", "client", "server", "port", "ssl")))
    key = tables.general.c[m.general_key_column]
    query = query.where(key == bindparam("key", m.general_key_value, type_=key.type))
    if for_update and conn.dialect.name != "sqlite":
        # SQL Server has no FOR UPDATE (SQLAlchemy drops it): an update lock hint instead
        query = query.with_for_update().with_hint(tables.general, "WITH (UPDLOCK, ROWLOCK)",
                                                  "mssql")
    return query


def user_from_row(row: Iterable[Any]) -> LiveUser:
    code, name, override, username, from_address, server, port, ssl = row
    settings = None
    if override:
        settings = MailSettings(username, from_address, server, port,
                                None if ssl is None else bool(ssl))
    return LiveUser(code, name, settings)


IN_CHUNK = 500  # codes per IN list: under every dialect's parameter limit (MSSQL: 2,100)


def read_users(conn: Connection, tables: Tables, codes: Iterable[str] | None = None
               ) -> dict[str, LiveUser]:
    """All users in one SELECT, or only `codes` in one SELECT per 500 codes
    (PostgreSQL: one SELECT with an array).

    Password columns are never selected.
    """
    query = select(*(tables.ucol(f) for f in _USER_FIELDS))
    if codes is None:
        return {row[0]: user_from_row(row) for row in _run(conn, tables, query).all()}
    wanted = list(codes)
    users: dict[str, LiveUser] = {}
    if conn.dialect.name == "postgresql":  # one array parameter: one query, 3x faster
        from sqlalchemy.dialects.postgresql import ARRAY

        array = bindparam("codes", wanted, type_=ARRAY(tables.ucol("code").type))
        rows = _run(conn, tables, query.where(tables.ucol("code") == any_(array))).all()
        return {row[0]: user_from_row(row) for row in rows}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = query.where(tables.ucol("code").in_(wanted[start:start + IN_CHUNK]))
        users.update((row[0], user_from_row(row)) for row in _run(conn, tables, chunk).all())
    return users


_STATE_FIELDS = ("code", "override", "username", "from", "server", "port", "ssl")


def read_user_states(conn: Connection, tables: Tables, codes: list[str]
                     ) -> dict[str, list[Any] | None]:
    """The fingerprinted state (mailprov.digest) of the users `codes`, for apply's
    re-check under its lock. One statement on SQLite (the codes as one JSON array) and
    PostgreSQL (an array), rows taken as the driver returns them; elsewhere read_users."""
    dialect = conn.dialect.name
    if dialect == "sqlite" and sqlite_has_json(conn):
        param: Any = json.dumps(codes, ensure_ascii=False)
    elif dialect == "postgresql":
        param = codes
    else:
        return {code: user_state(user.override)
                for code, user in read_users(conn, tables, codes).items()}
    statement = compile_statement(conn, lambda: _states_query(conn, tables), ["codes"],
                                  key=("user states", tables.key))
    rows = _run(conn, tables, lambda: execute(conn, statement, [param])).fetchall()
    return {row[0]: user_state_from_row(*row[1:]) for row in rows}


def _states_query(conn: Connection, tables: Tables) -> Any:
    """SELECT the state columns of the users whose codes the one parameter `codes`
    holds: a JSON array on SQLite, an array on PostgreSQL."""
    code_col = tables.ucol("code")
    query = select(*(tables.ucol(f) for f in _STATE_FIELDS))
    if conn.dialect.name == "sqlite":
        # a join from the JSON array: a fifth faster than IN (subquery), which first
        # builds a temporary index of the codes
        wanted = func.json_each(bindparam("codes")).table_valued("value").alias("wanted")
        return query.select_from(wanted).join(tables.users, code_col == wanted.c.value)
    from sqlalchemy.dialects.postgresql import ARRAY

    return query.where(code_col == any_(bindparam("codes", type_=ARRAY(code_col.type))))


def sqlite_has_json(conn: Connection) -> bool:
    """json_each is built into SQLite from 3.38 on (and into most builds before)."""
    return conn.dialect.dbapi.sqlite_version_info >= (3, 38)  # type: ignore[union-attr]


def read_live_state(conn: Connection, tables: Tables, *, for_update: bool = False) -> LiveState:
    """General row and every user: two queries, whatever the user count."""
    general = read_general(conn, tables, for_update=for_update)
    return LiveState(general, read_users(conn, tables))


def password_is_set(conn: Connection, tables: Tables, code: str) -> bool:
    """Whether a user has entered an SMTP password; the value itself is never selected."""
    query = select(tables.ucol("password").is_not(None)).where(tables.ucol("code") == code)
    return bool(_run(conn, tables, query).scalar())


def _run(conn: Connection, tables: Tables, query: Any) -> Any:
    """Execute `query` (a statement, or a callable that runs one); a failure caused by
    a missing table or column becomes a MappingError naming it."""
    try:
        return query() if callable(query) else conn.execute(query)
    except DBAPIError as exc:
        if exc.connection_invalidated or is_lock_error(exc):
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
    where = f" (mapping file {m.source})" if m.source else " (reference model)"
    try:
        inspector = inspect(conn)
        for table in (tables.general, tables.users):
            if not inspector.has_table(table.name, schema=m.schema):
                return (f"table '{table.name}' does not exist in the database{where}: check "
                        "the URL, or point the mapping file at the right table")
            present = {c["name"].lower() for c in inspector.get_columns(table.name,
                                                                         schema=m.schema)}
            for column in table.columns:
                if column.name == "user_no":
                    continue
                if column.name.lower() not in present:
                    return (f"column '{column.name}' does not exist in table '{table.name}'"
                            f"{where}: fix the mapping file's columns")
    except SQLAlchemyError:
        # Also InvalidRequestError: inside a caller's `with conn.begin()` (apply), the
        # rollback above closed the transaction; keep the original error (e.g. a lock timeout).
        return None
    finally:
        if conn.in_transaction():
            conn.rollback()
    return None

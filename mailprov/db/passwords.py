"""The only statements that carry an SMTP password's stored value: written by
`mailprov password`, read by `mailprov test-send`.

They go to the driver's own cursor, inside the SQLAlchemy transaction but past
SQLAlchemy's logging: with `sqlalchemy.engine` logging at INFO or DEBUG (an admin
debugging a connection), SQLAlchemy logs every statement's parameters and every row it
fetches, which here would be the stored value. The SQL itself is built and quoted by
SQLAlchemy as everywhere else (mailprov.db.driver), and a driver error is reported
without the statement's parameters and with any secret it quotes masked.

Everything else about users (whether a password is stored, the row lock, the user's
override) is read through mailprov.db.read as usual: none of it is secret.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from mailprov.db.backends import Backend
from mailprov.db.connect import redact
from mailprov.db.driver import compile_statement
from mailprov.db.livestate import parse_dates
from mailprov.db.read import fetch_rows, run_query, user_from_row, users_query
from mailprov.db.tables import Tables
from mailprov.errors import DatabaseError, WriteCheckError
from mailprov.i18n import _
from mailprov.model import LiveUser

MASK = "***"


def lock_user(conn: Connection, tables: Tables, backend: Backend, code: str) -> LiveUser | None:
    """The user `code`, row-locked until the transaction ends (whether a password is
    stored, never the password), with the columns of the target's model version."""
    from mailprov.db.version import versioned

    tables = versioned(conn, tables, backend)
    query = users_query(tables).where(tables.ucol("code") == code)
    rows = fetch_rows(run_query(conn, tables, backend, backend.lock_rows(query, tables.users)),
                      backend)
    rows, _unreadable = parse_dates(rows, tables.mapping, tables.version)
    return user_from_row(rows[0], tables) if rows else None


def write_password(conn: Connection, tables: Tables, number: int, stored: str | None,
                   when: datetime | None, *, user: str, secrets: Sequence[str] = ()) -> None:
    """Set the stored password and `password_set_at` of the user row `number` (None and
    None clear them). Exactly one row must change (WriteCheckError otherwise, and the
    caller's transaction rolls back). `secrets` are masked in any error (the password
    and its stored form)."""
    password_column = tables.ucol("password")
    at_column = tables.ucol("password_set_at")
    statement = compile_statement(
        conn, lambda: update(tables.users)
        .where(tables.ucol("number") == bindparam("number"))
        .values({password_column.name: bindparam("stored"), at_column.name: bindparam("at")}),
        ["stored", "at", "number"], key=("write password", tables.key))
    to_stored = at_column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    at = to_stored(when) if to_stored is not None and when is not None else when
    masked = tuple(s for s in (stored, *secrets) if s)
    with _driver_cursor(conn, _("writing the password of {user} to").format(user=user),
                        masked) as cursor:
        cursor.execute(statement.sql, statement.rows([(stored, at, number)])[0])
        count = cursor.rowcount
    if count not in (1, -1):  # -1: the driver cannot tell
        raise WriteCheckError(_(
            "writing the password of {user} touched {count} row(s) instead of 1: the user "
            "table does not hold the row it was read from. Nothing was changed."
        ).format(user=user, count=count))


def read_stored_passwords(conn: Connection, tables: Tables, codes: Sequence[str]
                          ) -> dict[str, str]:
    """The stored values (as the codec wrote them) of the users `codes` that have one."""
    wanted = set(codes)
    if not wanted:
        return {}
    password = tables.ucol("password")
    if len(wanted) == 1:
        statement = compile_statement(
            conn, lambda: select(tables.ucol("code"), password)
            .where(tables.ucol("code") == bindparam("code")).where(password.is_not(None)),
            ["code"], key=("read password", tables.key))
        params = statement.rows([(next(iter(wanted)),)])[0]
    else:  # every stored value in one statement, kept for the users asked for
        statement = compile_statement(
            conn, lambda: select(tables.ucol("code"), password).where(password.is_not(None)),
            [], key=("read passwords", tables.key))
        params = statement.rows([()])[0]
    with _driver_cursor(conn, _("reading stored passwords from"), ()) as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    return {str(code): str(value) for code, value in rows if code in wanted}


@contextmanager
def _driver_cursor(conn: Connection, action: str, secrets: Sequence[str]) -> Iterator[Any]:
    """A cursor of the connection's driver connection, inside its current transaction;
    a driver error becomes a DatabaseError without parameters and with `secrets` masked."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        text = " ".join(str(exc).split())
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        if len(text) > 300:
            text = text[:297] + "..."
        raise DatabaseError(_("{action} {url} failed: {text}").format(
            action=action, url=redact(conn.engine.url), text=text)) from None
    finally:
        cursor.close()

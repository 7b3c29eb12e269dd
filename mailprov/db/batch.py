"""Batched UPDATEs of user rows: one statement (or one executemany) per set of columns
written, in the form each dialect runs fastest, so round trips follow batches, not rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, case, cast, func, update

from mailprov.db.driver import compile_statement, execute, executemany
from mailprov.db.tables import Tables

# logical user columns a batch may write, in the users table's column order
WRITE_ORDER = ("override", "username", "from", "server", "port", "ssl")
CASE_CHUNK = 400


@dataclass(frozen=True)
class Batch:
    """User rows that write the same columns, as `(value..., code)` in `fields` order."""

    fields: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @property
    def names(self) -> list[str]:
        """Bind parameter names, in row order."""
        return [*(f"v_{f}" for f in self.fields), "k_code"]


def write_batch(conn: Connection, tables: Tables, batch: Batch) -> None:
    """Run one batch the dialect's fastest way."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _by_unnest(conn, tables, batch)
    elif dialect in ("mysql", "mariadb"):
        _by_case(conn, tables, batch)
    elif dialect == "sqlite":
        _by_driver_executemany(conn, tables, batch)
    else:
        _by_executemany(conn, tables, batch)


def _update(tables: Tables, batch: Batch, given: Callable[[str], Any]) -> Any:
    """UPDATE users SET <fields> WHERE code = ...; `given(name)` is each value's expression."""
    return (update(tables.users)
            .where(tables.ucol("code") == given("k_code"))
            .values({tables.ucol(f): given(f"v_{f}") for f in batch.fields}))


def _by_driver_executemany(conn: Connection, tables: Tables, batch: Batch) -> None:
    """SQLite: one in-process executemany, rows handed to the driver as they are."""
    statement = compile_statement(conn, lambda: _update(tables, batch, bindparam), batch.names,
                                  key=("update", tables.key, batch.fields))
    executemany(conn, statement, batch.rows)


def _by_executemany(conn: Connection, tables: Tables, batch: Batch) -> None:
    """Other dialects (SQL Server): one SQLAlchemy executemany."""
    names = batch.names
    conn.execute(_update(tables, batch, bindparam),
                 [dict(zip(names, row, strict=True)) for row in batch.rows])


def _by_unnest(conn: Connection, tables: Tables, batch: Batch) -> None:
    """PostgreSQL: one UPDATE ... FROM unnest(arrays), whatever the row count (a third
    faster than a pipelined executemany at 1,000 rows)."""
    from sqlalchemy.dialects.postgresql import ARRAY

    names = batch.names

    def build() -> Any:
        types = {name: tables.ucol(name[2:] if name != "k_code" else "code").type
                 for name in names}
        arrays = [cast(bindparam(name), ARRAY(types[name])) for name in names]
        given = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
        return _update(tables, batch, lambda name: given.c[name])

    statement = compile_statement(conn, build, names,
                                  key=("update from unnest", tables.key, batch.fields))
    columns = [list(values) for values in zip(*batch.rows, strict=True)]
    execute(conn, statement, columns)


def _by_case(conn: Connection, tables: Tables, batch: Batch) -> None:
    """MySQL/MariaDB: PyMySQL runs an executemany UPDATE row by row; one UPDATE ... CASE
    per chunk of CASE_CHUNK rows instead."""
    code_col = tables.ucol("code")
    code_at = len(batch.fields)
    for start in range(0, len(batch.rows), CASE_CHUNK):
        chunk = batch.rows[start:start + CASE_CHUNK]
        assignments = {}
        for i, field in enumerate(batch.fields):
            column = tables.ucol(field)
            whens = {row[code_at]: row[i] for row in chunk}
            assignments[column] = case(whens, value=code_col, else_=column)
        conn.execute(update(tables.users)
                     .where(code_col.in_([row[code_at] for row in chunk]))
                     .values(assignments))

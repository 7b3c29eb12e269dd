"""mailprov's hot statements: built and quoted by SQLAlchemy, compiled once per
process, and run through `exec_driver_sql` with plain tuples.

For a 1,000-row write SQLAlchemy's per-row parameter processing costs as much as the
database work itself, and every new engine compiles (and adapts column types) anew.
The values mailprov reads and writes (str, int, bool, None, and lists of them for
PostgreSQL arrays) are ones these drivers take and return as they are, so that
processing buys nothing here. Statement events still fire (round-trip tests count
these statements) and driver errors are still wrapped as DBAPIError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class DriverStatement:
    """SQL for one dialect, and the parameter names in the order its rows give them."""

    sql: str
    names: tuple[str, ...]
    positional_order: tuple[int, ...] | None  # None: the driver takes named parameters

    def rows(self, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Parameter rows for the driver, from tuples given in `names` order."""
        order = self.positional_order
        if order is None:
            names = self.names
            return [dict(zip(names, row, strict=True)) for row in rows]
        if order == tuple(range(len(self.names))):
            return list(rows)
        return [tuple(row[i] for i in order) for row in rows]


_COMPILED: dict[tuple[Any, ...], DriverStatement] = {}


def compile_statement(conn: Connection, statement: ClauseElement | Callable[[], ClauseElement],
                      names: Sequence[str], key: tuple[Any, ...] | None = None
                      ) -> DriverStatement:
    """Compile `statement` for the connection's dialect; `names` are its bind
    parameters in the order callers will give their values.

    With a `key` (what the statement depends on besides the dialect: e.g. the tables'
    key and the columns), the result is kept for the process, like SQLAlchemy's own
    compiled cache, and `statement` may be a callable that builds it only when needed.
    """
    dialect = conn.dialect
    cache_key = None if key is None else (
        type(dialect), dialect.paramstyle, dialect.server_version_info, *key)
    if cache_key is not None and cache_key in _COMPILED:
        return _COMPILED[cache_key]
    if not isinstance(statement, ClauseElement):  # a builder (DDL elements are callable)
        statement = statement()
    compiled = statement.compile(dialect=conn.dialect)
    names = tuple(names)
    bound = set(getattr(compiled, "binds", ()))  # DDL has none
    if bound != set(names):
        raise ValueError(f"statement binds {sorted(bound)}, caller gives {sorted(names)}")
    order = None
    if getattr(compiled, "positional", False):
        order = tuple(names.index(name)
                      for name in getattr(compiled, "positiontup", None) or ())
    result = DriverStatement(str(compiled), names, order)
    if cache_key is not None:
        _COMPILED[cache_key] = result
    return result


def execute(conn: Connection, statement: DriverStatement, row: Sequence[Any]
            ) -> CursorResult[Any]:
    """Run the statement once with the values `row` gives in `names` order."""
    return conn.exec_driver_sql(statement.sql, statement.rows([tuple(row)])[0])


def executemany(conn: Connection, statement: DriverStatement,
                rows: Sequence[tuple[Any, ...]]) -> int:
    """Run the statement for every row in one driver call (one round trip where the
    driver pipelines or batches, in-process for SQLite); returns the rows touched."""
    if not rows:
        return 0
    return conn.exec_driver_sql(statement.sql, statement.rows(rows)).rowcount

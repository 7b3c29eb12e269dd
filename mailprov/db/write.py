"""Execute a plan: one transaction, under a lock, re-checking the base first.

Only the columns a change names are written; password columns never are. User rows
are written in batches, one per set of columns (mailprov.db.batch), so round trips
follow the number of batches, not of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import DBAPIError

from mailprov.db.batch import WRITE_ORDER, Batch, write_batch
from mailprov.db.connect import is_lock_error
from mailprov.db.history import (
    HistoryEntry,
    create_history_in_transaction,
    ensure_history_table,
    record_history,
)
from mailprov.db.read import read_general, read_user_states
from mailprov.db.tables import Tables
from mailprov.digest import MISSING, digest_rows, general_state
from mailprov.errors import LockError, StalePlanError
from mailprov.plan import GENERAL, Change, Plan

__all__ = ["HistoryEntry", "execute_plan", "write_changes"]

_REMOVED = tuple(False if f == "override" else None for f in WRITE_ORDER)


def _stale(plan: Plan) -> StalePlanError:
    return StalePlanError(
        f"the saved plan for target '{plan.target}' is stale: the general "
        "configuration or a user it changes was modified since it was planned. "
        "Nothing was changed; run `mailprov plan` again."
    )


def _lock_timeout(conn: Connection, seconds: float) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'")
    elif dialect in ("mysql", "mariadb"):
        conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {max(1, int(seconds))}")
    elif dialect == "mssql":
        conn.exec_driver_sql(f"SET LOCK_TIMEOUT {int(seconds * 1000)}")


def execute_plan(
    engine: Engine,
    tables: Tables,
    plan: Plan,
    history: HistoryEntry,
    *,
    lock_timeout: float = 10.0,
    before_commit: Callable[[Connection], None] | None = None,
) -> int:
    """Apply `plan` atomically; return the history row id.

    Raises LockError when another apply holds the lock past `lock_timeout`,
    StalePlanError when the rows the plan was computed from have changed.
    `before_commit` is a hook for fault-injection tests.
    """
    ensure_history_table(engine, tables)
    try:
        with engine.connect() as conn:
            conn.execution_options(mailprov_write=True)
            with conn.begin():
                _lock_timeout(conn, lock_timeout)
                _check_base(conn, tables, plan)
                write_changes(conn, tables, plan.changes)
                create_history_in_transaction(conn, tables)
                history_id = record_history(conn, tables, plan, history)
                if before_commit is not None:
                    before_commit(conn)
            return history_id
    except DBAPIError as exc:
        if is_lock_error(exc):
            raise LockError(
                f"another apply holds the lock on target '{plan.target}' (waited "
                f"{lock_timeout:g} s). Nothing was changed; try again when it has finished."
            ) from None
        raise


def _check_base(conn: Connection, tables: Tables, plan: Plan) -> None:
    """Lock the general row, re-read the rows the plan changes, and refuse the plan
    if their digest is no longer the one it was computed from."""
    general = read_general(conn, tables, for_update=True)
    users = [(c.address, c.user_code) for c in plan.changes if c.user_code is not None]
    live = read_user_states(conn, tables, [code for _, code in users])
    states = [(address, live.get(code, MISSING)) for address, code in users]
    if digest_rows(general_state(general), states) != plan.base_digest:
        raise _stale(plan)


_FIELDS_IN_ORDER: dict[tuple[str, ...], tuple[str, ...]] = {}


def _in_write_order(changed: tuple[str, ...]) -> tuple[str, ...]:
    """`changed` in table column order (memoised: a plan has a handful of distinct sets)."""
    fields = _FIELDS_IN_ORDER.get(changed)
    if fields is None:
        fields = _FIELDS_IN_ORDER[changed] = tuple(f for f in WRITE_ORDER if f in changed)
    return fields


def user_row(change: Change, code: str) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The logical user columns a change writes (in table order), and its batch row:
    their values, then the code."""
    action = change.action
    if action == "delete":
        return WRITE_ORDER, (*_REMOVED, code)
    after = change.after or {}
    if action == "create":
        return WRITE_ORDER, (True, *map(after.get, WRITE_ORDER[1:]), code)
    fields = _in_write_order(change.changed)
    return fields, (*map(after.get, fields), code)


def user_batches(changes: Sequence[Change]) -> list[Batch]:
    """The user changes grouped into batches by the columns they write."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for change in changes:
        code = change.user_code
        if code is not None:
            fields, row = user_row(change, code)
            rows = groups.get(fields)
            if rows is None:
                rows = groups[fields] = []
            rows.append(row)
    return [Batch(fields, rows) for fields, rows in groups.items()]


def write_changes(conn: Connection, tables: Tables, changes: Sequence[Change]) -> None:
    """The UPDATE statements of a plan: the general row, then one batch per column set."""
    for change in changes:
        if change.address == GENERAL:
            values = general_values(change, tables)
            if values:
                m = tables.mapping
                conn.execute(update(tables.general)
                             .where(tables.general.c[m.general_key_column] == m.general_key_value)
                             .values(values))
    for batch in user_batches(changes):
        write_batch(conn, tables, batch)


def general_values(change: Change, tables: Tables) -> dict[str, Any]:
    after = change.after or {}
    smtp = after.get("smtp") or {}
    values: dict[str, Any] = {}
    for name in change.changed:
        if name == "client":
            client = after["client"]
            stored = tables.mapping.client_values
            values[tables.mapping.general_columns["client"]] = stored[client] if stored else client
        elif name.startswith("smtp."):
            field = name.split(".", 1)[1]
            values[tables.mapping.general_columns[field]] = smtp.get(field)
    return values

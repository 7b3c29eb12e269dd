"""The UPDATE statements of a plan: the general row, then user rows in batches.

Only the columns a change names are written; password columns never are. User rows
are grouped by the columns they write (mailprov.db.batch), so round trips follow the
number of batches, not of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, update

from mailprov.db.backends import Backend
from mailprov.db.batch import WRITE_ORDER, Batch
from mailprov.db.tables import Tables
from mailprov.errors import WriteCheckError
from mailprov.model import split_setting
from mailprov.plan.format import GENERAL, Change

_REMOVED = tuple(False if f == "override" else None for f in WRITE_ORDER)
_FIELDS_IN_ORDER: dict[tuple[str, ...], tuple[str, ...]] = {}


def _in_write_order(changed: tuple[str, ...]) -> tuple[str, ...]:
    """`changed` in table column order (memoised: a plan has a handful of distinct sets)."""
    fields = _FIELDS_IN_ORDER.get(changed)
    if fields is None:
        fields = _FIELDS_IN_ORDER[changed] = tuple(f for f in WRITE_ORDER if f in changed)
    return fields


def user_row(change: Change, number: int) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The logical user columns a change writes (in table order), and its batch row:
    their values, then the user's number (the primary key)."""
    action = change.action
    if action == "delete":
        return WRITE_ORDER, (*_REMOVED, number)
    after = change.after or {}
    if action == "create":
        return WRITE_ORDER, (True, *map(after.get, WRITE_ORDER[1:]), number)
    fields = _in_write_order(change.changed)
    return fields, (*map(after.get, fields), number)


def user_batches(changes: Sequence[Change]) -> list[Batch]:
    """The user changes grouped into batches by the columns they write."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for change in changes:
        if change.user_code is not None:
            if change.number is None:
                raise ValueError(f"{change.address} has no user number")
            fields, row = user_row(change, change.number)
            rows = groups.get(fields)
            if rows is None:
                rows = groups[fields] = []
            rows.append(row)
    return [Batch(fields, rows) for fields, rows in groups.items()]


def write_changes(conn: Connection, tables: Tables, backend: Backend,
                  changes: Sequence[Change]) -> None:
    """The general row's UPDATE, then one batch per set of user columns. Every statement
    must touch exactly the rows it names; otherwise WriteCheckError, and the caller's
    transaction rolls back."""
    for change in changes:
        if change.address == GENERAL:
            values = general_values(change, tables)
            if values:
                m = tables.mapping
                result = conn.execute(
                    update(tables.general)
                    .where(tables.general.c[m.general_key_column] == m.general_key_value)
                    .values(values))
                _check_count("the general configuration row", 1, result.rowcount)
    for batch in user_batches(changes):
        _check_count(f"{len(batch.rows)} user row(s)", len(batch.rows),
                     backend.write_batch(conn, tables, batch))


def _check_count(what: str, planned: int, written: int | None) -> None:
    if written is not None and written != planned:
        raise WriteCheckError(
            f"writing {what} touched {written} row(s) instead of {planned}: the table does "
            "not hold the rows the plan was made for (a duplicate or missing key). "
            "Nothing was changed; check the table, then plan again.")


def general_values(change: Change, tables: Tables) -> dict[str, Any]:
    """Column -> value for the general fields a change names (`client`, `smtp.port`...)."""
    after = change.after or {}
    values: dict[str, Any] = {}
    mapping = tables.mapping
    for name in change.changed:
        path = split_setting(name)
        value: Any = after
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if path == ("client",) and mapping.client_values:
            value = mapping.client_values[value]
        values[mapping.general_columns[path[-1]]] = value
    return values

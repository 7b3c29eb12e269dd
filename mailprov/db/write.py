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
from mailprov.db.batch import Batch
from mailprov.db.read import mode_value
from mailprov.db.tables import Tables
from mailprov.errors import WriteCheckError
from mailprov.i18n import _
from mailprov.model import MODE, USER_MODES, split_setting, state_mode
from mailprov.plan.format import GENERAL, Change

_FIELDS_IN_ORDER: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}


def _in_write_order(order: tuple[str, ...], fields: tuple[str, ...]) -> tuple[str, ...]:
    """`fields` in table column order (memoised: a plan has a handful of distinct sets)."""
    key = (order, fields)
    found = _FIELDS_IN_ORDER.get(key)
    if found is None:
        found = _FIELDS_IN_ORDER[key] = tuple(f for f in order if f in fields)
    return found


def user_row(change: Change, number: int, tables: Tables
             ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """The logical user columns a change writes (in table order), and its batch row:
    their values, then the user's number (the primary key).

    Enabling or removing a per-user mode, or moving between modes, writes the mode's
    fields and maestro*'s SMTP section flag (and, from model version 2, the mode column);
    leaving a mode clears its fields, as maestro* does. Any other update writes the
    fields it changes."""
    order = tables.write_order
    version2 = tables.version >= 2
    action = change.action
    before_mode, after_mode = state_mode(change.before), state_mode(change.after)
    after = change.after or {}
    if action == "update" and MODE not in change.changed:
        fields = _in_write_order(order, change.changed)
        return fields, (*map(after.get, fields), number)
    touched = {"override", *change.changed}
    for mode in (before_mode, after_mode):
        if mode is not None:
            touched.update(USER_MODES[mode].field_names)
    if version2:
        touched.add(MODE)
    fields = _in_write_order(order, tuple(sorted(touched)))
    section = after_mode is not None and USER_MODES[after_mode].smtp_section
    values = [section if f == "override" else mode_value(tables, after_mode) if f == MODE
              else after.get(f) for f in fields]
    return fields, (*values, number)


def user_batches(changes: Sequence[Change], tables: Tables) -> list[Batch]:
    """The user changes grouped into batches by the columns they write."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for change in changes:
        if change.user_code is not None:
            if change.number is None:
                raise ValueError(f"{change.address} has no user number")
            fields, row = user_row(change, change.number, tables)
            rows = groups.get(fields)
            if rows is None:
                rows = groups[fields] = []
            rows.append(row)
    return [Batch(fields, rows) for fields, rows in groups.items()]


def write_changes(conn: Connection, tables: Tables, backend: Backend,
                  changes: Sequence[Change]) -> None:
    """The general row's UPDATE, then one batch per set of user columns. Every statement
    must touch exactly the rows it names; otherwise WriteCheckError, and the caller's
    transaction rolls back. `tables` are those of the target's model version
    (mailprov.db.version)."""
    for change in changes:
        if change.address == GENERAL:
            values = general_values(change, tables)
            if values:
                m = tables.mapping
                result = conn.execute(
                    update(tables.general)
                    .where(tables.general.c[m.general_key_column] == m.general_key_value)
                    .values(values))
                _check_count(_("the general configuration row"), 1, result.rowcount)
    for batch in user_batches(changes, tables):
        _check_count(_("{count} user row(s)").format(count=len(batch.rows)), len(batch.rows),
                     backend.write_batch(conn, tables, batch))


def _check_count(what: str, planned: int, written: int | None) -> None:
    if written is not None and written != planned:
        raise WriteCheckError(_(
            "writing {what} touched {written} row(s) instead of {planned}: the table does not "
            "hold the rows the plan was made for (a duplicate or missing key). Nothing was "
            "changed; check the table, then plan again.").format(
                what=what, written=written, planned=planned))


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

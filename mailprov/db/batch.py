"""Batches of user-row UPDATEs: the rows that write the same columns, so round trips
follow the number of column sets, not of rows. Each backend runs a batch its
fastest way (Backend.write_batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Update, update

from mailprov.db.tables import Tables, write_order

# logical user columns a batch may write in model version 1, in the users table's column
# order (Tables.write_order gives them for the target's version)
WRITE_ORDER = write_order(1)


@dataclass(frozen=True)
class Batch:
    """User rows that write the same columns, as `(value..., number)` in `fields` order."""

    fields: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @property
    def names(self) -> list[str]:
        """Bind parameter names, in row order."""
        return [*(f"v_{f}" for f in self.fields), KEY]


# the last value of a batch row: the user's number, the primary key. Rows are written by
# it, never by code: on MySQL/MariaDB's default collations `code = 'COMPTA'` also matches
# `compta` and `COMPTA `.
KEY = "k_number"


def update_statement(tables: Tables, batch: Batch, given: Callable[[str], Any]) -> Update:
    """UPDATE users SET <fields> WHERE number = ...; `given(name)` is each value's
    expression."""
    return (update(tables.users)
            .where(tables.ucol("number") == given(KEY))
            .values({tables.ucol(f): given(f"v_{f}") for f in batch.fields}))

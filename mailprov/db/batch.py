"""Batches of user-row UPDATEs: the rows that write the same columns, so round trips
follow the number of column sets, not of rows. Each backend runs a batch its
fastest way (Backend.write_batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Update, update

from mailprov.db.tables import Tables
from mailprov.model import OVERRIDE_FIELDS

# logical user columns a batch may write, in the users table's column order
WRITE_ORDER = ("override", *OVERRIDE_FIELDS)


@dataclass(frozen=True)
class Batch:
    """User rows that write the same columns, as `(value..., code)` in `fields` order."""

    fields: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    @property
    def names(self) -> list[str]:
        """Bind parameter names, in row order."""
        return [*(f"v_{f}" for f in self.fields), "k_code"]


def update_statement(tables: Tables, batch: Batch, given: Callable[[str], Any]) -> Update:
    """UPDATE users SET <fields> WHERE code = ...; `given(name)` is each value's expression."""
    return (update(tables.users)
            .where(tables.ucol("code") == given("k_code"))
            .values({tables.ucol(f): given(f"v_{f}") for f in batch.fields}))

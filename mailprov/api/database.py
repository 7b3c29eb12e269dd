"""A target's database, opened, and its live state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailprov.config.targets import ResolvedTarget
from mailprov.model import DbMapping, LiveState

if TYPE_CHECKING:
    from mailprov.db.database import Database


def open_database(target: ResolvedTarget, *, lock_timeout: float = 10.0,
                  read_only: bool = False, create: bool = False) -> Database:
    """An open engine on the target, with its tables and backend. `read_only`: a SQLite
    file is opened read-only; sessions wait for no lock. A missing SQLite file is an
    error, and is created only when asked (`create`, for `sandbox`)."""
    from mailprov.db.database import open_database as _open

    return _open(target.name, target.url, target.mapping(), lock_timeout=lock_timeout,
                 read_only=read_only, create=create)


def read_target(target: ResolvedTarget, mapping: DbMapping | None = None) -> LiveState:
    """The live state of a target, read-only: a plainly named SQLite file without loading
    SQLAlchemy (mailprov.db.sqlitefile), anything else, or anything out of the ordinary,
    through it (open_database, read_live), whose errors say what is wrong. `mapping`:
    the target's, when already loaded."""
    from mailprov.db.sqlitefile import read_live_file

    live = read_live_file(target.url, mapping or target.mapping())
    if live is None:
        with open_database(target, read_only=True) as db:
            live = read_live(db)
    return live


def read_live(db: Database) -> LiveState:
    """The live state of an open target (read-only)."""
    from mailprov.db.database import read_live as _read

    return _read(db)


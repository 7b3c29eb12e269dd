"""An open target: its engine, tables and backend, chosen once when it is opened.

The database password comes from the URL typed on the command line,
MAILPROV_DB_PASSWORD, or the OS keyring (`mailprov login`); never from a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from mailprov.db.backends import Backend, backend_for
from mailprov.db.connect import engine_for, parse_url, redact, translate_errors
from mailprov.db.read import read_live_state
from mailprov.db.tables import Tables, build_tables
from mailprov.model import LiveState
from mailprov.model.mapping import DbMapping


@dataclass
class Database:
    """An engine on a target, with its tables, its backend and its URL."""

    name: str
    url: URL
    engine: Engine
    tables: Tables
    backend: Backend

    @property
    def display_url(self) -> str:
        """The URL without its password: safe to print, log and save."""
        return redact(self.url)

    def connect(self) -> Connection:
        with translate_errors(self.url, "connecting to"):
            return self.engine.connect()

    def close(self) -> None:
        """Release pooled connections: only an in-memory SQLite engine pools any
        (the others are shared by the process and hold none; see engine_for)."""
        from sqlalchemy.pool import NullPool

        if not isinstance(self.engine.pool, NullPool):
            self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_database(name: str, url_text: str, mapping: DbMapping, *,
                  lock_timeout: float = 10.0) -> Database:
    """An engine for the target `name` at `url_text`, whose tables `mapping` names."""
    from mailprov.secrets import get_db_password

    url = parse_url(url_text)
    if url.password is None and url.get_backend_name() != "sqlite" and url.username:
        password = get_db_password(name)
        if password:
            url = url.set(password=password)
    engine = engine_for(url, lock_timeout=lock_timeout)
    return Database(name, url, engine, build_tables(mapping),
                    backend_for(url.get_backend_name()))


def read_live(db: Database) -> LiveState:
    """The live state in a constant number of queries (read-only)."""
    with translate_errors(db.url, "reading"), db.engine.connect() as conn:
        try:
            return read_live_state(conn, db.tables, db.backend)
        finally:
            conn.rollback()

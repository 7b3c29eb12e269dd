"""An open target: its engine, tables and backend, chosen once when it is opened.

The database password comes from the URL typed on the command line,
MAILPROV_DB_PASSWORD, or the OS keyring (`mailprov login`); never from a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from mailprov.db.backends import Backend, backend_for
from mailprov.db.connect import engine_for, parse_url, redact, translate_errors
from mailprov.db.read import read_live_state
from mailprov.db.tables import Tables, build_tables
from mailprov.db.timeouts import Timeouts, timeouts_from_env
from mailprov.errors import DatabaseError
from mailprov.i18n import _
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
    timeouts: Timeouts = field(default_factory=Timeouts)

    @property
    def display_url(self) -> str:
        """The URL without its password: safe to print, log and save."""
        return redact(self.url)

    def connect(self) -> Connection:
        with self.errors("connecting to"):
            return self.engine.connect()

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Driver errors as one DatabaseError that names this target and its limits."""
        with translate_errors(self.url, action, target=self.name, timeouts=self.timeouts):
            yield

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
                  lock_timeout: float = 10.0, read_only: bool = False,
                  create: bool = False) -> Database:
    """An engine for the target `name` at `url_text`, whose tables `mapping` names.

    `read_only` (plan, import, explain, history): a SQLite file is opened read-only, and
    the server sessions of the other databases wait for no lock, so their answers are
    bounded by the answer timeout alone. A missing SQLite file is created only when
    `create` and not `read_only` (sandbox); otherwise it is an error saying so, rather
    than an empty file and a missing table.
    """
    from mailprov.config.urls import anchor_sqlite
    from mailprov.keystore import get_db_password

    # a relative SQLite path is the working folder's: written out in full, so the
    # process's engine for it (engine_for) never serves another folder's file
    url = parse_url(anchor_sqlite(url_text, os.getcwd()))
    if url.password is None and url.get_backend_name() != "sqlite" and url.username:
        password = get_db_password(name)
        if password:
            url = url.set(password=password)
    engine_url = url
    if url.get_backend_name() == "sqlite" and (read_only or not create):
        _sqlite_file_exists(url)
        if read_only:
            engine_url = _sqlite_read_only(url)
    timeouts = timeouts_from_env(0.0 if read_only else lock_timeout)
    engine = engine_for(engine_url, lock_timeout=lock_timeout, timeouts=timeouts)
    return Database(name, url, engine, build_tables(mapping),
                    backend_for(url.get_backend_name()), timeouts)


def _plain_sqlite_file(url: URL) -> str | None:
    """The file of a SQLite URL, or None in memory or for a URI the user wrote."""
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:") or url.query:
        return None
    return path


def _sqlite_file_exists(url: URL) -> None:
    """pysqlite creates a missing file, empty: the error would then be a missing table."""
    path = _plain_sqlite_file(url)
    if path is not None and not os.path.isfile(path):
        raise DatabaseError(_(
            "the SQLite database {url} does not exist (no file {path}): check the path "
            "(in a configuration file it is relative to the file's folder), or create a "
            "test database with `mailprov sandbox URL`").format(url=redact(url),
                                                                 path=os.path.abspath(path)))


def _sqlite_read_only(url: URL) -> URL:
    """The URL of a SQLite file opened read-only (`mode=ro`)."""
    path = _plain_sqlite_file(url)
    if path is None:
        return url  # in memory, or a URI the user wrote: taken as it is
    return url.set(database="file:" + quote(os.path.abspath(path)),
                   query={"mode": "ro", "uri": "true"})


def read_live(db: Database) -> LiveState:
    """The live state in a constant number of queries (read-only)."""
    with db.connect() as conn, db.errors("reading"):
        try:
            return read_live_state(conn, db.tables, db.backend)
        finally:
            conn.rollback()

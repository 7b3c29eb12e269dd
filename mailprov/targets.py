"""Targets: which database a command works on, and how mailprov connects to it.

A password comes from a URL typed on the command line, MAILPROV_DB_PASSWORD,
or the OS keyring (`mailprov login`); never from a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailprov.errors import TargetError
from mailprov.model import Config, LiveState

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

    from mailprov.db.mapping import DbMapping
    from mailprov.db.tables import Tables

ENV_DB_URL = "MAILPROV_DB_URL"


@dataclass(frozen=True)
class ResolvedTarget:
    """A database to work on: its name, URL (may hold a command-line password), mapping."""

    name: str
    url: str
    edition: str | None = None
    mapping_path: str | None = None
    mapping_data: dict[str, Any] | None = None

    @property
    def display_url(self) -> str:
        from mailprov.db.connect import redact

        return redact(self.url)


def _looks_like_url(text: str) -> bool:
    return "://" in text or text.startswith("sqlite:")


def resolve_target(config: Config | None, target: str | None = None,
                   db_url: str | None = None) -> ResolvedTarget:
    """Pick the target named by `-t` (a name or a URL), the default one, or the only one.

    `db_url` (`--db`, or MAILPROV_DB_URL) replaces the target's URL.
    """
    db_url = db_url or os.environ.get(ENV_DB_URL) or None
    if target and _looks_like_url(target):
        from mailprov.db.connect import redact

        return ResolvedTarget(redact(target), db_url or target)
    targets = dict(config.targets) if config else {}
    name = target or (config.default_target if config else None)
    if name is None and len(targets) == 1:
        name = next(iter(targets))
    if name is None:
        if db_url:
            from mailprov.db.connect import redact

            return ResolvedTarget(redact(db_url), db_url)
        raise TargetError("no target given: use -t NAME (one of the `targets` of the "
                          "configuration), -t URL, or set `default_target`")
    if name not in targets:
        if db_url:
            return ResolvedTarget(name, db_url)
        known = ", ".join(sorted(targets)) or "none defined"
        raise TargetError(f"target '{name}' is not defined in the configuration (defined: "
                          f"{known}): add it under `targets`, or give -t a database URL")
    spec = targets[name]
    url = db_url or spec.url
    if not url:
        raise TargetError(f"target '{name}' has no URL")
    return ResolvedTarget(name, url, spec.edition, spec.mapping)


@dataclass
class Database:
    """An open engine on a target, with its tables and redacted URL."""

    target: ResolvedTarget
    url: URL
    engine: Engine
    tables: Tables

    def connect(self) -> Connection:
        from mailprov.db.connect import translate_errors

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


def open_database(target: ResolvedTarget, *, lock_timeout: float = 10.0) -> Database:
    """An engine for the target; the password comes from the URL given on the command
    line, MAILPROV_DB_PASSWORD, or the keyring (`mailprov login`)."""
    from mailprov.db.connect import engine_for, parse_url
    from mailprov.db.tables import build_tables
    from mailprov.secrets import get_db_password

    url = parse_url(target.url)
    if url.password is None and url.get_backend_name() != "sqlite" and url.username:
        password = get_db_password(target.name)
        if password:
            url = url.set(password=password)
    engine = engine_for(url, lock_timeout=lock_timeout)
    return Database(target, url, engine, build_tables(_mapping_of(target)))


def _mapping_of(target: ResolvedTarget) -> DbMapping:
    from mailprov.db.mapping import load_mapping, mapping_from_data

    if target.mapping_data is not None:
        return mapping_from_data(target.mapping_data, "saved plan")
    return load_mapping(target.mapping_path)


def read_live(db: Database) -> LiveState:
    """The live state in a constant number of queries (read-only)."""
    from mailprov.db.connect import translate_errors
    from mailprov.db.read import read_live_state

    with translate_errors(db.url, "reading"), db.engine.connect() as conn:
        try:
            return read_live_state(conn, db.tables)
        finally:
            conn.rollback()

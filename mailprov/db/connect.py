"""Database URLs and engines: default drivers, redaction, one engine per URL.

A URL printed anywhere goes through :func:`redact`, and database errors go
through :func:`database_error`, which removes the password from the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from mailprov.config.urls import redact, redact_text
from mailprov.errors import DatabaseError, TargetError

__all__ = ["database_error", "engine_for", "make_engine", "parse_url", "redact",
           "translate_errors"]

DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "mysql": "pymysql",
                   "mariadb": "pymysql"}
EXTRAS = {"psycopg": "postgres", "pymysql": "mysql"}


def parse_url(raw: str) -> URL:
    """A SQLAlchemy URL with our default drivers; a clear error when malformed."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise TargetError(f"'{redact_text(raw)}' is not a database URL: write it like "
                          "postgresql://user@host/db or sqlite:///file.db") from None
    if url.drivername == "postgres":
        url = url.set(drivername="postgresql")
    if "+" not in url.drivername and url.drivername in DEFAULT_DRIVERS:
        url = url.set(drivername=f"{url.drivername}+{DEFAULT_DRIVERS[url.drivername]}")
    return url


_ENGINES: dict[tuple[URL, float], Engine] = {}


def _in_memory(url: URL) -> bool:
    """An in-memory SQLite database lives only as long as its connection."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def engine_for(url: URL, *, lock_timeout: float = 10.0) -> Engine:
    """The process's engine for `url`: one per URL, as SQLAlchemy intends, so a process
    that plans and applies (or serves several targets) initialises each dialect and
    compiles each statement once. Engines here hold no connections (NullPool), so
    keeping them costs nothing; an in-memory SQLite engine is never shared."""
    if _in_memory(url):
        return make_engine(url, lock_timeout=lock_timeout)
    key = (url, lock_timeout)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = make_engine(url, lock_timeout=lock_timeout)
    return engine


def make_engine(url: URL, *, lock_timeout: float = 10.0) -> Engine:
    """An engine with the backend's bounded waits and engine events."""
    from mailprov.db.backends import backend_for

    backend = backend_for(url.get_backend_name())
    connect_args = backend.connect_args(url, lock_timeout)
    try:
        # NullPool: a command opens one or two connections and exits; pooling them
        # only adds work (and a pool to dispose). In memory, SQLAlchemy's default pool
        # keeps the one connection, and so the database.
        pool: dict[str, Any] = {} if _in_memory(url) else {"poolclass": NullPool}
        engine = create_engine(url, connect_args=connect_args, **pool)
    except NoSuchModuleError:
        raise TargetError(f"no SQLAlchemy dialect for '{url.drivername}'") from None
    except ImportError as exc:
        driver = url.get_driver_name()
        extra = EXTRAS.get(driver)
        hint = f"pip install 'mailprov[{extra}]'" if extra else f"install the {driver} driver"
        raise TargetError(f"the database driver '{driver}' is not installed ({exc}): "
                          f"{hint}") from None
    backend.configure_engine(engine)
    return engine


def database_error(exc: BaseException, url: URL, action: str) -> DatabaseError:
    """A one-line DatabaseError for a driver error, with no password in it."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    if url.password:
        text = text.replace(str(url.password), "***")
    if len(text) > 300:
        text = text[:297] + "..."
    return DatabaseError(f"{action} {redact(url)} failed: {text}")


@contextmanager
def translate_errors(url: URL, action: str) -> Iterator[None]:
    """Turn SQLAlchemy/driver errors into DatabaseError for the CLI."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        yield
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        raise database_error(exc, url, action) from None

"""Database URLs and engines: default drivers, redaction, one engine per URL.

A URL printed anywhere goes through :func:`redact`, and database errors go
through :func:`database_error`, which removes the password from the text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from mailprov.config.urls import check_url_password, redact, redact_text
from mailprov.db.timeouts import ENV_CONNECT_TIMEOUT, ENV_TIMEOUT, Timeouts, timeouts_from_env
from mailprov.errors import DatabaseError, TargetError, shell_word
from mailprov.i18n import N_, _

__all__ = ["ENGINE_CACHE_SIZE", "cached_engines", "database_error", "engine_for", "make_engine",
           "parse_url", "redact", "translate_errors"]

DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "mysql": "pymysql",
                   "mariadb": "pymysql"}
EXTRAS = {"psycopg": "postgres", "pymysql": "mysql"}


def parse_url(raw: str) -> URL:
    """A SQLAlchemy URL with our default drivers; a clear error when malformed, or when
    its password is not percent-encoded (the parser would cut it at a raw `@`)."""
    check_url_password(raw)
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise TargetError(_("'{url}' is not a database URL: write it like "
                            "postgresql://user@host/db or sqlite:///file.db").format(
                                url=redact_text(raw))) from None
    if url.drivername == "postgres":
        url = url.set(drivername="postgresql")
    if "+" not in url.drivername and url.drivername in DEFAULT_DRIVERS:
        url = url.set(drivername=f"{url.drivername}+{DEFAULT_DRIVERS[url.drivername]}")
    return url


ENGINE_CACHE_SIZE = 32
"""Engines kept per process: enough for every database a command touches, bounded for a
fleet of hundreds (an evicted engine is disposed; its target opens a new one if needed)."""

_ENGINES: OrderedDict[tuple[URL, float, Timeouts], Engine] = OrderedDict()
_ENGINES_LOCK = threading.Lock()


def _in_memory(url: URL) -> bool:
    """An in-memory SQLite database lives only as long as its connection."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def engine_for(url: URL, *, lock_timeout: float = 10.0, timeouts: Timeouts | None = None
               ) -> Engine:
    """The process's engine for `url`: one per URL, as SQLAlchemy intends, so a process
    that plans and applies (or serves several targets) initialises each dialect and
    compiles each statement once. Engines here hold no connections (NullPool), so
    keeping them costs little; the ENGINE_CACHE_SIZE most recently used are kept (a
    fleet of hundreds of targets must not keep hundreds of dialects), and an in-memory
    SQLite engine is never shared. Safe to call from several threads.

    `timeouts` default to the environment's, with `lock_timeout` as the lock wait."""
    timeouts = timeouts or timeouts_from_env(lock_timeout)
    if _in_memory(url):
        return make_engine(url, lock_timeout=lock_timeout, timeouts=timeouts)
    key = (url, lock_timeout, timeouts)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is not None:
            _ENGINES.move_to_end(key)
            return engine
    engine = make_engine(url, lock_timeout=lock_timeout, timeouts=timeouts)
    evicted = []
    with _ENGINES_LOCK:
        found = _ENGINES.get(key)
        if found is not None:  # another thread made one meanwhile: use the first
            evicted.append(engine)
            engine = found
        else:
            _ENGINES[key] = engine
        _ENGINES.move_to_end(key)
        while len(_ENGINES) > ENGINE_CACHE_SIZE:
            evicted.append(_ENGINES.popitem(last=False)[1])
    for old in evicted:
        # NullPool: connections still checked out elsewhere are not touched, only the pool
        old.dispose(close=False)
    return engine


def cached_engines() -> int:
    """How many engines the process keeps (for tests of the bound)."""
    with _ENGINES_LOCK:
        return len(_ENGINES)


def make_engine(url: URL, *, lock_timeout: float = 10.0, timeouts: Timeouts | None = None
                ) -> Engine:
    """An engine with the backend's bounded waits (mailprov.db.timeouts) and events."""
    from mailprov.db.backends import backend_for

    backend = backend_for(url.get_backend_name())
    connect_args = backend.connect_args(url, lock_timeout,
                                        timeouts or timeouts_from_env(lock_timeout))
    try:
        # NullPool: a command opens one or two connections and exits; pooling them
        # only adds work (and a pool to dispose). In memory, SQLAlchemy's default pool
        # keeps the one connection, and so the database.
        pool: dict[str, Any] = {} if _in_memory(url) else {"poolclass": NullPool}
        engine = create_engine(url, connect_args=connect_args, **pool)
    except NoSuchModuleError:
        raise TargetError(_("no SQLAlchemy dialect for '{dialect}'").format(
            dialect=url.drivername)) from None
    except ImportError as exc:
        driver = url.get_driver_name()
        extra = EXTRAS.get(driver)
        hint = f"pip install 'mailprov[{extra}]'" if extra else _(
            "install the {driver} driver").format(driver=driver)
        raise TargetError(_("the database driver '{driver}' is not installed ({error}): "
                            "{hint}").format(driver=driver, error=exc, hint=hint)) from None
    backend.configure_engine(engine)
    return engine


ACTIONS = (N_("connecting to"), N_("reading"), N_("reading history from"),
           N_("creating the sandbox in"), N_("applying to"), N_("setting a password in"),
           N_("clearing a password in"))
"""What a database error says was being done (`{action} {url} failed`), translated where
it is shown: callers name the action in English."""


def database_error(exc: BaseException, url: URL, action: str, *, target: str | None = None,
                   timeouts: Timeouts | None = None) -> DatabaseError:
    """A one-line DatabaseError for a driver error, with no password in it. A timeout says
    which limit it hit; a refused login says how to give the password (for `target`)."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    if url.password:
        text = text.replace(str(url.password), "***")
    if len(text) > 300:
        text = text[:297] + "..."
    action = _(action)  # the phrases of ACTIONS, or one its caller translated
    limit = _timeout_hit(orig, timeouts)
    if limit:
        return DatabaseError(_("{action} {url} failed: {limit}").format(
            action=action, url=redact(url), limit=limit))
    message = _("{action} {url} failed: {text}").format(action=action, url=redact(url),
                                                       text=text)
    if _login_refused(orig):
        name = shell_word(target) if target else "TARGET"
        message += _("; give the database password with `mailprov login {name}` (stored in "
                     "the OS keyring) or in MAILPROV_DB_PASSWORD").format(name=name)
    return DatabaseError(message)


def _timeout_hit(orig: BaseException, t: Timeouts | None) -> str | None:
    """What to say when `orig` is a driver giving up on a bounded wait, else None."""
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(orig).lower()
    if "connection timeout expired" in text or (code == 2003 and "timed out" in text):
        limit = None if t is None else (
            t.connect_whole_seconds if "connection timeout" in text else t.connect)
        return _("could not connect {within} (the connect timeout, {env})").format(
            within=_within(limit), env=ENV_CONNECT_TIMEOUT)
    plus = _(" plus the lock timeout") if t and t.lock else ""
    if code == 2013 and "timed out" in text:  # PyMySQL's read timeout
        return _("the server did not answer {within} (the read timeout, {env}{plus})").format(
            within=_within(t.statement if t else None), env=ENV_TIMEOUT, plus=plus)
    if code == 2006 and "timed out" in text:  # PyMySQL's write timeout
        return _("the server did not take what was sent {within} (the write timeout, "
                 "{env})").format(within=_within(t.answer if t else None), env=ENV_TIMEOUT)
    if getattr(orig, "sqlstate", None) == "57014" and "statement timeout" in text:
        return _("the statement did not finish {within} (the statement timeout, "
                 "{env}{plus})").format(within=_within(t.statement if t else None), env=ENV_TIMEOUT,
                                        plus=plus)
    return None


def _within(seconds: float | None) -> str:
    if not seconds:
        return _("in time")
    return _("within {seconds:g} s").format(seconds=seconds)


def _login_refused(orig: BaseException) -> bool:
    """MySQL/MariaDB `1045 Access denied`, PostgreSQL `password authentication failed`
    (28P01) or a missing password the server asked for."""
    args = getattr(orig, "args", ())
    if args and args[0] == 1045:
        return True
    text = str(orig)
    return (getattr(orig, "sqlstate", None) == "28P01"
            or "password authentication failed" in text or "no password supplied" in text)


@contextmanager
def translate_errors(url: URL, action: str, *, target: str | None = None,
                     timeouts: Timeouts | None = None) -> Iterator[None]:
    """Turn SQLAlchemy/driver errors into DatabaseError for the CLI."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        yield
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        raise database_error(exc, url, action, target=target, timeouts=timeouts) from None

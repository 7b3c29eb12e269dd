"""How long mailprov waits for a database server. Every wait is bounded, so a server
that is down, or that accepts a connection and never answers, ends in an error that
names the limit it hit rather than in a hang.

- connecting (TCP, and PostgreSQL's whole start-up and login): MAILPROV_DB_CONNECT_TIMEOUT,
  10 s by default;
- each answer of the server, and each send to it: MAILPROV_DB_TIMEOUT, 60 s by default
  (PyMySQL's read and write timeouts, PostgreSQL's statement_timeout). A session that
  may wait for another apply's locks (apply) gets its lock timeout on top.

SQLite is a local file: it waits only for another writer's lock (the lock timeout).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from mailprov.errors import TargetError
from mailprov.i18n import _

ENV_CONNECT_TIMEOUT = "MAILPROV_DB_CONNECT_TIMEOUT"
ENV_TIMEOUT = "MAILPROV_DB_TIMEOUT"
CONNECT_TIMEOUT = 10.0
ANSWER_TIMEOUT = 60.0
MAX_TIMEOUT = 86_400.0


@dataclass(frozen=True)
class Timeouts:
    """The limits of one engine, in seconds."""

    connect: float = CONNECT_TIMEOUT
    answer: float = ANSWER_TIMEOUT
    lock: float = 0.0  # how long a statement may also wait for another session's locks

    @property
    def statement(self) -> float:
        """The longest one statement may take: the answer time plus any lock wait."""
        return self.answer + self.lock

    @property
    def connect_whole_seconds(self) -> int:
        """libpq counts whole seconds, 2 at least."""
        return max(2, math.ceil(self.connect))


def timeouts_from_env(lock: float = 0.0, environ: Mapping[str, str] | None = None) -> Timeouts:
    """The limits the environment sets (defaults otherwise); `lock` is the lock timeout of
    sessions that wait for locks, 0 for read-only ones."""
    env = os.environ if environ is None else environ
    return Timeouts(_seconds(env, ENV_CONNECT_TIMEOUT, CONNECT_TIMEOUT),
                    _seconds(env, ENV_TIMEOUT, ANSWER_TIMEOUT), lock)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_TIMEOUT:  # also NaN
        raise TargetError(_("{name} must be a number of seconds above 0 and at most 86400 "
                            "(for example {default:g}), not '{value}'").format(
                                name=name, default=default, value=text[:40]))
    return value

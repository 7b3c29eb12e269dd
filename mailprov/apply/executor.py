"""The apply sequence, in one place: lock, re-read, digest check, writes, history.

All of it happens in one transaction: either the whole plan is written and recorded,
or nothing is.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from mailprov.config.gitinfo import git_commit
from mailprov.db.connect import translate_errors
from mailprov.db.database import Database
from mailprov.db.history import HistoryEntry, record_history
from mailprov.db.read import read_general, read_user_states
from mailprov.db.write import write_changes
from mailprov.errors import LockError, SafetyError, StalePlanError
from mailprov.plan.digest import MISSING, digest_rows, general_state
from mailprov.plan.format import Plan


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    history_id: int | None


def check_safety(plan: Plan, force: bool) -> None:
    """Refuse a plan above the safety limits unless forced (docs/safety.md)."""
    if plan.safety.exceeded and not force:
        raise SafetyError(
            "refused for safety: " + "; ".join(plan.safety.reasons) + ". Review the plan, "
            "then apply with --force, or raise the limits under `safety:` in the configuration."
        )


def history_entry(plan: Plan, config_dir: str | None) -> HistoryEntry:
    """Who applies, from where, and from which commit: never a secret."""
    return HistoryEntry(
        target=plan.target,
        os_user=_os_user(),
        host=socket.gethostname(),
        config_digest=plan.config_digest,
        git_commit=git_commit(config_dir or os.getcwd()),
    )


def apply_plan(plan: Plan, db: Database, *, force: bool = False, lock_timeout: float = 10.0,
               config_dir: str | None = None,
               before_commit: Callable[[Connection], None] | None = None) -> ApplyResult:
    """Apply `plan` to `db` atomically and record it; an empty plan records nothing.

    Raises SafetyError (thresholds), LockError (another apply holds the lock past
    `lock_timeout`), StalePlanError (rows changed since the plan). `before_commit` is
    a hook for fault-injection tests.
    """
    check_safety(plan, force)
    if not plan.changes:
        return ApplyResult(plan, None)
    entry = history_entry(plan, config_dir)
    backend, tables = db.backend, db.tables
    with translate_errors(db.url, "applying to"):
        backend.prepare_history(db.engine, tables)
        try:
            with db.engine.connect() as conn:
                conn.execution_options(mailprov_write=True)
                with conn.begin():
                    backend.set_lock_timeout(conn, lock_timeout)
                    _check_base(conn, db, plan)
                    write_changes(conn, tables, backend, plan.changes)
                    backend.create_history(conn, tables)
                    history_id = record_history(conn, tables, backend, plan, entry)
                    if before_commit is not None:
                        before_commit(conn)
        except DBAPIError as exc:
            if backend.is_lock_error(exc):
                raise LockError(
                    f"another apply holds the lock on target '{plan.target}' (waited "
                    f"{lock_timeout:g} s). Nothing was changed; try again when it has "
                    "finished.") from None
            raise
    return ApplyResult(plan, history_id)


def _check_base(conn: Connection, db: Database, plan: Plan) -> None:
    """Lock the general row, re-read the rows the plan changes, and refuse the plan
    if their digest is no longer the one it was computed from."""
    general = read_general(conn, db.tables, db.backend, for_update=True)
    users = [(c.address, c.user_code) for c in plan.changes if c.user_code is not None]
    live = read_user_states(conn, db.tables, db.backend, [code for _, code in users])
    states = [(address, live.get(code, MISSING)) for address, code in users]
    if digest_rows(general_state(general), states) != plan.base_digest:
        raise StalePlanError(
            f"the saved plan for target '{plan.target}' is stale: the general "
            "configuration or a user it changes was modified since it was planned. "
            "Nothing was changed; run `mailprov plan` again.")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

"""The apply sequence, in one place: lock, re-read, checks, writes, history.

All of it happens in one transaction that holds the target's lock (the general row,
locked for update) and a row lock on every user row it compares: either the whole
plan is written and recorded, or nothing is. Two ways in:

- `apply_plan`: a saved plan, applied exactly, to the database it was made from, and
  only if no row its configuration manages changed since (the base digest);
- `apply_config`: the files, planned again under the lock (as Terraform refreshes
  under its state lock), so that applies that queue on the lock each start from what
  the previous one left.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from mailprov.config.gitinfo import git_commit
from mailprov.db.database import Database
from mailprov.db.history import HistoryEntry, record_history
from mailprov.db.livestate import row_state
from mailprov.db.read import (
    count_overrides,
    database_id,
    read_general,
    read_live_state,
    read_row_states,
)
from mailprov.db.tables import Tables
from mailprov.db.version import versioned
from mailprov.db.write import write_changes
from mailprov.errors import (
    LockError,
    SafetyError,
    StalePlanError,
    TamperedPlanError,
    UnknownUserError,
    WrongDatabaseError,
)
from mailprov.i18n import _, shown
from mailprov.model import GeneralSettings, Policy
from mailprov.plan.digest import digest_rows
from mailprov.plan.format import GENERAL, Plan
from mailprov.plan.policy import change_violations, policy_error

if TYPE_CHECKING:
    from mailprov.model import LiveState


@dataclass(frozen=True)
class ApplyResult:
    """The plan that was applied (for `apply_config`, the one made under the lock), the
    database written (its redacted URL) and the history row recorded (None: no change)."""

    plan: Plan
    history_id: int | None
    database_url: str = ""


def check_safety(plan: Plan, force: bool) -> None:
    """Refuse a plan above the safety limits unless forced (docs/safety.md)."""
    if plan.safety.exceeded and not force:
        raise SafetyError(_(
            "refused for safety: {reasons}. Review the plan, then apply with --force, or "
            "raise the limits under `safety:` in the configuration.").format(
                reasons="; ".join(map(shown, plan.safety.reasons))))


def history_entry(plan: Plan, commit: str | None) -> HistoryEntry:
    """Who applies, from where, and from which commit: never a secret."""
    return HistoryEntry(target=plan.target, os_user=_os_user(), host=socket.gethostname(),
                        config_digest=plan.config_digest, git_commit=commit)


def history_entry_for(target: str) -> HistoryEntry:
    """Who acts, and from where, for a change that is not a plan (a password set or
    cleared): no configuration, so no config digest or commit."""
    return HistoryEntry(target=target, os_user=_os_user(), host=socket.gethostname(),
                        config_digest=None, git_commit=None)


@contextmanager
def locked_transaction(db: Database, target: str, lock_timeout: float,
                       action: str = "applying to") -> Iterator[Connection]:
    """A write transaction with the lock wait bounded; a lock wait that runs out is a
    LockError saying how long it really waited. Database errors say `action` URL failed."""
    backend = db.backend
    with db.errors(action):
        backend.prepare_history(db.engine, db.tables)
        try:
            with db.engine.connect() as conn:
                conn.execution_options(mailprov_write=True)
                with conn.begin():
                    backend.set_lock_timeout(conn, lock_timeout)
                    yield conn
        except DBAPIError as exc:
            if backend.is_lock_error(exc):
                raise LockError(_(
                    "another apply holds the lock on target '{target}' (waited {seconds} s). "
                    "Nothing was changed; try again when it has finished.").format(
                        target=target, seconds=f"{backend.lock_wait(lock_timeout):g}")
                ) from None
            raise


def _write(conn: Connection, db: Database, tables: Tables, plan: Plan, entry: HistoryEntry,
           before_commit: Callable[[Connection], None] | None) -> int:
    write_changes(conn, tables, db.backend, plan.changes)
    db.backend.create_history(conn, db.tables)
    history_id = record_history(conn, db.tables, db.backend, plan, entry)
    if before_commit is not None:
        before_commit(conn)
    return history_id


def apply_plan(plan: Plan, db: Database, *, force: bool = False, lock_timeout: float = 10.0,
               commit: str | None = None, policies: Sequence[Policy] = (),
               before_commit: Callable[[Connection], None] | None = None) -> ApplyResult:
    """Apply a saved plan to `db` atomically and record it; an empty plan records nothing.

    Raises PolicyError (the plan breaks a policy: the ones it carries, and `policies`
    given to apply, checked under the lock on what it writes; --force does not lift
    it), SafetyError (thresholds), LockError (another apply holds the lock past
    `lock_timeout`), WrongDatabaseError (`db` is not the database the plan was made
    from), StalePlanError (rows it manages changed since). `before_commit` is a hook
    for fault-injection tests.
    """
    if plan.policy_violations:
        raise policy_error(plan.policy_violations, done=_("Nothing was changed."))
    check_safety(plan, force)
    url = db.display_url
    if not plan.changes:
        return ApplyResult(plan, None, url)
    entry = history_entry(plan, commit or plan.git_commit)
    with locked_transaction(db, plan.target, lock_timeout) as conn:
        _check_database(conn, db, plan)
        tables = versioned(conn, db.tables, db.backend)
        _check_version(plan, tables)
        general = _check_base(conn, db, tables, plan)
        _check_live_safety(conn, db, tables, plan, force)
        _check_policies(conn, db, plan, (*plan.policies, *policies), general)
        history_id = _write(conn, db, tables, plan, entry, before_commit)
    return ApplyResult(plan, history_id, url)


def _check_live_safety(conn: Connection, db: Database, tables: Tables, plan: Plan,
                       force: bool) -> None:
    """The safety verdict again, with the overrides counted by the database under the
    lock: a count edited in a saved plan cannot lift a limit."""
    from mailprov.model import Safety
    from mailprov.plan.safety import evaluate

    safety = plan.safety
    limits = Safety(safety.max_change_percent, safety.min_existing, safety.max_changes)
    live = count_overrides(conn, tables, db.backend)
    check_safety(replace(plan, safety=evaluate(plan.changes, live, limits)), force)


def _check_policies(conn: Connection, db: Database, plan: Plan, policies: Sequence[Policy],
                    general: GeneralSettings) -> None:
    """Check what the plan writes against `policies`, with the general row read under the
    lock (for values stored empty) and the overrides counted there (max_overrides)."""
    if not policies:
        return
    existing = count_overrides(conn, db.tables, db.backend) \
        if any(p.max_overrides is not None for p in policies) else None
    violations = change_violations(policies, plan.changes, general, existing)
    if violations:
        raise policy_error(violations, done=_("Nothing was changed."))


def apply_config(build: Callable[[LiveState], Plan], db: Database, target: str, *,
                 approved: Plan | None = None, show: Callable[[Plan], None] | None = None,
                 force: bool = False, lock_timeout: float = 10.0,
                 config_dir: str | None = None,
                 before_commit: Callable[[Connection], None] | None = None,
                 commit: str | None = None) -> ApplyResult:
    """Plan `config` under the target's lock and apply that plan.

    `build(live)` makes the plan from the live state read under the lock. `approved` is
    the plan a person said yes to before the lock was taken: if the database changed
    since, so that the plan differs, nothing is written (StalePlanError, saying so).
    `show` is called with the plan before it is written (to print it). `commit`: the
    git commit of the files when already known, else read from `config_dir`.
    """
    url = db.display_url
    commit = commit or git_commit(config_dir or os.getcwd())
    with locked_transaction(db, target, lock_timeout) as conn:
        live = read_live_state(conn, db.tables, db.backend, for_update=True)
        plan = build(live)
        if plan.errors:
            raise UnknownUserError("\n".join(p.format() for p in plan.errors))
        if approved is not None and _changes(approved) != _changes(plan):
            raise StalePlanError(_(
                "target '{target}' changed while you were reviewing the plan: what you "
                "approved is no longer what apply would do. Nothing was changed; run "
                "`mailprov apply` again to see the new plan.").format(target=plan.target))
        if show is not None:
            show(plan)
        if plan.policy_violations:
            raise policy_error(plan.policy_violations, listed=show is not None,
                               done=_("Nothing was changed."))
        check_safety(plan, force)
        if not plan.changes:
            return ApplyResult(plan, None, url)
        tables = versioned(conn, db.tables, db.backend)  # read with the live state
        # row-locks the managed rows: nobody edited them since
        _check_base(conn, db, tables, plan)
        history_id = _write(conn, db, tables, plan, history_entry(plan, commit), before_commit)
    return ApplyResult(plan, history_id, url)


def _changes(plan: Plan) -> list[dict[str, Any]]:
    return [change.to_json() for change in plan.changes]


def _check_database(conn: Connection, db: Database, plan: Plan) -> None:
    """A saved plan applies only to the database it was made from: the same identity
    (what the server says, which a copy does not share), or, where a backend has no
    identity, the same URL."""
    current = database_id(conn, db.tables, db.backend)
    url = db.display_url
    if plan.database_id is None and current is None:
        same = url == plan.target_url
    else:
        same = current == plan.database_id
    if not same:
        no_identity = _("no identity")
        raise WrongDatabaseError(_(
            "the plan was made for target '{target}', database {planned_url} "
            "({planned_id}), but {url} is another database ({current_id}). Nothing was "
            "changed; plan against this database instead.").format(
                target=plan.target, planned_url=plan.target_url,
                planned_id=plan.database_id or no_identity, url=url,
                current_id=current or no_identity))


def _check_version(plan: Plan, tables: Tables) -> None:
    """A saved plan's changes are written in the columns of the model version it was made
    for: a target that has since moved to another version (maestro* upgraded) must be
    planned again."""
    if plan.model_version == tables.version:
        return
    raise WrongDatabaseError(_(
        "the plan was made for target '{target}' on reference model version {planned}, but "
        "the database now follows version {now} (maestro* upgraded, or the mapping's "
        "`model_version` changed). Nothing was changed; run `mailprov plan` again.").format(
            target=plan.target, planned=plan.model_version, now=tables.version))


def _check_base(conn: Connection, db: Database, tables: Tables, plan: Plan
                ) -> GeneralSettings:
    """Lock the general row and the user rows the plan writes, re-read every managed
    row, and refuse the plan if their digest is no longer the one it was computed from.

    Only the rows apply writes need a row lock: an edit of another managed row committed
    after this re-read is as if made just after the apply, which leaves no mix."""
    general = read_general(conn, tables, db.backend, for_update=True)
    written = [c.number for c in plan.changes if c.number is not None]
    db.backend.lock_user_rows(conn, tables, written)
    managed = None if plan.managed_users is None else list(plan.managed_users)
    rows = read_row_states(conn, tables, db.backend, managed)
    if digest_rows(general, rows) != plan.base_digest:
        raise StalePlanError(_stale_message(plan, general.as_dict(), rows, tables))
    _check_changes_name_their_rows(plan, general.as_dict(), rows, tables)
    return general




def _check_changes_name_their_rows(plan: Plan, general: dict[str, Any],
                                   rows: list[tuple[Any, ...]], tables: Tables) -> None:
    """Each change must describe the row it writes as that row is: its number is one of
    the managed rows, that row has the change's user code, and its `before` is the row's
    state. The digest proves the rows did not change since the plan; this proves the
    plan's changes were made from them (an edited plan could name another row)."""
    by_number = {row[0]: row for row in rows}
    mapping, version = tables.mapping, tables.version
    for change in plan.changes:
        if change.address == GENERAL:
            if change.before != general:
                raise _mismatch(plan, change.address, _("the general row"))
            continue
        row = by_number.get(change.number)
        if row is None or row[1] != change.user_code:
            raise _mismatch(plan, change.address,
                            _("user number {number}").format(number=change.number))
        before = None if change.before is None else dict(change.before)
        if row_state(row, mapping, version) != before:
            raise _mismatch(plan, change.address,
                            _("user {code}").format(code=change.user_code))


def _mismatch(plan: Plan, address: str, row: str) -> TamperedPlanError:
    return TamperedPlanError(_(
        "the saved plan for target '{target}' does not describe the database it was made "
        "from: its change of {address} does not match {row} as it is. The plan was edited "
        "after it was made. Nothing was changed; plan again.").format(
            target=plan.target, address=address, row=row))


def _stale_message(plan: Plan, general: dict[str, Any], rows: list[tuple[Any, ...]],
                   tables: Tables) -> str:
    """Say what changed since the plan, as far as the plan's own `before` values tell."""
    by_number = {row[0]: row for row in rows}
    changed = []
    for change in plan.changes:
        if change.address == GENERAL:
            if change.before != general:
                changed.append("general")
            continue
        row = by_number.get(change.number)
        if row is None:
            changed.append(_("{address} (no longer in the database)").format(
                address=change.address))
            continue
        if row[1] != change.user_code or row_state(row, tables.mapping, tables.version) != (
                None if change.before is None else dict(change.before)):
            changed.append(change.address)
    if not changed:
        return _("the saved plan for target '{target}' is stale: the database changed since "
                 "it was planned (the general configuration, or a user its files manage). "
                 "Nothing was changed; run `mailprov plan` again.").format(target=plan.target)
    return _("the saved plan for target '{target}' is stale: the database changed since it "
             "was planned: {rows}. Nothing was changed; run `mailprov plan` again.").format(
                 target=plan.target,
                 rows=", ".join(changed[:10]) + (" ..." if len(changed) > 10 else ""))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

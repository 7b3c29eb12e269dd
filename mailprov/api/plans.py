"""Plans of the files and applying them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailprov.api.database import open_database, read_target
from mailprov.config.targets import ResolvedTarget
from mailprov.i18n import _
from mailprov.model import Config, LiveState, Policy

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mailprov.apply.executor import ApplyResult
    from mailprov.plan.format import Plan


def compute_plan(config: Config, target: ResolvedTarget, live: LiveState,
                 mapping: Mapping[str, Any] | None = None, *,
                 git_commit: str | None = None) -> Plan:
    """Pure: the plan that makes `live` match `config` on `target` (mailprov.plan.planner).

    Users the files list but the target lacks are in `Plan.errors`, not raised."""
    from mailprov.plan.planner import build_plan

    return build_plan(config.for_target(target.name), target.name, target.display_url,
                      target.edition, live, mapping, git_commit=git_commit)


def plan(config: Config, target: ResolvedTarget, *, with_commit: bool = False,
         commit: str | None = None) -> Plan:
    """Read the target and compute the plan; `with_commit` records the git commit of the
    files (with `+dirty` for uncommitted changes), as a saved plan does (`commit`: that
    commit, already read)."""
    if with_commit and commit is None:
        commit = _config_commit(config)
    mapping = target.mapping()
    return compute_plan(config, target, read_target(target, mapping), mapping.to_json(),
                        git_commit=commit)


def _config_commit(config: Config) -> str | None:
    from mailprov.config.gitinfo import git_commit

    return git_commit(_config_dir(config))


def _config_dir(config: Config) -> str:
    return os.path.dirname(os.path.abspath(config.files[0])) if config.files else os.getcwd()


def check_safety(plan_: Plan, force: bool) -> None:
    """Raise SafetyError when the plan exceeds a safety limit and is not forced."""
    from mailprov.apply.executor import check_safety as _check

    _check(plan_, force)


def apply(plan_: Plan, target: ResolvedTarget, *, force: bool = False,
          lock_timeout: float = 10.0, config_dir: str | None = None,
          policies: Sequence[Policy] = (),
          before_commit: Callable[[Connection], None] | None = None) -> ApplyResult:
    """Apply a plan exactly, in one transaction under the target's lock, if the database
    is the one it was made from and nothing it manages changed since (mailprov.apply).

    A plan that breaks a policy is refused (PolicyError), `force` or not: the policies
    it carries and `policies` are checked again under the lock on what it writes.
    The history records the plan's git commit, or that of `config_dir` when the plan
    has none."""
    from mailprov.apply.executor import apply_plan, check_safety
    from mailprov.errors import UnknownUserError
    from mailprov.plan.policy import policy_error

    if plan_.errors:
        raise UnknownUserError("\n".join(p.format() for p in plan_.errors))
    if plan_.policy_violations:
        raise policy_error(plan_.policy_violations, done=_("Nothing was changed."))
    check_safety(plan_, force)
    commit = plan_.git_commit
    if commit is None and config_dir is not None:
        from mailprov.config.gitinfo import git_commit

        commit = git_commit(config_dir)
    with open_database(target, lock_timeout=lock_timeout) as db:
        return apply_plan(plan_, db, force=force, lock_timeout=lock_timeout, commit=commit,
                          policies=policies, before_commit=before_commit)


def apply_config(config: Config, target: ResolvedTarget, *, approved: Plan | None = None,
                 show: Callable[[Plan], None] | None = None, force: bool = False,
                 lock_timeout: float = 10.0,
                 before_commit: Callable[[Connection], None] | None = None,
                 commit: str | None = None) -> ApplyResult:
    """Plan the files under the target's lock and apply that plan (mailprov.apply).

    `approved`: the plan a person said yes to; if the database changed so that the plan
    made under the lock differs, nothing is written. `show` receives the plan first.
    `commit`: the git commit of the files, when already read (a fleet reads it once)."""
    from mailprov.apply.executor import apply_config as _apply_config

    with open_database(target, lock_timeout=lock_timeout) as db:
        mapping = db.tables.mapping.to_json()
        return _apply_config(
            lambda live: compute_plan(config, target, live, mapping), db, target.name,
            approved=approved, show=show, force=force, lock_timeout=lock_timeout,
            config_dir=_config_dir(config), before_commit=before_commit, commit=commit)


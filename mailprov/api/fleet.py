"""Fleets: several targets in one command, each on its own."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from mailprov.api.plans import _config_commit, apply_config, plan
from mailprov.api.saved import apply_saved
from mailprov.api.tracking import drift
from mailprov.config.targets import ResolvedTarget, resolve_target
from mailprov.i18n import _
from mailprov.model import Config, Policy

if TYPE_CHECKING:
    from mailprov.apply.executor import ApplyResult
    from mailprov.config.fleet import Shard
    from mailprov.fleet.runner import FleetRun, Outcome
    from mailprov.plan.drift import DriftReport
    from mailprov.plan.fleetfile import SavedFleetPlan
    from mailprov.plan.format import Plan


R = TypeVar("R")


def fleet_requested(names: Sequence[str] = (), *, all_targets: bool = False,
                    shard: str | Shard | None = None) -> bool:
    """Whether `-t`/`--all-targets`/`--shard` ask for a fleet (output in sections with a
    summary) rather than one target: several `-t`, a glob, --all-targets or --shard."""
    from mailprov.config.fleet import is_pattern
    from mailprov.config.targets import looks_like_url

    # a URL is one database, whatever `?` or `[` it holds (a query, an IPv6 address)
    return len(names) > 1 or all_targets or shard is not None \
        or any(is_pattern(n) and not looks_like_url(n) for n in names)


def select_targets(config: Config | None, names: Sequence[str] = (), *,
                   all_targets: bool = False, shard: str | Shard | None = None,
                   db_url: str | None = None) -> list[ResolvedTarget]:
    """The targets a command works on: `names` from `-t` (names, globs, or one database
    URL), `all_targets`, then the slice `shard` (`K/N`) takes (mailprov.config.fleet).

    `db_url` (`--db`, MAILPROV_DB_URL) names one database: it is refused when several
    targets are selected, rather than pointing all of them at it."""
    from mailprov.config.fleet import parse_shard, select_names
    from mailprov.config.targets import ENV_DB_URL, looks_like_url
    from mailprov.config.urls import redact_text
    from mailprov.errors import TargetError

    urls = [name for name in names if looks_like_url(name)]
    if urls:
        if len(names) > 1 or all_targets or shard is not None:
            raise TargetError(_("-t {url} names one database: it cannot be combined with other "
                                "targets, --all-targets or --shard; define the databases under "
                                "`targets` to work on several").format(url=redact_text(urls[0])))
        return [resolve_target(config, urls[0], db_url)]
    if isinstance(shard, str):
        shard = parse_shard(shard)
    defined = list(config.targets) if config else []
    if not defined and not names and not all_targets and shard is None:
        return [resolve_target(config, None, db_url)]  # --db alone, or the error saying so
    chosen = select_names(defined, names, all_targets=all_targets, shard=shard,
                          default=config.default_target if config else None)
    replacing = db_url or os.environ.get(ENV_DB_URL)
    if replacing and len(chosen) > 1:
        raise TargetError(_("--db (or MAILPROV_DB_URL) names one database, and {count} targets "
                            "are selected: unset it to work on several targets, or select one "
                            "with -t NAME").format(count=len(chosen)))
    return [resolve_target(config, name, db_url) for name in chosen]


def run_fleet(targets: Sequence[ResolvedTarget], task: Callable[[ResolvedTarget], R], *,
              exit_code: Callable[[R], int] = lambda _value: 0, parallel: int = 4,
              fail_fast: bool = False,
              on_done: Callable[[Outcome[R], int, int], None] | None = None) -> FleetRun[R]:
    """Run `task` on each target, `parallel` at a time (mailprov.fleet): any command of
    one target becomes a fleet command with its own `exit_code` for a value."""
    from mailprov.fleet.runner import run_fleet as _run

    return _run(targets, task, name=lambda target: target.name, exit_code=exit_code,
                parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def plan_fleet(config: Config, targets: Sequence[ResolvedTarget], *, parallel: int = 4,
               with_commit: bool = False, detailed_exitcode: bool = False,
               fail_fast: bool = False,
               on_done: Callable[[Outcome[Plan], int, int], None] | None = None
               ) -> FleetRun[Plan]:
    """Plan every target with the files loaded once. A target's exit code is what `plan`
    gives for it alone: 1 when its plan has errors, 2 for changes under
    `detailed_exitcode`, else 0 (a database error is 1, and that target's message)."""
    commit = _config_commit(config) if with_commit else None

    def code(result: Plan) -> int:
        if result.errors or result.policy_violations:
            return 1
        return 2 if detailed_exitcode and result.changes_present else 0

    return run_fleet(targets, lambda target: plan(config, target, with_commit=with_commit,
                                                  commit=commit),
                     exit_code=code, parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def apply_fleet(config: Config, targets: Sequence[ResolvedTarget], *, parallel: int = 4,
                approved: Mapping[str, Plan] | None = None, force: bool = False,
                lock_timeout: float = 10.0, fail_fast: bool = False,
                on_done: Callable[[Outcome[ApplyResult], int, int], None] | None = None
                ) -> FleetRun[ApplyResult]:
    """Apply the files to every target, each in its own transaction under its own lock
    (as `apply_config`). `approved`: the plan each target's person said yes to (a target
    missing from it is not applied). A failing target does not stop the others unless
    `fail_fast`."""
    from mailprov.errors import MailprovError

    commit = _config_commit(config)

    def task(target: ResolvedTarget) -> ApplyResult:
        reviewed = None
        if approved is not None:
            reviewed = approved.get(target.name)
            if reviewed is None:
                raise MailprovError(_("not applied: target '{name}' has no approved plan").format(
                    name=target.name))
        return apply_config(config, target, approved=reviewed, force=force,
                            lock_timeout=lock_timeout, commit=commit)

    return run_fleet(targets, task, parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def drift_fleet(config: Config, targets: Sequence[ResolvedTarget], *, parallel: int = 4,
                strict: bool = False, fail_fast: bool = False,
                on_done: Callable[[Outcome[DriftReport], int, int], None] | None = None
                ) -> FleetRun[DriftReport]:
    """Report drift on every target: exit code 2 for a target that drifted (with
    `strict`, also for overrides no file lists), as `drift` gives it."""
    return run_fleet(targets, lambda target: drift(config, target),
                     exit_code=lambda r: 2 if r.drifted or (strict and r.unlisted) else 0,
                     parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def save_fleet_plan(run: FleetRun[Plan], path: str | os.PathLike[str], *,
                    shard: str | None = None) -> bool:
    """Write a fleet's plans to one file, each signed with the plan key when one is set
    (returns whether they were); targets that could not be planned are named in it."""
    from mailprov.plan.fleetfile import NotPlanned
    from mailprov.plan.fleetfile import save_fleet_plan as _save
    from mailprov.plan.planfile import plan_key

    key = plan_key()
    plans = [o.value for o in run.outcomes if o.value is not None]
    skipped = [NotPlanned(o.target, o.exit_code or 1, o.error or "")
               for o in run.outcomes if o.value is None and o.ran]
    skipped += [NotPlanned(o.target, 1, _("not planned: the run stopped first (--fail-fast)"))
                for o in run.outcomes if not o.ran]
    _save(plans, path, not_planned=skipped, key=key, shard=shard,
          order=[o.target for o in run.outcomes])
    return key is not None


def apply_saved_fleet(saved: SavedFleetPlan, *, names: Sequence[str] = (),
                      db_url: str | None = None, parallel: int = 4, force: bool = False,
                      lock_timeout: float = 10.0, fail_fast: bool = False,
                      policies: Sequence[Policy] = (),
                      on_done: Callable[[Outcome[ApplyResult], int, int], None] | None = None
                      ) -> FleetRun[ApplyResult]:
    """Apply each plan of a fleet's file to its own target, each checked alone: its
    signature, its database, its staleness (a refused plan is that target's exit 3), and
    what it writes against its own policies and `policies` (a violation: exit 1).
    `names` (`-t`, globs allowed) keeps some of the file's targets. A target the file
    says could not be planned is reported as not applied (exit 1). `db_url` (`--db`,
    MAILPROV_DB_URL) may name the database of one target only."""
    from mailprov.config.fleet import select_names
    from mailprov.config.targets import ENV_DB_URL
    from mailprov.errors import MailprovError, TargetError

    wanted = set(select_names(saved.targets, names)) if names else set(saved.targets)
    plans = {s.plan.target: s for s in saved.plans}
    skipped = {n.target: n for n in saved.not_planned}
    order = [name for name in saved.targets if name in wanted]
    if (db_url or os.environ.get(ENV_DB_URL)) and len(order) > 1:
        raise TargetError(_("--db (or MAILPROV_DB_URL) names one database, and {file} holds "
                            "the plans of {count} targets: unset it, or apply one of them "
                            "with -t NAME").format(file=saved.source, count=len(order)))

    def task(name: str) -> ApplyResult:
        if name in skipped:
            raise MailprovError(_("not applied: the plan file has no plan for this target, "
                                  "which could not be planned ({reason})").format(
                                      reason=skipped[name].message.split("\n", 1)[0]))
        return apply_saved(plans[name], db_url=db_url, force=force, lock_timeout=lock_timeout,
                           policies=policies)

    from mailprov.fleet.runner import run_fleet as _run

    return _run(order, task, name=lambda name: name, parallel=parallel, fail_fast=fail_fast,
                on_done=on_done)


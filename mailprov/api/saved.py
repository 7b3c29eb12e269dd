"""Saved plans: written signed, read back checked, applied to their own target."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mailprov.api.plans import apply
from mailprov.config.targets import ResolvedTarget
from mailprov.i18n import _
from mailprov.model import Policy

if TYPE_CHECKING:
    from mailprov.apply.executor import ApplyResult
    from mailprov.plan.fleetfile import SavedFleetPlan
    from mailprov.plan.format import Plan
    from mailprov.plan.planfile import SavedPlan


def save_plan(plan_: Plan, path: str | os.PathLike[str]) -> bool:
    """Write a plan as JSON, atomically, signed with the plan key when one is set
    (MAILPROV_PLAN_KEY or the keyring); returns whether it was signed. A plan with
    errors is refused (PlanFileError)."""
    from mailprov.plan.planfile import plan_key
    from mailprov.plan.planfile import save_plan as _save

    key = plan_key()
    _save(plan_, path, key)
    return key is not None


def read_saved_plan(path: str | os.PathLike[str]) -> SavedPlan:
    """Read and check a saved plan (shape and every value), not yet its signature."""
    from mailprov.plan.planfile import read_plan

    return read_plan(path)


def signature_status(saved: SavedPlan) -> str:
    """What a saved plan's signature says, without refusing: `valid`, `unsigned`, or why
    it cannot be trusted."""
    from mailprov.errors import TamperedPlanError
    from mailprov.plan.planfile import plan_key

    key = plan_key()
    if key is None and saved.signature is not None:
        return _("signed, not checked (no plan key on this machine)")
    try:
        status = saved.verify(key)
    except TamperedPlanError as exc:
        return _("NOT VALID: {reason}").format(reason=exc.message.rstrip("."))
    return {"valid": _("valid"), "unsigned": _("unsigned")}.get(status, status)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a saved plan; any problem is a PlanFileError naming the file."""
    return read_saved_plan(path).plan


def target_of_plan(plan_: Plan, db_url: str | None = None, *, target: str | None = None,
                   plan_file: str = "the plan") -> ResolvedTarget:
    """Where a saved plan applies: its own target (`target`, from -t, must agree)."""
    from mailprov.config.targets import target_of_plan as _target_of_plan

    return _target_of_plan(plan_.target, plan_.target_url, plan_.edition, plan_.mapping,
                           plan_file=plan_file, target=target, db_url=db_url)


def apply_saved(saved: SavedPlan, *, target: str | None = None, db_url: str | None = None,
                force: bool = False, lock_timeout: float = 10.0,
                policies: Sequence[Policy] = ()) -> ApplyResult:
    """Apply a plan read from a file: its signature checked against the plan key, then
    applied to its own target (`target`, from -t, must agree; `db_url` may name the same
    database another way). `policies` (`--policy`, MAILPROV_POLICY) are checked on what
    it writes beside those it carries: a hand-edited plan cannot drop them."""
    from mailprov.plan.planfile import plan_key

    saved.verify(plan_key())
    resolved = target_of_plan(saved.plan, db_url, target=target, plan_file=saved.source)
    return apply(saved.plan, resolved, force=force, lock_timeout=lock_timeout,
                 policies=policies)


def read_any_plan(path: str | os.PathLike[str]) -> SavedPlan | SavedFleetPlan:
    """A saved plan file: one target's plan, or a fleet's (mailprov.plan.fleetfile)."""
    from mailprov.plan.fleetfile import read_any_plan as _read

    return _read(path)


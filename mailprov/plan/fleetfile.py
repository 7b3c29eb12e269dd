"""Saved plans of a fleet: one file, one plan per target.

Each plan in the file is exactly what `plan --out` saves for that target alone: bound
to its own database, signed on its own with the plan key, and checked on its own when
read (any plan taken out of the file, `jq '.plans[0]'`, applies by itself). The file
also names the targets that could not be planned, so that applying it says so rather
than passing over them in silence. Applying a fleet's file applies each plan to its
own target and refuses each stale or misdirected plan alone (docs/fleets.md).
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailprov.errors import PlanFileError
from mailprov.i18n import N_, Plural, _, stored
from mailprov.plan.format import Plan
from mailprov.plan.planfile import (
    HOW_TO_SAVE,
    SavedPlan,
    plan_from_data,
    read_bounded,
    signature_of,
)

FLEET_KIND = "mailprov-fleet-plan"
FLEET_FORMAT_VERSION = "1.0"
MAX_FLEET_PLAN_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class NotPlanned:
    """A target of the fleet that has no plan in the file, and why."""

    target: str
    exit_code: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "exit_code": self.exit_code, "message": self.message}


@dataclass(frozen=True)
class SavedFleetPlan:
    """A fleet's plans read from a file (each checked, not yet its signature)."""

    source: str
    plans: tuple[SavedPlan, ...]
    not_planned: tuple[NotPlanned, ...] = ()
    shard: str | None = None
    order: tuple[str, ...] = ()
    """The targets in the order they were planned (`targets` in the file)."""

    @property
    def targets(self) -> list[str]:
        """Every target of the file, in the order they were planned."""
        names = [saved.plan.target for saved in self.plans] + [n.target for n in self.not_planned]
        rank = {name: index for index, name in enumerate(self.order)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))


def is_fleet_plan(data: Any) -> bool:
    """Whether parsed JSON is a fleet's plan file (rather than one target's plan)."""
    return isinstance(data, dict) and data.get("kind") == FLEET_KIND


def fleet_plan_chunks(plans: Sequence[Plan], not_planned: Sequence[NotPlanned] = (),
                     key: bytes | None = None, shard: str | None = None,
                     order: Sequence[str] = ()) -> Iterator[str]:
    """The saved form of a fleet's plans, in pieces (a plan at a time): each plan's JSON,
    each signed when a key is given, as `plan --out` signs one."""
    names = list(order) or [plan.target for plan in plans] + [n.target for n in not_planned]
    head = {"format_version": FLEET_FORMAT_VERSION, "kind": FLEET_KIND, "shard": shard,
            "targets": names, "not_planned": [n.to_json() for n in not_planned]}

    def signed() -> Iterator[dict[str, Any]]:
        for plan in plans:
            data = plan.to_json()
            if key is not None:
                data["signature"] = signature_of(data, key)
            yield data

    yield from json_chunks(head, "plans", signed())


def json_chunks(document: Mapping[str, Any], key: str, items: Iterable[Mapping[str, Any]],
                default: Callable[[Any], Any] | None = None) -> Iterator[str]:
    """The text of `json.dumps({**document, key: [...items]}, indent=2)` in pieces, one
    item at a time: the pure-Python encoder that indents holds about ten times the
    text's size in memory at once, and a fleet's file holds every target's plan."""
    head = json.dumps({**document, key: []}, indent=2, ensure_ascii=False, default=default)
    opening, _sep, closing = head.rpartition("[]")
    yield opening
    first = True
    for item in items:
        text = json.dumps(item, indent=2, ensure_ascii=False, default=default)
        yield ("[\n" if first else ",\n") + textwrap.indent(text, "    ")
        first = False
    yield ("[]" if first else "\n  ]") + closing + "\n"


def save_fleet_plan(plans: Sequence[Plan], path: str | os.PathLike[str], *,
                    not_planned: Sequence[NotPlanned] = (), key: bytes | None = None,
                    shard: str | None = None, order: Sequence[str] = ()) -> None:
    """Write a fleet's plans atomically. A plan with errors (users its target lacks)
    cannot be applied: its target is written as not planned instead."""
    kept = [plan for plan in plans if not plan.errors and not plan.policy_violations]
    # stored in English, as the plans are (mailprov.i18n.stored)
    skipped = [*not_planned, *(NotPlanned(plan.target, 1, stored(N_(
        "the plan has {count} error(s): users the files list that the target does not "
        "have"), count=len(plan.errors))) for plan in plans if plan.errors)]
    skipped += [NotPlanned(plan.target, 1, Plural.ngettext(
        "the plan breaks the policy: {count} violation", "the plan breaks the policy: "
        "{count} violations", len(plan.policy_violations)).format(
            count=len(plan.policy_violations))) for plan in plans
        if plan.policy_violations and not plan.errors]
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for chunk in fleet_plan_chunks(kept, skipped, key, shard, order):
            handle.write(chunk)
    os.replace(tmp, target)


def read_fleet_plan(path: str | os.PathLike[str]) -> SavedFleetPlan:
    """Read and check a fleet's plan file: its shape, then every plan as a saved plan
    is checked (values, addresses, safety). PlanFileError names the file and target."""
    source = os.fspath(path)
    raw = read_bounded(source, MAX_FLEET_PLAN_BYTES, _(
        "{file}: the plan file is larger than {size} MB").format(
            file=source, size=MAX_FLEET_PLAN_BYTES // (1024 * 1024)))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: JSON, or a
        # number too long for Python to read
        raise PlanFileError(_("{file}: not a mailprov plan (invalid JSON). {how}").format(
            file=source, how=_(HOW_TO_SAVE))) from None
    return fleet_plan_from_data(data, source)


def fleet_plan_from_data(data: Any, source: str) -> SavedFleetPlan:
    """Check a fleet's parsed plan file."""
    if not is_fleet_plan(data):
        raise PlanFileError(_("{file}: not a plan file of a fleet (no `kind: {kind}`)").format(
            file=source, kind=FLEET_KIND))
    version = data.get("format_version")
    if not isinstance(version, str) or version.split(".", 1)[0] != "1":
        raise PlanFileError(_("{file}: format_version {version} is not supported by this "
                              "mailprov (it reads 1.x)").format(file=source,
                                                                version=json.dumps(version)))
    items, skipped = data.get("plans"), data.get("not_planned", [])
    if not isinstance(items, list) or not isinstance(skipped, list):
        raise PlanFileError(_("{file}: `plans` and `not_planned` must be lists").format(
            file=source))
    plans = []
    for index, item in enumerate(items):
        name = item.get("target") if isinstance(item, Mapping) else None
        where = _("{file}, plan {index} (target {target})").format(
            file=source, index=index + 1, target=json.dumps(name, ensure_ascii=False)[:80])
        plans.append(plan_from_data(item, where))
    not_planned = []
    for item in skipped:
        if not (isinstance(item, Mapping) and isinstance(item.get("target"), str)
                and isinstance(item.get("message"), str)
                and isinstance(item.get("exit_code"), int)):
            raise PlanFileError(_("{file}: `not_planned` must hold {{target, exit_code, "
                                  "message}} objects").format(file=source))
        not_planned.append(NotPlanned(item["target"], item["exit_code"], item["message"]))
    names = [saved.plan.target for saved in plans] + [n.target for n in not_planned]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise PlanFileError(_("{file}: target {target} appears twice: a fleet's file holds "
                              "one plan per target").format(file=source, target=twice[0]))
    shard = data.get("shard")
    order = data.get("targets")
    order = tuple(n for n in order if isinstance(n, str)) if isinstance(order, list) else ()
    return SavedFleetPlan(source, tuple(plans), tuple(not_planned),
                          shard if isinstance(shard, str) else None, order)


def read_any_plan(path: str | os.PathLike[str]) -> SavedPlan | SavedFleetPlan:
    """A saved plan of one target, or of a fleet, whichever the file holds (read and
    parsed once; any problem is said as for a plan of one target)."""
    from mailprov.plan.planfile import MAX_PLAN_BYTES, read_plan

    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            raw = handle.read(MAX_FLEET_PLAN_BYTES + 1)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError
        return read_plan(path)  # which says what is wrong, where
    if is_fleet_plan(data):
        if len(raw) > MAX_FLEET_PLAN_BYTES:
            return read_fleet_plan(path)  # which says it is too large
        return fleet_plan_from_data(data, source)
    if len(raw) > MAX_PLAN_BYTES:
        return read_plan(path)
    return plan_from_data(data, source)

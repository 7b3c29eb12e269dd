"""The plan: an ordered list of changes, its digests and its safety verdict.

A plan is the single object that renderers print, `--out` saves, and apply
executes (the alembic pattern: one compare step, several consumers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mailprov.errors import PlanFileError

FORMAT_VERSION = "1.0"
SUPPORTED_MAJOR = 1

Action = Literal["create", "update", "delete"]
GENERAL = "general"
USER_PREFIX = "user."


@dataclass(frozen=True, slots=True)
class Change:
    """One row to change: `general`, or `user.CODE` (create/update/delete an override).

    `follows_general` marks a user update whose only changes are the inherited
    server/port/ssl following a `general.smtp` change; safety counts those as
    the one general change.
    """

    address: str
    action: Action
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    changed: tuple[str, ...]
    follows_general: bool = False
    # derived from address once: apply reads it for every row several times
    user_code: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        code = self.address[len(USER_PREFIX):] if self.address.startswith(USER_PREFIX) else None
        object.__setattr__(self, "user_code", code)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "address": self.address,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "changed": list(self.changed),
        }
        if self.follows_general:
            data["follows_general"] = True
        return data


@dataclass(frozen=True, slots=True)
class SafetyReport:
    """How many existing overrides the plan removes or changes, against the limits."""

    existing_overrides: int
    counted_changes: int
    max_change_percent: float
    min_existing: int
    max_changes: int | None
    reasons: tuple[str, ...] = ()

    @property
    def exceeded(self) -> bool:
        return bool(self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "existing_overrides": self.existing_overrides,
            "counted_changes": self.counted_changes,
            "max_change_percent": self.max_change_percent,
            "min_existing": self.min_existing,
            "max_changes": self.max_changes,
            "exceeded": self.exceeded,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Plan:
    """What apply would do to one target, and the state it was computed from."""

    target: str
    target_url: str
    edition: str
    changes: tuple[Change, ...]
    base_digest: str
    config_digest: str
    unmanaged_overrides: int
    safety: SafetyReport
    warnings: tuple[str, ...] = ()
    mapping: Mapping[str, Any] | None = None

    @property
    def changes_present(self) -> bool:
        return bool(self.changes)

    @property
    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "target_url": self.target_url,
            "edition": self.edition,
            "mapping": self.mapping,
            "config_digest": self.config_digest,
            "base_digest": self.base_digest,
            "changes_present": self.changes_present,
            "changes": [c.to_json() for c in self.changes],
            "summary": self.summary,
            "unmanaged_overrides": self.unmanaged_overrides,
            "safety": self.safety.to_json(),
            "warnings": list(self.warnings),
        }

    def dumps(self) -> str:
        """Deterministic JSON: same plan, byte-identical text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def plan_from_json(text: str, source: str) -> Plan:
    """Read a saved plan; any shape problem is a PlanFileError naming the file."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{source}:{exc.lineno}:{exc.colno}: not a mailprov plan (invalid JSON: {exc.msg}). "
            "Save plans with `mailprov plan --out FILE`."
        ) from None
    try:
        return _plan_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(
            f"{source}: not a valid mailprov plan ({exc.__class__.__name__}: {exc}). "
            "Save plans with `mailprov plan --out FILE`."
        ) from None


def _plan_from_dict(data: dict[str, Any]) -> Plan:
    if not isinstance(data, dict):
        raise TypeError("the top level must be an object")
    version = str(data["format_version"])
    major = int(version.split(".", 1)[0])
    if major != SUPPORTED_MAJOR:
        raise ValueError(
            f"format_version {version} is not supported by this mailprov "
            f"(reads {SUPPORTED_MAJOR}.x)"
        )
    changes = []
    for item in data["changes"]:
        action = item["action"]
        if action not in ("create", "update", "delete"):
            raise ValueError(f"unknown action {action!r}")
        address = str(item["address"])
        if address != GENERAL and not address.startswith(USER_PREFIX):
            raise ValueError(f"unknown address {address!r}")
        changes.append(
            Change(
                address=address,
                action=action,
                before=item["before"],
                after=item["after"],
                changed=tuple(item["changed"]),
                follows_general=bool(item.get("follows_general", False)),
            )
        )
    safety = data["safety"]
    return Plan(
        target=str(data["target"]),
        target_url=str(data["target_url"]),
        edition=str(data["edition"]),
        changes=tuple(changes),
        base_digest=str(data["base_digest"]),
        config_digest=str(data["config_digest"]),
        unmanaged_overrides=int(data.get("unmanaged_overrides", 0)),
        safety=SafetyReport(
            existing_overrides=int(safety["existing_overrides"]),
            counted_changes=int(safety["counted_changes"]),
            max_change_percent=float(safety["max_change_percent"]),
            min_existing=int(safety["min_existing"]),
            max_changes=safety.get("max_changes"),
            reasons=tuple(safety.get("reasons", ())),
        ),
        warnings=tuple(data.get("warnings", ())),
        mapping=data.get("mapping"),
    )

"""The plan: an ordered list of changes, its digests and its safety verdict.

A plan is the single object that renderers print, `--out` saves, and apply
executes (the alembic pattern: one compare step, several consumers). Its JSON form
is described in docs/plan-format.md; mailprov.plan.planfile reads and checks it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mailprov.errors import Problem, format_path
from mailprov.i18n import stored_json
from mailprov.model import Locator, Policy, PolicyViolation, ValueSource

FORMAT_VERSION = "1.4"
SUPPORTED_MAJOR = 1

Action = Literal["create", "update", "delete"]
GENERAL = "general"
USER_PREFIX = "user."


@dataclass(frozen=True, slots=True)
class Change:
    """One row to change: `general`, or `user.CODE`: `create` gives a user a per-user mode
    of their own (an SMTP section, or Office 365), `delete` removes it (the user follows
    the general mode again), `update` changes its values or moves it to the other mode
    (then `changed` holds `mode`). A user state is the SMTP section's fields, or
    `{"mode": "office365", "email": ...}` (mailprov.model.state_mode).

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
    number: int | None = None  # a user row's primary key, read at plan time: apply writes by it
    # where each value of `after` came from (create and update of a user; not read back
    # from saved plans, where it is only for the reviewer)
    sources: Mapping[str, ValueSource] | None = field(default=None, compare=False)
    # the same, as a saved plan holds them (its JSON, shown again as it is)
    saved_sources: Mapping[str, Mapping[str, Any]] | None = field(default=None, compare=False)
    # derived from address once: apply reads it for every row several times
    user_code: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        code = self.address[len(USER_PREFIX):] if self.address.startswith(USER_PREFIX) else None
        object.__setattr__(self, "user_code", code)

    def to_json(self, locator: Locator | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "address": self.address,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "changed": list(self.changed),
        }
        if self.follows_general:
            data["follows_general"] = True
        if self.number is not None:
            data["number"] = self.number
        if self.sources:
            data["sources"] = {name: source_json(source, locator)
                               for name, source in self.sources.items()}
        elif self.saved_sources:
            data["sources"] = {name: dict(info) for name, info in self.saved_sources.items()}
        return data


_NAME_KEYS = {"profile": "profile", "preset": "preset", "selection": "match",
              "general": "preset"}


def source_json(source: ValueSource, locator: Locator | None = None) -> dict[str, Any]:
    """Where a value came from, as the plan JSON says it: `source` (its kind), the file,
    line and path where it is written, the profile/preset/selection, the template."""
    data: dict[str, Any] = {"source": source.kind}
    if source.file:
        data["file"] = source.file
        if locator is not None:
            line, column = locator.position(source.file, source.path)
            if line:
                data["line"], data["column"] = line, column
        if source.path:
            data["path"] = format_path(source.path)
    elif source.kind == "general":
        data["live"] = True  # the target's general row: the files do not set it
    if source.name is not None and source.kind in _NAME_KEYS:
        data[_NAME_KEYS[source.kind]] = source.name
    if source.template is not None:
        data["template"] = source.template
    return data


@dataclass(frozen=True, slots=True)
class SelectionReport:
    """What a selection (`match`) or `all_users` took on the target: how many users."""

    kind: str
    patterns: tuple[str, ...]
    file: str
    line: int
    matched: int

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"selection": self.kind}
        if self.patterns:
            data["match"] = list(self.patterns)
        data.update({"file": self.file, "line": self.line, "matched": self.matched})
        return data


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """A known trap the reviewer of a plan should see; `code` is stable for scripts."""

    code: str
    address: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return _with_template({"code": self.code, "address": self.address,
                               "message": self.message}, self.message)


def _with_template(data: dict[str, Any], message: str) -> dict[str, Any]:
    """`data`, with `message_template` when the message is a stored text (i18n.stored):
    what shows a saved plan's messages in the reader's language (format 1.4)."""
    template = stored_json(message)
    if template is not None:
        data["message_template"] = template
    return data


# what a plan says about users' SMTP passwords (codes are stable, messages may change)
NEEDS_PASSWORD = "needs-password"
PASSWORD_FOR_OLD_LOGIN = "password-for-old-login"
PASSWORD_STAYS = "password-stays"


@dataclass(frozen=True, slots=True)
class PasswordNote:
    """A user whom a change leaves without a usable SMTP password, or with one that stays.

    Plan and apply never write passwords, so the reviewer must know who needs one set
    (`needs-password`), whose stored one was entered for another login
    (`password-for-old-login`), and whose stays in the row after the override goes
    (`password-stays`). `code` is stable for scripts; `message` is said of the user
    (`needs a password: ...`), who is named beside it.
    """

    address: str
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return _with_template({"address": self.address, "code": self.code,
                               "message": self.message}, self.message)


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


@dataclass(frozen=True, slots=True)
class RollbackOf:
    """The apply a rollback plan undoes: its history number, when it ran, who ran it and
    the Git commit of its files (the commit to revert so that the files agree again)."""

    id: int
    applied_at: str | None = None
    git_commit: str | None = None
    summary: str = ""
    redoes: int | None = None
    """When the apply undone was itself a rollback: the apply it had rolled back, which
    this plan brings back (and `redoes_commit`, the commit of that apply's files)."""
    redoes_commit: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "applied_at": self.applied_at,
                                "git_commit": self.git_commit, "summary": self.summary}
        if self.redoes is not None:
            data["redoes"] = {"id": self.redoes, "git_commit": self.redoes_commit}
        return data


@dataclass(frozen=True, slots=True)
class Conflict:
    """A row the rolled-back apply changed that changed again since: by a later apply
    (`later` names them) or by hand (its live value is no longer what the apply wrote).

    `fields` maps each setting the apply changed to (before it, after it, live now).
    `included` says whether the rollback restores it anyway (--include-later-changes);
    a row that cannot be restored (the user is gone) never is.
    """

    address: str
    code: str
    message: str
    fields: Mapping[str, tuple[Any, Any, Any]]
    later: tuple[int, ...] = ()
    included: bool = False

    def to_json(self) -> dict[str, Any]:
        return _with_template({
            "address": self.address, "code": self.code, "message": self.message,
            "fields": {name: {"before": b, "after": a, "live": live}
                       for name, (b, a, live) in self.fields.items()},
            "later": list(self.later), "included": self.included}, self.message)


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
    warnings: tuple[PlanWarning, ...] = ()
    mapping: Mapping[str, Any] | None = None
    # what identifies the database itself (not its URL): a copy does not share it
    database_id: str | None = None
    # the user rows (by number) whose state base_digest covers; None: every user
    managed_users: tuple[int, ...] | None = ()
    git_commit: str | None = None
    # users the files list that the target does not have: the plan leaves them out,
    # and such a plan can be shown but not saved or applied
    errors: tuple[Problem, ...] = ()
    selections: tuple[SelectionReport, ...] = ()
    # finds the lines of the files for `sources` in the JSON; None for a saved plan
    locator: Locator | None = field(default=None, compare=False, repr=False)
    # users the changes leave without a usable SMTP password (or whose password stays);
    # None for a plan that does not carry them (saved before they existed, or built by hand)
    password_notes: tuple[PasswordNote, ...] | None = None
    # the policies in force and what breaks them: such a plan is never saved or applied
    policies: tuple[Policy, ...] = ()
    policy_violations: tuple[PolicyViolation, ...] = ()
    # a rollback plan: the apply it undoes, and the rows changed again since
    rollback_of: RollbackOf | None = None
    conflicts: tuple[Conflict, ...] = ()
    # the reference model version of the target (mailprov.model.versions): which columns
    # apply writes; a saved plan is refused on a target that has since changed version
    model_version: int = 1

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
        data = {
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "target_url": self.target_url,
            "database_id": self.database_id,
            "edition": self.edition,
            "mapping": self.mapping,
            "model_version": self.model_version,
            "config_digest": self.config_digest,
            "git_commit": self.git_commit,
            "base_digest": self.base_digest,
            "managed_users": "all" if self.managed_users is None else list(self.managed_users),
            "changes_present": self.changes_present,
            "changes": [c.to_json(self.locator) for c in self.changes],
            "summary": self.summary,
            "unmanaged_overrides": self.unmanaged_overrides,
            "safety": self.safety.to_json(),
            "warnings": [w.to_json() for w in self.warnings],
            "password_notes": [n.to_json() for n in self.password_notes or ()],
            "policy_violations": [v.to_json() for v in self.policy_violations],
        }
        if self.policies:
            data["policies"] = [p.to_json() for p in self.policies]
        if self.rollback_of is not None:
            data["rollback_of"] = self.rollback_of.to_json()
            data["conflicts"] = [c.to_json() for c in self.conflicts]
        if self.errors:
            data["errors"] = [problem_json(p) for p in self.errors]
        if self.selections:
            data["selections"] = [s.to_json() for s in self.selections]
        return data

    def dumps(self) -> str:
        """Deterministic JSON: same plan, byte-identical text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def problem_json(problem: Problem) -> dict[str, Any]:
    """A Problem as plan JSON shows it (an error beside the plan)."""
    return {"code": problem.code or "error", "file": problem.file, "line": problem.line,
            "column": problem.column, "path": problem.dotted_path, "message": problem.message}

"""Drift: where maestro* no longer matches the files, and since when.

A nightly job asks "did someone change a user by hand in Gestion de la sécurité?". The
answer is the plan, read the other way round: every change the plan would make is a
place where the live database differs from the files. For each differing field the
report gives the live value, the file's value and, from the apply history, the last
apply that set the file's value (when, who, which commit), so the reader knows whether
a hand edit undid a reviewed change or the change was simply never applied. It also
names the overrides that no file lists, and the users the files list that maestro* no
longer has (people who left): reported, not fatal. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mailprov.errors import Problem
from mailprov.model import MODE, Config, LiveState, state_mode
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, Plan, PlanWarning
from mailprov.plan.records import Applied, HistoryRecord

FORMAT_VERSION = "1.1"
State = Literal["changed", "missing", "unexpected"]
_STATE: dict[str, State] = {"update": "changed", "create": "missing", "delete": "unexpected"}
UNKNOWN_USER = "unknown-user"


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One field that differs: the live value, the file's value, and the last apply
    that set the file's value (None: no recorded apply did)."""

    field: str
    live: Any
    file: Any
    set_by: Applied | None = None
    rolled_back_by: Applied | None = None
    """The rollback that last changed the field (after `set_by`), if one did."""

    def to_json(self) -> dict[str, Any]:
        data = {"field": self.field, "live": self.live, "file": self.file,
                "set_by": self.set_by.to_json() if self.set_by else None}
        if self.rolled_back_by is not None:
            data["rolled_back_by"] = self.rolled_back_by.to_json()
        return data


@dataclass(frozen=True, slots=True)
class RowDrift:
    """A row that differs. `state`: `changed` (values differ), `missing` (the files
    enable a per-user section that is off in maestro*), `unexpected` (a per-user section
    is on in maestro* that the files remove)."""

    address: str
    state: State
    fields: tuple[FieldDrift, ...]
    follows_general: bool = False

    @property
    def user(self) -> str | None:
        return self.address[len(USER_PREFIX):] if self.address.startswith(USER_PREFIX) \
            else None

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "user": self.user, "state": self.state,
                "follows_general": self.follows_general,
                "fields": [f.to_json() for f in self.fields]}


@dataclass(frozen=True, slots=True)
class DepartedUser:
    """A user the files list that the target no longer has."""

    code: str
    problem: Problem

    def to_json(self) -> dict[str, Any]:
        p = self.problem
        return {"code": self.code, "file": p.file, "line": p.line, "column": p.column,
                "message": p.message}


@dataclass(frozen=True)
class DriftReport:
    """Everything that differs between a target and the files."""

    target: str
    target_url: str
    edition: str
    rows: tuple[RowDrift, ...]
    unlisted: tuple[str, ...]
    departed: tuple[DepartedUser, ...]
    warnings: tuple[PlanWarning, ...] = ()
    prune: bool = False
    history_read: int = 0

    @property
    def rollbacks(self) -> tuple[Applied, ...]:
        """The rollbacks that explain drifted fields, oldest first: the files still hold
        what the rolled-back applies set (revert their commits to agree again)."""
        found = {f.rolled_back_by.id: f.rolled_back_by for row in self.rows for f in row.fields
                 if f.rolled_back_by is not None}
        return tuple(found[i] for i in sorted(found))

    @property
    def drifted(self) -> bool:
        """Whether anything differs: a differing row, or a listed user who left."""
        return bool(self.rows or self.departed)

    @property
    def field_count(self) -> int:
        return sum(len(row.fields) for row in self.rows)

    def summary_line(self) -> str:
        """The line scripts may parse (never translated)."""
        if not self.drifted:
            return "No drift. maestro* matches the configuration."
        return (f"Drift: {len(self.rows)} row(s), {self.field_count} field(s) differ; "
                f"{len(self.departed)} listed user(s) missing.")

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "drift",
            "target": self.target,
            "target_url": self.target_url,
            "edition": self.edition,
            "drift": self.drifted,
            "summary": {"rows": len(self.rows), "fields": self.field_count,
                        "unlisted_overrides": len(self.unlisted),
                        "departed_users": len(self.departed)},
            "rows": [row.to_json() for row in self.rows],
            "unlisted_overrides": list(self.unlisted),
            "departed_users": [d.to_json() for d in self.departed],
            "prune": self.prune,
            "warnings": [w.to_json() for w in self.warnings],
            "history_rows_read": self.history_read,
            "rollbacks": [r.to_json() for r in self.rollbacks],
        }


def _flat(state: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (state or {}).items():
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _fields(change: Change) -> list[tuple[str, Any, Any]]:
    """(field, live, file) for the fields a change would write."""
    if change.address == GENERAL:
        old, new = _flat(change.before), _flat(change.after)
        return [(name, old.get(name), new.get(name)) for name in change.changed]
    before: Mapping[str, Any] = change.before or {}
    after: Mapping[str, Any] = change.after or {}
    return [(name, state_mode(change.before), state_mode(change.after)) if name == MODE
            else (name, before.get(name), after.get(name)) for name in change.changed]


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def wanted(plan: Plan) -> dict[tuple[str, str], Any]:
    """The file's value of every differing field, keyed by (address, field): what the
    history is searched for."""
    return {(change.address, name): file_value
            for change in plan.changes for name, _live, file_value in _fields(change)}


def provenance(needed: Mapping[tuple[str, str], Any], history: Iterable[HistoryRecord],
               rollbacks: dict[tuple[str, str], Applied] | None = None
               ) -> tuple[dict[tuple[str, str], Applied], int]:
    """For each (address, field), the newest apply that set it to the file's value;
    stops reading `history` (newest first) once every field is found. Returns the
    finds and the number of history rows read. `rollbacks`, when given, receives the
    rollback that changed a field last, when the newest change of it was one."""
    found: dict[tuple[str, str], Applied] = {}
    touched: set[tuple[str, str]] = set()
    read = 0
    if not needed:
        return found, read
    for record in history:
        read += 1
        for change in record.changes:
            for name, (_before, after) in change.fields.items():
                key = (change.address, name)
                if key not in needed or key in found:
                    continue
                if _same(after, needed[key]):
                    found[key] = record.applied
                elif key not in touched and rollbacks is not None \
                        and record.applied.rollback_of is not None:
                    rollbacks[key] = record.applied
                touched.add(key)
        if len(found) == len(needed):
            break
    return found, read


def build_drift(plan: Plan, config: Config, live: LiveState,
                history: Iterable[HistoryRecord] = ()) -> DriftReport:
    """The drift report of `plan` (the files against `live`), with each field's last
    setting apply from `history` (newest first, read lazily)."""
    rolled_back: dict[tuple[str, str], Applied] = {}
    found, read = provenance(wanted(plan), history, rolled_back)
    rows = []
    for change in plan.changes:
        fields = tuple(FieldDrift(name, live_value, file_value,
                                  found.get((change.address, name)),
                                  rolled_back.get((change.address, name)))
                       for name, live_value, file_value in _fields(change))
        rows.append(RowDrift(change.address, _STATE[change.action], fields,
                             change.follows_general))
    unlisted = () if config.prune else tuple(sorted(
        code for code, user in live.users.items()
        if user.mode is not None and code not in config.users))
    departed = tuple(DepartedUser(str(p.path[1]) if len(p.path) > 1 else p.dotted_path, p)
                     for p in plan.errors if p.code == UNKNOWN_USER)
    return DriftReport(plan.target, plan.target_url, plan.edition, tuple(rows), unlisted,
                       departed, plan.warnings, config.prune, read)

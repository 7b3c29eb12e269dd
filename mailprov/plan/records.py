"""What the apply history says was changed, read back from either of its layouts.

`mailprov_history.changes` has held two layouts over time:

- the current one, grouped by action then row, with only the changed fields as
  `[before, after]` pairs (`{"create": {"user.COMPTA": {"port": [null, 587]}}, ...}`,
  written by mailprov.db.history);
- the first one, a list of the plan's full changes (`[{"address": ..., "action": ...,
  "before": {...}, "after": {...}, "changed": [...]}]`).

Both are read into the same RecordedChange, so `history --show` and drift reports
work on every row an installation has. A rollback (`mailprov rollback N`, then
`apply`) is an apply like any other, in the current layout, with one more key naming
the apply it undid and the Git commit of that apply's files:
`"rollback_of": {"id": 12, "git_commit": "3f2a9c1e..."}`. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailprov.model import split_setting
from mailprov.plan.format import GENERAL

ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """One row an apply changed: its fields as `name -> (before, after)`."""

    address: str
    action: str
    fields: Mapping[str, tuple[Any, Any]]
    follows_general: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"address": self.address, "action": self.action,
                                "fields": {k: list(v) for k, v in self.fields.items()}}
        if self.follows_general:
            data["follows_general"] = True
        return data


@dataclass(frozen=True, slots=True)
class Applied:
    """Who applied, when, from which commit: one row of the history, without changes."""

    id: int
    applied_at: datetime | None
    os_user: str
    host: str
    git_commit: str | None = None
    target: str = ""
    summary: str = ""
    config_digest: str | None = None
    base_digest: str | None = None
    rollback_of: int | None = None
    """The apply this one rolled back (`mailprov rollback`), None for any other."""
    rollback_commit: str | None = None
    """The Git commit of the rolled-back apply's files: what to revert so that they
    agree with maestro* again."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "applied_at": iso_utc(self.applied_at), "target": self.target,
            "os_user": self.os_user, "host": self.host, "git_commit": self.git_commit,
            "config_digest": self.config_digest, "base_digest": self.base_digest,
            "summary": self.summary}
        if self.rollback_of is not None:
            data["rollback_of"] = {"id": self.rollback_of, "git_commit": self.rollback_commit}
        return data


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One apply with the changes it made, and the layout they were stored in."""

    applied: Applied
    changes: tuple[RecordedChange, ...]
    layout: str  # "grouped", "list", or "unreadable"
    passwords: Mapping[str, str] = field(default_factory=dict)
    """A password event's row: what happened to whose password (`set`, `cleared`)."""

    def to_json(self) -> dict[str, Any]:
        return {**self.applied.to_json(), "layout": self.layout,
                "changes": [c.to_json() for c in self.changes]}


def iso_utc(moment: datetime | None) -> str | None:
    """History times are stored as naive UTC: `2025-11-30T19:02:11Z`."""
    if moment is None:
        return None
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


ROLLBACK_KEY = "rollback_of"


def applied_from_row(row: Mapping[str, Any], data: Any = None) -> Applied:
    """The who/when/where of a history row (any mapping with its column names), and the
    apply it rolled back when its `changes` say so (`data`: them, already parsed)."""
    if data is None and "changes" in row:
        data = _parsed(row.get("changes"))
    mark = data.get(ROLLBACK_KEY) if isinstance(data, dict) else None
    rollback_of = mark.get("id") if isinstance(mark, dict) else None
    commit = mark.get("git_commit") if isinstance(mark, dict) else None
    return Applied(id=int(row["id"]), applied_at=row.get("applied_at"),
                   os_user=str(row.get("os_user") or ""), host=str(row.get("host") or ""),
                   git_commit=row.get("git_commit"), target=str(row.get("target") or ""),
                   summary=str(row.get("summary") or ""),
                   config_digest=row.get("config_digest"), base_digest=row.get("base_digest"),
                   rollback_of=rollback_of if isinstance(rollback_of, int)
                   and not isinstance(rollback_of, bool) else None,
                   rollback_commit=commit if isinstance(commit, str) else None)


def record_from_row(row: Mapping[str, Any]) -> HistoryRecord:
    data = _parsed(row.get("changes"))
    changes, layout = _changes_of(data)
    return HistoryRecord(applied_from_row(row, data), changes, layout,
                         _password_events(data))


_UNREADABLE = object()


def _parsed(text: str | bytes | None) -> Any:
    try:
        return json.loads(text) if text else None
    except (TypeError, ValueError):
        return _UNREADABLE


def parse_changes(text: str | bytes | None) -> tuple[tuple[RecordedChange, ...], str]:
    """The changes of a history row, whichever layout stored them; a row that cannot be
    read (edited by hand) gives no change and the layout `unreadable`."""
    return _changes_of(_parsed(text))


def _changes_of(data: Any) -> tuple[tuple[RecordedChange, ...], str]:
    if isinstance(data, dict):
        return _grouped(data), "grouped"
    if isinstance(data, list):
        return _listed(data), "list"
    return (), "unreadable"


def _password_events(data: Any) -> dict[str, str]:
    """`{"user.COMPTA": "set"}` for a `password set` or `clear` row, else empty."""
    events = data.get("password") if isinstance(data, dict) else None
    if not isinstance(events, dict):
        return {}
    return {str(k): str(v) for k, v in events.items()}


def _order(change: RecordedChange) -> tuple[bool, str]:
    return (change.address != GENERAL, change.address)


def _grouped(data: Mapping[str, Any]) -> tuple[RecordedChange, ...]:
    follows = set(data.get("follows_general") or ())
    out = []
    for action in ACTIONS:
        rows = data.get(action)
        if not isinstance(rows, dict):
            continue
        for address, fields in rows.items():
            if not isinstance(fields, dict):
                continue
            pairs = {str(name): _pair(value) for name, value in fields.items()}
            out.append(RecordedChange(str(address), action, pairs, address in follows))
    return tuple(sorted(out, key=_order))


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None, value


def _field(state: Any, name: str, nested: bool) -> Any:
    if not nested:
        return state.get(name) if isinstance(state, dict) else None
    value = state
    for part in split_setting(name):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _listed(data: list[Any]) -> tuple[RecordedChange, ...]:
    out = []
    for item in data:
        if not isinstance(item, dict) or item.get("action") not in ACTIONS:
            continue
        address = str(item.get("address"))
        nested = address == GENERAL
        before, after = item.get("before"), item.get("after")
        names = [str(n) for n in item.get("changed") or ()]
        pairs = {name: (_field(before, name, nested), _field(after, name, nested))
                 for name in names}
        out.append(RecordedChange(address, str(item["action"]), pairs,
                                  bool(item.get("follows_general"))))
    return tuple(sorted(out, key=_order))

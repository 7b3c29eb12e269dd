"""Rollback: the plan that restores what one recorded apply changed.

When an apply breaks sending at 7 a.m., the admin needs the earlier state back now,
reviewed, without waiting for a revert to be merged. The history row of apply N holds,
for every row it changed, each changed setting as `[before, after]` (either history
layout). The rollback plan gives each of those settings its `before` value again:

- a row N updated gets its changed settings back (the others are left as they are);
- an override N enabled is removed; one N removed is enabled again with its values.

A row changed again since N (by a later apply that touched the same settings, or by
hand: its live value is no longer what N wrote) is a conflict: shown, and left out
unless `include_later` says to restore it anyway. A row that is already as it was
before N needs nothing. The plan is a plan like any other (saved, signed, stale-checked
against the rows it writes, applied with `apply PLAN`), carries `rollback_of`, and its
apply is recorded as a rollback of N. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mailprov.errors import MailprovError
from mailprov.i18n import N_, Plural, _, stored
from mailprov.model import MODE, OFFICE365_FIELDS, OVERRIDE_FIELDS, LiveState, Policy, Safety
from mailprov.plan.digest import base_digest
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, Conflict, Plan, RollbackOf
from mailprov.plan.passwords import password_notes
from mailprov.plan.policy import change_violations
from mailprov.plan.records import HistoryRecord, RecordedChange, iso_utc
from mailprov.plan.safety import evaluate

USER_GONE = "user-gone"
OVERRIDE_GONE = "override-removed"
CHANGED_LATER = "changed-later"
CHANGED_BY_HAND = "changed-by-hand"
OFFICE365_MODE = "office365-mode"


class RollbackError(MailprovError):
    """History entry N cannot be rolled back (not an apply, or unreadable)."""


def _flat(state: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (state or {}).items():
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    """Stored values compared as mailprov compares them (True is not 1)."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) \
        else a == b


def _later_touching(change: RecordedChange, later: Sequence[HistoryRecord]) -> tuple[int, ...]:
    """The later applies that changed one of the settings `change` changed, oldest first."""
    names = set(change.fields)
    return tuple(sorted({record.applied.id for record in later for other in record.changes
                         if other.address == change.address and names & set(other.fields)}))


class _Builder:
    def __init__(self, record: HistoryRecord, later: Sequence[HistoryRecord],
                 live: LiveState, include_later: bool) -> None:
        self.record = record
        self.later = later
        self.live = live
        self.include = include_later
        self.changes: list[Change] = []
        self.conflicts: list[Conflict] = []
        self.written: list[int] = []

    def conflict(self, change: RecordedChange, code: str, message: str,
                 live: Mapping[str, Any], later: tuple[int, ...] = (),
                 restorable: bool = True) -> bool:
        """Record a conflict; True when the row is restored anyway."""
        included = restorable and self.include
        fields = {name: (before, after, live.get(name))
                  for name, (before, after) in change.fields.items()}
        self.conflicts.append(Conflict(change.address, code, message, fields, later, included))
        return included

    def _check(self, change: RecordedChange, live: Mapping[str, Any]) -> bool:
        """Whether the row may be restored: not changed since N, or included anyway."""
        n = self.record.applied.id
        later = _later_touching(change, self.later)
        if later:
            applies = ", ".join(f"#{i}" for i in later)
            return self.conflict(change, CHANGED_LATER, Plural.ngettext(
                "changed again by apply {applies} since #{n}",
                "changed again by applies {applies} since #{n}", len(later)).format(
                    applies=applies, n=n), live, later)
        moved = [name for name, (_before, after) in change.fields.items()
                 if not _same(live.get(name), after)]
        if moved:
            return self.conflict(change, CHANGED_BY_HAND, stored(N_(
                "changed since #{n} outside mailprov ({fields} no longer as #{n} left "
                "them)"), n=n, fields=", ".join(moved)), live)
        return True

    def general(self, change: RecordedChange) -> None:
        live = self.live.general
        current = _flat(live.as_dict())
        restored = dict(current)
        for name, (before, _after) in change.fields.items():
            if name in restored:
                restored[name] = before
        changed = tuple(name for name in ("client", "smtp.server", "smtp.port", "smtp.ssl")
                        if not _same(restored[name], current[name]))
        if changed and self._check(change, current):  # none: already as before N
            after = {"client": restored["client"],
                     "smtp": {"server": restored["smtp.server"], "port": restored["smtp.port"],
                              "ssl": restored["smtp.ssl"]}}
            self.changes.append(Change(GENERAL, "update", live.as_dict(), after, changed))

    def user(self, change: RecordedChange) -> None:
        code = change.address[len(USER_PREFIX):]
        user = self.live.users.get(code)
        if user is None or user.number is None:
            self.conflict(change, USER_GONE, stored(N_("user {code} is no longer in maestro*"),
                                                    code=code), {}, restorable=False)
            return
        if user.office365 is not None or any(name in (MODE, *OFFICE365_FIELDS)
                                             for name in change.fields):
            # an Office 365 mode, then or now: restoring SMTP sections alone would undo it
            # wrongly (an empty override, a mode move read as a hand edit)
            self.conflict(change, OFFICE365_MODE, stored(N_(
                "user {code} had or has an Office 365 – Modern Authentication mode, which "
                "rollback does not restore: set the user's settings in the files and apply"),
                code=code), user.state() or {}, restorable=False)
            return
        current = user.override.as_dict() if user.override is not None else None
        if change.action == "create":  # N enabled the override: remove it
            if current is None:
                return  # already off, as before N
            if self._check(change, current):
                self._add(Change(change.address, "delete", current, None, OVERRIDE_FIELDS,
                                 number=user.number), user.number)
        elif change.action == "delete":  # N removed it: enable it with its values again
            before = {name: change.fields.get(name, (None, None))[0] for name in OVERRIDE_FIELDS}
            later = _later_touching(change, self.later)
            if current is None:
                if not later or self._check(change, {}):
                    self._add(Change(change.address, "create", None, before, OVERRIDE_FIELDS,
                                     number=user.number), user.number)
                return
            if all(_same(current[n], before[n]) for n in OVERRIDE_FIELDS):
                return  # on again, with the values it had before N
            restore = self._check(change, current) if later else self.conflict(
                change, CHANGED_BY_HAND, stored(N_("its override is on again since #{n}, set "
                                                   "outside mailprov"), n=self.record.applied.id),
                current)
            if restore:
                self._update(change, current, before, user.number)
        else:
            if current is None:
                self.conflict(change, OVERRIDE_GONE, stored(N_(
                    "its override was removed since #{n}: re-create it from the files"),
                    n=self.record.applied.id), {}, _later_touching(change, self.later),
                    restorable=False)
                return
            before = {name: before for name, (before, _after) in change.fields.items()
                      if name in OVERRIDE_FIELDS}
            if any(not _same(current[n], v) for n, v in before.items()) \
                    and self._check(change, current):  # else: already as before N
                self._update(change, current, {**current, **before}, user.number)

    def _update(self, change: RecordedChange, current: Mapping[str, Any],
                restored: Mapping[str, Any], number: int) -> None:
        changed = tuple(n for n in OVERRIDE_FIELDS if not _same(restored.get(n), current[n]))
        if changed:
            self._add(Change(change.address, "update", dict(current),
                             {n: restored.get(n) for n in OVERRIDE_FIELDS}, changed,
                             follows_general=change.follows_general, number=number), number)

    def _add(self, change: Change, number: int) -> None:
        self.changes.append(change)
        self.written.append(number)


def build_rollback(record: HistoryRecord, later: Sequence[HistoryRecord], live: LiveState, *,
                   target: str, target_url: str, mapping: Mapping[str, Any] | None = None,
                   include_later: bool = False, safety: Safety | None = None,
                   policies: Sequence[Policy] = ()) -> Plan:
    """The plan that restores what apply `record` changed, on `live` (the target now);
    `later` are the history entries recorded after it. Raises RollbackError when the
    entry is not an apply whose changes can be read."""
    n = record.applied.id
    if record.layout == "unreadable":
        raise RollbackError(_(
            "history entry #{n} cannot be rolled back: its changes cannot be read (the row "
            "is not mailprov JSON)").format(n=n))
    if record.passwords:
        raise RollbackError(_(
            "history entry #{n} is a password change ({summary}), not an apply: mailprov "
            "never keeps passwords, so there is nothing to restore; set it again with "
            "`mailprov password set`").format(n=n, summary=record.applied.summary))
    builder = _Builder(record, later, live, include_later)
    for change in record.changes:
        if change.address == GENERAL:
            builder.general(change)
        elif change.address.startswith(USER_PREFIX):
            builder.user(change)
    changes = tuple(sorted(builder.changes, key=lambda c: (c.address != GENERAL, c.address)))
    managed = tuple(sorted(set(builder.written)))
    applied = record.applied
    source = json.dumps([n, [c.to_json() for c in record.changes]], sort_keys=True,
                        default=str).encode()
    return Plan(
        target=target,
        target_url=target_url,
        edition=live.general.edition,
        changes=changes,
        base_digest=base_digest(live, managed),
        config_digest="sha256:" + hashlib.sha256(b"mailprov rollback\0" + source).hexdigest(),
        unmanaged_overrides=0,
        safety=evaluate(changes, live.override_count, safety or Safety()),
        mapping=mapping,
        database_id=live.database_id,
        managed_users=managed,
        password_notes=password_notes(changes, live),
        policies=tuple(policies),
        policy_violations=change_violations(policies, changes, live.general,
                                            live.override_count),
        model_version=live.model_version,
        rollback_of=RollbackOf(n, iso_utc(applied.applied_at), applied.git_commit,
                               applied.summary, applied.rollback_of, applied.rollback_commit),
        conflicts=tuple(sorted(builder.conflicts, key=lambda c: (c.address != GENERAL,
                                                                 c.address))),
    )

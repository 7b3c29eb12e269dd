"""mailprov_history: one row per apply, saying who changed what, from where, and how.

The changes are stored compactly, as JSON grouped by action then by row, with only
the fields that changed, as `[before, after]` pairs:

    {"create": {"user.COMPTA": {"username": [null, "compta"], ...}},
     "update": {"general": {"smtp.port": [25, 587]}, "user.COORD": {"from": ["a", "b"]}},
     "delete": {},
     "follows_general": ["user.PAIE"]}

That is what an auditor reads, and it keeps mailprov's footprint in maestro*'s own
database to a fifth of the full plan. Never a secret: plans hold none.

The apply of a rollback plan (`mailprov rollback N`) says which apply it undid, and
the Git commit of that apply's files, in one more key, and in its summary
(`rollback of #12: 0 to add, 3 to change, 1 to remove`):

    {"create": {}, "update": {...}, "delete": {...},
     "rollback_of": {"id": 12, "git_commit": "3f2a9c1e..."}}

`mailprov password set` and `password clear` record a row too, in the same layout
with one more key saying what happened to whose password, never the password:

    {"create": {}, "update": {}, "delete": {}, "password": {"user.COMPTA": "set"}}

with the summary `password set for COMPTA` (or `password cleared for COMPTA`), no
config digest or commit, and as base digest the fingerprint of the general row and
the user's row when it happened (docs/passwords.md).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, inspect, select

from mailprov.db.backends import Backend
from mailprov.db.driver import compile_statement, execute
from mailprov.db.tables import Tables
from mailprov.model import MODE, split_setting, state_mode
from mailprov.plan.format import Change, Plan
from mailprov.plan.records import ROLLBACK_KEY


@dataclass(frozen=True)
class HistoryEntry:
    """Who applied what, from where; never a secret."""

    target: str
    os_user: str
    host: str
    config_digest: str | None
    git_commit: str | None


def _general_field(state: Mapping[str, Any] | None, name: str) -> Any:
    """A field of general's before/after state: `client`, or `smtp.port` inside smtp."""
    value: Any = state
    for part in split_setting(name):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


_NOTHING: Mapping[str, Any] = {}


def changed_fields(change: Change) -> dict[str, list[Any]]:
    """The fields one change changes, as [before, after]."""
    before, after = change.before, change.after
    if change.user_code is None:
        return {name: [_general_field(before, name), _general_field(after, name)]
                for name in change.changed}
    old, new = before or _NOTHING, after or _NOTHING
    return {name: [state_mode(before), state_mode(after)] if name == MODE
            else [old.get(name), new.get(name)] for name in change.changed}


def changes_record(changes: Iterable[Change]) -> dict[str, Any]:
    """What the history keeps of a plan's changes (the layout in the module docstring)."""
    record: dict[str, Any] = {"create": {}, "update": {}, "delete": {}}
    follows = []
    for change in changes:
        record[change.action][change.address] = changed_fields(change)
        if change.follows_general:
            follows.append(change.address)
    if follows:
        record["follows_general"] = follows
    return record


def changes_json(changes: Iterable[Change], plan: Plan | None = None) -> str:
    record = changes_record(changes)
    if plan is not None and plan.rollback_of is not None:
        record[ROLLBACK_KEY] = {"id": plan.rollback_of.id,
                                "git_commit": plan.rollback_of.git_commit}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _fits(commit: str | None, limit: int) -> str | None:
    """A commit id within the column: a SHA-256 commit with `+dirty` is shortened, keeping
    the mark (a 57-hex-digit prefix still names one commit)."""
    if commit is None or len(commit) <= limit:
        return commit
    sha, plus, mark = commit.partition("+")
    return sha[:limit - len(plus + mark)] + plus + mark


def record_history(conn: Connection, tables: Tables, backend: Backend, plan: Plan,
                   entry: HistoryEntry) -> int:
    """Insert the history row of `plan`; return its id."""
    summary = plan.summary
    values = {
        "applied_at": datetime.now(UTC).replace(tzinfo=None),
        "target": entry.target[:255],
        "os_user": entry.os_user[:255],
        "host": entry.host[:255],
        "config_digest": entry.config_digest,
        "base_digest": plan.base_digest,
        "git_commit": _fits(entry.git_commit, 64),
        "summary": (f"{summary['create']} to add, {summary['update']} to change, "
                    f"{summary['delete']} to remove"),
        "changes": changes_json(plan.changes, plan),
    }
    if plan.rollback_of is not None:
        values["summary"] = f"rollback of #{plan.rollback_of.id}: {values['summary']}"
    if backend.driver_statements and conn.dialect.insert_returning:
        return _insert_returning_id(conn, tables, values)
    result = conn.execute(insert(tables.history).values(values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _insert_returning_id(conn: Connection, tables: Tables, values: dict[str, Any]) -> int:
    """INSERT ... RETURNING id, compiled once per process (a new engine would otherwise
    adapt every column type again: a millisecond for one row)."""
    history = tables.history
    names = list(values)
    statement = compile_statement(
        conn, lambda: insert(history).values({n: bindparam(n) for n in names})
        .returning(history.c.id), names, key=("insert history", tables.key, *names))
    # datetimes are the one value a driver may not take as is (SQLite stores text)
    to_stored = history.c.applied_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if to_stored is not None:
        values = {**values, "applied_at": to_stored(values["applied_at"])}
    return int(execute(conn, statement, [values[n] for n in names]).scalar_one())


PASSWORD_KEY = "password"


def password_record(address: str, action: str) -> dict[str, Any]:
    """The changes of a password event: the apply layout, empty, plus what happened."""
    return {"create": {}, "update": {}, "delete": {}, PASSWORD_KEY: {address: action}}


def record_password_event(conn: Connection, tables: Tables, entry: HistoryEntry, *,
                          code: str, action: str, digest: str, at: datetime) -> int:
    """Insert the history row of a password set or cleared (`action`: `set` or
    `cleared`) for the user `code`; return its id. Holds no secret."""
    changes = password_record(f"user.{code}", action)
    values = {
        "applied_at": at,
        "target": entry.target[:255],
        "os_user": entry.os_user[:255],
        "host": entry.host[:255],
        "config_digest": entry.config_digest,
        "base_digest": digest,
        "git_commit": entry.git_commit,
        "summary": f"password {action} for {code}"[:255],
        "changes": json.dumps(changes, ensure_ascii=False, separators=(",", ":")),
    }
    result = conn.execute(insert(tables.history).values(values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def read_history_since(conn: Connection, tables: Tables, since: datetime | None
                       ) -> list[Mapping[str, Any]]:
    """Every row recorded at or after `since` (None: every row), oldest first: id,
    applied_at and changes (for what happened to users' logins and passwords)."""
    if not inspect(conn).has_table(tables.history.name, schema=tables.mapping.schema):
        return []
    history = tables.history
    query = select(history.c.id, history.c.applied_at, history.c.changes)
    if since is not None:
        query = query.where(history.c.applied_at >= since)
    return [dict(row._mapping) for row in conn.execute(query.order_by(history.c.id))]


def read_history(conn: Connection, tables: Tables, limit: int = 50) -> list[Mapping[str, Any]]:
    """The latest applies, newest first."""
    if not inspect(conn).has_table(tables.history.name, schema=tables.mapping.schema):
        return []
    query = select(tables.history).order_by(tables.history.c.id.desc()).limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def _history_exists(conn: Connection, tables: Tables) -> bool:
    return bool(inspect(conn).has_table(tables.history.name, schema=tables.mapping.schema))


def iter_history(conn: Connection, tables: Tables) -> Generator[Mapping[str, Any], None, None]:
    """Every apply, newest first, in one query whose rows are fetched as they are read:
    a caller that stops early (drift, once it found what it looks for) leaves the rest
    of a long history unread."""
    if not _history_exists(conn, tables):
        return
    history = tables.history
    query = select(history.c.id, history.c.applied_at, history.c.target, history.c.os_user,
                   history.c.host, history.c.config_digest, history.c.base_digest,
                   history.c.git_commit, history.c.summary, history.c.changes
                   ).order_by(history.c.id.desc())
    result = conn.execution_options(stream_results=True, max_row_buffer=100).execute(query)
    try:
        for row in result:
            yield dict(row._mapping)
    finally:
        result.close()


def read_history_after(conn: Connection, tables: Tables, history_id: int
                       ) -> list[Mapping[str, Any]]:
    """Every row recorded after `history_id`, oldest first: what changed since."""
    if not _history_exists(conn, tables):
        return []
    query = select(tables.history).where(tables.history.c.id > history_id)
    return [dict(row._mapping) for row in conn.execute(query.order_by(tables.history.c.id))]


def read_history_row(conn: Connection, tables: Tables, history_id: int
                     ) -> Mapping[str, Any] | None:
    """One apply by its number, or None."""
    if not _history_exists(conn, tables):
        return None
    query = select(tables.history).where(tables.history.c.id == history_id)
    row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)

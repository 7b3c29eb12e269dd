"""`mailprov history` as text: one line per apply, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mailprov.i18n import N_, _
from mailprov.plan.records import Applied, HistoryRecord
from mailprov.render.values import show


def render_history(rows: Sequence[Mapping[str, Any]], target_name: str) -> str:
    if not rows:
        return _("No apply recorded on target '{target}'.").format(
            target=show(target_name)) + "\n"
    lines = []
    for row in rows:
        # every field is read from the database: escaped
        commit = ""
        if row.get("git_commit"):
            sha, dirty, _rest = row["git_commit"].partition("+dirty")
            commit = f" git {show(sha[:10])}{'+dirty' if dirty else ''}"
        lines.append(f"#{row['id']}  {row['applied_at']:%Y-%m-%d %H:%M:%S} UTC  "
                     f"{show(row['os_user'])}@{show(row['host'])}  {show(row['summary'])}"
                     f"{commit}")
    return "\n".join(lines) + "\n"


def history_json(records: Sequence[Applied], target_name: str) -> str:
    """`history --format json`: the applies, newest first (`--show N` for the changes)."""
    import json

    return json.dumps({"target": target_name, "applies": [r.to_json() for r in records]},
                      indent=2, ensure_ascii=False) + "\n"


_SYMBOL = {"create": "+", "update": "~", "delete": "-"}
_ACTIONS = {"create": N_("create"), "update": N_("update"), "delete": N_("delete")}


def render_record(record: HistoryRecord) -> str:
    """`history --show N` as text: who, when, from where, then every change it made."""
    applied = record.applied
    when = f"{applied.applied_at:%Y-%m-%d %H:%M:%S} UTC" if applied.applied_at else "?"
    lines = [_("Apply #{id} on target '{target}', {when}, by {who}.").format(
        id=applied.id, target=show(applied.target), when=when,
        who=show(f"{applied.os_user}@{applied.host}"))]
    if applied.git_commit:
        lines.append(_("Files at commit {commit}.").format(commit=show(applied.git_commit)))
    lines.append(_("Config {config}, base {base}.").format(
        config=show(applied.config_digest), base=show(applied.base_digest)))
    if record.layout == "list":
        lines.append(_("(Recorded by an older mailprov, as the plan's full changes.)"))
    elif record.layout == "unreadable":
        lines.append(_("The changes of this apply cannot be read (the row is not mailprov "
                       "JSON)."))
    lines.append("")
    for change in record.changes:
        title = (_("follows general.smtp") if change.follows_general
                 else _(_ACTIONS[change.action]) if change.action in _ACTIONS
                 else show(change.action))
        lines.append(f"  {_SYMBOL.get(change.action, '?')} {show(change.address)}  ({title})")
        width = max((len(n) for n in change.fields), default=0)
        for name, (before, after) in change.fields.items():
            lines.append(f"      {name.ljust(width)}  {show(before)} -> {show(after)}")
        lines.append("")
    lines.append(show(applied.summary) + ".")
    return "\n".join(lines) + "\n"

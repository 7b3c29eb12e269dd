"""`mailprov history` as text: one line per apply, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mailprov.render.values import show


def render_history(rows: Sequence[Mapping[str, Any]], target_name: str) -> str:
    if not rows:
        return f"No apply recorded on target '{show(target_name)}'.\n"
    lines = []
    for row in rows:
        # every field is read from the database: escaped
        commit = ""
        if row.get("git_commit"):
            sha, dirty, _ = row["git_commit"].partition("+dirty")
            commit = f" git {show(sha[:10])}{'+dirty' if dirty else ''}"
        lines.append(f"#{row['id']}  {row['applied_at']:%Y-%m-%d %H:%M:%S} UTC  "
                     f"{show(row['os_user'])}@{show(row['host'])}  {show(row['summary'])}"
                     f"{commit}")
    return "\n".join(lines) + "\n"

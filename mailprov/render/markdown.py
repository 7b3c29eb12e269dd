"""Plan as Markdown for a pull-request comment: summary and removals first, details
collapsed, and never longer than a comment can be."""

from __future__ import annotations

from mailprov.plan.format import Change, Plan
from mailprov.render.values import (
    attribute_rows,
    show,
    show_address,
    summary_line,
    unmanaged_line,
)

MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters


def _cell(value: object) -> str:
    return show(value).replace("|", "\\|").replace("`", "'")


def _code(text: str) -> str:
    """Text for inside a `code span`, which cannot hold a backtick."""
    return text.replace("`", "'")


def _change_block(change: Change) -> list[str]:
    follows = " (follows general.smtp)" if change.follows_general else ""
    lines = [f"**{change.action}** `{_code(show_address(change))}`{follows}", "",
             "| attribute | before | after |", "|---|---|---|"]
    for name, before, after in attribute_rows(change):
        lines.append(f"| {name} | {_cell(before)} | {_cell(after)} |")
    lines.append("")
    return lines


def render_markdown(plan: Plan, max_chars: int = MAX_CHARS) -> str:
    summary = summary_line(plan.summary, plan.changes_present)
    head = [f"### mailprov plan for `{_code(plan.target)}`", "", f"**{summary}**", ""]
    removals = [c for c in plan.changes if c.action == "delete"]
    if removals:
        head.append(f":warning: **{len(removals)} per-user override(s) will be removed:** "
                    + ", ".join(f"`{_code(show(c.user_code))}`" for c in removals[:50])
                    + (f" and {len(removals) - 50} more" if len(removals) > 50 else ""))
        head.append("")
    if plan.safety.exceeded:
        head.append(":no_entry: **Apply will refuse this plan without `--force`:** "
                    + show("; ".join(plan.safety.reasons)))
        head.append("")
    for warning in plan.warnings:
        if warning.code != "safety-limit":  # said above, as the refusal it is
            head.append(f"> Warning (`{warning.code}`, {_cell(warning.address)}): "
                        f"{_cell(warning.message)}")
            head.append("")
    head.append(unmanaged_line(plan.unmanaged_overrides))
    head.append("")
    if not plan.changes:
        return "\n".join(head)
    tail = ["</details>", "", f"<sub>base {plan.base_digest}</sub>", ""]
    body = ["<details><summary>Details of the "
            f"{len(plan.changes)} change(s)</summary>", ""]
    budget = max_chars - len("\n".join(head + body + tail)) - 200
    shown = 0
    for change in plan.changes:
        block = _change_block(change)
        size = len("\n".join(block)) + 1
        if size > budget:
            break
        body.extend(block)
        budget -= size
        shown += 1
    if shown < len(plan.changes):
        body.append(f"_… {len(plan.changes) - shown} more change(s) not shown; run "
                    "`mailprov plan` for the full plan._")
        body.append("")
    return "\n".join(head + body + tail)

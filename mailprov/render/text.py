"""Plan as text for a terminal: one block per change, `before -> after`, then the summary."""

from __future__ import annotations

from mailprov.i18n import _
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, Plan
from mailprov.render.values import (
    attribute_rows,
    selection_line,
    show,
    show_address,
    summary_line,
    unmanaged_line,
)

_SYMBOL = {"create": "+", "update": "~", "delete": "-"}
_COLOUR = {"create": "32", "update": "33", "delete": "31"}
_TITLE = {"create": "enable the per-user SMTP override",
          "update": "update", "delete": "REMOVE the per-user SMTP override"}


class TextRenderer:
    """Renders a plan; colour only when asked (the CLI decides: TTY and no NO_COLOR)."""

    def __init__(self, color: bool = False) -> None:
        self.color = color

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def change(self, change: Change) -> list[str]:
        title = _TITLE[change.action]
        if change.follows_general:
            title = "follows general.smtp"
        head = f"  {_SYMBOL[change.action]} {show_address(change)}  ({title})"
        lines = [self._paint(head, _COLOUR[change.action])]
        rows = attribute_rows(change)
        width = max((len(name) for name, _, _ in rows), default=0)
        for name, before, after in rows:
            if change.action == "create":
                value = show(after)
            elif change.action == "delete":
                value = f"{show(before)} -> (cleared)"
            else:
                value = f"{show(before)} -> {show(after)}"
            lines.append(f"      {name.ljust(width)}  {value}")
        return lines

    def render(self, plan: Plan) -> str:
        # what comes from the database or the files is escaped: a user code, a client or a
        # warning could hold a terminal's escape sequences
        lines = [f"Target '{show(plan.target)}' ({show(plan.target_url)}), edition "
                 f"{show(plan.edition)}.", ""]
        if plan.changes:
            lines.append("mailprov will make these changes:")
            lines.append("")
            for change in plan.changes:
                lines.extend(self.change(change))
                lines.append("")
        lines.extend(selection_line(report) for report in plan.selections)
        lines.append(unmanaged_line(plan.unmanaged_overrides))
        for warning in plan.warnings:
            where = "" if warning.address in (GENERAL, "configuration") \
                else f"{show(warning.address)}: "
            lines.append(self._paint(f"Warning: {where}{show(warning.message)}", "33"))
        for note in plan.password_notes or ():
            lines.append(self._paint(_("Password: {user}: {message}").format(
                user=show(note.address.removeprefix(USER_PREFIX)), message=show(note.message)),
                "33"))
        lines.append(self._paint(summary_line(plan.summary, plan.changes_present), "1"))
        return "\n".join(lines) + "\n"


def render_text(plan: Plan, color: bool = False) -> str:
    return TextRenderer(color).render(plan)

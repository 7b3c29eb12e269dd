"""Plan as text for a terminal: one block per change, `before -> after`, then the summary."""

from __future__ import annotations

from mailprov.i18n import _, ngettext
from mailprov.model import MODE
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, Plan
from mailprov.render.places import setting_name
from mailprov.render.rollback import conflict_lines, revert_note, rollback_head
from mailprov.render.values import (
    attribute_rows,
    change_title,
    selection_line,
    show,
    show_address,
    summary_line,
    unmanaged_line,
)

_SYMBOL = {"create": "+", "update": "~", "delete": "-"}
_COLOUR = {"create": "32", "update": "33", "delete": "31"}


class TextRenderer:
    """Renders a plan; colour only when asked (the CLI decides: TTY and no NO_COLOR)."""

    def __init__(self, color: bool = False) -> None:
        self.color = color

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def change(self, change: Change) -> list[str]:
        title = change_title(change) if change.user_code is not None else _("update")
        if change.follows_general:
            title = _("follows general.smtp")
        head = f"  {_SYMBOL[change.action]} {show_address(change)}  ({title})"
        lines = [self._paint(head, _COLOUR[change.action])]
        rows = attribute_rows(change)
        names = {name: setting_name(name) for name, _before, _after in rows}
        width = max((len(shown) for shown in names.values()), default=0)
        for name, before, after in rows:
            if change.action == "create":
                value = show(after)
            elif change.action == "delete" or (after is None and MODE in change.changed
                                                and name != MODE):
                value = _("{before} -> (cleared)").format(before=show(before))
            else:
                value = f"{show(before)} -> {show(after)}"
            lines.append(f"      {names[name].ljust(width)}  {value}")
        return lines

    def render(self, plan: Plan) -> str:
        # what comes from the database or the files is escaped: a user code, a client or a
        # warning could hold a terminal's escape sequences
        lines = [_("Target '{target}' ({url}), edition {edition}.").format(
            target=show(plan.target), url=show(plan.target_url), edition=show(plan.edition)),
            ""]
        if plan.rollback_of is not None:
            lines.extend([rollback_head(plan.rollback_of), ""])
        if plan.changes:
            lines.append(_("mailprov will make these changes:"))
            lines.append("")
            for change in plan.changes:
                lines.extend(self.change(change))
                lines.append("")
        lines.extend(selection_line(report) for report in plan.selections)
        if plan.rollback_of is None:
            lines.append(unmanaged_line(plan.unmanaged_overrides))
        else:
            lines.extend(self._paint(line, "33") for line in conflict_lines(plan))
            if plan.changes:
                lines.append(revert_note(plan.rollback_of))
        lines.extend(self._paint(line, "33") for line in warning_lines(plan))
        for note in plan.password_notes or ():
            lines.append(self._paint(_("Password: {user}: {message}").format(
                user=show(note.address.removeprefix(USER_PREFIX)), message=show(note.message)),
                "33"))
        moved = office365_moves(plan)
        if moved:
            lines.append(self._paint(ngettext(
                "Follow-up: {count} user moves to Office 365 – Modern Authentication and signs "
                "in once in maestro* (Préférences > Courriel > Authentifier); `mailprov "
                "office365 status` shows who has.",
                "Follow-up: {count} users move to Office 365 – Modern Authentication and each "
                "signs in once in maestro* (Préférences > Courriel > Authentifier); `mailprov "
                "office365 status` shows who has.", len(moved)).format(count=len(moved)), "33"))
        lines.extend(self._paint(line, "31") for line in policy_lines(plan))
        if plan.rollback_of is not None and not plan.changes:
            # starts as the summary line scripts parse does, `No changes.`, in every
            # language (NOT TRANSLATED: docs/exit-codes.md); the rest is for people
            lines.append(self._paint("No changes. " + _(
                "Nothing to roll back: every row apply #{id} changed is already as it was "
                "before it, or left out above.").format(id=plan.rollback_of.id), "1"))
        else:
            # the machine summary line: English in every language (see summary_line)
            lines.append(self._paint(summary_line(plan.summary, plan.changes_present), "1"))
        return "\n".join(lines) + "\n"


SHOWN_VIOLATIONS = 50


def policy_lines(plan: Plan) -> list[str]:
    """What breaks the policy, one violation a line (escaped: values come from files and
    from the database)."""
    violations = plan.policy_violations
    if not violations:
        return []
    n = len(violations)
    lines = [ngettext(
        "Policy: {n} violation; this plan cannot be saved or applied (--force does not "
        "change that):",
        "Policy: {n} violations; this plan cannot be saved or applied (--force does not "
        "change that):", n).format(n=n)]
    lines.extend(f"  {v.format()}" for v in violations[:SHOWN_VIOLATIONS])  # escaped
    if n > SHOWN_VIOLATIONS:
        lines.append("  " + _("... and {n} more (`--format json` lists them all)").format(
            n=n - SHOWN_VIOLATIONS))
    return lines


SHOWN_WARNED = 10
"""Users named on one warning line before the rest are counted."""


def warning_lines(plan: Plan) -> list[str]:
    """`Warning: ...` lines; a warning said of many users (the same code and message) is one
    line naming them: 500 users on Exchange Online with a password are one line, not 500."""
    groups: dict[tuple[str, str], list[str]] = {}
    for warning in plan.warnings:
        groups.setdefault((warning.code, warning.message), []).append(warning.address)
    lines = []
    for (_code, message), addresses in groups.items():
        if len(addresses) == 1 and addresses[0] in (GENERAL, "configuration"):
            lines.append(_("Warning: {message}").format(message=show(message)))
            continue
        named = list(dict.fromkeys(addresses))
        where = ", ".join(show(a) for a in named[:SHOWN_WARNED])
        if len(named) > SHOWN_WARNED:
            where += " " + _("and {count} more").format(count=len(named) - SHOWN_WARNED)
        lines.append(_("Warning: {where}: {message}").format(where=where,
                                                             message=show(message)))
    return lines


def office365_moves(plan: Plan) -> list[str]:
    """The users the plan moves to Office 365 – Modern Authentication."""
    return [c.user_code for c in plan.changes if c.user_code is not None
            and c.after is not None and c.after.get(MODE) == "office365"
            and (c.before is None or c.before.get(MODE) != "office365")]


def render_text(plan: Plan, color: bool = False) -> str:
    return TextRenderer(color).render(plan)

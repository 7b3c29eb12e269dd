"""How attribute values are shown to people, shared by the text and Markdown renderers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailprov.errors import TYPOGRAPHIC_SPACES, visible, written_out
from mailprov.i18n import _, ngettext, shown
from mailprov.model import MODE, state_mode
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, SelectionReport

# French typography's no-break spaces (before `:`, inside « »): spaces, not hidden
# characters; like a space, one at either end of a value is still quoted
_AS_SPACES = str.maketrans(dict.fromkeys(TYPOGRAPHIC_SPACES, " "))


def show(value: Any) -> str:
    """A value for people: text as it is, unless something in it could hide (a space at
    either end, an empty text, a control character): then quoted as repr does, 'COMPTA '.
    A no-break space inside the text is a space (French messages hold them); a text a plan
    stores in English (mailprov.i18n.stored) is shown in the reader's language."""
    if value is None:
        return _("(none)")
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(shown(value))
    spaced = text.translate(_AS_SPACES)
    return text if visible(spaced) == spaced else visible(text)


def printable_text(text: str) -> str:
    """mailprov.errors.printable that keeps French typography's no-break spaces: a line of
    mailprov's own text with values in it, every control character written out."""
    return written_out(text, TYPOGRAPHIC_SPACES)


def show_address(change: Change) -> str:
    """`general` or `user.CODE`, the code shown as `show` shows values."""
    if change.address == GENERAL or change.user_code is None:
        return change.address
    return USER_PREFIX + visible(change.user_code)


def flatten(data: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """{'smtp': {'port': 25}} -> {'smtp.port': 25}."""
    out: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def attribute_rows(change: Change) -> list[tuple[str, Any, Any]]:
    """(attribute, before, after) for the attributes a change touches; a user's `mode` is
    `smtp`, `office365` or none (follows general) on either side."""
    before, after = flatten(change.before), flatten(change.after)
    return [(name, state_mode(change.before), state_mode(change.after))
            if name == MODE and change.user_code is not None
            else (name, before.get(name), after.get(name)) for name in change.changed]


def change_title(change: Change) -> str:
    """What a user change does, for people: enable, remove or move a per-user mode."""
    before, after = state_mode(change.before), state_mode(change.after)
    office365 = "office365" in (before, after)
    if change.action == "create":
        return (_("move to Office 365 – Modern Authentication") if office365
                else _("enable the per-user SMTP override"))
    if change.action == "delete":
        return (_("REMOVE the Office 365 mode: the user follows the general default")
                if office365 else _("REMOVE the per-user SMTP override"))
    if MODE in change.changed:
        return (_("move from SMTP to Office 365 – Modern Authentication")
                if after == "office365" else
                _("move from Office 365 to a per-user SMTP override"))
    return _("update")


def summary_line(summary: Mapping[str, int], changes_present: bool) -> str:
    """The plan's machine summary line: English in every language, never through `_()`
    (scripts parse it: docs/exit-codes.md#the-plan-summary-line)."""
    # NOT TRANSLATED: a stable interface (docs/exit-codes.md), the same in every language
    if not changes_present:
        return "No changes. maestro* matches the configuration."
    return (f"Plan: {summary['create']} to add, {summary['update']} to change, "
            f"{summary['delete']} to remove.")


def unmanaged_line(count: int) -> str:
    if count == 0:
        return _("No existing override is left alone: the files list every user that has "
                 "one.")
    return ngettext("{count} existing override is left alone because the files do not list "
                    "that user (prune: false).",
                    "{count} existing overrides are left alone because the files do not list "
                    "those users (prune: false).", count).format(count=count)


def selection_line(report: SelectionReport) -> str:
    """`Selection COMPTA* (mailprov.yaml:12) matched 3 users.`: what a selection took."""
    where = f"{report.file}:{report.line}" if report.line else report.file
    count = ngettext("{count} user", "{count} users", report.matched).format(
        count=report.matched)
    if report.kind == "all_users":
        return _("all_users ({where}) matched {count} not listed in the files.").format(
            where=where, count=count)
    return _("Selection {patterns} ({where}) matched {count}.").format(
        patterns=", ".join(visible(p) for p in report.patterns), where=where, count=count)

"""A plan as the data its Markdown and HTML pages are drawn from.

One compact view for reviewers: the verdict, the counts, what needs attention first
(users the target lacks, safety refusals, removals, warnings), then one group per kind
of change with one row per user, where a value every row shares is said once above the
table and only the fields that vary get a column. The view is plain data (dicts, lists,
text, numbers), so a team's own template can be given it and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailprov.i18n import _, ngettext, shown
from mailprov.model import MODE, OFFICE365_FIELDS, OVERRIDE_FIELDS, state_mode
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, Plan, problem_json
from mailprov.render.escape import MdSafe, marker_text
from mailprov.render.places import label, menu_path
from mailprov.render.rollback import rollback_view
from mailprov.render.values import flatten, selection_line, summary_line, unmanaged_line

SAFETY_CODE = "safety-limit"  # a warning the view shows as the refusal it is
SHOWN_ADDRESSES = 20  # addresses listed per warning before "and N more"
SHOWN_ERRORS = 50
OPEN_UP_TO = 10  # a group of this many rows or fewer is shown open


@dataclass(frozen=True)
class FullPlanPlace:
    """Where a reviewer finds the whole plan when a comment shows part of it: the saved
    plan's file name, the CI artifact that holds it, and the CI run's page."""

    file: str | None = None
    artifact: str | None = None
    url: str | None = None


def user_name(address: str) -> str:
    """`user.COMPTA` -> `COMPTA`; `general` stays `general`."""
    return address[len(USER_PREFIX):] if address.startswith(USER_PREFIX) else address


def _verdict(plan: Plan, warnings: int) -> dict[str, str]:
    removals = plan.summary["delete"]
    if plan.errors:
        n = len(plan.errors)
        return {"kind": "blocked", "icon": "❌", "text": ngettext(
            "This plan cannot be applied: {n} user in the files does not exist in maestro*.",
            "This plan cannot be applied: {n} users in the files do not exist in maestro*.",
            n).format(n=n)}
    if plan.policy_violations:
        n = len(plan.policy_violations)
        return {"kind": "blocked", "icon": "⛔", "text": ngettext(
            "This plan cannot be applied: it breaks the policy ({n} violation), and --force "
            "does not change that.",
            "This plan cannot be applied: it breaks the policy ({n} violations), and --force "
            "does not change that.", n).format(n=n)}
    if plan.safety.exceeded:
        return {"kind": "refused", "icon": "⛔", "text": _(
            "Apply will refuse this plan without --force: it exceeds a safety limit.")}
    if not plan.changes_present:
        return {"kind": "none", "icon": "✅",
                "text": _("No changes: maestro* matches the configuration.")}
    if removals and any(state_mode(c.before) == "office365" for c in plan.changes
                        if c.action == "delete"):
        return {"kind": "removes", "icon": "⚠️", "text": ngettext(
            "Ready to apply; {n} user loses their own sending mode and follows the general "
            "default.",
            "Ready to apply; {n} users lose their own sending mode and follow the general "
            "default.", removals).format(n=removals)}
    if removals:
        return {"kind": "removes", "icon": "⚠️", "text": ngettext(
            "Ready to apply; it removes {n} per-user SMTP section.",
            "Ready to apply; it removes {n} per-user SMTP sections.", removals
        ).format(n=removals)}
    if warnings:
        return {"kind": "warnings", "icon": "⚠️", "text": ngettext(
            "Ready to apply, with {n} warning to read first.",
            "Ready to apply, with {n} warnings to read first.", warnings).format(n=warnings)}
    return {"kind": "ready", "icon": "✅", "text": _("Ready to apply.")}


def _warnings(plan: Plan) -> list[dict[str, Any]]:
    """Warnings grouped by code and message: 10,000 users on port 465 are one warning
    naming them, not 10,000 warnings."""
    groups: dict[tuple[str, str], list[str]] = {}
    for warning in plan.warnings:
        if warning.code == SAFETY_CODE:
            continue
        groups.setdefault((warning.code, warning.message), []).append(
            user_name(warning.address))
    return [{"code": code, "message": message, "count": len(where),
             "addresses": where[:SHOWN_ADDRESSES], "more": max(0, len(where) - SHOWN_ADDRESSES)}
            for (code, message), where in groups.items()]


def _value(state: Mapping[str, Any] | None, field: str) -> Any:
    if field == MODE:  # `smtp`, `office365`, or `general` for a user who follows it
        return state_mode(state) or "general"
    return None if state is None else state.get(field)


_ALL_FIELDS = (MODE, *OVERRIDE_FIELDS, *OFFICE365_FIELDS)
_OFFICE365_KINDS = ("office365", "office365-update", "office365-off")


def _group(kind: str, changes: Sequence[Change]) -> dict[str, Any]:
    """One kind of change, one row per user; values shared by every row said once."""
    if kind in ("create", "delete"):
        fields: list[str] = list(OVERRIDE_FIELDS)
    elif kind in ("office365", "office365-off"):
        fields = [MODE, *OFFICE365_FIELDS]
    else:
        touched = {name for change in changes for name in change.changed}
        fields = [name for name in _ALL_FIELDS if name in touched]

    def pair(change: Change, field: str) -> tuple[Any, Any, bool]:
        return (_value(change.before, field), _value(change.after, field),
                field in change.changed)

    shared, columns = [], []
    for field in fields:
        pairs = {repr(pair(change, field)) for change in changes}
        first = pair(changes[0], field)
        if len(changes) > 1 and len(pairs) == 1 and (kind != "update" or first[2]):
            shared.append({"field": field, "label": label(field), "before": first[0],
                           "after": first[1]})
        else:
            columns.append({"field": field, "label": label(field)})
    rows = []
    for change in changes:
        cells = []
        for column in columns:
            before, after, changed = pair(change, column["field"])
            cells.append({"field": column["field"], "before": before, "after": after,
                          "changed": changed or kind != "update"})
        rows.append({"user": user_name(change.address), "number": change.number,
                     "cells": cells})
    n = len(changes)
    titles = {
        "create": ngettext("{n} per-user SMTP section to enable",
                           "{n} per-user SMTP sections to enable", n),
        "update": ngettext("{n} per-user SMTP section to change",
                           "{n} per-user SMTP sections to change", n),
        "follow": ngettext("{n} per-user SMTP section follows the general SMTP change",
                           "{n} per-user SMTP sections follow the general SMTP change", n),
        "delete": ngettext("{n} per-user SMTP section to REMOVE",
                           "{n} per-user SMTP sections to REMOVE", n),
        "office365": ngettext("{n} user moves to Office 365 – Modern Authentication",
                              "{n} users move to Office 365 – Modern Authentication", n),
        "office365-update": ngettext("{n} Office 365 account to change",
                                     "{n} Office 365 accounts to change", n),
        "office365-off": ngettext(
            "{n} user leaves Office 365 – Modern Authentication for the general default",
            "{n} users leave Office 365 – Modern Authentication for the general default", n),
    }
    return {"kind": kind, "title": titles[kind].format(n=n), "count": n,
            "open": n <= OPEN_UP_TO, "shared": shared, "columns": columns, "rows": rows,
            "shown": n, "hidden": 0,
            "where": menu_path(MODE if kind in _OFFICE365_KINDS else "username")}


def _general(change: Change | None) -> dict[str, Any] | None:
    if change is None:
        return None
    before, after = flatten(change.before), flatten(change.after)
    return {"rows": [{"setting": name, "label": label(name), "before": before.get(name),
                      "after": after.get(name), "where": menu_path(name)}
                     for name in change.changed]}


def _note_text(note: Any, name: str) -> Any:
    if isinstance(note, Mapping):
        return note.get(name)
    return getattr(note, name, None)


def password_items(plan: Plan) -> list[dict[str, str]]:
    """Who needs an SMTP password after this plan: the plan's own password notes when it
    carries them, else every user whose section is enabled or whose login changes."""
    notes = getattr(plan, "password_notes", None)
    items = []
    if notes is not None:
        for note in notes:
            address = _note_text(note, "address") or _note_text(note, "user") or ""
            message = _note_text(note, "message") or str(note)
            items.append({"user": user_name(str(address)), "text": str(shown(message)),
                          "code": str(_note_text(note, "code") or "")})
        return items
    for change in plan.changes:
        if change.user_code is None or state_mode(change.after) != "smtp":
            continue
        if change.action == "create" or MODE in change.changed:
            items.append({"user": change.user_code, "code": "needs-password", "text": _(
                "needs a password: the SMTP section is new")})
        elif change.action == "update" and "username" in change.changed:
            items.append({"user": change.user_code, "code": "login-changed", "text": _(
                "needs a password again: the SMTP login changes, and a stored password "
                "was entered for the old one")})
    return items


def signin_items(plan: Plan) -> list[dict[str, str]]:
    """Who must sign in once with Office 365 in maestro* after this plan: the users it
    moves to Office 365 – Modern Authentication, or whose account it changes."""
    return [{"user": change.user_code, "code": "office365-authenticate", "text": _(
                "signs in once with Office 365 in maestro*")}
            for change in plan.changes
            if change.user_code is not None and state_mode(change.after) == "office365"]


def _kind(change: Change) -> str:
    before, after = state_mode(change.before), state_mode(change.after)
    if after == "office365":
        return "office365-update" if before == "office365" else "office365"
    if before == "office365" and after is None:
        return "office365-off"
    return "follow" if change.follows_general else change.action


def plan_view(plan: Plan, where: FullPlanPlace | None = None) -> dict[str, Any]:
    """The whole view of a plan (every row; `limit_rows` trims it for a size cap)."""
    warnings = _warnings(plan)
    general = next((c for c in plan.changes if c.address == GENERAL), None)
    by_kind: dict[str, list[Change]] = {}
    for change in plan.changes:
        if change.user_code is not None:
            by_kind.setdefault(_kind(change), []).append(change)
    groups = [_group(kind, by_kind[kind])
              for kind in ("delete", "office365-off", "create", "office365", "update",
                           "office365-update", "follow") if kind in by_kind]
    errors = [problem_json(p) for p in plan.errors]
    policy = [v.to_json() for v in plan.policy_violations]
    place = where or FullPlanPlace()
    removals = [user_name(c.address) for c in plan.changes if c.action == "delete"]
    leave_office365 = len(by_kind.get("office365-off", []))
    return {
        "kind": "plan",
        "marker": MdSafe(marker_text("plan", plan.target)),
        "target": plan.target,
        "target_url": plan.target_url,
        "edition": plan.edition,
        "verdict": _verdict(plan, sum(w["count"] for w in warnings)),
        "summary": dict(plan.summary),
        # the same counts under names that are not dict methods in a template
        "counts": {"add": plan.summary["create"], "change": plan.summary["update"],
                   "remove": plan.summary["delete"], "left_alone": plan.unmanaged_overrides},
        "summary_line": summary_line(plan.summary, plan.changes_present),
        "changes": len(plan.changes),
        "unmanaged": plan.unmanaged_overrides,
        # a rollback manages the rows one apply changed, not the files' users
        "unmanaged_line": "" if plan.rollback_of is not None
        else unmanaged_line(plan.unmanaged_overrides),
        # how many live users each selection took (bulk onboarding), a plain line each
        "selection_lines": [selection_line(report) for report in plan.selections],
        "errors": errors[:SHOWN_ERRORS],
        "errors_more": max(0, len(errors) - SHOWN_ERRORS),
        # what breaks the policy: the plan is never saved or applied
        "policy": policy[:SHOWN_ERRORS],
        "policy_more": max(0, len(policy) - SHOWN_ERRORS),
        "rollback": rollback_view(plan),
        "refusals": list(plan.safety.reasons),
        "removals": removals[:SHOWN_ADDRESSES],
        "removals_more": max(0, len(removals) - SHOWN_ADDRESSES),
        "removals_title": (ngettext(
            "{n} user's own mode will be removed (the user follows the general default)",
            "{n} users' own modes will be removed (they follow the general default)",
            len(removals)) if leave_office365 else ngettext(
            "{n} per-user SMTP section will be removed",
            "{n} per-user SMTP sections will be removed", len(removals))).format(
            n=len(removals)),
        "warnings": warnings,
        "general": _general(general),
        "general_where": {"client": menu_path("client"), "smtp": menu_path("smtp.server")},
        "groups": groups,
        "passwords": password_items(plan),
        "passwords_more": 0,
        "passwords_where": menu_path("password"),
        "signins": signin_items(plan),
        "signins_more": 0,
        "signins_where": menu_path("authenticate"),
        "full_plan": {"file": place.file, "artifact": place.artifact, "url": place.url},
        "truncated": False,
        "base_digest": plan.base_digest,
        "git_commit": plan.git_commit,
    }


def limit_rows(view: Mapping[str, Any], max_rows: int, max_items: int | None = None
               ) -> dict[str, Any]:
    """A copy of `view` showing at most `max_rows` rows per group (and, when given,
    `max_items` names per warning and password list): the rest is counted as hidden."""
    out = dict(view)
    groups = []
    truncated = False
    for group in view["groups"]:
        if len(group["rows"]) > max_rows:
            truncated = True
            kept = group["rows"][:max_rows]
            group = {**group, "rows": kept, "shown": len(kept),
                     "hidden": group["count"] - len(kept)}
        groups.append(group)
    out["groups"] = groups
    for key in ("passwords", "signins"):
        items = view.get(key, [])
        if len(items) > max_rows:  # the checklists are one row per user too
            truncated = True
            out[key] = items[:max_rows]
            out[f"{key}_more"] = view.get(f"{key}_more", 0) + len(items) - max_rows
    if max_items is not None:
        warnings = []
        for warning in view["warnings"]:
            kept = warning["addresses"][:max_items]
            warnings.append({**warning, "addresses": kept,
                             "more": warning["count"] - len(kept)})
        out["warnings"] = warnings
        out["errors"] = view["errors"][:max_items]
        out["errors_more"] = view["errors_more"] + len(view["errors"]) - len(out["errors"])
        out["policy"] = view["policy"][:max_items]
        out["policy_more"] = view["policy_more"] + len(view["policy"]) - len(out["policy"])
        out["removals"] = view["removals"][:max_items]
        out["removals_more"] = (view["removals_more"] + len(view["removals"])
                                - len(out["removals"]))
    out["truncated"] = truncated or view.get("truncated", False)
    return out


def total_rows(view: Mapping[str, Any]) -> int:
    """The longest list `limit_rows` trims: a group's rows, or the password checklist."""
    return max([len(view["passwords"]), len(view.get("signins", [])),
                *(len(g["rows"]) for g in view["groups"])])

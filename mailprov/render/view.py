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

from mailprov.i18n import _, ngettext
from mailprov.model import OVERRIDE_FIELDS
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
    return None if state is None else state.get(field)


def _group(kind: str, changes: Sequence[Change]) -> dict[str, Any]:
    """One kind of change, one row per user; values shared by every row said once."""
    if kind == "create":
        fields: list[str] = list(OVERRIDE_FIELDS)
    elif kind == "delete":
        fields = list(OVERRIDE_FIELDS)
    else:
        touched = {name for change in changes for name in change.changed}
        fields = [name for name in OVERRIDE_FIELDS if name in touched]

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
    }
    return {"kind": kind, "title": titles[kind].format(n=n), "count": n,
            "open": n <= OPEN_UP_TO, "shared": shared, "columns": columns, "rows": rows,
            "shown": n, "hidden": 0, "where": menu_path("username")}


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
            items.append({"user": user_name(str(address)), "text": str(message),
                          "code": str(_note_text(note, "code") or "")})
        return items
    for change in plan.changes:
        if change.user_code is None:
            continue
        if change.action == "create":
            items.append({"user": change.user_code, "code": "needs-password", "text": _(
                "needs a password: the SMTP section is new")})
        elif change.action == "update" and "username" in change.changed:
            items.append({"user": change.user_code, "code": "login-changed", "text": _(
                "needs a password again: the SMTP login changes, and a stored password "
                "was entered for the old one")})
    return items


def _kind(change: Change) -> str:
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
              for kind in ("delete", "create", "update", "follow") if kind in by_kind]
    errors = [problem_json(p) for p in plan.errors]
    policy = [v.to_json() for v in plan.policy_violations]
    place = where or FullPlanPlace()
    removals = [user_name(c.address) for c in by_kind.get("delete", [])]
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
        "warnings": warnings,
        "general": _general(general),
        "general_where": {"client": menu_path("client"), "smtp": menu_path("smtp.server")},
        "groups": groups,
        "passwords": password_items(plan),
        "passwords_more": 0,
        "passwords_where": menu_path("password"),
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
    passwords = view["passwords"]
    if len(passwords) > max_rows:  # the checklist is one row per user too
        truncated = True
        out["passwords"] = passwords[:max_rows]
        out["passwords_more"] = view.get("passwords_more", 0) + len(passwords) - max_rows
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
    return max([len(view["passwords"]), *(len(g["rows"]) for g in view["groups"])])

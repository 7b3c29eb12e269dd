"""What a rollback plan says besides its changes: which apply it undoes, the rows left
out because they changed since, and which Git commit to revert so that the files agree
with maestro* again."""

from __future__ import annotations

from typing import Any

from mailprov.i18n import _
from mailprov.plan.format import Conflict, Plan, RollbackOf
from mailprov.render.values import show


def short_commit(commit: str) -> str:
    """`3f2a9c1e0b` (+dirty kept): how history listings show a commit."""
    sha, dirty, _rest = commit.partition("+dirty")
    return sha[:10] + ("+dirty" if dirty else "")


def rollback_head(rollback: RollbackOf) -> str:
    """`Rollback of apply #3 (...): every row it changed goes back to its value before it.`"""
    facts = [show(rollback.applied_at or "?")]
    if rollback.summary:
        facts.append(show(rollback.summary))
    if rollback.git_commit:
        facts.append(_("files at commit {commit}").format(
            commit=show(short_commit(rollback.git_commit))))
    return _("Rollback of apply #{id} ({facts}): every row it changed goes back to its value "
             "before it.").format(id=rollback.id, facts="; ".join(facts))


def revert_note(rollback: RollbackOf, applied: bool = False) -> str:
    """Which commit to revert so that the files agree with maestro* again, and why."""
    when = _("Now") if applied else _("After this rollback")
    if rollback.redoes is not None:
        commit = rollback.redoes_commit
        text = _("{when}, maestro* again holds what apply #{of} set, which rollback #{id} had "
                 "undone").format(when=when, of=rollback.redoes, id=rollback.id)
        if commit:
            return text + _(": the files agree with it unless commit {commit} was reverted "
                            "since.").format(commit=show(short_commit(commit.partition("+")[0])))
        return text + _(": the files agree with it unless they were changed back since.")
    if rollback.git_commit:
        sha = rollback.git_commit.partition("+")[0]
        text = _("{when}, maestro* no longer matches the files of apply #{id} (commit {commit}): "
                 "revert that commit in Git (`git revert {commit}`), so that the next plan "
                 "does not apply it again.").format(when=when, id=rollback.id,
                                                    commit=show(short_commit(sha)))
        if "+dirty" in rollback.git_commit:
            text += " " + _("(Its files also had changes that were never committed.)")
        return text
    return _("{when}, maestro* no longer matches the files apply #{id} was made from (it "
             "recorded no Git commit): change them back by hand, so that the next plan does "
             "not apply it again.").format(when=when, id=rollback.id)


def conflict_status(conflict: Conflict) -> str:
    if conflict.included:
        return _("restored anyway: --include-later-changes")
    if conflict.code in ("user-gone", "override-removed", "office365-mode"):
        return _("cannot be restored")
    return _("left out; --include-later-changes restores it anyway")


def conflict_lines(plan: Plan) -> list[str]:
    """One block per conflict: the row, why, and each setting before, after and now."""
    if plan.rollback_of is None:
        return []
    n = plan.rollback_of.id
    lines = []
    for conflict in plan.conflicts:
        lines.append(_("Conflict: {address}: {message} ({status})").format(
            address=show(conflict.address), message=show(conflict.message),
            status=conflict_status(conflict)))
        width = max((len(name) for name in conflict.fields), default=0)
        for name, (before, after, live) in conflict.fields.items():
            lines.append("      " + _("{field}  before #{n}: {before}, after #{n}: {after}, "
                                      "now: {live}").format(
                field=name.ljust(width), n=n, before=show(before), after=show(after),
                live=show(live)))
    return lines


def rollback_view(plan: Plan) -> dict[str, Any] | None:
    """The rollback as the Markdown and HTML pages show it."""
    rollback = plan.rollback_of
    if rollback is None:
        return None
    return {
        "id": rollback.id,
        "head": rollback_head(rollback),
        "note": revert_note(rollback) if plan.changes else "",
        "git_commit": rollback.git_commit,
        "conflicts": [{"address": c.address, "message": c.message,
                       "status": conflict_status(c), "included": c.included,
                       "fields": [{"field": name, "before": before, "after": after,
                                   "live": live}
                                  for name, (before, after, live) in c.fields.items()]}
                      for c in plan.conflicts],
    }

"""Safety thresholds: how much of the existing configuration one plan may change."""

from __future__ import annotations

from collections.abc import Sequence

from mailprov.i18n import N_, stored
from mailprov.model import Safety
from mailprov.plan.format import Change, SafetyReport


def evaluate(changes: Sequence[Change], existing_overrides: int, limits: Safety) -> SafetyReport:
    """Count removals and changes of existing overrides against the limits.

    Creations are not limited. Users that only follow a `general.smtp` change
    count together as that one change.
    """
    counted = sum(1 for c in changes
                  if c.user_code is not None and c.before is not None and not c.follows_general)
    if any(c.follows_general for c in changes):
        counted += 1
    reasons: list[str] = []  # stored in the plan in English (mailprov.i18n.stored)
    if existing_overrides >= limits.min_existing and existing_overrides:
        percent = 100.0 * counted / existing_overrides
        if percent > limits.max_change_percent:
            reasons.append(stored(N_(
                "it removes or changes {counted} of {existing} existing overrides "
                "({percent}%, limit {limit}%)"), counted=counted, existing=existing_overrides,
                percent=f"{percent:.0f}", limit=f"{limits.max_change_percent:g}"))
    if limits.max_changes is not None and counted > limits.max_changes:
        reasons.append(stored(N_("it removes or changes {counted} existing overrides "
                                 "(limit {limit})"), counted=counted, limit=limits.max_changes))
    return SafetyReport(existing_overrides, counted, limits.max_change_percent,
                        limits.min_existing, limits.max_changes, tuple(reasons))

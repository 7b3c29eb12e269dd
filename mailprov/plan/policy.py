"""Policies checked on plans: the effective values a plan leaves, and what apply writes.

Two ways in:

- `config_violations`, when a plan is made from the files: every user the files
  configure (listed, from a CSV list, or taken by a selection) with the values the
  plan gives the row (templates rendered for the user, inheritance from general.smtp
  or the target's general row), the general SMTP account as the plan leaves it, and
  the number of overrides once applied. Each violation is placed where its value is
  written (a user entry, a profile's template, a CSV cell), or at the rule when the
  value is written nowhere (the target's general row).
- `change_violations`, for a plan that comes from elsewhere (a saved file, a
  rollback): the `after` values of its changes, the inherited ones read from the
  general row the plan leaves. Apply checks a saved plan this way under its lock,
  with the policies the plan carries and those given to apply.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mailprov.errors import PolicyError, format_path
from mailprov.i18n import _, ngettext
from mailprov.model import (
    INHERITED_FIELDS,
    OFFICE365_FIELDS,
    OFFICE365_MODE,
    OVERRIDE_FIELDS,
    Config,
    GeneralSettings,
    LiveState,
    MailSettings,
    Office365Settings,
    Policy,
    PolicyViolation,
    ValueSource,
    state_mode,
)
from mailprov.model.policy import overrides_message, shown_value, violation_message
from mailprov.plan.diff import resolve_office365, resolve_override, user_sources
from mailprov.plan.format import GENERAL, USER_PREFIX, Change

_GENERAL_FIELDS = ("server", "port", "ssl")


def overrides_after(existing: int, changes: Iterable[Change]) -> int:
    """How many per-user overrides a target has once `changes` are applied to the
    `existing` ones."""
    count = existing
    for change in changes:
        if change.user_code is not None:
            count += (change.action == "create") - (change.action == "delete")
    return count


class _Collector:
    """Violations, each placed by `locate` (file, line, column, dotted path)."""

    def __init__(self, config: Config | None) -> None:
        self.config = config
        self.found: list[PolicyViolation] = []

    def add(self, policy: Policy, rule: str, address: str, name: str, value: Any,
            message: str, source: ValueSource | None = None, *, key: bool = False) -> None:
        file, line, column, path = "", 0, 0, ""
        if source is not None and source.file and self.config is not None:
            file = source.file
            line, column = self.config.position(source.file, source.path, key=key)
            path = format_path(source.path)
        else:  # written nowhere: the rule is the place
            file = policy.file
            rule_path = (*policy.path, rule)
            if policy.locator is not None:
                line, column = policy.locator.position(policy.file, rule_path, key=True)
            path = format_path(rule_path)
        self.found.append(PolicyViolation(rule, address, name, value, message,
                                          policy.where(rule), file, line, column, path))

    def general(self, policy: Policy, general: GeneralSettings,
                sources: Mapping[str, ValueSource], note: str = "") -> None:
        """The general SMTP account, when it has one (a server or a port)."""
        if general.server is None and general.port is None:
            return
        for name in _GENERAL_FIELDS:
            value = getattr(general, name)
            source = sources.get(name)
            extra = note if source is None else ""
            for rule, why in policy.value_problems(name, value):
                self.add(policy, rule, GENERAL, name, value, violation_message(
                    GENERAL, name, value, why, rule, policy, extra), source)

    def count(self, policy: Policy, count: int) -> None:
        why = policy.overrides_problem(count)
        if why is not None:
            self.add(policy, "max_overrides", GENERAL, "overrides", count,
                     overrides_message(why, policy))

    def sorted(self) -> tuple[PolicyViolation, ...]:
        return tuple(sorted(self.found, key=lambda v: v.sort_key))


def config_violations(config: Config, live: LiveState, general: GeneralSettings,
                      changes: Sequence[Change]) -> tuple[PolicyViolation, ...]:
    """What breaks the policies of `config` (already resolved for the target: selections
    expanded, templates rendered) once the plan of `changes` is applied to `live`.

    `general` is the general row the plan leaves. A user's server, port or ssl that it
    inherits is checked once, as the general SMTP account's; a `from` that defaults to
    the login is checked as the login; an Office 365 user's account (`email`) is checked
    as a From address, and no SMTP rule applies to that user.
    """
    if not config.policies:
        return ()
    edition = live.general.edition
    check = _Collector(config)
    live_note = " " + _("(in the target's general configuration; the files do not set it)")
    count = overrides_after(live.override_count, changes)
    for policy in config.policies:
        check.general(policy, general, config.general_sources, live_note)
    for code, desired in config.users.items():
        user = live.users.get(code)
        if user is None:
            continue
        stored: MailSettings | Office365Settings
        if desired.office365 is not None:  # the account it sends From; no SMTP values
            stored, names = resolve_office365(code, desired.office365, edition), OFFICE365_FIELDS
        elif desired.override is not None:
            stored = resolve_override(code, desired.override, general, edition)
            names = OVERRIDE_FIELDS
        else:
            continue
        sources = user_sources(config, desired, edition)
        address = USER_PREFIX + code
        for name in names:
            source = sources.get(name)
            value = stored.get(name)
            if source is not None and source.kind in ("general", "username"):
                continue  # checked as the general account's, or as the login
            if value is None:
                continue  # none, or stored empty: maestro* then sends with the general value
            found = [(policy, rule, why) for policy in config.policies
                     for rule, why in policy.value_problems(name, value)]
            if not found:
                continue
            note = ""
            if source is not None and source.template is not None:
                note = " " + _("(rendered from {template})").format(
                    template=shown_value(source.template))
            key = source is not None and source.kind == "user-code"
            if key:  # maestro*CLOUD: the value is the user code, written as the key
                source = ValueSource("user", desired.source.file, ("users", code))
            for policy, rule, why in found:
                check.add(policy, rule, address, name, value, violation_message(
                    address, name, value, why, rule, policy, note), source, key=key)
    for policy in config.policies:
        check.count(policy, count)
    return check.sorted()


def change_violations(policies: Sequence[Policy], changes: Sequence[Change],
                      general: GeneralSettings | None, existing_overrides: int | None
                      ) -> tuple[PolicyViolation, ...]:
    """What breaks `policies` in what `changes` write: the general row when it changes,
    each user row created or updated, with a value stored empty read from `general`
    (the general row once applied; None when unknown, then such values are not
    checked), and the overrides once applied when `existing_overrides` is known."""
    if not policies:
        return ()
    check = _Collector(None)
    general_change = next((c for c in changes if c.address == GENERAL), None)
    if general_change is not None and general_change.after is not None:
        general = _general_after(general_change.after, general)
    for policy in policies:
        if general_change is not None and general is not None:
            check.general(policy, general, {})
        for change in changes:
            if change.user_code is None or change.after is None:
                continue
            # an Office 365 user: its account only (it inherits no server, port or SSL)
            names = OFFICE365_FIELDS if state_mode(change.after) == OFFICE365_MODE.name \
                else OVERRIDE_FIELDS
            for name in names:
                value = change.after.get(name)
                if value is None and name in INHERITED_FIELDS and general is not None:
                    value = getattr(general, name)
                for rule, why in policy.value_problems(name, value):
                    check.add(policy, rule, change.address, name, value, violation_message(
                        change.address, name, value, why, rule, policy))
        if existing_overrides is not None:
            check.count(policy, overrides_after(existing_overrides, changes))
    return check.sorted()


def _general_after(after: Mapping[str, Any], live: GeneralSettings | None
                   ) -> GeneralSettings:
    smtp = after.get("smtp") if isinstance(after.get("smtp"), Mapping) else {}
    assert isinstance(smtp, Mapping)
    return GeneralSettings(
        edition=live.edition if live is not None else "standard",
        client=str(after.get("client")),
        server=smtp.get("server"), port=smtp.get("port"), ssl=bool(smtp.get("ssl")))


SHOWN_VIOLATIONS = 20
"""Violations an error message lists before it counts the rest."""


def policy_error(violations: Sequence[PolicyViolation], *, listed: bool = False,
                 done: str = "") -> PolicyError:
    """The refusal of a plan that breaks a policy: the violations (unless the plan
    printed above lists them already), and that --force does not lift it. `done` says
    what was not done (`Nothing was changed.`)."""
    n = len(violations)
    head = ngettext("the plan breaks the policy: {n} violation", "the plan breaks the "
                    "policy: {n} violations", n).format(n=n)
    lines = []
    if listed:
        head += " " + _("(listed with the plan)")
    else:
        lines = ["  " + v.format() for v in violations[:SHOWN_VIOLATIONS]]
        if n > SHOWN_VIOLATIONS:
            lines.append("  " + _("... and {n} more").format(n=n - SHOWN_VIOLATIONS))
    tail = _("Such a plan is never saved or applied, and --force does not change that: "
             "change the files (or the policy), then plan again.")
    text = (_("{violations}:").format(violations=head) + "\n" + "\n".join(lines) + "\n"
            if lines else head + ". ") + tail
    return PolicyError(f"{text} {done}".rstrip())

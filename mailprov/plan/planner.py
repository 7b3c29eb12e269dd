"""Build a plan: the checks that need the live state, the diff, the warnings, the
password notes, the safety verdict and the base digest. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailprov.config.resolve import resolve_users
from mailprov.config.semantic import connection_problems, edition_problems
from mailprov.errors import ConfigError, EditionError, Problem, quoted
from mailprov.i18n import N_, Joined, _, stored
from mailprov.model import Config, LiveState
from mailprov.plan.diff import describe_lookalikes, diff, stored_did_you_mean, target_general
from mailprov.plan.digest import base_digest
from mailprov.plan.format import GENERAL, USER_PREFIX, Plan, PlanWarning, SelectionReport
from mailprov.plan.office365 import office365_warnings, replaced
from mailprov.plan.passwords import password_notes
from mailprov.plan.policy import config_violations
from mailprov.plan.safety import evaluate
from mailprov.plan.versions import version_problems


def build_plan(config: Config, target_name: str, target_url: str, declared_edition: str | None,
               live: LiveState, mapping: Mapping[str, Any] | None = None, *,
               git_commit: str | None = None) -> Plan:
    """The plan that makes `live` match `config` on the target.

    Raises ConfigError for edition rules that need the live edition, and for users
    that resolve no SMTP server or port (they inherit the live general row where the
    files leave it out). Users the files list that the target does not have are left
    out of the changes and reported in `Plan.errors`: the rest of the plan is still
    shown (a nightly drift check must not go blind because someone left the company),
    but such a plan cannot be applied. Nor can one that breaks a policy of the files
    (`Plan.policy_violations`, checked on the values the plan leaves).
    """
    edition = live.general.edition
    _check_edition(config, target_name, declared_edition, edition)
    general = target_general(live.general, config.general)
    resolution = resolve_users(config, live.users, edition, general.server)
    config = resolution.config
    problems = version_problems(config, live, target_name)
    problems.extend(resolution.problems)
    problems.extend(connection_problems(config, general.server, general.port, target_name,
                                        live.users))
    if problems:  # with the users the target lacks: every problem at once
        missing = [code for code in config.users if code not in live.users]
        raise ConfigError([*problems, *(_unknown_user(config, code, target_name, live)
                                        for code in missing)])
    result = diff(config, live)
    errors = tuple(_unknown_user(config, code, target_name, live)
                   for code in result.unknown_users)
    safety = evaluate(result.changes, live.override_count, config.safety)
    warnings = [*(w for w in map(_plan_warning, config.warnings)
                  if not replaced(w.code, w.address)),
                *result.warnings, *office365_warnings(live, result.changes)]
    if safety.exceeded:
        warnings.append(PlanWarning("safety-limit", GENERAL, stored(
            N_("apply will refuse this plan without --force: {reasons}"),
            reasons=Joined("; ", safety.reasons))))
    managed = None if config.prune else tuple(sorted(
        user.number for code in config.users
        if (user := live.users.get(code)) is not None and user.number is not None))
    return Plan(
        target=target_name,
        target_url=target_url,
        edition=edition,
        changes=result.changes,
        base_digest=base_digest(live, managed),
        config_digest=config.digest,
        unmanaged_overrides=result.unmanaged_overrides,
        safety=safety,
        warnings=tuple(warnings),
        mapping=mapping,
        database_id=live.database_id,
        managed_users=managed,
        git_commit=git_commit,
        errors=tuple(sorted(errors, key=lambda p: p.sort_key)),
        selections=tuple(
            SelectionReport(m.selection.kind, m.selection.patterns, m.selection.file,
                            config.position(m.selection.file, m.selection.path, key=True)[0],
                            m.matched)
            for m in resolution.matches),
        locator=config.locator,
        password_notes=password_notes(result.changes, live),
        policies=config.policies,
        policy_violations=config_violations(config, live, general, result.changes),
        model_version=live.model_version,
    )


def _plan_warning(problem: Problem) -> PlanWarning:
    """A configuration warning as the plan shows it, addressed to the row it is about."""
    path = problem.path
    if path[:1] == ("targets",) and path[2:3] == ("general",):  # the target's own general
        path = path[2:]
    if path[:1] == ("general",):
        address = GENERAL
    elif len(path) >= 2 and path[0] == "users":
        address = f"{USER_PREFIX}{path[1]}"
    else:
        address = problem.dotted_path or "configuration"
    return PlanWarning(problem.code or "warning", address, problem.message)


def _check_edition(config: Config, target_name: str, declared: str | None,
                   edition: str) -> None:
    """The files must fit the edition the database says: a declared edition that differs,
    or files written for an installed maestro* pointed at maestro*CLOUD, fail with one
    message that lists every change to make (EditionError)."""
    problems = []
    if declared and declared != edition:
        spec = config.targets[target_name]
        problems.append(config.problem(
            spec.source.file if spec.source else config.files[0],
            ("targets", target_name, "edition"),
            _("write `edition: {edition}`: the database says {edition}").format(
                edition=edition), code="edition-mismatch"))
    problems.extend(edition_problems(config, edition, target_name, listed=True))
    if not problems:
        return
    if edition == "cloud":
        head = _("target {target} is maestro*CLOUD (its database says so), but the files are "
                 "written for an installed maestro*. Change this, then plan again:").format(
                     target=quoted(target_name))
    else:
        head = _("target {target} is declared `{declared}` but its database says "
                 "`{edition}`. Change this, then plan again:").format(
                     target=quoted(target_name), declared=declared, edition=edition)
    raise EditionError(head, problems)


def _unknown_user(config: Config, code: str, target_name: str, live: LiveState) -> Problem:
    hint = stored_did_you_mean(code, live.users) or "."
    problem = config.problem(
        config.users[code].source.file, ("users", code),
        stored(N_("no user '{code}' in target '{target}'{lookalikes}{hint} mailprov "
                  "configures existing maestro* users; it never creates them"),
               code=code, target=target_name, lookalikes=describe_lookalikes(code), hint=hint),
        key=True, code="unknown-user")
    return problem

"""Build a plan: the checks that need the live state, the diff, the safety verdict
and the base digest. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailprov.config.semantic import edition_problems
from mailprov.errors import ConfigError, Problem, UnknownUserError
from mailprov.model import Config, LiveState
from mailprov.plan.diff import describe_lookalikes, diff, suggest_codes
from mailprov.plan.digest import base_digest
from mailprov.plan.format import Plan
from mailprov.plan.safety import evaluate


def build_plan(config: Config, target_name: str, target_url: str, declared_edition: str | None,
               live: LiveState, mapping: Mapping[str, Any] | None = None) -> Plan:
    """The plan that makes `live` match `config` on the target.

    Raises ConfigError for edition rules that need the live edition, and
    UnknownUserError for user codes the target does not have.
    """
    edition = live.general.edition
    problems = _edition_problems(config, target_name, declared_edition, edition)
    if problems:
        raise ConfigError(problems)
    result = diff(config, live)
    if result.unknown_users:
        raise UnknownUserError("\n".join(
            _unknown_user(config, code, target_name, live).format()
            for code in result.unknown_users))
    addresses = [c.address for c in result.changes]
    return Plan(
        target=target_name,
        target_url=target_url,
        edition=edition,
        changes=result.changes,
        base_digest=base_digest(live, addresses),
        config_digest=config.digest,
        unmanaged_overrides=result.unmanaged_overrides,
        safety=evaluate(result.changes, live.override_count, config.safety),
        warnings=result.warnings,
        mapping=mapping,
    )


def _edition_problems(config: Config, target_name: str, declared: str | None,
                      edition: str) -> list[Problem]:
    problems = []
    if declared and declared != edition:
        spec = config.targets[target_name]
        problems.append(config.problem(
            spec.source.file if spec.source else config.files[0],
            ("targets", target_name, "edition"),
            f"target '{target_name}' is declared `{declared}` but its database says "
            f"`{edition}`: fix the edition"))
    problems.extend(edition_problems(config, edition, target_name))
    return problems


def _unknown_user(config: Config, code: str, target_name: str, live: LiveState) -> Problem:
    hints = suggest_codes(code, live.users)
    hint = f"; did you mean {', '.join(hints)}?" if hints else "."
    return config.problem(
        config.users[code].source.file, ("users", code),
        f"no user '{code}' in target '{target_name}'{describe_lookalikes(code)}{hint} "
        "mailprov configures existing maestro* users; it never creates them", key=True)

"""Policies read from the files and from `--policy` files, and what `validate` can tell
of them offline.

A `policy:` section may be written in any configuration file (once); a policy kept in
its own file or repository is given with `--policy FILE` (repeatable) or
MAILPROV_POLICY (a path list, `:`-separated, `;` on Windows): such a file holds
`version: 1` and `policy:` only, and is checked with the configuration's schema, so
an unknown rule gets the same "did you mean". Every policy in force is checked.

Offline, the effective values are known as far as the files give them: a user's own
values, its profiles, defaults and presets, `general.smtp` for what it inherits, and
templates rendered for the stand-in user (as `validate` checks them). What only the
target knows (its general row, the live users a selection takes, the number of
overrides) is checked by `plan` (mailprov.plan.policy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mailprov.config.document import Document, DocumentLocator
from mailprov.config.schema import check_document
from mailprov.config.semantic import StandIn, entries, entry_path, source_of
from mailprov.config.servers import server_error
from mailprov.config.templates import STAND_IN_USER, is_template
from mailprov.config.yamlload import INVALID, YamlError, read_file, read_yaml
from mailprov.errors import SHOWN_CHARS, PathStep, Problem, format_path, quoted
from mailprov.i18n import _, ngettext
from mailprov.model import (
    OFFICE365_FIELDS,
    OVERRIDE_FIELDS,
    Config,
    DesiredOffice365,
    DesiredOverride,
    DesiredUser,
    Locator,
)
from mailprov.model.policy import (
    ENV_POLICY,
    Policy,
    overrides_message,
    violation_message,
)

POLICY_KEY = "policy"
_HOST_RULES = ("from_domains", "allowed_servers")


def policy_paths(given: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The policy files in force: `--policy` values, then MAILPROV_POLICY's entries (a
    path list); both count, each file once. A policy only adds restrictions, so one
    given on the command line never hides the one CI sets in the environment."""
    env = os.environ if environ is None else environ
    paths = [p for p in given if p]
    paths.extend(p for p in env.get(ENV_POLICY, "").split(os.pathsep) if p.strip())
    return list(dict.fromkeys(paths))


POLICY_INVALID = "policy-invalid"
"""The code of a policy rule whose own value is wrong (a domain that is not one)."""
POLICY_FILE = "policy-file"
"""The code of a --policy file that holds other things than `policy:`, or not it."""


def read_policy(doc: Document, data: Any, locator: Locator,
                path: tuple[PathStep, ...] = (POLICY_KEY,)) -> tuple[Policy | None, list[Problem]]:
    """The policy of a `policy:` mapping already checked by the schema (values it refused
    are gone), and the problems of its values the schema cannot see: domains and servers
    that are not host names, lists that would refuse everything."""
    if not isinstance(data, dict):
        return None, []
    problems: list[Problem] = []
    lists: dict[str, tuple[Any, ...] | None] = {}
    for rule in ("from_domains", "allowed_servers", "allowed_ports", "forbidden_ports"):
        value = data.get(rule)
        if not isinstance(value, list):
            lists[rule] = None
            continue
        kept = []
        for index, item in enumerate(value):
            if item is None or item is INVALID:
                continue  # refused, and said, by the schema
            if rule in _HOST_RULES:
                error = _host_error(rule, item)
                if error:
                    problems.append(doc.problem((*path, rule, index), error, code=POLICY_INVALID))
                    continue
            kept.append(item)
        if not value and rule != "forbidden_ports":
            problems.append(doc.problem((*path, rule), _(
                "lists nothing, so every value would break it: list at least one, or remove "
                "the rule"), key=True, code=POLICY_INVALID))
        lists[rule] = tuple(kept)
    limit = data.get("max_overrides")
    ssl = data.get("require_ssl")
    policy = Policy(
        file=doc.name,
        from_domains=lists["from_domains"],
        require_ssl=ssl is True,
        allowed_servers=lists["allowed_servers"],
        allowed_ports=lists["allowed_ports"],
        forbidden_ports=lists["forbidden_ports"] or (),
        max_overrides=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
        path=path,
        locator=locator,
    )
    return policy, problems


def _host_error(rule: str, item: str) -> str | None:
    """Why a domain (from_domains) or server (allowed_servers) entry is not one."""
    if rule == "from_domains" and "@" in item:
        return _("{value} is an address, not a domain: write the domain alone ({domain})"
                 ).format(value=quoted(item, SHOWN_CHARS), domain=item.rpartition("@")[2])
    host = item[2:] if item.startswith("*.") else item
    error = server_error(host)
    if error is None and "*" not in host:
        return None
    what = _("a domain") if rule == "from_domains" else _("a server")
    return _("{value} is not {what}: write a host name (acme.ca), or *.acme.ca for any name "
             "under it").format(value=quoted(item, SHOWN_CHARS), what=what)


# --- --policy files ------------------------------------------------------------------------


def load_policy_files(paths: Sequence[str | os.PathLike[str]]
                      ) -> tuple[tuple[Policy, ...], list[Problem]]:
    """The policies of `paths`, and every problem of those files (placed in them)."""
    from mailprov.config.load import display_name

    policies: list[Policy] = []
    problems: list[Problem] = []
    for path in paths:
        name = display_name(Path(path))
        try:
            data = read_file(path)
        except FileNotFoundError:
            problems.append(Problem(name, 0, 0, (), _(
                "policy file not found: check the path given with --policy or in "
                "{env}").format(env=ENV_POLICY), code="file-not-found"))
            continue
        except OSError as exc:
            problems.append(Problem(name, 0, 0, (), _(
                "cannot read the policy file: {reason}").format(reason=exc.strerror),
                code="file-unreadable"))
            continue
        try:
            parsed, refusals = read_yaml(data)
        except YamlError as exc:
            problems.append(Problem(name, exc.line, exc.column, exc.path, exc.message,
                                    code=exc.code))
            continue
        problems.extend(Problem(name, r.line, r.column, r.path, r.message, code=r.code)
                        for r in refusals)
        doc = Document(name, data.decode("utf-8-sig"), parsed, True, str(Path(path).parent))
        found = _policy_file(doc)
        problems.extend(found[1])
        if found[0] is not None:
            policies.append(found[0])
    return tuple(policies), problems


def _policy_file(doc: Document) -> tuple[Policy | None, list[Problem]]:
    problems = list(check_document(doc).problems)
    data = doc.data
    other = [key for key in data if key not in ("version", POLICY_KEY)]
    for key in other:
        problems.append(doc.problem((key,), _(
            "a policy file holds `policy:` only (and `version: 1`): move {key} to the "
            "configuration files").format(key=quoted(str(key), SHOWN_CHARS)), key=True,
            code=POLICY_FILE))
    if POLICY_KEY not in data:
        problems.append(doc.problem((), _(
            "no `policy:` section: a policy file holds the rules under `policy:`"),
            code=POLICY_FILE))
        return None, problems
    if problems:
        return None, problems
    return read_policy(doc, data[POLICY_KEY], DocumentLocator([doc]))


# --- what validate can tell offline ----------------------------------------------------------


def policy_problems(config: Config) -> list[Problem]:
    """The policy violations the files alone show, as errors at the place of each value.

    A value shared by many users (a profile's, a template's) is reported once at its
    place, naming the first user and counting the others.
    """
    if not config.policies:
        return []
    check = _Offline(config)
    for policy in config.policies:
        check.general(policy)
        check.users(policy)
        check.overrides(policy)
    return check.finish()


class _Offline:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.stand_in = StandIn(config)
        # (file, path, rule) -> the problem, and how many more entries share it
        self.found: dict[tuple[str, tuple[PathStep, ...], str], tuple[Problem, int]] = {}
        self.cloud = bool(config.targets) and all(
            t.edition == "cloud" for t in config.targets.values())

    def _add(self, place: tuple[str, tuple[PathStep, ...]], rule: str, message: str, *,
             key: bool = False) -> None:
        found = self.found.get((*place, rule))
        if found is not None:
            self.found[(*place, rule)] = (found[0], found[1] + 1)
            return
        problem = self.config.problem(place[0], place[1], message, key=key,
                                      code=rule_code(rule))
        self.found[(*place, rule)] = (problem, 0)

    def general(self, policy: Policy) -> None:
        smtp = self.config.general.smtp
        if smtp.server is None and smtp.port is None:
            return  # no general SMTP account in the files: the plan checks the target's
        for name in ("server", "port", "ssl"):
            value = getattr(smtp, name)
            source = self.config.general_sources.get(name)
            if value is None or source is None:
                continue
            for rule, why in policy.value_problems(name, value):
                self._add((source.file, source.path), rule, violation_message(
                    "general", name, value, why, rule, policy))

    def users(self, policy: Policy) -> None:
        for user in entries(self.config):
            if user.override is not None or user.office365 is not None:
                self._user(policy, user)

    def _user(self, policy: Policy, user: DesiredUser) -> None:
        """The values of the user's own mode: the SMTP section's, or the Office 365
        account (which maestro* sends From; no server, port or SSL of its own)."""
        section: DesiredOverride | DesiredOffice365 | None = user.override
        names: tuple[str, ...] = OVERRIDE_FIELDS
        cloud_field = "from"  # maestro*CLOUD: the From address is the user code
        if user.office365 is not None:
            section, names, cloud_field = user.office365, OFFICE365_FIELDS, "email"
        assert section is not None
        address = "user." + user.code
        who = None if user.code else _("the users {entry} takes").format(
            entry=format_path(entry_path(self.config, user)))
        if self.cloud and user.code and (cloud_field == "from" or section.get("email") is None):
            # maestro*CLOUD: the From address (or the Office 365 account) is the user code
            for rule, why in policy.value_problems(cloud_field, user.code):
                self._add((user.source.file, ("users", user.code)), rule, violation_message(
                    address, cloud_field, user.code, why, rule, policy), key=True)
        for name in names:
            value = section.get(name)
            if value is None:
                continue  # inherited from general.smtp (checked there), or from the login
            source = source_of(user, name)
            note = ""
            if isinstance(value, str) and is_template(value):
                rendered = self.stand_in.value(value)
                if rendered is None:
                    continue  # a template that fails: its own error says why
                note = " " + _("(rendered for the stand-in user {code} from {template})").format(
                    code=STAND_IN_USER.code, template=quoted(value, SHOWN_CHARS))
                value = rendered
            for rule, why in policy.value_problems(name, value):
                self._add((source.file, source.path), rule, violation_message(
                    address, name, value, why, rule, policy, note, who))

    def overrides(self, policy: Policy) -> None:
        """The overrides the files list: a floor (selections add more at plan time)."""
        listed = sum(1 for user in self.config.users.values() if user.override is not None)
        why = policy.overrides_problem(listed)
        if why is not None:
            self.found[(policy.file, policy.path, "max_overrides")] = (
                rule_problem(policy, "max_overrides", overrides_message(why, policy)), 0)

    def finish(self) -> list[Problem]:
        out = []
        for (_file, _path, rule), (problem, more) in self.found.items():
            if more:
                problem = problem._replace(message=problem.message + ngettext(
                    " (and {count} other entry)", " (and {count} other entries)",
                    more).format(count=more))
            out.append(problem._replace(code=rule_code(rule)))
        return out


def rule_code(rule: str) -> str:
    """`from_domains` -> `policy-from-domains`, the code of its problems."""
    return "policy-" + rule.replace("_", "-")


def rule_problem(policy: Policy, rule: str, message: str) -> Problem:
    """A problem placed at the rule itself (a violation no value of the files holds)."""
    path = (*policy.path, rule)
    line, column = (0, 0) if policy.locator is None else \
        policy.locator.position(policy.file, path, key=True)
    return Problem(policy.file, line, column, path, message, code=rule_code(rule))

"""Organisation policy: rules no plan may break, and what breaking one looks like.

A policy is written under `policy:` in the configuration files, or in a file of its
own given with `--policy` (or MAILPROV_POLICY), so that a team can keep it in another
repository, protected by its own reviewers. Every policy in force is checked on its
own: a plan must satisfy all of them, so a second policy can only add restrictions.

The rules are checked on *effective* values: what maestro* sends with once the plan
is applied (after profiles, templates, CSV rows, presets and inheritance). This
module holds the rules and the words of a violation; `mailprov.config.policy` reads
them and checks what the files alone tell, `mailprov.plan.policy` checks plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any, ClassVar

import msgspec

from mailprov.errors import SHOWN_CHARS, PathStep, quoted, visible
from mailprov.i18n import _, ngettext
from mailprov.model.partly import PartlyCompared
from mailprov.model.settings import Locator

RULES = ("from_domains", "require_ssl", "allowed_servers", "allowed_ports",
         "forbidden_ports", "max_overrides")
"""Every rule a policy may hold, in the order they are checked and shown."""

ADDRESS_FIELDS = ("username", "from", "email")
"""The fields `from_domains` reads: an SMTP login that is an e-mail address, From, and
an Office 365 user's account (`email`), which maestro* sends From."""

ENV_POLICY = "MAILPROV_POLICY"


def normal_host(text: str) -> str:
    """A host or domain as compared: lower case, no final dot, punycode when it can be."""
    host = text.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    """Whether `host` is one of `patterns`: a name (`acme.ca`), or `*.acme.ca` for any
    name under it (not `acme.ca` itself)."""
    name = normal_host(host)
    for pattern in patterns:
        if pattern.startswith("*."):
            if fnmatchcase(name, "*." + normal_host(pattern[2:])):
                return True
        elif name == normal_host(pattern):
            return True
    return False


def shown_value(value: Any) -> str:
    """A value as a violation quotes it: text quoted, booleans as YAML writes them."""
    if value is None:
        return _("(none)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quoted(value, SHOWN_CHARS)
    return str(value)


class Policy(PartlyCompared, frozen=True):
    """One policy's rules, and where they are written (`file`, at `path`).

    A rule left out is not checked: `from_domains`, `allowed_servers` and
    `allowed_ports` None, `forbidden_ports` empty, `require_ssl` False,
    `max_overrides` None.
    """

    uncompared: ClassVar[frozenset[str]] = frozenset({"locator"})

    file: str
    from_domains: tuple[str, ...] | None = None
    require_ssl: bool = False
    allowed_servers: tuple[str, ...] | None = None
    allowed_ports: tuple[int, ...] | None = None
    forbidden_ports: tuple[int, ...] = ()
    max_overrides: int | None = None
    path: tuple[PathStep, ...] = ("policy",)
    # finds the rules' lines when a message names one (None: a policy read from a plan)
    locator: Locator | None = None

    def where(self, rule: str) -> str:
        """`policy.yaml:3`: where the rule is written (the file alone when unknown).
        Looked up only when a message needs it: finding lines parses the file again."""
        line = 0
        if self.locator is not None:
            line = self.locator.position(self.file, (*self.path, rule), key=True)[0]
        return f"{self.file}:{line}" if line else self.file

    @property
    def empty(self) -> bool:
        return not self.rules()

    def rules(self) -> dict[str, Any]:
        """The rules the policy sets, as written in YAML (and in saved plans)."""
        out: dict[str, Any] = {}
        if self.from_domains is not None:
            out["from_domains"] = list(self.from_domains)
        if self.require_ssl:
            out["require_ssl"] = True
        if self.allowed_servers is not None:
            out["allowed_servers"] = list(self.allowed_servers)
        if self.allowed_ports is not None:
            out["allowed_ports"] = list(self.allowed_ports)
        if self.forbidden_ports:
            out["forbidden_ports"] = list(self.forbidden_ports)
        if self.max_overrides is not None:
            out["max_overrides"] = self.max_overrides
        return out

    def to_json(self) -> dict[str, Any]:
        """What a saved plan carries of the policy, so that apply can check it again."""
        return {"file": self.file, "rules": self.rules()}

    # --- the rules, one value at a time ---------------------------------------------------

    def value_problems(self, name: str, value: Any) -> list[tuple[str, str]]:
        """(rule, why) for each rule `value` of the override field `name` breaks; `why`
        ends the sentence that names the user and the value."""
        if value is None:
            return []
        found = []
        if name in ADDRESS_FIELDS and self.from_domains is not None and isinstance(value, str):
            domain = value.rpartition("@")[2] if "@" in value else None
            if domain is not None and not host_matches(domain, self.from_domains):
                found.append(("from_domains", _(
                    "is not in an allowed domain ({domains}): use an address in one of "
                    "them").format(domains=", ".join(self.from_domains))))
        if name == "server" and self.allowed_servers is not None and isinstance(value, str) \
                and not host_matches(value, self.allowed_servers):
            found.append(("allowed_servers", _(
                "is not an allowed server ({servers}): use one of them").format(
                    servers=", ".join(self.allowed_servers))))
        if name == "port" and isinstance(value, int):
            if self.allowed_ports is not None and value not in self.allowed_ports:
                found.append(("allowed_ports", _(
                    "is not an allowed port ({ports}): use one of them").format(
                        ports=", ".join(map(str, self.allowed_ports)))))
            if value in self.forbidden_ports:
                found.append(("forbidden_ports", _(
                    "is forbidden (forbidden ports: {ports}): use another port, such as "
                    "587").format(ports=", ".join(map(str, self.forbidden_ports)))))
        if name == "ssl" and self.require_ssl and value is False:
            found.append(("require_ssl", _("is not allowed: the policy requires SSL; set "
                                          "`ssl: true`")))
        return found

    def overrides_problem(self, count: int) -> str | None:
        """Why `count` per-user overrides after a plan break `max_overrides`, or None."""
        if self.max_overrides is None or count <= self.max_overrides:
            return None
        return ngettext(
            "{count} per-user override (SMTP or Office 365) after this plan, more than the "
            "{limit} the policy allows: remove some, or raise the limit",
            "{count} per-user overrides (SMTP or Office 365) after this plan, more than the "
            "{limit} the policy allows: remove some, or raise the limit", count).format(
                count=count, limit=self.max_overrides)


def policy_from_json(data: Any) -> Policy | None:
    """A policy as a saved plan carries it, or None when it does not have that shape
    (the caller says so). Only the rules' types are checked here."""
    if not isinstance(data, dict) or not isinstance(data.get("file"), str) \
            or not isinstance(data.get("rules"), dict):
        return None
    rules = data["rules"]
    if any(name not in RULES for name in rules):
        return None

    def texts(name: str) -> tuple[str, ...] | None:
        value = rules.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(name)
        return tuple(value)

    def ports(name: str) -> tuple[int, ...] | None:
        value = rules.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(_is_int(v) and 1 <= v <= 65535
                                                  for v in value):
            raise ValueError(name)
        return tuple(value)

    try:
        limit = rules.get("max_overrides")
        if limit is not None and not (_is_int(limit) and limit >= 0):
            raise ValueError("max_overrides")
        ssl = rules.get("require_ssl", False)
        if not isinstance(ssl, bool):
            raise ValueError("require_ssl")
        return Policy(data["file"], texts("from_domains"), ssl, texts("allowed_servers"),
                      ports("allowed_ports"), ports("forbidden_ports") or (), limit)
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class PolicyViolation(msgspec.Struct, frozen=True):
    """One value that breaks one rule: whose (`address`: `general` or `user.CODE`), which
    field, the value, the rule and the policy that holds it (`policy`: `file:line`), and
    where the value is written (`file`, `line`, `column`, dotted `path`; the rule's own
    place when the value is written nowhere, such as a live general row)."""

    rule: str
    address: str
    field: str
    value: Any
    message: str
    policy: str
    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""

    @property
    def code(self) -> str:
        """`policy-from-domains`: the stable name scripts match."""
        return "policy-" + self.rule.replace("_", "-")

    @property
    def user(self) -> str | None:
        return self.address[len("user."):] if self.address.startswith("user.") else None

    def format(self) -> str:
        """`FILE:LINE:COLUMN: PATH: message`, as configuration problems are written."""
        where = self.file or self.policy
        if self.file and self.line:
            where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return text if text.isprintable() else "".join(
            c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)

    @property
    def sort_key(self) -> tuple[str, int, int, str, str, str]:
        return (self.file, self.line, self.column, self.path, self.address, self.rule)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "address": self.address,
                "user": self.user, "field": self.field, "value": self.value,
                "message": self.message, "policy": self.policy, "file": self.file,
                "line": self.line, "column": self.column, "path": self.path}


def violation_from_json(data: Any) -> PolicyViolation | None:
    """A violation as a saved plan holds it, or None when it does not have that shape."""
    if not isinstance(data, dict):
        return None
    texts = ("rule", "address", "field", "message", "policy", "file", "path")
    if not all(isinstance(data.get(k), str) for k in texts) or data["rule"] not in RULES \
            or not all(_is_int(data.get(k)) for k in ("line", "column")) \
            or not isinstance(data.get("value"), (str, int, bool, type(None))):
        return None
    return PolicyViolation(data["rule"], data["address"], data["field"], data["value"],
                           data["message"], data["policy"], data["file"], data["line"],
                           data["column"], data["path"])


def subject(address: str) -> str:
    """Whom a violation is about, as its message starts: `user COMPTA`, or the general
    SMTP account."""
    if address.startswith("user."):
        return _("user {code}").format(code=visible(address[len("user."):]))
    return _("the general SMTP account")


def violation_message(address: str, name: str, value: Any, why: str, rule: str,
                      policy: Policy, note: str = "", who: str | None = None) -> str:
    """`user JTREMBLAY: from 'jt@gmail.com' is not in an allowed domain (acme.ca): use
    an address in one of them (policy rule from_domains, policy.yaml:3)`; `who` says
    whom instead of `address` (the users a selection takes)."""
    return _("{subject}: {field} {value}{note} {why} (policy rule {rule}, {where})").format(
        subject=who or subject(address), field=name, value=shown_value(value), note=note,
        why=why, rule=rule, where=policy.where(rule))


def overrides_message(why: str, policy: Policy) -> str:
    return _("{why} (policy rule max_overrides, {where})").format(
        why=why, where=policy.where("max_overrides"))

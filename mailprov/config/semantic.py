"""Rules the JSON Schema cannot express, checked before any database is touched."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from mailprov.config.urls import url_has_password
from mailprov.errors import Problem
from mailprov.model import Config, DesiredOverride, split_setting

OFFICE365_HOSTS = ("smtp.office365.com", "smtp-mail.outlook.com")


# An unquoted ASCII local part (RFC 5322 dot-atom), the overwhelmingly common case.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*\Z")


def address_error(address: str) -> str | None:
    """Why `address` is not a usable e-mail address, or None. No DNS lookup.

    email-validator judges every domain (once per domain) and every unusual
    address; a plain ASCII local part on an accepted domain needs no more.
    """
    local, at, domain = address.rpartition("@")
    if at and len(address) <= 254 and len(local) <= 64 and _SIMPLE_LOCAL.match(local) \
            and _full_check(f"a@{domain}") is None:
        return None
    return _full_check(address)


@lru_cache(maxsize=4096)
def _full_check(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


class _Checker:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.problems: list[Problem] = []

    def add(self, file: str, path: tuple[Any, ...], message: str, *, key: bool = False,
            severity: str = "error", code: str = "") -> None:
        problem = self.config.problem(file, path, message, key=key, severity=severity)
        self.problems.append(replace(problem, code=code) if code else problem)

    def setting(self, dotted: str, message: str, severity: str = "error") -> None:
        self.add(self.config.origin(dotted), split_setting(dotted), message, severity=severity)


def semantic_problems(config: Config) -> list[Problem]:
    """Errors and warnings (Problem.severity) of a merged configuration."""
    check = _Checker(config)
    _targets(check)
    _general(check)
    _users(check)
    for target in config.targets.values():
        if target.edition == "cloud":
            check.problems.extend(edition_problems(config, "cloud", target.name))
    _traps(check)
    return check.problems


def _targets(check: _Checker) -> None:
    config = check.config
    for target in config.targets.values():
        file = target.source.file if target.source else config.files[0]
        if url_has_password(target.url or ""):
            check.add(file, ("targets", target.name, "url"),
                      "the URL contains a password: remove it; the database password comes "
                      f"from `mailprov login {target.name}` or MAILPROV_DB_PASSWORD")
    name = config.default_target
    if name is not None and name not in config.targets:
        known = ", ".join(sorted(config.targets))
        check.setting("default_target", f"target '{name}' is not defined under `targets` "
                      + (f"(defined: {known})" if known else "(no target is defined)"))


def _general(check: _Checker) -> None:
    general = check.config.general
    if general.client == "smtp":
        missing = [k for k in ("server", "port") if getattr(general.smtp, k) is None]
        if missing:
            check.setting("general.client", "`client: smtp` needs general.smtp."
                          + " and general.smtp.".join(missing)
                          + (": add them" if len(missing) > 1 else ": add it"))


def _users(check: _Checker) -> None:
    config = check.config
    smtp = config.general.smtp
    for code, user in config.users.items():
        override = user.override
        if override is None:
            continue
        base = ("users", code, "smtp")
        missing = [k for k in ("server", "port")
                   if getattr(override, k) is None and getattr(smtp, k) is None]
        if missing:
            names = " and ".join(missing)
            check.add(user.source.file, base,
                      f"no SMTP {names}: set {'them' if len(missing) > 1 else 'it'} here "
                      "or in general.smtp, which overrides inherit")
        if override.from_address is not None:
            error = address_error(override.from_address)
            if error:
                check.add(user.source.file, (*base, "from"),
                          f"not a valid e-mail address: {error}")
        if override.username is not None and "@" in override.username:
            error = address_error(override.username)
            if error:
                check.add(user.source.file, (*base, "username"),
                          f"looks like an e-mail address but is not valid: {error}")
        elif override.username is not None and not override.username.isprintable():
            check.add(user.source.file, (*base, "username"),
                      "contains control characters: remove them")


def edition_problems(config: Config, edition: str, target: str) -> list[Problem]:
    """maestro*CLOUD rules: SMTP only, user codes are addresses, no `from`."""
    if edition != "cloud":
        return []
    check = _Checker(config)
    why = f"target '{target}' is maestro*CLOUD"
    if config.general.client not in (None, "smtp"):
        check.setting("general.client", f"{why}, which sends through SMTP only: "
                                        "set `client: smtp`")
    for code, user in config.users.items():
        if address_error(code):
            check.add(user.source.file, ("users", code), f"{why}, where user codes are e-mail "
                      f"addresses; '{code}' is not one", key=True)
        if user.override is not None and user.override.from_address is not None:
            check.add(user.source.file, ("users", code, "smtp", "from"),
                      f"{why}: the From address is the user code and cannot be set; "
                      "remove `from`", key=True)
    return check.problems


def _trap_messages(server: str | None, port: int | None, ssl: bool | None
                   ) -> list[tuple[str, str]]:
    """(code, message) of the traps these settings fall into; codes are stable."""
    messages = []
    if port == 465 and ssl:
        messages.append(("smtp-465-starttls",
                         "port 465 with `ssl: true`: maestro* (.NET) speaks STARTTLS only and "
                         "hangs until timeout on an implicit-TLS port; use port 587"))
    if port == 25 and ssl:
        messages.append(("smtp-25-ssl",
                         "port 25 with `ssl: true`: most servers offer STARTTLS for "
                         "submission on port 587, and many networks block port 25; use 587"))
    if server and server.lower() in OFFICE365_HOSTS:
        messages.append(("office365-basic-auth-retirement",
                         f"{server}: Microsoft turns SMTP AUTH with passwords off by default "
                         "for existing tenants at the end of December 2026; check that the "
                         "tenant allows it, or plan a relay"))
    return messages


def _traps(check: _Checker) -> None:
    """Known traps, warned once per place; user overrides warned only for their own values."""
    config = check.config
    smtp = config.general.smtp
    general_messages = _trap_messages(smtp.server, smtp.port, smtp.ssl)
    for trap, message in general_messages:
        check.add(config.origin("general.smtp"), ("general", "smtp"), message,
                  severity="warning", code=trap)
    seen: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for code, user in config.users.items():
        override = user.override
        if override is None or not _sets_own_connection(override):
            continue
        effective = (override.server or smtp.server, override.port or smtp.port,
                     override.ssl if override.ssl is not None else smtp.ssl)
        for found in _trap_messages(*effective):
            if found not in general_messages:  # inherited: already warned at general.smtp
                seen.setdefault(found, []).append((user.source.file, code))
    for (trap, message), places in seen.items():
        file, code = places[0]
        others = len(places) - 1
        more = f" (and {others} other user{'s' if others > 1 else ''})" if others else ""
        check.add(file, ("users", code, "smtp"), message + more, severity="warning", code=trap)


def _sets_own_connection(override: DesiredOverride) -> bool:
    return override.server is not None or override.port is not None or override.ssl is not None

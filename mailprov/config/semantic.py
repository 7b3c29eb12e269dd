"""Rules the JSON Schema cannot express, checked before any database is touched
(and the one that needs the target's general row, checked at plan time)."""

from __future__ import annotations

import re
from collections.abc import Collection, Container
from dataclasses import replace
from functools import lru_cache
from typing import Any

from mailprov.config.servers import server_error
from mailprov.config.urls import url_has_password
from mailprov.errors import SHOWN_CHARS, PathStep, Problem, quoted
from mailprov.i18n import _, ngettext
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
    def __init__(self, config: Config, refused: Collection[tuple[PathStep, ...]] = ()) -> None:
        self.config = config
        self.refused = refused
        self.problems: list[Problem] = []

    def add(self, file: str, path: tuple[Any, ...], message: str, *, key: bool = False,
            severity: str = "error", code: str = "") -> None:
        problem = self.config.problem(file, path, message, key=key, severity=severity)
        self.problems.append(replace(problem, code=code) if code else problem)

    def setting(self, dotted: str, message: str, severity: str = "error") -> None:
        self.add(self.config.origin(dotted), split_setting(dotted), message, severity=severity)

    def was_refused(self, path: tuple[PathStep, ...]) -> bool:
        """Whether the value at `path` (or a section holding it) was written but refused:
        it is then missing only because an error already says why."""
        return any(path[:end] in self.refused for end in range(1, len(path) + 1))


def semantic_problems(config: Config,
                      refused: Collection[tuple[PathStep, ...]] = ()) -> list[Problem]:
    """Errors and warnings (Problem.severity) of a merged configuration.

    `refused` holds the paths whose values were dropped for an error already
    reported (schema or YAML): a rule does not call them missing.
    """
    check = _Checker(config, refused)
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
                      _("the URL contains a password: remove it; the database password comes "
                        "from `mailprov login {target}` or MAILPROV_DB_PASSWORD").format(
                          target=target.name))
    name = config.default_target
    if name is not None and name not in config.targets:
        known = ", ".join(sorted(config.targets))
        text = (_("target {name} is not defined under `targets` (defined: {known})") if known
                else _("target {name} is not defined under `targets` (no target is defined)"))
        check.setting("default_target", text.format(name=quoted(name, SHOWN_CHARS),
                                                    known=known))


def _general(check: _Checker) -> None:
    general = check.config.general
    if general.smtp.server is not None:
        error = server_error(general.smtp.server)
        if error:
            check.setting("general.smtp.server", error)
    if general.client == "smtp":
        missing = [k for k in ("server", "port") if getattr(general.smtp, k) is None
                   and not check.was_refused(("general", "smtp", k))]
        if len(missing) == 2:
            check.setting("general.client", _("`client: smtp` needs general.smtp.server and "
                                              "general.smtp.port: add them"))
        elif missing:
            check.setting("general.client", _("`client: smtp` needs general.smtp.{key}: "
                                              "add it").format(key=missing[0]))


def _users(check: _Checker) -> None:
    config = check.config
    for code, user in config.users.items():
        override = user.override
        if override is None:
            continue
        # A server or port left out is inherited, from general.smtp or else from the
        # target's live general row: that one is checked at plan time (connection_problems).
        base = ("users", code, "smtp")
        if override.server is not None:
            error = server_error(override.server)
            if error:
                check.add(user.source.file, (*base, "server"), error)
        if override.from_address is not None:
            error = address_error(override.from_address)
            if error:
                check.add(user.source.file, (*base, "from"),
                          _("{value} is not an e-mail address: {reason}").format(
                              value=quoted(override.from_address, SHOWN_CHARS), reason=error))
        username = override.username
        if username is not None and "@" in username:
            error = address_error(username)
            if error:
                check.add(user.source.file, (*base, "username"),
                          _("{value} looks like an e-mail address but is not one: "
                            "{reason}").format(value=quoted(username, SHOWN_CHARS),
                                               reason=error))
        elif username is not None and not username.isprintable():
            check.add(user.source.file, (*base, "username"),
                      _("{value} contains control characters: remove them").format(
                          value=quoted(username, SHOWN_CHARS)))


def edition_problems(config: Config, edition: str, target: str) -> list[Problem]:
    """maestro*CLOUD rules: SMTP only, user codes are addresses, no `from`."""
    if edition != "cloud":
        return []
    check = _Checker(config)
    why = _("target {target} is maestro*CLOUD").format(target=quoted(target))
    if config.general.client not in (None, "smtp"):
        check.setting("general.client", _("{why}, which sends through SMTP only: "
                                           "set `client: smtp`").format(why=why))
    for code, user in config.users.items():
        if address_error(code):
            check.add(user.source.file, ("users", code),
                      _("{why}, where user codes are e-mail addresses; {code} is not "
                        "one").format(why=why, code=quoted(code, SHOWN_CHARS)), key=True)
        if user.override is not None and user.override.from_address is not None:
            check.add(user.source.file, ("users", code, "smtp", "from"),
                      _("{why}: the From address is the user code and cannot be set; "
                        "remove `from`").format(why=why), key=True)
    return check.problems


def connection_problems(config: Config, server: str | None, port: int | None, target: str,
                        users: Container[str] | None = None) -> list[Problem]:
    """Users whose override resolves no SMTP server or port on `target`.

    `server` and `port` are the target's general row as the plan leaves it (the
    files' general.smtp over the live values), which a user leaving them out
    inherits. Only the users in `users` are checked when it is given (the others
    are not on the target, which is another error).
    """
    check = _Checker(config)
    for code, user in config.users.items():
        override = user.override
        if override is None or (users is not None and code not in users):
            continue
        missing = [name for name, own, general in (("server", override.server, server),
                                                   ("port", override.port, port))
                   if own is None and general is None]
        if not missing:
            continue
        if len(missing) == 2:
            text = _("no SMTP server and port: neither this user nor general.smtp sets them, "
                     "and the general configuration of target {target} has none: set them "
                     "here or in general.smtp")
        else:
            text = _("no SMTP {name}: neither this user nor general.smtp sets it, and the "
                     "general configuration of target {target} has none: set it here or in "
                     "general.smtp")
        check.add(user.source.file, ("users", code, "smtp"),
                  text.format(name=missing[0], target=quoted(target)))
    return check.problems


def live_inheritors(config: Config) -> int:
    """How many user overrides inherit a server or port that general.smtp in the files
    does not set: they take the target's live value, which only a plan can check."""
    smtp = config.general.smtp
    if smtp.server is not None and smtp.port is not None:
        return 0
    return sum(1 for user in config.users.values()
               if user.override is not None
               and ((user.override.server is None and smtp.server is None)
                    or (user.override.port is None and smtp.port is None)))


def live_inheritors_note(count: int) -> str:
    """What `validate` says of `count` live_inheritors."""
    return ngettext(
        "Note: {count} user inherits the SMTP server or port from the target's general "
        "configuration, which the files do not set: `mailprov plan` checks that it has them.",
        "Note: {count} users inherit the SMTP server or port from the target's general "
        "configuration, which the files do not set: `mailprov plan` checks that it has them.",
        count).format(count=count)


def _trap_messages(server: str | None, port: int | None, ssl: bool | None
                   ) -> list[tuple[str, str]]:
    """(code, message) of the traps these settings fall into; codes are stable."""
    messages = []
    if port == 465 and ssl:
        messages.append(("smtp-465-starttls",
                         _("port 465 with `ssl: true`: maestro* (.NET) speaks STARTTLS only "
                           "and hangs until timeout on an implicit-TLS port; use port 587")))
    if port == 25 and ssl:
        messages.append(("smtp-25-ssl",
                         _("port 25 with `ssl: true`: most servers offer STARTTLS for "
                           "submission on port 587, and many networks block port 25; "
                           "use 587")))
    if server and server.lower() in OFFICE365_HOSTS:
        messages.append(("office365-basic-auth-retirement",
                         _("{server}: Microsoft turns SMTP AUTH with passwords off by default "
                           "for existing tenants at the end of December 2026; check that the "
                           "tenant allows it, or plan a relay").format(server=server)))
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
        more = ngettext(" (and {count} other user)", " (and {count} other users)",
                        others).format(count=others) if others else ""
        check.add(file, ("users", code, "smtp"), message + more, severity="warning", code=trap)


def _sets_own_connection(override: DesiredOverride) -> bool:
    return override.server is not None or override.port is not None or override.ssl is not None

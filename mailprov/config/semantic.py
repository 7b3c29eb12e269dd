"""Rules the JSON Schema cannot express, checked before any database is touched
(and the one that needs the target's general row, checked at plan time)."""

from __future__ import annotations

from collections.abc import Collection, Container
from typing import Any

from mailprov.config.addresses import address_error
from mailprov.config.presets import (
    BASIC_AUTH_RETIREMENT,
    BASIC_AUTH_RETIREMENT_CODE,
    login_preset,
    preset_warnings,
)
from mailprov.config.schema import field_messages
from mailprov.config.servers import server_error
from mailprov.config.templates import (
    STAND_IN_USER,
    TemplateError,
    TemplateVars,
    check_names,
    compile_template,
    is_template,
    make_context,
    render,
)
from mailprov.config.urls import url_has_password
from mailprov.errors import SHOWN_CHARS, PathStep, Problem, quoted
from mailprov.i18n import N_, Joined, Plural, _, ngettext, stored
from mailprov.model import (
    OFFICE365_FIELDS,
    Config,
    DesiredOverride,
    DesiredUser,
    Target,
    ValueSource,
    split_setting,
)

OFFICE365_HOSTS = ("smtp.office365.com", "smtp-mail.outlook.com")
"""Exchange Online's SMTP AUTH hosts: a password-based override there stops working when
Microsoft turns basic authentication off (BASIC_AUTH_RETIREMENT)."""
CLOUD_CLIENTS = ("smtp", "office365")
"""maestro*CLOUD has no desktop mail program, so no Outlook mode: SMTP, or (maestro* 3.05)
Office 365 – Modern Authentication, which sends through Exchange Online with OAuth 2.0."""


def is_office365_host(server: str | None) -> bool:
    """Whether `server` is Exchange Online's SMTP AUTH host."""
    return bool(server) and str(server).strip().lower() in OFFICE365_HOSTS


def basic_auth_message(server: str) -> str:
    """The warning of a password-based override on Exchange Online, with the date and the
    errors its users will get."""
    return stored(N_("{server}: {message}"), server=server, message=stored(BASIC_AUTH_RETIREMENT))


class _Checker:
    def __init__(self, config: Config, refused: Collection[tuple[PathStep, ...]] = (),
                 target: str | None = None) -> None:
        self.config = config
        self.refused = refused
        self.target = target
        self.problems: list[Problem] = []
        self._entries: set[tuple[PathStep, ...]] | None = None

    def add(self, file: str, path: tuple[Any, ...], message: str, *, key: bool = False,
            severity: str = "error", code: str = "") -> None:
        self.problems.append(self.config.problem(file, path, message, key=key,
                                                 severity=severity, code=code))

    def setting(self, dotted: str, message: str, severity: str = "error",
                code: str = "") -> None:
        self.add(self.config.origin(dotted), split_setting(dotted), message, severity=severity,
                 code=code)

    def targets(self) -> list[Target]:
        """The targets the configuration is for: all, or the one it is the scope of."""
        if self.target is not None and self.target in self.config.targets:
            return [self.config.targets[self.target]]
        return list(self.config.targets.values())

    def was_refused(self, path: tuple[PathStep, ...]) -> bool:
        """Whether the value at `path` (or a section holding it) was written but refused:
        it is then missing only because an error already says why."""
        return any(path[:end] in self.refused for end in range(1, len(path) + 1))

    def refused_within(self, path: tuple[PathStep, ...]) -> bool:
        """Whether some value at or under the entry at `path` was refused."""
        if self._entries is None:
            self._entries = {tuple(r[:2]) for r in self.refused}
        return tuple(path[:2]) in self._entries or self.was_refused(path)


def semantic_problems(config: Config,
                      refused: Collection[tuple[PathStep, ...]] = (), *,
                      target: str | None = None) -> list[Problem]:
    """Errors and warnings (Problem.severity) of a merged configuration.

    `refused` holds the paths whose values were dropped for an error already
    reported (schema or YAML): a rule does not call them missing. `target`: the
    configuration is that target's own (Config.scopes): the `targets` section is
    checked with the shared configuration, and only this target's edition counts.
    """
    check = _Checker(config, refused, target)
    if target is None:
        _targets(check)
    _general(check)
    _users(check)
    for spec in check.targets():
        if spec.edition == "cloud":
            check.problems.extend(edition_problems(config, "cloud", spec.name))
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
                          target=target.name), code="url-password")
    name = config.default_target
    if name is not None and name not in config.targets:
        known = ", ".join(sorted(config.targets))
        text = (_("target {name} is not defined under `targets` (defined: {known})") if known
                else _("target {name} is not defined under `targets` (no target is defined)"))
        check.setting("default_target", text.format(name=quoted(name, SHOWN_CHARS),
                                                    known=known),
                      code="unknown-target")


def _general(check: _Checker) -> None:
    general = check.config.general
    if general.smtp.server is not None:
        error = server_error(general.smtp.server)
        if error:
            check.setting("general.smtp.server", error, code="server-invalid")
    if general.client == "smtp":
        missing = [k for k in ("server", "port") if getattr(general.smtp, k) is None
                   and not check.was_refused(("general", "smtp", k))]
        if len(missing) == 2:
            check.setting("general.client", _("`client: smtp` needs general.smtp.server and "
                                              "general.smtp.port: add them"),
                          code=SMTP_INCOMPLETE)
        elif missing:
            check.setting("general.client", _("`client: smtp` needs general.smtp.{key}: "
                                              "add it").format(key=missing[0]),
                          code=SMTP_INCOMPLETE)


def entries(config: Config) -> list[DesiredUser]:
    """The users the files list, then each selection's settings (code empty)."""
    return [*config.users.values(), *(selection.user for selection in config.selections)]


def source_of(user: DesiredUser, name: str) -> ValueSource:
    """Where the user's `name` value is written (its own entry when not recorded)."""
    found = user.sources.get(name)
    if found is not None:
        return found
    section = "office365" if name in OFFICE365_FIELDS else "smtp"
    return ValueSource("user", user.source.file, ("users", user.code, section, name))


def entry_path(config: Config, user: DesiredUser) -> tuple[PathStep, ...]:
    """Where a user's entry is written: `users.CODE`, or its selection."""
    if user.listed_by in ("selection", "all_users"):
        return next((s.path for s in config.selections if s.user is user), ("users",))
    return ("users", user.code)


def value_error(name: str, value: str) -> str | None:
    """The rule of a text value (server, from, username) beyond the schema, or None."""
    if name == "server":
        return server_error(value)
    if name in ("from", "email"):
        error = address_error(value)
        return None if error is None else _("{value} is not an e-mail address: {reason}").format(
            value=quoted(value, SHOWN_CHARS), reason=error)
    if "@" in value:
        error = address_error(value)
        return None if error is None else _(
            "{value} looks like an e-mail address but is not one: {reason}").format(
            value=quoted(value, SHOWN_CHARS), reason=error)
    if not value.isprintable():
        return _("{value} contains control characters: remove them").format(
            value=quoted(value, SHOWN_CHARS))
    return None


def value_code(name: str, value: str) -> str:
    """The code of the problems value_error and rendered_errors find in `name`'s value."""
    if name == "server":
        return "server-invalid"
    if name in ("from", "email") or "@" in value:
        return ADDRESS_INVALID
    return "control-character"


def rendered_errors(name: str, value: str) -> list[str]:
    """Every rule a rendered value breaks: the schema's, then the others (as literals)."""
    found = field_messages(name, value)
    if found:
        return found
    error = value_error(name, value)
    return [error] if error else []


def is_address(value: str | None) -> bool:
    """Whether a login is an e-mail address (a From address can default to it)."""
    return value is not None and "@" in value and address_error(value) is None


def missing_message(username: str | None, from_address: str | None, server: str | None,
                    empty: Collection[str] = ()) -> tuple[str, str] | None:
    """(code, message) when an override could not send as maestro* would: no From
    address, or no login for a provider that accepts only signed-in accounts. A field
    the file sets to `null` (`empty`) is stored empty on purpose and is no problem."""
    if from_address is None and "from" not in empty and not is_address(username):
        if username is None:
            return ("no-from-address", _(
                "no From address: set `from`, or a `username` that is an e-mail address "
                "(`from` defaults to it)"))
        return ("no-from-address", _(
            "no From address: the login {login} is not an e-mail address, so `from` cannot "
            "default to it; set `from`").format(login=quoted(username, SHOWN_CHARS)))
    if username is None and "username" not in empty:
        preset = login_preset(server)
        if preset is not None:
            return ("no-login", _(
                "no SMTP login: {server} ({label}) accepts mail only from a signed-in "
                "account; set `username` to the mailbox's address (`from` defaults to "
                "it)").format(server=server, label=_(preset.label)))
    return None


class StandIn:
    """Renders templates for the stand-in user, once per text: what `validate` can know
    offline of a templated value."""

    def __init__(self, config: Config) -> None:
        self.variables = TemplateVars(config.vars)
        self.context = make_context(STAND_IN_USER, self.variables)
        self.rendered: dict[str, str | TemplateError] = {}

    def render(self, text: str) -> str | TemplateError:
        found = self.rendered.get(text)
        if found is None:
            try:
                template = compile_template(text)
                check_names(template, self.variables)
                found = render(template, self.context)
            except TemplateError as exc:
                found = exc
            self.rendered[text] = found
        return found

    def value(self, text: str | None) -> str | None:
        """The stand-in rendering of a value (itself when no template), None on error."""
        if text is None or not is_template(text):
            return text
        found = self.render(text)
        return None if isinstance(found, TemplateError) else found


SMTP_INCOMPLETE = "smtp-incomplete"
"""The code of an override (or `client: smtp`) left without an SMTP server or port."""
ADDRESS_INVALID = "address-invalid"
CLOUD = "cloud-edition"
"""The code of what maestro*CLOUD does not allow (docs/configuration.md)."""
MAX_SAME_PROBLEM = 20
"""Users reported for one identical problem before the rest are counted in one line."""


def _users(check: _Checker) -> None:
    config = check.config
    seen: set[tuple[str, tuple[PathStep, ...]]] = set()
    bad: set[tuple[str, tuple[PathStep, ...]]] = set()  # values refused: no follow-up error
    stand_in = StandIn(config)
    users = entries(config)
    for user in [*users, *config.profiles.values()]:  # a profile no user takes too
        override = user.override or user.office365
        if override is None:
            continue
        for name in (("server", "from", "username") if user.office365 is None else ("email",)):
            value = override.get(name)
            if not isinstance(value, str):
                continue
            source = source_of(user, name)
            if (source.file, source.path) in seen:
                continue
            seen.add((source.file, source.path))
            if not is_template(value):
                error = value_error(name, value)
                if error:
                    bad.add((source.file, source.path))
                    check.add(source.file, source.path, error, code=value_code(name, value))
                continue
            result = stand_in.render(value)
            if isinstance(result, TemplateError) or rendered_errors(name, result):
                bad.add((source.file, source.path))
            if isinstance(result, TemplateError):
                line, column = config.position(source.file, source.path)
                check.problems.append(result.problem(source.file, line, column, source.path))
                continue
            for error in rendered_errors(name, result):
                check.add(source.file, source.path, _(
                    "{error} (as rendered for the stand-in user {code}; templates are "
                    "rendered for each user at plan time)").format(error=error,
                                                                    code=STAND_IN_USER.code),
                          code=value_code(name, result))
    targets = check.targets()
    if targets and all(t.edition == "cloud" for t in targets):
        return  # maestro*CLOUD: the login and the From address are the user code
    # a target whose edition is not declared may be maestro*CLOUD, where user codes are
    # addresses: such a user is checked by the plan, which reads the edition
    maybe_cloud = not any(t.edition == "standard" for t in targets)
    counts: dict[str, int] = {}
    codes: dict[str, str] = {}
    for user in users:
        override = user.override
        if maybe_cloud and is_address(user.code):
            continue
        if user.office365 is not None:
            if user.office365.email is None and not check.refused_within(
                    entry_path(config, user)):
                message = _("no Office 365 account: set `office365.email` (the address the "
                            "user signs in to Office 365 with)")
                counts[message] = counts.get(message, 0) + 1
                codes[message] = "no-office365-email"
                if counts[message] <= MAX_SAME_PROBLEM:
                    check.add(user.source.file, entry_path(config, user), message, key=True,
                              code="no-office365-email")
            continue
        if override is None or check.refused_within(entry_path(config, user)) or any(
                (source.file, source.path) in bad for source in user.sources.values()):
            continue  # a value of the entry was refused: its error says why
        username = stand_in.value(override.username)
        from_address = stand_in.value(override.from_address)
        if (override.username is not None and username is None) or \
                (override.from_address is not None and from_address is None):
            continue  # a template that failed: said above
        server = stand_in.value(override.server) if override.server is not None \
            else config.general.smtp.server
        found = missing_message(username, from_address, server, override.empty)
        if found is None:
            continue
        code, message = found
        counts[message] = counts.get(message, 0) + 1
        codes[message] = code
        if counts[message] <= MAX_SAME_PROBLEM:
            check.add(user.source.file, entry_path(config, user), message, key=True, code=code)
    for message, count in counts.items():
        if count > MAX_SAME_PROBLEM:
            check.problems.append(Problem(config.files[0] if config.files else "", 0, 0, (),
                                          _("... and {count} more users: {message}").format(
                                              count=count - MAX_SAME_PROBLEM,
                                              message=message), code=codes[message]))


def edition_problems(config: Config, edition: str, target: str, *,
                     listed: bool = False) -> list[Problem]:
    """maestro*CLOUD rules: no desktop mail program (SMTP, or Office 365 from 3.05 on),
    user codes are addresses, no `from` (and no other Office 365 account than the code).

    `listed`: the messages are items of one list that already says the target is
    maestro*CLOUD (mailprov.errors.EditionError), so each says only what to change."""
    if edition != "cloud":
        return []
    check = _Checker(config)
    why = _("target {target} is maestro*CLOUD").format(target=quoted(target))
    seen: set[tuple[str, tuple[PathStep, ...]]] = set()
    if config.general.client not in (None, *CLOUD_CLIENTS):
        check.setting("general.client", _(
            "set `client: smtp` (or `client: office365` from maestro* 3.05 on): maestro*CLOUD "
            "has no desktop mail program, so no Outlook mode") if listed else _(
            "{why}, which has no desktop mail program (no Outlook mode): set `client: smtp` "
            "(or `client: office365` from maestro* 3.05 on)").format(why=why), code=CLOUD)
    for code, user in config.users.items():
        if address_error(code):
            check.add(user.source.file, ("users", code), (_(
                "list this user by its e-mail address: maestro*CLOUD user codes are e-mail "
                "addresses, and {code} is not one") if listed else _(
                "{why}, where user codes are e-mail addresses; {code} is not one")).format(
                why=why, code=quoted(code, SHOWN_CHARS)), key=True, code=CLOUD)
        email = None if user.office365 is None else user.office365.email
        if email is not None and email != code and not is_template(email):
            source = source_of(user, "email")
            if (source.file, source.path) not in seen:
                seen.add((source.file, source.path))
                check.add(source.file, source.path, _(
                    "remove `email`: in maestro*CLOUD the Office 365 account is the user "
                    "code") if listed else _(
                    "{why}: the Office 365 account is the user code and cannot be set; "
                    "remove `email`").format(why=why), key=True, code=CLOUD)
        if user.override is not None and user.override.from_address is not None:
            source = source_of(user, "from")
            if (source.file, source.path) in seen:
                continue
            seen.add((source.file, source.path))
            check.add(source.file, source.path, _(
                "remove `from`: in maestro*CLOUD the From address is the user code") if listed
                else _("{why}: the From address is the user code and cannot be set; "
                       "remove `from`").format(why=why), key=True, code=CLOUD)
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
                  text.format(name=missing[0], target=quoted(target)),
                  code=SMTP_INCOMPLETE)
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
    messages: list[tuple[str, str]] = []
    if port == 465 and ssl:
        messages.append(("smtp-465-starttls",
                         stored(N_("port 465 with `ssl: true`: maestro* (.NET) speaks STARTTLS "
                                   "only and hangs until timeout on an implicit-TLS port; use "
                                   "port 587"))))
    if port == 25 and ssl:
        messages.append(("smtp-25-ssl",
                         stored(N_("port 25 with `ssl: true`: most servers offer STARTTLS for "
                                   "submission on port 587, and many networks block port 25; "
                                   "use 587"))))
    if server and is_office365_host(server):
        messages.append((BASIC_AUTH_RETIREMENT_CODE, basic_auth_message(server)))
    return messages


def _traps(check: _Checker) -> None:
    """Known traps, warned once per place; user overrides warned only for their own values.

    A provider's traps are warned at its `provider:` key, once however many users it
    serves; a trap the server itself already warns of (office365-basic-auth-retirement
    for smtp.office365.com) is not said twice for the same place.
    """
    config = check.config
    smtp = config.general.smtp
    general_messages = _trap_messages(smtp.server, smtp.port, smtp.ssl)
    for trap, message in general_messages:
        check.add(config.origin("general.smtp"), ("general", "smtp"), message,
                  severity="warning", code=trap)
    general_codes = {trap for trap, _message in general_messages}
    general_preset = next((source for source in config.general_sources.values()
                           if source.kind == "preset" and source.name), None)
    if general_preset is not None and general_preset.name:
        for trap, message in preset_warnings(general_preset.name):
            if trap not in general_codes:
                check.add(general_preset.file, ("general", "smtp"), message,
                          severity="warning", code=trap)
    seen: dict[tuple[str, str], list[tuple[str, tuple[PathStep, ...]]]] = {}
    presets: dict[tuple[str, tuple[PathStep, ...]], str] = {}
    for user in entries(config):
        override = user.override
        if override is None:
            continue
        preset = user.sources.get("server")
        covered: set[str] = set()
        if preset is not None and preset.kind == "preset" and preset.name:
            presets.setdefault((preset.file, preset.path), preset.name)
            covered = {trap for trap, _message in preset_warnings(preset.name)}
        if not _sets_own_connection(override):
            continue
        effective = (override.server or smtp.server, override.port or smtp.port,
                     override.ssl if override.ssl is not None else smtp.ssl)
        for found in _trap_messages(*effective):
            # inherited: already warned at general.smtp; from a preset: warned at it
            if found not in general_messages and found[0] not in covered:
                path = entry_path(config, user)
                where = (*path, "smtp") if path[0] == "users" else path
                seen.setdefault(found, []).append((user.source.file, where))
    for (file, path), name in presets.items():
        for trap, message in preset_warnings(name):
            seen.setdefault((trap, message), []).append((file, path[:-1]))
    for (trap, message), places in seen.items():
        file, where = places[0]
        others = len(places) - 1
        # stored texts: a plan's JSON keeps them in English (mailprov.i18n.stored)
        if all(path[:1] == ("users",) for _file, path in places):
            more = Plural.ngettext(" (and {count} other user)", " (and {count} other users)",
                                   others).format(count=others) if others else ""
        else:
            more = Plural.ngettext(" (and {count} other place)", " (and {count} other places)",
                                   others).format(count=others) if others else ""
        check.add(file, where, Joined("", (message, more)) if more else message,
                  severity="warning", code=trap)


def _sets_own_connection(override: DesiredOverride) -> bool:
    return override.server is not None or override.port is not None or override.ssl is not None

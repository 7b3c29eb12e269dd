"""The files' users made concrete for one target, at plan time.

What only the live users can decide is decided here: which unlisted users a
selection (`selections: [{match: ...}]`, `all_users:`) takes, what each template
renders for each user (`user.code`, `user.name`, `user.number`), and then the
same value rules as for a literal value, `from` defaulting to the login, and
the rule that an override must be able to send (a From address; a login for
a provider that accepts only signed-in accounts).

Problems are placed where the value is written (a profile's template line, a
CSV cell) and name the user they were rendered for.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from msgspec.structs import replace

from mailprov.config.semantic import (
    MAX_SAME_PROBLEM,
    is_address,
    missing_message,
    rendered_errors,
    value_code,
)
from mailprov.config.templates import (
    TemplateError,
    TemplateUser,
    TemplateVars,
    compile_template,
    make_context,
    render,
)
from mailprov.errors import PathStep, Problem
from mailprov.i18n import _
from mailprov.model import Config, DesiredUser, LiveUser, Selection, Source, ValueSource

TEXT_FIELDS = ("username", "from", "server")
"""The fields a template may give (port and ssl are a number and a switch)."""
_ATTRS = {"username": "username", "from": "from_address", "server": "server"}
FROM_USERNAME = ValueSource("username")


class SelectionMatch(msgspec.Struct, frozen=True):
    """How many live users a selection took (users listed in the files excepted)."""

    selection: Selection
    matched: int


class Resolution(msgspec.Struct, frozen=True):
    """The configuration with every user concrete, what the selections matched, and the
    problems met (empty when the plan can go on)."""

    config: Config
    matches: tuple[SelectionMatch, ...]
    problems: tuple[Problem, ...]


def resolve_users(config: Config, live_users: Mapping[str, LiveUser], edition: str,
                  general_server: str | None) -> Resolution:
    """`config` with the selections expanded over `live_users`, templates rendered for
    each user, `from` defaulted to the login, and the override rules checked.

    `edition` is the target's (maestro*CLOUD: login and From are the user code), and
    `general_server` the general SMTP server the plan leaves (users inheriting it need
    a login when it is a provider that asks for one). Users the target lacks are left
    as they are: the plan reports them.
    """
    users = dict(config.users)
    matches = []
    places: dict[str, tuple[str, tuple[PathStep, ...]]] = {}
    if config.selections:
        counts = dict.fromkeys(range(len(config.selections)), 0)
        for code in live_users:
            if code in users:
                continue
            for index, selection in enumerate(config.selections):
                if selection.matches(code):
                    counts[index] += 1
                    user = selection.user
                    users[code] = DesiredUser(code, user.override, Source(selection.file),
                                              user.sources, user.profiles, user.listed_by)
                    places[code] = (selection.file, selection.path)
                    break
        matches = [SelectionMatch(s, counts[i]) for i, s in enumerate(config.selections)]
    renderer = _Renderer(config, edition == "cloud", general_server)
    for code, user in users.items():
        live = live_users.get(code)
        if live is not None and user.override is not None:
            users[code] = renderer.user(user, live, places.get(code))
        elif live is not None and user.office365 is not None:
            users[code] = renderer.office365_user(user, live, places.get(code))
    resolved = replace(config, users=users)
    return Resolution(resolved, tuple(matches), tuple(renderer.finish()))


class _Renderer:
    def __init__(self, config: Config, cloud: bool, general_server: str | None) -> None:
        self.config = config
        self.cloud = cloud
        self.general_server = general_server
        self.variables = TemplateVars(config.vars)
        self.problems: list[Problem] = []
        self.counts: dict[tuple[str, int, int, str], int] = {}
        self.codes: dict[tuple[str, int, int, str], str] = {}  # the code of each place's first

    def user(self, user: DesiredUser, live: LiveUser,
             place: tuple[str, tuple[PathStep, ...]] | None) -> DesiredUser:
        override = user.override
        assert override is not None
        sources = user.sources
        changes: dict[str, str] = {}
        failed = False
        context = None
        for name in TEXT_FIELDS:
            source = sources.get(name)
            if source is None or source.template is None:
                continue
            if context is None:
                context = make_context(TemplateUser(live.code, live.name or "", live.number or 0),
                                       self.variables)
            try:
                value = render(compile_template(source.template), context)
            except TemplateError as exc:
                line, column = self.config.position(source.file, source.path)
                self._add(exc.problem(source.file, line, column, source.path, user=live.code))
                failed = True
                continue
            errors = rendered_errors(name, value)
            if errors:
                for error in errors:
                    self._add(self.config.problem(
                        source.file, source.path, _("{error} (rendered for user {code} from "
                                                    "{template})").format(
                            error=error, code=live.code, template=source.template),
                        code=value_code(name, value)))
                failed = True
                continue
            changes[_ATTRS[name]] = value
        if changes:
            override = replace(override, **changes)
        if failed:
            return replace(user, override=override)
        if not self.cloud and override.from_address is None and "from" not in override.empty \
                and is_address(override.username):
            override = replace(override, from_address=override.username)
            sources = {**sources, "from": FROM_USERNAME}
        if not self.cloud:
            server = override.server if override.server is not None else self.general_server
            found = missing_message(override.username, override.from_address, server,
                                    override.empty)
            if found is not None:
                code, message = found
                if place is None:
                    problem = self.config.problem(user.source.file, ("users", live.code),
                                                  message, key=True, code=code)
                else:  # a selected user: the selection is the place, the user is named
                    problem = self.config.problem(place[0], place[1], _(
                        "{message} (user {code})").format(message=message, code=live.code),
                        code=code)
                self._add(problem)
        if override is user.override:
            return user
        return replace(user, override=override, sources=sources)

    def office365_user(self, user: DesiredUser, live: LiveUser,
                       place: tuple[str, tuple[PathStep, ...]] | None) -> DesiredUser:
        """The user's Office 365 address rendered for them (a template), and checked: an
        installed maestro* needs one (maestro*CLOUD: the user code)."""
        office365 = user.office365
        assert office365 is not None
        source = user.sources.get("email")
        email = office365.email
        if source is not None and source.template is not None:
            context = make_context(TemplateUser(live.code, live.name or "", live.number or 0),
                                   self.variables)
            try:
                email = render(compile_template(source.template), context)
            except TemplateError as exc:
                line, column = self.config.position(source.file, source.path)
                self._add(exc.problem(source.file, line, column, source.path, user=live.code))
                return user
            errors = rendered_errors("email", email)
            for error in errors:
                self._add(self.config.problem(
                    source.file, source.path, _("{error} (rendered for user {code} from "
                                                "{template})").format(
                        error=error, code=live.code, template=source.template),
                    code=value_code("email", email)))
            if errors:
                return user
        if email is None and not self.cloud:
            message = _("no Office 365 account: set `office365.email` (the address the user "
                        "signs in to Office 365 with)")
            if place is None:
                problem = self.config.problem(user.source.file, ("users", live.code),
                                              message, key=True, code="no-office365-email")
            else:
                problem = self.config.problem(place[0], place[1], _(
                    "{message} (user {code})").format(message=message, code=live.code),
                    code="no-office365-email")
            self._add(problem)
        if email == office365.email:
            return user
        return replace(user, office365=replace(office365, email=email))

    def _add(self, problem: Problem) -> None:
        """Keep the first MAX_SAME_PROBLEM problems of one place: a profile's template that
        fails for 10,000 users is one problem, said 20 times and counted."""
        key = (problem.file, problem.line, problem.column, problem.dotted_path)
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        self.codes.setdefault(key, problem.code)
        if count <= MAX_SAME_PROBLEM:
            self.problems.append(problem)

    def finish(self) -> list[Problem]:
        problems = list(self.problems)
        for key, count in self.counts.items():
            if count > MAX_SAME_PROBLEM:
                file, line, column, _path = key
                problems.append(Problem(file, line, column, (), _(
                    "... and {count} more users with a problem here").format(
                    count=count - MAX_SAME_PROBLEM), code=self.codes[key]))
        return problems

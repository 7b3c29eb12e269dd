"""`mailprov import`: the live configuration written as a mailprov YAML file.

The file plans to "No changes" against the same database: a user's value equal to
what the file would give by default (the general one it inherits, the cloud login) is
left out, a NULL the default would fill is written `null` (stored empty), and every
other value is written as it is. A live value that cannot be written as valid
configuration (port 99999, trailing spaces, an invalid From address...) is a problem
of the live data: reported, or, when asked, written commented out with the reason.
Before it is returned, the text is loaded by the configuration loader itself, so a
file that would not validate is never written.

Nothing here names an override field: the fields, their defaults and their rules come
from mailprov.model.OVERRIDE, the planner's resolve_override and the JSON Schema.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mailprov.config.addresses import address_error
from mailprov.config.semantic import CLOUD_CLIENTS
from mailprov.config.targets import ResolvedTarget
from mailprov.config.urls import relative_sqlite
from mailprov.errors import ConfigError, LiveDataError, MailprovError, printable
from mailprov.i18n import N_, _, ngettext
from mailprov.model import CLIENTS, EDITIONS, OFFICE365, OVERRIDE, DesiredOverride, LiveState
from mailprov.model.versions import VERSIONS
from mailprov.plan.diff import resolve_override

MODELINE = "# yaml-language-server: $schema={schema}\n"
SCHEMA_URL = "https://mailprov.example/schemas/mailprov.schema.json"
MAX_ROUNDS = 3  # loader checks: a problem it finds is commented out, then checked again


@dataclass(frozen=True)
class LiveProblem:
    """A live value that cannot be written as valid configuration."""

    path: tuple[str, ...]  # where it would be in the file
    subject: str  # "user MBOUCHER", "general", "target 'prod'"
    detail: str  # "port 99999 in maestro* is not a valid port (1 to 65535)"

    @property
    def message(self) -> str:
        return _("{where}: {message}").format(where=self.subject, message=self.detail)


@dataclass(frozen=True)
class Export:
    """The file text, the live values left out of it (commented out), and what was read
    but could not be imported at all (rows without a user code) or read as unknown."""

    text: str
    problems: tuple[LiveProblem, ...]
    warnings: tuple[str, ...]

    def checked(self, allow_invalid: bool) -> str:
        """The text, or LiveDataError listing the problems unless `allow_invalid`."""
        if self.problems and not allow_invalid:
            raise live_data_error(self.problems)
        return self.text


def live_data_error(problems: tuple[LiveProblem, ...]) -> LiveDataError:
    lines = tuple(p.message for p in problems)
    head = ngettext(
        "maestro* holds a value that cannot be written as valid configuration; nothing "
        "was written:",
        "maestro* holds {count} values that cannot be written as valid configuration; "
        "nothing was written:", len(lines)).format(count=len(lines))
    tail = _("Fix them in maestro*, or add --allow-invalid to write the file with them "
             "commented out.")
    return LiveDataError("\n".join([head, *(f"  {printable(line)}" for line in lines), tail]),
                         lines)


def build_export(live: LiveState, target: ResolvedTarget | None = None, *,
                 schema: str = SCHEMA_URL, folder: str | None = None) -> Export:
    """The export of `live`; `folder` is where the file will be (relative SQLite URLs and
    mapping paths are written relative to it; default: the working folder)."""
    folder = os.path.abspath(folder or os.curdir)
    forced: dict[tuple[str, ...], LiveProblem] = {}
    for _round in range(MAX_ROUNDS):
        builder = _Builder(live, target, folder, forced)
        text = builder.render(schema)
        leftovers = _loader_problems(text)
        if not leftovers:
            problems = sorted(builder.problems, key=_problem_order)
            return Export(text, tuple(problems), tuple(w.message for w in live.warnings))
        for path, message in leftovers:
            place, subject = _comment_place(path)
            forced.setdefault(place, LiveProblem(place, subject, message))
    raise MailprovError(_("mailprov import made a file that does not validate: {problems}. "
                          "This is a bug in mailprov; please report it.").format(
                              problems="; ".join(m for _p, m in leftovers)))


def render_yaml(live: LiveState, target: ResolvedTarget | None = None,
                schema: str = SCHEMA_URL, *, allow_invalid: bool = False) -> str:
    """The exported file text, with the editor schema modeline (LiveDataError when live
    values cannot be written, unless `allow_invalid`)."""
    return build_export(live, target, schema=schema).checked(allow_invalid)


# --- building the document ---------------------------------------------------------------


class _Builder:
    """One document: values, and the comments standing for the values left out."""

    def __init__(self, live: LiveState, target: ResolvedTarget | None, folder: str,
                 forced: Mapping[tuple[str, ...], LiveProblem]) -> None:
        self.live = live
        self.target = target
        self.folder = folder
        self.forced = forced
        self.problems: list[LiveProblem] = []
        self.comments: list[str] = []
        self.nested: set[int] = set()  # comments shown one level deeper than their key
        # a key no user code or value can produce: replaced by its comment line
        self.token = f"mailprovcomment{secrets.token_hex(6)}n"

    # comments

    def leave_out(self, container: dict[str, Any], problem: LiveProblem, key: str,
                  value: Any) -> None:
        """Record `problem` and put `key: value`, commented out, at its place."""
        self.problems.append(problem)
        self.comments.append(f"# {printable(key)}: {_literal(value)}  "
                             f"# {printable(problem.detail)}")
        container[f"{self.token}{len(self.comments) - 1}"] = 0

    def forced_problem(self, path: tuple[str, ...]) -> LiveProblem | None:
        return self.forced.get(path)

    # the document

    def render(self, schema: str) -> str:
        data = self.document()
        body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=False, width=100)
        if self.comments:
            lines = []
            for line in body.splitlines(keepends=True):
                stripped = line.lstrip(" ")
                if stripped.startswith(self.token):
                    index = int(stripped[len(self.token):].split(":", 1)[0])
                    indent = line[: len(line) - len(stripped)]
                    if index in self.nested:
                        indent += "  "
                    line = indent + self.comments[index] + "\n"
                lines.append(line)
            body = "".join(lines)
        header = MODELINE.format(schema=schema) + "# Exported by `mailprov import`.\n"
        return header + body

    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": 1}
        if self.target is not None:
            name = _target_name(self.target)
            data["targets"] = {name: self.target_spec(name)}
            data["default_target"] = name
        data["general"] = self.general()
        self.place(data, "users", self.users(data["general"]))
        data["prune"] = False
        return data

    def place(self, container: dict[str, Any], key: str, mapping: dict[str, Any]) -> None:
        """`key: mapping`; a mapping of comments only is written `key: {}`, the comments
        after it (YAML would read a key followed by comments alone as null)."""
        if mapping and all(k.startswith(self.token) for k in mapping):
            container[key] = {}
            container.update(mapping)
            self.nested.update(int(k[len(self.token):]) for k in mapping)
        else:
            container[key] = mapping

    def target_spec(self, name: str) -> dict[str, Any]:
        assert self.target is not None
        general = self.live.general
        spec: dict[str, Any] = {"url": relative_sqlite(self.target.display_url, self.folder,
                                                        self.target.name)}
        if general.edition in EDITIONS:
            spec["edition"] = general.edition
        else:
            self.leave_out(spec, LiveProblem(
                ("targets", name, "edition"), _("general"),
                _("edition {value} in maestro* is neither standard nor cloud").format(
                    value=_shown(general.edition))), "edition", general.edition)
        if self.target.mapping_path:
            spec["mapping"] = self.mapping_path(self.target.mapping_path)
        return spec

    def mapping_path(self, path: str) -> str:
        rel = os.path.relpath(path, self.folder)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            raise MailprovError(_(
                "the target's mapping file {path} is outside {folder}, the folder of the file "
                "to write, and a configuration may only use mapping files in its folder: "
                "write the file beside the mapping file, or copy the mapping file into "
                "{folder}").format(path=path, folder=self.folder))
        return Path(rel).as_posix()

    def general(self) -> dict[str, Any]:
        general = self.live.general
        out: dict[str, Any] = {}
        subject = _("general")
        client_problem = None
        model = VERSIONS[self.live.model_version]
        if general.client not in CLIENTS:
            client_problem = _("client {value} in maestro* is not one of {known}").format(
                value=_shown(general.client), known=", ".join(model.clients))
        elif not model.offers_client(general.client):
            client_problem = _("client {value} in maestro*, which reference model version "
                               "{version} (maestro* {maestro}) does not offer").format(
                value=general.client, version=model.number, maestro=model.maestro)
        elif general.edition == "cloud" and general.client not in CLOUD_CLIENTS:
            client_problem = _("client {value} in maestro*CLOUD, which has no desktop mail "
                               "program").format(value=general.client)
        smtp: dict[str, Any] = {}
        properties = _schema_properties("smtpServer")
        for name in ("server", "port", "ssl"):
            value = getattr(general, name)
            if value is None:
                continue  # left out: not managed, kept as it is
            path = ("general", "smtp", name)
            detail = _value_problem(name, value, properties.get(name, {}))
            problem = (LiveProblem(path, subject, detail) if detail
                       else self.forced_problem(path))
            if problem:
                self.leave_out(smtp, problem, name, value)
            else:
                smtp[name] = value
        if client_problem is None and general.client == "smtp":
            missing = [n for n in ("server", "port") if n not in smtp]
            if missing:
                client_problem = _("client smtp in maestro*, without a valid general SMTP "
                                   "{missing}").format(missing=_(" or ").join(missing))
        client_path = ("general", "client")
        problem = (LiveProblem(client_path, subject, client_problem) if client_problem
                   else self.forced_problem(client_path))
        if problem:
            self.leave_out(out, problem, "client", general.client)
        else:
            out["client"] = general.client
        self.place(out, "smtp", smtp)
        return out

    def users(self, general_section: Mapping[str, Any]) -> dict[str, Any]:
        users: dict[str, Any] = {}
        for code in sorted(self.live.users):
            user = self.live.users[code]
            if user.office365 is not None:
                self.office365_user(users, code, user.office365.email)
                continue
            override = user.override
            if override is None:
                continue
            subject = _("user {code}").format(code=code)
            path = ("users", code)
            detail = _code_problem(code, self.live.general.edition)
            if detail:
                self.leave_out(users, LiveProblem(path, subject, detail), code,
                               {"smtp": override.as_dict()})
                continue
            section = self.user_section(code, subject)
            detail = _unresolved(section, general_section)
            problem = (LiveProblem(path, subject, detail) if detail
                       else self.forced_problem(path))
            if problem:  # the whole user is left out: the plan leaves it alone
                self.leave_out(users, problem, code, {"smtp": override.as_dict()})
                continue
            entry: dict[str, Any] = {}
            self.place(entry, "smtp", section)
            users[code] = entry
        return users

    def office365_user(self, users: dict[str, Any], code: str, email: str | None) -> None:
        """`CODE: {office365: {email: ...}}` (maestro*CLOUD: `{office365: {}}`, the account
        being the user code), or the user commented out with why."""
        subject = _("user {code}").format(code=code)
        path = ("users", code)
        cloud = self.live.general.edition == "cloud"
        detail = _code_problem(code, self.live.general.edition)
        if detail is None:
            if email is None:
                detail = None if cloud else _("the Office 365 mode in maestro* has no "
                                              "account address")
            elif cloud and email != code:
                detail = _("Office 365 account {value} in maestro*CLOUD is not the user code, "
                           "which maestro*CLOUD always uses").format(value=_shown(email))
            elif not cloud:
                field = OFFICE365[0]
                detail = _value_problem(field.name, email,
                                        _schema_properties("office365").get(field.name, {}))
        section = {} if cloud or email is None else {"email": email}
        problem = (LiveProblem(path, subject, detail) if detail
                   else self.forced_problem(path))
        if problem:
            self.leave_out(users, problem, code, {"office365": {"email": email}})
            return
        users[code] = {"office365": section}

    def user_section(self, code: str, subject: str) -> dict[str, Any]:
        """The user's `smtp:` section: values that differ from the file's defaults (the
        problems of the others recorded)."""
        general = self.live.general
        edition = general.edition
        override = self.live.users[code].override
        assert override is not None
        defaults = resolve_override(code, DesiredOverride(), general, edition)
        properties = _schema_properties("userSmtp")
        section: dict[str, Any] = {}
        for field in OVERRIDE:
            value = override.get(field.name)
            if field.name == "from" and value is None and edition != "cloud":
                # left out, `from` defaults to the login, or is an error without one
                section[field.name] = None  # stored empty: `null`
                continue
            if _same(value, defaults.get(field.name)):
                continue  # what the file gives when the key is left out
            if value is None:
                section[field.name] = None  # stored empty: `null`
                continue
            detail = _value_problem(field.name, value, properties.get(field.name, {}))
            if detail is None:
                written = resolve_override(code, DesiredOverride(**{field.attr: value}),
                                           general, edition).get(field.name)
                if not _same(written, value):
                    detail = _not_expressible(field.name, value, edition)
            if detail is None:
                section[field.name] = value
            else:
                if field.name == "from" and edition != "cloud":
                    section[field.name] = None  # what apply leaves of it; no From otherwise
                self.leave_out(section, LiveProblem(("users", code, "smtp", field.name),
                                                    subject, detail), field.name, value)
        return section


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _unresolved(section: Mapping[str, Any], general: Mapping[str, Any]) -> str | None:
    """Why a user's section resolves no server or port (its own or the general one)."""
    smtp = general.get("smtp") or {}
    missing = [n for n in ("server", "port") if section.get(n) is None and n not in smtp]
    if not missing:
        return None
    return _("the SMTP override has no valid {missing} in maestro*, and there is no valid "
             "general one to use").format(missing=_(" or ").join(missing))


def _problem_order(problem: LiveProblem) -> tuple[int, tuple[str, ...]]:
    return ({"targets": 0, "general": 1}.get(problem.path[0], 2), problem.path)


# --- value rules ---------------------------------------------------------------------------

_TYPE_WORDS = {"string": N_("text"), "integer": N_("a whole number"),
               "boolean": N_("true or false")}
_TYPE_TESTS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _schema_properties(definition: str) -> dict[str, Any]:
    from mailprov.config.schema import schema

    properties: dict[str, Any] = schema()["$defs"][definition]["properties"]
    return properties


def _value_problem(name: str, value: Any, rules: Mapping[str, Any]) -> str | None:
    """Why a live value cannot be written where the schema says `rules`, or None."""
    shown = _shown(value)
    types = rules.get("type", [])
    types = [t for t in ([types] if isinstance(types, str) else types) if t != "null"]
    if types and not any(_TYPE_TESTS.get(t, lambda v: True)(value) for t in types):
        return _("{name} {value} in maestro* is not {kind}").format(
            name=name, value=shown, kind=_(" or ").join(_(_TYPE_WORDS.get(t, t)) for t in types))
    if isinstance(value, str):
        if not value:
            return _("{name} in maestro* is empty").format(name=name)
        if value != value.rstrip():
            return _("{name} {value} in maestro* ends with a space").format(name=name,
                                                                            value=shown)
        if value != value.lstrip():
            return _("{name} {value} in maestro* starts with a space").format(name=name,
                                                                              value=shown)
        if not value.isprintable():
            return _("{name} {value} in maestro* contains control characters").format(
                name=name, value=shown)
        if len(value) > rules.get("maxLength", len(value)):
            return _("{name} in maestro* is longer than {count} characters").format(
                name=name, count=rules["maxLength"])
        pattern = rules.get("pattern")
        if len(value) < rules.get("minLength", 0) or (pattern and not re.search(pattern, value)):
            return _("{name} {value} in maestro* is not a valid {name}").format(
                name=name, value=shown)
        if name in ("from", "email") or (name == "username" and "@" in value):
            error = address_error(value)
            if error:
                return _("{name} {value} in maestro* is not a valid e-mail address "
                         "({error})").format(name=name, value=shown, error=error.rstrip("."))
    elif isinstance(value, int) and not isinstance(value, bool):
        low, high = rules.get("minimum"), rules.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return _("{name} {value} in maestro* is not a valid {name} ({low} to {high})"
                     ).format(name=name, value=value, low=low, high=high)
    return None


def _not_expressible(name: str, value: Any, edition: str) -> str:
    if name == "from" and edition == "cloud":
        return _("from {value} in maestro*CLOUD is not the user code, which maestro*CLOUD "
                 "always sends from").format(value=_shown(value))
    return _("{name} {value} in maestro* cannot be written in a configuration file").format(
        name=name, value=_shown(value))


def _code_problem(code: str, edition: str) -> str | None:
    """Why a user cannot be named in a file (the schema's rules for user codes)."""
    shown = _shown(code)
    if not code:
        return _("the user code in maestro* is empty")
    if code != code.strip():
        return _("user code {code} in maestro* starts or ends with a space").format(code=shown)
    if not code.isprintable():
        return _("user code {code} in maestro* contains control characters").format(
            code=shown)
    if len(code) > 255:
        return _("user code in maestro* is longer than 255 characters")
    if edition == "cloud" and address_error(code):
        return _("user code {code} is not an e-mail address, which maestro*CLOUD user codes "
                 "are").format(code=shown)
    return None


# --- checking with the loader ----------------------------------------------------------------


def _loader_problems(text: str) -> list[tuple[tuple[str, ...], str]]:
    """The configuration loader's errors on `text`: (path, message) of each."""
    from mailprov.config.load import load_config

    with tempfile.TemporaryDirectory(prefix="mailprov-import-") as folder:
        path = Path(folder, "mailprov.yaml")
        path.write_text(text, encoding="utf-8")
        try:
            load_config([path])
        except ConfigError as exc:
            return [(tuple(str(step) for step in p.path), p.message) for p in exc.problems]
    return []


def _comment_place(path: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Where a loader error is commented out: the whole user, or the general setting."""
    if len(path) >= 2 and path[0] == "users":
        return ("users", path[1]), _("user {code}").format(code=path[1])
    if path[:2] == ("general", "smtp") and len(path) >= 3:
        return path[:3], _("general")
    if path[:2] == ("general", "client"):
        return path[:2], _("general")
    raise MailprovError(_("mailprov import made a file that does not validate, at {path}. "
                          "This is a bug in mailprov; please report it.").format(
                              path=".".join(path)))


# --- text ------------------------------------------------------------------------------------




def _shown(value: Any) -> str:
    """A live value in a message: text quoted (so trailing spaces show) and escaped."""
    if isinstance(value, str):
        text = value if len(value) <= 80 else value[:77] + "..."
        return "'" + printable(text) + "'"
    return _literal(value)


def _literal(value: Any) -> str:
    """A value as it would be written in YAML, on one line."""
    if isinstance(value, str):
        return printable(json.dumps(value, ensure_ascii=False))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{printable(str(k))}: {_literal(v)}"
                               for k, v in value.items()) + "}"
    return printable(json.dumps(value))


def _target_name(target: ResolvedTarget) -> str:
    return target.name if "://" not in target.name and ":" not in target.name else "main"


try:  # libyaml's emitter, when PyYAML has it, writes the same text four times faster
    from yaml import CSafeDumper as _SafeDumper
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _SafeDumper  # type: ignore[assignment]


class _Dumper(_SafeDumper):
    """Never emit aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

"""Read configuration files, follow includes, check them and merge them into a Config."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from mailprov.config.document import Document, DocumentLocator
from mailprov.config.entries import EMPTY, EntryBuilder, EntryProblem, entry_layer, resolve_layers
from mailprov.config.forbidden_keys import HOW_PASSWORDS_ARE_SET, looks_like_secret
from mailprov.config.presets import PROVIDER_KEY, get_preset, preset_names
from mailprov.config.schema import check_csv_entries, check_document
from mailprov.config.semantic import semantic_problems
from mailprov.config.urls import anchor_sqlite
from mailprov.config.variables import unread_variables
from mailprov.config.yamlload import INVALID, YamlError, iter_paths, read_file, read_yaml
from mailprov.errors import ConfigError, PathStep, Problem, in_quotes
from mailprov.i18n import N_, _, ngettext, stored
from mailprov.model import (
    GENERAL_SMTP_FIELDS,
    Config,
    DesiredGeneral,
    Policy,
    Safety,
    Selection,
    SmtpServer,
    Source,
    Target,
    ValueSource,
    canonical_client,
)

if TYPE_CHECKING:  # read only when a file lists users in a CSV file
    from mailprov.config.csvusers import CsvPosition, CsvUsers

DEFAULT_CONFIG = "mailprov.yaml"


def display_name(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


class _Loader:
    """Collects documents (following includes) and the problems met on the way."""

    def __init__(self, replacements: Mapping[Path, bytes] | None = None) -> None:
        self.documents: list[Document] = []
        self.problems: list[Problem] = []
        self.loaded: set[Path] = set()
        self.scope_of: dict[Path, str | None] = {}  # which target a file is read for
        self.file_parts: list[tuple[str, bytes, str | None]] = []
        self.with_refused_values: set[str] = set()  # names of documents holding INVALID
        self.csv_lists: list[tuple[Document, CsvUsers]] = []
        # the text an edit would write, read in place of a file's (`users add` checks it)
        self.replacements = {path.resolve(): data for path, data in (replacements or {}).items()}

    def load_root(self, path: Path) -> None:
        name = display_name(path)
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a loop of symbolic links
            self.problems.append(Problem(name, 0, 0, (), _(
                "file not found: check the path, or create it (default name: {default})").format(
                    default=DEFAULT_CONFIG), code="file-not-found"))
            return
        if not real.is_relative_to(path.absolute().parent.resolve()):
            # a repository's mailprov.yaml may be a link to ~/.pgpass: never read it
            self.problems.append(Problem(name, 0, 0, (), _(
                "is a symbolic link to a file outside its folder ({real}): configuration files "
                "may not point out of their folder").format(real=real), code="file-outside"))
            return
        self._load(real, name, is_root=True, root_folder=real.parent, chain=())

    def _seen(self, real: Path, scope: str | None, doc: Document | None,
              path: tuple[PathStep, ...], name: str) -> bool:
        """Whether `real` was read already; a file read both for every target and for one
        target (or for two targets) is a problem at the place that reads it again."""
        if real not in self.loaded:
            self.loaded.add(real)
            self.scope_of[real] = scope
            return False
        first = self.scope_of.get(real)
        if first != scope and doc is not None:
            self.problems.append(doc.problem(path, _(
                "{name} is read both for {first} and for {second}: a file belongs to every "
                "target or to one").format(name=name, first=_scope_text(first),
                                           second=_scope_text(scope)), code="include-scope"))
        return True

    def _load(self, real: Path, name: str, *, is_root: bool, root_folder: Path,
              chain: tuple[Path, ...], scope: str | None = None,
              parent: Document | None = None, path: tuple[PathStep, ...] = ()) -> None:
        if self._seen(real, scope, parent, path, name):
            return
        try:
            data = self.replacements[real] if real in self.replacements else read_file(real)
        except IsADirectoryError:
            self.problems.append(Problem(name, 0, 0, (), _("is a folder, not a file"),
                                         code="file-unreadable"))
            return
        except OSError as exc:
            self.problems.append(Problem(name, 0, 0, (), _("cannot read the file: {reason}").format(
                reason=exc.strerror), code="file-unreadable"))
            return
        try:
            parsed, refusals = read_yaml(data)
        except YamlError as exc:
            self.problems.append(Problem(name, exc.line, exc.column, exc.path, exc.message,
                                         code=exc.code))
            return
        if refusals:  # the file is read all the same: its other problems count too
            self.with_refused_values.add(name)
            self.problems.extend(Problem(name, r.line, r.column, r.path, r.message, code=r.code)
                                 for r in refusals)
        text = data.decode("utf-8-sig")
        doc = Document(name, text, parsed, is_root, str(real.parent), scope)
        self.documents.append(doc)
        self.file_parts.append((os.path.relpath(real, root_folder), data, scope))
        self._check_mapping_paths(doc, root_folder)
        includes = parsed.get("include")
        if isinstance(includes, list):
            for index, pattern in enumerate(includes):
                if isinstance(pattern, str) and pattern:
                    self._include(doc, ("include", index), pattern, root_folder,
                                  (*chain, real), scope)
        lists = parsed.get("users_from")
        for index, name in enumerate([lists] if isinstance(lists, str) else lists
                                     if isinstance(lists, list) else []):
            if isinstance(name, str) and name:
                path = ("users_from",) if isinstance(lists, str) else ("users_from", index)
                self._users_from(doc, path, name, root_folder)
        targets = parsed.get("targets")
        if scope is None and isinstance(targets, dict):
            # a target's own files (`targets.NAME.include`), read for that target alone
            for target, spec in targets.items():
                own = spec.get("include") if isinstance(spec, dict) else None
                if not isinstance(target, str) or not isinstance(own, list):
                    continue
                for index, pattern in enumerate(own):
                    if isinstance(pattern, str) and pattern:
                        self._include(doc, ("targets", target, "include", index), pattern,
                                      root_folder, (*chain, real), target)

    def _users_from(self, doc: Document, path: tuple[PathStep, ...], name: str,
                    root_folder: Path) -> None:
        """Read one CSV user list, with the same folder rules as includes."""
        if os.path.isabs(name):
            self.problems.append(doc.problem(path, _(
                "user lists must be relative to this file's folder, not absolute paths"),
                code="csv-path"))
            return
        full = os.path.normpath(os.path.join(doc.folder, name))
        if not _inside(full, root_folder) or not _inside(full, root_folder, resolve=True):
            self.problems.append(doc.problem(path, _outside(name, root_folder, "user lists"),
                                             code="csv-path"))
            return
        try:
            mode = os.stat(full).st_mode
        except OSError:
            self.problems.append(doc.problem(path, _(
                "user list '{name}' not found: check the path (relative to this file's "
                "folder)").format(name=name), code="csv-not-found"))
            return
        if not stat.S_ISREG(mode):
            self.problems.append(doc.problem(path, _(
                "user list '{name}' is not a regular file").format(name=name),
                code="csv-not-found"))
            return
        shown = display_name(Path(full))
        real = Path(full).resolve()
        if self._seen(real, doc.scope, doc, path, shown):
            return
        from mailprov.config.csvusers import read_users_csv

        result = read_users_csv(full, shown)
        self.problems.extend(result.problems)
        self.csv_lists.append((doc, result))
        try:
            with open(full, "rb") as handle:
                self.file_parts.append((os.path.relpath(real, root_folder), handle.read(),
                                          doc.scope))
        except OSError:  # pragma: no cover - read a moment ago
            pass

    def _check_mapping_paths(self, doc: Document, root_folder: Path) -> None:
        """A target's mapping file must lie inside the configuration's folder, like
        includes: a pull request must not make mailprov read (and quote) other files."""
        targets = doc.data.get("targets")
        if not isinstance(targets, dict):
            return
        for name, spec in targets.items():
            mapping = spec.get("mapping") if isinstance(spec, dict) else None
            if not isinstance(mapping, str) or not mapping:
                continue
            path = ("targets", name, "mapping")
            if os.path.isabs(mapping):
                self.problems.append(doc.problem(path, _(
                    "the mapping file must be given relative to this file's folder, not as an "
                    "absolute path"), code="mapping-path"))
            elif not Path(doc.folder, mapping).resolve().is_relative_to(root_folder):
                self.problems.append(doc.problem(path, _(
                    "'{mapping}' is outside the folder of the configuration: keep mapping files "
                    "beside it").format(mapping=mapping), code="mapping-path"))

    def _include(self, doc: Document, path: tuple[PathStep, ...], pattern: str,
                 root_folder: Path, chain: tuple[Path, ...], scope: str | None) -> None:
        if os.path.isabs(pattern):
            self.problems.append(doc.problem(path, _("includes must be relative to this file's "
                                                     "folder, not absolute paths"),
                                             code="include-path"))
            return
        import glob  # only for includes

        full = os.path.join(doc.folder, pattern)
        if not _inside(os.path.normpath(full), root_folder):  # before globbing `../../**`
            self.problems.append(doc.problem(path, _outside(pattern, root_folder, "includes"),
                                             code="include-path"))
            return
        link = _folder_link(doc.folder, pattern, root_folder) if "**" in pattern else None
        if link:
            self.problems.append(doc.problem(
                path, _("'**' would follow {link}, a symbolic link to a folder (it may loop, or "
                        "lead out of the folder): list the folders without '**', or remove the "
                        "link").format(link=link), code="include-path"))
            return
        matches = sorted(glob.glob(full, recursive=True)) if glob.has_magic(pattern) else [full]
        if not matches:
            self.problems.append(doc.problem(path, stored(N_(
                "'{pattern}' matches no file: check the pattern, or remove it"),
                pattern=pattern), severity="warning", code="include-no-match"))
            return
        for match in matches:
            target = Path(match)
            if not target.exists():
                self.problems.append(doc.problem(path, _("included file '{pattern}' not "
                                                         "found").format(pattern=pattern),
                                                 code="include-not-found"))
                continue
            real = target.resolve()
            if not real.is_relative_to(root_folder):
                self.problems.append(doc.problem(path, _outside(pattern, root_folder,
                                                                "includes"),
                                                 code="include-path"))
                continue
            if real in chain:
                cycle = " -> ".join(display_name(p) for p in (*chain[chain.index(real):], real))
                self.problems.append(doc.problem(path, _("include cycle: {cycle}").format(
                    cycle=cycle), code="include-cycle"))
                continue
            self._load(real, display_name(target), is_root=False, root_folder=root_folder,
                       chain=chain, scope=scope, parent=doc, path=path)

    def contents(self, scope: str | None = None) -> tuple[tuple[str, bytes], ...]:
        """The files every target shares, and `scope`'s own files, in a stable order: what
        Config.digest fingerprints."""
        return tuple((rel, data) for rel, data, of
                     in sorted(self.file_parts, key=lambda part: part[:2])
                     if of is None or of == scope)


def _scope_text(scope: str | None) -> str:
    if scope is None:
        return _("every target")
    return _("target '{name}' alone").format(name=scope)


def _inside(path: str, folder: Path, resolve: bool = False) -> bool:
    try:
        return (Path(path).resolve() if resolve else Path(path)).is_relative_to(folder)
    except (OSError, RuntimeError):  # a loop of symbolic links
        return False


def _outside(pattern: str, root_folder: Path, what: str) -> str:
    text = (_("'{pattern}' is outside the folder of the configuration ({folder}): user lists "
              "may not climb out of it") if what == "user lists" else
            _("'{pattern}' is outside the folder of the configuration ({folder}): includes may "
              "not climb out of it"))
    return text.format(pattern=pattern, folder=display_name(root_folder))


def _folder_link(folder: str, pattern: str, root_folder: Path) -> str | None:
    """A symbolic link to a folder where a `**` pattern would search, if any.

    glob follows such links: two links to `.` make `**` search 2^40 paths, and a
    link to / searches the whole disk. The walk itself does not follow links.
    """
    import glob

    fixed: list[str] = []
    for part in pattern.replace(os.sep, "/").split("/"):
        if glob.has_magic(part):
            break
        fixed.append(part)
    base = os.path.join(folder, *fixed)
    if os.path.islink(base) or not _inside(base, root_folder, resolve=True):
        return display_name(Path(base))
    for top, dirs, _files in os.walk(base):
        for name in dirs:
            if os.path.islink(os.path.join(top, name)):
                return display_name(Path(top, name))
    return None


class _CsvRow(msgspec.Struct, frozen=True):
    """Where a user of a CSV list is written: quacks like a Document for the merger."""

    name: str
    position: CsvPosition

    def position_of(self) -> tuple[int, int]:
        return self.position.line, self.position.column("code")

    def problem(self, path: tuple[Any, ...], message: str, *, key: bool = False,
                severity: str = "error", code: str = "") -> Problem:
        return self.position.problem(path, message, severity, code)


class _Merger:
    """Merges documents; a setting or user defined twice is an error naming both places.

    A target with settings of its own (`targets.NAME.general`, `.vars`, or files it
    includes alone) gets a fork of the shared merger, in which those settings replace
    the shared ones (`inherited`) instead of clashing with them."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], tuple[Document, Any]] = {}
        self.users: dict[str, tuple[Document | _CsvRow, Any]] = {}
        self.targets: dict[str, tuple[Document, Any]] = {}
        self.profiles: dict[str, tuple[Document, Any]] = {}
        self.singles: dict[str, tuple[Document, Any]] = {}
        self.selections: list[tuple[Document, int, Any]] = []
        self.problems: list[Problem] = []
        # where a setting is written when not at its own path (a target's section)
        self.places: dict[tuple[str, ...], tuple[PathStep, ...]] = {}
        self.inherited: set[tuple[str, ...]] = set()

    def fork(self) -> _Merger:
        """A copy for one target, whose own settings replace the shared ones."""
        sub = _Merger()
        sub.values = dict(self.values)
        sub.users = dict(self.users)
        sub.targets = dict(self.targets)
        sub.profiles = dict(self.profiles)
        sub.singles = dict(self.singles)
        sub.selections = list(self.selections)
        sub.places = dict(self.places)
        sub.inherited = set(self.values)
        return sub

    def place(self, path: tuple[str, ...]) -> tuple[PathStep, ...]:
        """Where the setting at `path` is written in its document."""
        return self.places.get(path, path)

    def _where(self, doc: Document | _CsvRow, path: tuple[Any, ...]) -> str:
        if isinstance(doc, _CsvRow):
            line, column = doc.position_of()
        else:
            line, column = doc.position(self.places.get(path, path), key=True)
        return f"{doc.name}:{line}:{column}"

    def setting(self, doc: Document, path: tuple[str, ...], value: Any,
                place: tuple[PathStep, ...] | None = None) -> None:
        if path == ("general", "client"):
            value = canonical_client(value)  # `autre` and `other` are one value
        if path in self.inherited:  # a target's own value replaces the shared one
            self.inherited.discard(path)
            old = self.values[path][1]
            if path[0] == "vars" and isinstance(old, dict) and isinstance(value, dict):
                value = _merge_vars(old, value)
            del self.values[path]
            self.places.pop(path, None)
        if path == ("general", "smtp", PROVIDER_KEY) and self.inherited:
            # a target's provider fills server, port and ssl: the shared ones give way
            for key in GENERAL_SMTP_FIELDS:
                shared = ("general", "smtp", key)
                if shared in self.inherited:
                    self.inherited.discard(shared)
                    del self.values[shared]
                    self.places.pop(shared, None)
        if path in self.values:
            first_doc, first_value = self.values[path]
            if first_value != value:
                self.problems.append(doc.problem(
                    place or path, _("also set to a different value at {where}: keep "
                                     "one").format(where=self._where(first_doc, path)),
                    key=True, code="setting-conflict"))
            return
        self.values[path] = (doc, value)
        if place is not None:
            self.places[path] = place

    def add_section(self, doc: Document, name: str, section: Mapping[str, Any]) -> None:
        """A target's own `general` and `vars` (in its entry under `targets`)."""
        base: tuple[PathStep, ...] = ("targets", name)
        general = section.get("general")
        if isinstance(general, dict):
            if "client" in general:
                self.setting(doc, ("general", "client"), general["client"],
                             (*base, "general", "client"))
            smtp = general.get("smtp")
            for key, value in (smtp.items() if isinstance(smtp, dict) else ()):
                self.setting(doc, ("general", "smtp", key), value,
                             (*base, "general", "smtp", key))
        variables = section.get("vars")
        for key, value in (variables.items() if isinstance(variables, dict) else ()):
            self.setting(doc, ("vars", key), value, (*base, "vars", key))

    def named(self, table: dict[str, tuple[Any, Any]], section: str,
              doc: Document | _CsvRow, name: str, value: Any, what: str) -> None:
        if name in table:
            first_doc = table[name][0]
            path: tuple[str, ...] = (section, name) if section else (name,)
            self.problems.append(doc.problem(
                path, _(_DEFINED_TWICE[what]).format(name=name,
                                                     where=self._where(first_doc, path)),
                key=True, code="defined-twice"))
            return
        table[name] = (doc, value)

    def add(self, doc: Document) -> None:
        data = doc.data
        for key in ("default_target", "prune"):
            if key in data and not (doc.scope is not None and key == "default_target"):
                self.setting(doc, (key,), data[key])
        general = data.get("general") or {}
        if "client" in general:
            self.setting(doc, ("general", "client"), general["client"])
        for key, value in (general.get("smtp") or {}).items():
            self.setting(doc, ("general", "smtp", key), value)
        for key, value in (data.get("safety") or {}).items():
            self.setting(doc, ("safety", key), value)
        for key, value in (data.get("vars") or {}).items():
            self.setting(doc, ("vars", key), value)
        for name, value in (data.get("targets") or {}).items() if doc.scope is None else ():
            self.named(self.targets, "targets", doc, name, value, "target")
        for name, value in (data.get("profiles") or {}).items():
            self.named(self.profiles, "profiles", doc, name, value, "profile")
        for key in ("defaults", "all_users", "policy"):
            if key in data:
                self.named(self.singles, "", doc, key, data[key], "section")
        for index, value in enumerate(data.get("selections") or []):
            self.selections.append((doc, index, value))
        for code, value in (data.get("users") or {}).items():
            self.named(self.users, "users", doc, code, value, "user")

    def add_csv(self, users: CsvUsers) -> None:
        for code, entry, position in users.users:
            self.named(self.users, "users", _CsvRow(position.file, position), code, entry,
                       "user")

    def get(self, *path: str, default: Any = None) -> Any:
        entry = self.values.get(path)
        return default if entry is None else entry[1]


_DEFINED_TWICE = {
    "target": N_("target '{name}' is defined twice: here and at {where}; keep one"),
    "profile": N_("profile '{name}' is defined twice: here and at {where}; keep one"),
    "section": N_("section '{name}' is defined twice: here and at {where}; keep one"),
    "user": N_("user '{name}' is defined twice: here and at {where}; keep one"),
}


def _version_problems(documents: Iterable[Document]) -> list[Problem]:
    return [doc.problem((), _("missing `version: 1` at the top of the file"),
                        code="version-missing")
            for doc in documents if doc.is_root and "version" not in doc.data]


def _build(merger: _Merger, documents: list[Document], contents: tuple[tuple[str, bytes], ...],
           locator: DocumentLocator, variables: Mapping[str, Any]) -> tuple[Config,
                                                                            list[Problem]]:
    targets = {}
    for name, (doc, value) in merger.targets.items():
        mapping = value.get("mapping")
        if mapping is not None:
            mapping = os.path.normpath(os.path.join(doc.folder, mapping))
        url = value.get("url")  # None only in a configuration with errors
        targets[name] = Target(name, None if url is None else anchor_sqlite(url, doc.folder),
                               value.get("edition"), mapping, Source(doc.name))
    defaults = EMPTY
    defaults_problem: EntryProblem | None = None
    if "defaults" in merger.singles:
        doc, value = merger.singles["defaults"]
        defaults, defaults_problem = entry_layer(value, "default", doc.name, ("defaults",))
    builder = EntryBuilder({name: (doc.name, value)
                            for name, (doc, value) in merger.profiles.items()}, defaults)
    if defaults_problem is not None:
        builder.problems.append(defaults_problem)
    users = {}
    for code, (origin, value) in merger.users.items():
        kind = "csv" if isinstance(origin, _CsvRow) else "user"
        users[code] = builder.user(code, value, kind, origin.name, ("users", code))
    selections = []
    for doc, index, value in merger.selections:
        if not isinstance(value, dict):
            continue
        match = value.get("match")
        patterns = tuple(p for p in ([match] if isinstance(match, str) else match or [])
                         if isinstance(p, str) and p)
        if not patterns:
            continue
        path: tuple[PathStep, ...] = ("selections", index)
        user = builder.user("", value, "selection", doc.name, path, ", ".join(patterns))
        selections.append(Selection("match", patterns, user, doc.name, path))
    if "all_users" in merger.singles:
        origin, value = merger.singles["all_users"]
        user = builder.user("", value, "all_users", origin.name, ("all_users",))
        selections.append(Selection("all_users", (), user, origin.name, ("all_users",)))
    profiles = {name: resolve_layers("", [builder.layers[name]], Source(doc.name),
                                     listed_by="profile")
                for name, (doc, _value) in merger.profiles.items()}
    if defaults.values or defaults.empty:
        profiles["defaults"] = resolve_layers("", [defaults],
                                              Source(merger.singles["defaults"][0].name),
                                              listed_by="default")
    general, general_sources = _general(merger)
    safety = Safety(
        float(merger.get("safety", "max_change_percent", default=30.0)),
        int(merger.get("safety", "min_existing", default=10)),
        merger.get("safety", "max_changes"),
    )
    origins = {".".join(path): doc.name for path, (doc, _) in merger.values.items()}
    file_vars = {path[1]: value for path, (_doc, value) in merger.values.items()
                 if path[0] == "vars" and len(path) == 2}
    config = Config(
        files=tuple(doc.name for doc in documents),
        contents=contents,
        targets=targets,
        default_target=merger.get("default_target"),
        general=general,
        users=users,
        prune=bool(merger.get("prune", default=False)),
        safety=safety,
        origins=origins,
        locator=locator,
        vars=_merge_vars(file_vars, variables),
        selections=tuple(selections),
        general_sources=general_sources,
        profiles=profiles,
    )
    problems = [locator.problem(p.file, p.path, p.message, key=p.key, code=p.code)
                for p in builder.problems]
    return config, problems


def _general(merger: _Merger) -> tuple[DesiredGeneral, dict[str, ValueSource]]:
    """general: the files' values, a provider's filling server, port and ssl left out."""
    values = {key: merger.get("general", "smtp", key) for key in ("server", "port", "ssl")}
    sources = {key: ValueSource("general", merger.values[("general", "smtp", key)][0].name,
                                merger.place(("general", "smtp", key)))
               for key, value in values.items() if value is not None}
    provider = merger.get("general", "smtp", PROVIDER_KEY)
    if isinstance(provider, str) and provider in preset_names():
        doc = merger.values[("general", "smtp", PROVIDER_KEY)][0]
        filled = ValueSource("preset", doc.name, merger.place(("general", "smtp", PROVIDER_KEY)),
                             provider)
        for key, value in get_preset(provider).settings().items():
            if values[key] is None:
                values[key] = value
                sources[key] = filled
    general = DesiredGeneral(merger.get("general", "client"),
                             SmtpServer(values["server"], values["port"], values["ssl"]))
    return general, sources


_VAR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def parse_variables(assignments: Iterable[str]) -> dict[str, Any]:
    """`--var KEY=VALUE` (KEY may be dotted: `site.city=Québec`) as nested vars; raises
    ConfigError naming each bad one."""
    variables: dict[str, Any] = {}
    problems = []
    for text in assignments:
        key, equals, value = text.partition("=")
        parts = key.strip().split(".")
        if not equals or not all(_VAR_NAME.match(part) for part in parts):
            problems.append(Problem("--var", 0, 0, (), _(
                "'{text}' is not NAME=VALUE (a name is letters, digits and _, starting with a "
                "letter; groups with dots: site.city=Québec)").format(text=key[:60]),
                code="var-invalid"))
            continue
        if any(looks_like_secret(part) for part in parts):
            problems.append(Problem("--var", 0, 0, (), _(
                "variable '{name}' looks like a secret: {how}").format(
                    name=key, how=_(HOW_PASSWORDS_ARE_SET)), code="secret-key"))
            continue
        node = variables
        for part in parts[:-1]:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
            if not isinstance(child, dict):
                node.clear()
        node[parts[-1]] = value
    if problems:
        raise ConfigError(problems)
    return variables


def _merge_vars(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_vars(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
                variables: Mapping[str, Any] | None = None, *,
                replacements: Mapping[Path, bytes] | None = None,
                policy_files: Sequence[str | os.PathLike[str]] = ()) -> Config:
    """Load, check and merge configuration files (and their includes and user lists).

    `variables` (from --var) override the files' `vars`; `replacements` gives the text
    to read instead of some files (to check an edit before writing it); `policy_files`
    are policies kept apart (--policy), in force beside the files' `policy:`. Raises
    ConfigError listing every problem found, sorted by place. Warnings (known traps
    that are not errors) are returned in `Config.warnings`. Policy violations are not
    errors here: `validate` and `plan` say them (mailprov.config.policy).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loader = _Loader(replacements)
    for path in paths or [DEFAULT_CONFIG]:
        loader.load_root(Path(path))
    errors = [p for p in loader.problems if p.severity == "error"]
    warnings = [p for p in loader.problems if p.severity == "warning"]
    errors.extend(_version_problems(loader.documents))
    refused: set[tuple[PathStep, ...]] = set()
    for doc in loader.documents:
        check = check_document(doc)
        errors.extend(check.problems)
        drops = list(check.refused)
        if doc.name in loader.with_refused_values:
            drops.extend((path, False) for path, value in iter_paths(doc.data)
                         if value is INVALID)
        if drops:
            doc.data = _without_refused(doc.data, drops)
            refused.update(path for path, _key in drops)
    errors.extend(_scope_problems(loader.documents))
    positions: dict[str, dict[str, CsvPosition]] = {}
    lists: list[tuple[str | None, CsvUsers]] = []
    for doc, users in loader.csv_lists:
        for code, _entry, position in users.users:
            positions.setdefault(position.file, {})[code] = position
        problems, drops = check_csv_entries(users)
        errors.extend(problems)
        if drops:
            data = _without_refused({"users": {u.code: u.entry for u in users.users}}, drops)
            from mailprov.config.csvusers import CsvUsers

            users = CsvUsers([u._replace(entry=data["users"].get(u.code, {}))
                              for u in users.users], users.problems)
        lists.append((doc.scope, users))
    shared_docs = [doc for doc in loader.documents if doc.scope is None]
    merger = _Merger()
    for doc in shared_docs:
        merger.add(doc)
    for scope, users in lists:
        if scope is None:
            merger.add_csv(users)
    errors.extend(merger.problems)
    locator = DocumentLocator(loader.documents, positions)
    errors.extend(unread_variables(variables or {}, [
        *(doc.data for doc in loader.documents if isinstance(doc.data, dict)),
        *({"users": {u.code: u.entry for u in users.users}} for _scope, users in lists)]))
    config, found = _build(merger, shared_docs, loader.contents(), locator, variables or {})
    errors.extend(found)
    refused.update(problem.path for problem in found)  # no follow-up error for those entries
    scoped: dict[str, tuple[Config, _Merger]] = {}
    for name, (doc, section) in merger.targets.items():
        own = [d for d in loader.documents if d.scope == name]
        if not own and not _has_settings(section):
            continue
        sub = merger.fork()
        sub.singles.pop("policy", None)  # a target's own `policy:` adds to the shared one
        sub.add_section(doc, name, section)
        for own_doc in own:
            sub.add(own_doc)
        for scope, users in lists:
            if scope == name:
                sub.add_csv(users)
        errors.extend(sub.problems)
        if own:  # files of its own: users, profiles... built again with them
            target_config, found = _build(sub, [*shared_docs, *own], loader.contents(name),
                                          locator, variables or {})
            errors.extend(found)
            refused.update(problem.path for problem in found)
        else:  # settings only: the shared users, with its general and vars
            target_config = _with_settings(config, sub, variables or {})
        scoped[name] = (target_config, sub)
    # the shared configuration is checked as such when some target (or a -t URL) uses it
    # as it is; each target with settings of its own is checked as that target sees it
    shared_used = len(scoped) < len(config.targets) or not config.targets
    found = semantic_problems(config, refused) if shared_used else []
    shared_found = {_problem_key(p) for p in found}
    grouped: dict[tuple[Any, ...], tuple[Problem, list[str]]] = {}
    scopes = {}
    for name, (target_config, sub) in scoped.items():
        own_found = [_placed_for(p, name, sub, locator)
                     for p in semantic_problems(target_config, refused, target=name)]
        for problem in own_found:
            key = _problem_key(problem)
            if key not in shared_found:
                grouped.setdefault(key, (problem, []))[1].append(name)
        own_warnings = [p for p in warnings if p.file in target_config.files]
        own_warnings.extend(p for p in own_found if p.severity == "warning")
        own_warnings.sort(key=lambda p: p.sort_key)
        scopes[name] = replace(target_config, warnings=tuple(own_warnings))
    found.extend(_for_targets(problem, names, loader.documents)
                 for problem, names in grouped.values())
    errors.extend(p for p in found if p.severity == "error")
    policies, policy_errors = _policies(merger, locator, policy_files)
    errors.extend(policy_errors)
    own_policies: dict[str, tuple[Policy, ...]] = {}
    for name, (_target_config, sub) in scoped.items():
        target_policy, own_errors = _own_policy(sub, merger, locator)
        errors.extend(own_errors)
        if target_policy:
            own_policies[name] = target_policy
    if errors:
        raise ConfigError(errors)
    if scopes:  # the targets that use the shared files as they are: their own warnings
        shared = [*warnings, *(p for p in found if p.severity == "warning"
                               and _problem_key(p) in shared_found)]
        shared.sort(key=lambda p: p.sort_key)
        plain = replace(config, warnings=tuple(shared))
        scopes.update((name, plain) for name in config.targets if name not in scopes)
    warnings.extend(p for p in found if p.severity == "warning")
    warnings.sort(key=lambda p: p.sort_key)
    scopes = {name: replace(each, policies=(*policies, *own_policies.get(name, ())))
              for name, each in scopes.items()}
    return replace(config, warnings=tuple(warnings), scopes=scopes, policies=policies)


_TARGET_SETTINGS = ("general", "vars")
_NOT_IN_A_TARGET_FILE = ("targets", "default_target")


def _has_settings(section: Any) -> bool:
    return isinstance(section, dict) and any(section.get(key) for key in _TARGET_SETTINGS)


def _scope_problems(documents: Iterable[Document]) -> list[Problem]:
    """A file a target includes for itself cannot define targets."""
    return [doc.problem((key,), _("a file included by target '{name}' cannot set `{key}`: "
                                  "targets are defined in the shared files").format(
                                      name=doc.scope, key=key), key=True,
                        code="include-scope")
            for doc in documents if doc.scope is not None
            for key in _NOT_IN_A_TARGET_FILE if key in doc.data]


def _with_settings(config: Config, merger: _Merger, variables: Mapping[str, Any]) -> Config:
    """The shared configuration with a target's own general and vars (no files of its
    own): the users, profiles and selections are the shared ones, not built again."""
    general, general_sources = _general(merger)
    file_vars = {path[1]: value for path, (_doc, value) in merger.values.items()
                 if path[0] == "vars" and len(path) == 2}
    return replace(config, general=general, general_sources=general_sources,
                   vars=_merge_vars(file_vars, variables),
                   origins={".".join(path): doc.name for path, (doc, _) in merger.values.items()})


def _problem_key(problem: Problem) -> tuple[Any, ...]:
    return (problem.file, problem.line, problem.column, problem.path, problem.message,
            problem.severity)


def _placed_for(problem: Problem, name: str, merger: _Merger,
                locator: DocumentLocator) -> Problem:
    """A problem of a target's configuration, at the target's own value when it is about
    one (the checks name settings by their shared path, `general.smtp.port`)."""
    path = problem.path
    if not path or path[0] not in _TARGET_SETTINGS:
        return problem
    own = [key for key, place in merger.places.items()
           if place[:2] == ("targets", name) and (key[:len(path)] == path
                                                   or path[:len(key)] == key)]
    if not own or merger.values[own[0]][0].name != problem.file:
        return problem
    placed = locator.problem(problem.file, ("targets", name, *path), problem.message,
                             severity=problem.severity, code=problem.code)
    return placed


MAX_NAMED_TARGETS = 5


def _for_targets(problem: Problem, names: list[str], documents: list[Document]) -> Problem:
    """A problem found in some targets' configurations: said once, naming them unless its
    place already does (their own section or files)."""
    own_files = {doc.name for doc in documents if doc.scope in names}
    if problem.path[:2] == ("targets", names[0]) or problem.file in own_files:
        return problem
    shown = ", ".join(in_quotes(name) for name in names[:MAX_NAMED_TARGETS])
    if len(names) > MAX_NAMED_TARGETS:
        shown += _(" and {count} more").format(count=len(names) - MAX_NAMED_TARGETS)
    suffix = ngettext(" (for target {names})", " (for targets {names})", len(names)).format(
        names=shown)
    return problem._replace(message=problem.message + suffix)


def _own_policy(sub: _Merger, shared: _Merger, locator: DocumentLocator
                ) -> tuple[tuple[Policy, ...], list[Problem]]:
    """The `policy:` section of a target's own files, in force for that target beside
    the shared policies, and its problems."""
    from mailprov.config.policy import read_policy

    own = sub.singles.get("policy")
    if own is None or own is shared.singles.get("policy"):
        return (), []
    policy, problems = read_policy(own[0], own[1], locator)
    return ((), problems) if policy is None else ((policy,), problems)


def _policies(merger: _Merger, locator: DocumentLocator,
              files: Sequence[str | os.PathLike[str]]) -> tuple[tuple[Policy, ...],
                                                                list[Problem]]:
    """The files' `policy:` section and the policy files, and their problems."""
    from mailprov.config.policy import load_policy_files, read_policy

    policies: list[Policy] = []
    problems: list[Problem] = []
    if "policy" in merger.singles:
        doc, value = merger.singles["policy"]
        policy, found = read_policy(doc, value, locator)
        problems.extend(found)
        if policy is not None:
            policies.append(policy)
    if files:
        loaded, found = load_policy_files(files)
        policies.extend(loaded)
        problems.extend(found)
    return tuple(policies), problems


def _without_refused(data: dict[str, Any],
                     refused: list[tuple[tuple[PathStep, ...], bool]]) -> dict[str, Any]:
    """A copy of `data` without the values that cannot be used: (path, the key itself is
    wrong) pairs, from the schema and the YAML loader.

    Lets the merge and the semantic checks run on everything else, so every problem is
    reported in one go: a bad port drops that port, not its user. A user or target whose
    whole entry is refused stays, empty, so that its name still counts (a duplicate, the
    default target); one whose name is refused goes.
    """
    import copy

    cleaned = copy.deepcopy(data)
    for path, key in refused:
        if not path:
            return {}
        parent: Any = cleaned
        for step in path[:-1]:
            parent = _child(parent, step)
        last = path[-1]
        if isinstance(parent, dict) and last in parent:
            if not key and len(path) == 2 and path[0] in ("users", "targets", "profiles"):
                parent[last] = {}
            else:
                del parent[last]
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            parent[last] = None
    return cleaned


def _child(node: Any, step: PathStep) -> Any:
    if isinstance(node, dict):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and step < len(node):
        return node[step]
    return None

"""Read configuration files, follow includes, check them and merge them into a Config."""

from __future__ import annotations

import copy
import glob
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mailprov.config.document import Document, DocumentLocator
from mailprov.config.schema import check_document
from mailprov.config.semantic import semantic_problems
from mailprov.config.urls import anchor_sqlite
from mailprov.config.yamlload import INVALID, YamlError, iter_paths, read_file, read_yaml
from mailprov.errors import ConfigError, PathStep, Problem
from mailprov.model import (
    Config,
    DesiredGeneral,
    DesiredOverride,
    DesiredUser,
    Safety,
    SmtpServer,
    Source,
    Target,
)

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

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.problems: list[Problem] = []
        self.loaded: set[Path] = set()
        self.digest_parts: list[tuple[str, bytes]] = []
        self.with_refused_values: set[str] = set()  # names of documents holding INVALID

    def load_root(self, path: Path) -> None:
        name = display_name(path)
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a loop of symbolic links
            self.problems.append(Problem(name, 0, 0, (), "file not found: check the path, "
                                         f"or create it (default name: {DEFAULT_CONFIG})"))
            return
        if not real.is_relative_to(path.absolute().parent.resolve()):
            # a repository's mailprov.yaml may be a link to ~/.pgpass: never read it
            self.problems.append(Problem(name, 0, 0, (), "is a symbolic link to a file outside "
                                         f"its folder ({real}): configuration files may not "
                                         "point out of their folder"))
            return
        self._load(real, name, is_root=True, root_folder=real.parent, chain=())

    def _load(self, real: Path, name: str, *, is_root: bool, root_folder: Path,
              chain: tuple[Path, ...]) -> None:
        if real in self.loaded:
            return
        self.loaded.add(real)
        try:
            data = read_file(real)
        except IsADirectoryError:
            self.problems.append(Problem(name, 0, 0, (), "is a folder, not a file"))
            return
        except OSError as exc:
            self.problems.append(Problem(name, 0, 0, (), f"cannot read the file: {exc.strerror}"))
            return
        try:
            parsed, refusals = read_yaml(data)
        except YamlError as exc:
            self.problems.append(Problem(name, exc.line, exc.column, (), exc.message))
            return
        if refusals:  # the file is read all the same: its other problems count too
            self.with_refused_values.add(name)
            self.problems.extend(Problem(name, r.line, r.column, (), r.message)
                                 for r in refusals)
        text = data.decode("utf-8-sig")
        doc = Document(name, text, parsed, is_root, str(real.parent))
        self.documents.append(doc)
        self.digest_parts.append((os.path.relpath(real, root_folder), data))
        self._check_mapping_paths(doc, root_folder)
        includes = parsed.get("include")
        if isinstance(includes, list):
            for index, pattern in enumerate(includes):
                if isinstance(pattern, str) and pattern:
                    self._include(doc, index, pattern, root_folder, (*chain, real))

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
                self.problems.append(doc.problem(path, "the mapping file must be given relative "
                                                 "to this file's folder, not as an absolute path"))
            elif not Path(doc.folder, mapping).resolve().is_relative_to(root_folder):
                self.problems.append(doc.problem(path, f"'{mapping}' is outside the folder of "
                                                 "the configuration: keep mapping files beside "
                                                 "it"))

    def _include(self, doc: Document, index: int, pattern: str, root_folder: Path,
                 chain: tuple[Path, ...]) -> None:
        path = ("include", index)
        if os.path.isabs(pattern):
            self.problems.append(doc.problem(path, "includes must be relative to this file's "
                                             "folder, not absolute paths"))
            return
        full = os.path.join(doc.folder, pattern)
        if not _inside(os.path.normpath(full), root_folder):  # before globbing `../../**`
            self.problems.append(doc.problem(path, _outside(pattern, root_folder, "includes")))
            return
        link = _folder_link(doc.folder, pattern, root_folder) if "**" in pattern else None
        if link:
            self.problems.append(doc.problem(
                path, f"'**' would follow {link}, a symbolic link to a folder (it may loop, or "
                      "lead out of the folder): list the folders without '**', or remove the link"))
            return
        matches = sorted(glob.glob(full, recursive=True)) if glob.has_magic(pattern) else [full]
        if not matches:
            self.problems.append(doc.problem(path, f"'{pattern}' matches no file: check the "
                                             "pattern, or remove it", severity="warning"))
            return
        for match in matches:
            target = Path(match)
            if not target.exists():
                self.problems.append(doc.problem(path, f"included file '{pattern}' not found"))
                continue
            real = target.resolve()
            if not real.is_relative_to(root_folder):
                self.problems.append(doc.problem(path, _outside(pattern, root_folder,
                                                                "includes")))
                continue
            if real in chain:
                cycle = " -> ".join(display_name(p) for p in (*chain[chain.index(real):], real))
                self.problems.append(doc.problem(path, f"include cycle: {cycle}"))
                continue
            self._load(real, display_name(target), is_root=False, root_folder=root_folder,
                       chain=chain)

    def digest(self) -> str:
        hasher = hashlib.sha256()
        for rel, data in sorted(self.digest_parts):
            hasher.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        return "sha256:" + hasher.hexdigest()


def _inside(path: str, folder: Path, resolve: bool = False) -> bool:
    try:
        return (Path(path).resolve() if resolve else Path(path)).is_relative_to(folder)
    except (OSError, RuntimeError):  # a loop of symbolic links
        return False


def _outside(pattern: str, root_folder: Path, what: str) -> str:
    return (f"'{pattern}' is outside the folder of the configuration "
            f"({display_name(root_folder)}): {what} may not climb out of it")


def _folder_link(folder: str, pattern: str, root_folder: Path) -> str | None:
    """A symbolic link to a folder where a `**` pattern would search, if any.

    glob follows such links: two links to `.` make `**` search 2^40 paths, and a
    link to / searches the whole disk. The walk itself does not follow links.
    """
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


class _Merger:
    """Merges documents; a setting or user defined twice is an error naming both places."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], tuple[Document, Any]] = {}
        self.users: dict[str, tuple[Document, Any]] = {}
        self.targets: dict[str, tuple[Document, Any]] = {}
        self.problems: list[Problem] = []

    def _where(self, doc: Document, path: tuple[Any, ...]) -> str:
        line, column = doc.position(path, key=True)
        return f"{doc.name}:{line}:{column}"

    def setting(self, doc: Document, path: tuple[str, ...], value: Any) -> None:
        if path in self.values:
            first_doc, first_value = self.values[path]
            if first_value != value:
                self.problems.append(doc.problem(
                    path, f"also set to a different value at {self._where(first_doc, path)}: "
                          "keep one", key=True))
            return
        self.values[path] = (doc, value)

    def named(self, table: dict[str, tuple[Document, Any]], section: str, doc: Document,
              name: str, value: Any, what: str) -> None:
        if name in table:
            first_doc = table[name][0]
            self.problems.append(doc.problem(
                (section, name), f"{what} '{name}' is defined twice: here and at "
                f"{self._where(first_doc, (section, name))}; keep one", key=True))
            return
        table[name] = (doc, value)

    def add(self, doc: Document) -> None:
        data = doc.data
        for key in ("default_target", "prune"):
            if key in data:
                self.setting(doc, (key,), data[key])
        general = data.get("general") or {}
        if "client" in general:
            self.setting(doc, ("general", "client"), general["client"])
        for key, value in (general.get("smtp") or {}).items():
            self.setting(doc, ("general", "smtp", key), value)
        for key, value in (data.get("safety") or {}).items():
            self.setting(doc, ("safety", key), value)
        for name, value in (data.get("targets") or {}).items():
            self.named(self.targets, "targets", doc, name, value, "target")
        for code, value in (data.get("users") or {}).items():
            self.named(self.users, "users", doc, code, value, "user")

    def get(self, *path: str, default: Any = None) -> Any:
        entry = self.values.get(path)
        return default if entry is None else entry[1]


def _version_problems(documents: Iterable[Document]) -> list[Problem]:
    return [doc.problem((), "missing `version: 1` at the top of the file")
            for doc in documents if doc.is_root and "version" not in doc.data]


def _build(merger: _Merger, documents: list[Document], digest: str) -> Config:
    targets = {}
    for name, (doc, value) in merger.targets.items():
        mapping = value.get("mapping")
        if mapping is not None:
            mapping = os.path.normpath(os.path.join(doc.folder, mapping))
        url = value.get("url")  # None only in a configuration with errors
        targets[name] = Target(name, None if url is None else anchor_sqlite(url, doc.folder),
                               value.get("edition"), mapping, Source(doc.name))
    users = {}
    for code, (doc, value) in merger.users.items():
        smtp = value.get("smtp")
        override = DesiredOverride.from_section(smtp) if isinstance(smtp, dict) else None
        users[code] = DesiredUser(code, override, Source(doc.name))
    general = DesiredGeneral(
        merger.get("general", "client"),
        SmtpServer(merger.get("general", "smtp", "server"), merger.get("general", "smtp", "port"),
                   merger.get("general", "smtp", "ssl")),
    )
    safety = Safety(
        float(merger.get("safety", "max_change_percent", default=30.0)),
        int(merger.get("safety", "min_existing", default=10)),
        merger.get("safety", "max_changes"),
    )
    origins = {".".join(path): doc.name for path, (doc, _) in merger.values.items()}
    return Config(
        files=tuple(doc.name for doc in documents),
        digest=digest,
        targets=targets,
        default_target=merger.get("default_target"),
        general=general,
        users=users,
        prune=bool(merger.get("prune", default=False)),
        safety=safety,
        origins=origins,
        locator=DocumentLocator(documents),
    )


def load_config(paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str]) -> Config:
    """Load, check and merge configuration files (and their includes).

    Raises ConfigError listing every problem found, sorted by place. Warnings
    (known traps that are not errors) are returned in `Config.warnings`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loader = _Loader()
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
    merger = _Merger()
    for doc in loader.documents:
        merger.add(doc)
    errors.extend(merger.problems)
    config = _build(merger, loader.documents, loader.digest())
    found = semantic_problems(config, refused)
    errors.extend(p for p in found if p.severity == "error")
    if errors:
        raise ConfigError(errors)
    warnings.extend(p for p in found if p.severity == "warning")
    warnings.sort(key=lambda p: p.sort_key)
    return replace(config, warnings=tuple(warnings))


def _without_refused(data: dict[str, Any],
                     refused: list[tuple[tuple[PathStep, ...], bool]]) -> dict[str, Any]:
    """A copy of `data` without the values that cannot be used: (path, the key itself is
    wrong) pairs, from the schema and the YAML loader.

    Lets the merge and the semantic checks run on everything else, so every problem is
    reported in one go: a bad port drops that port, not its user. A user or target whose
    whole entry is refused stays, empty, so that its name still counts (a duplicate, the
    default target); one whose name is refused goes.
    """
    cleaned = copy.deepcopy(data)
    for path, key in refused:
        if not path:
            return {}
        parent: Any = cleaned
        for step in path[:-1]:
            parent = _child(parent, step)
        last = path[-1]
        if isinstance(parent, dict) and last in parent:
            if not key and len(path) == 2 and path[0] in ("users", "targets"):
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

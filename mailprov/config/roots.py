"""Which configuration a file belongs to, for tools that name files one by one.

pre-commit passes the files a commit changes (`users/compta.yaml`), not the file that
includes them; editors complete names from whatever files are there. A root file is one
named with `-c` (or `mailprov.yaml`), or any file that starts a configuration itself
(`version: 1`); every other file is checked through the root that includes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from mailprov.config.load import DEFAULT_CONFIG, _Loader, display_name, load_config
from mailprov.config.yamlload import YamlError, load_yaml, read_file
from mailprov.errors import ConfigError, Problem, in_quotes
from mailprov.i18n import _, ngettext
from mailprov.model import Config, DesiredUser

NOT_INCLUDED = "not-included"


def _loaded(roots: Iterable[str | os.PathLike[str]]) -> _Loader:
    loader = _Loader()
    for root in roots:
        loader.load_root(Path(root))
    return loader


def covered_files(roots: Iterable[str | os.PathLike[str]]) -> set[Path]:
    """The real paths of `roots` and of every file they include (problems ignored)."""
    return set(_loaded(roots).loaded)


def _starts_a_configuration(path: str) -> bool:
    """True for a YAML file with a top-level `version` key."""
    try:
        data = load_yaml(read_file(Path(path)))
    except (YamlError, OSError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "version" in data


class Validation(msgspec.Struct, frozen=True):
    """The outcome of checking files offline: every configuration they belong to, and
    every problem found (errors and warnings)."""

    roots: tuple[tuple[str, ...], ...]
    configs: tuple[Config, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity != "error")

    @property
    def valid(self) -> bool:
        return not self.errors

    def files(self) -> list[str]:
        """Every file read, the targets' own included."""
        return sorted({f for c in self.configs for config in (c, *c.scopes.values())
                       for f in config.files})

    def _users(self) -> list[DesiredUser]:
        """Every user entry: the shared ones, and those a target reads for itself alone."""
        found: list[DesiredUser] = []
        for config in self.configs:
            found.extend(config.users.values())
            for scope in config.scopes.values():
                found.extend(u for code, u in scope.users.items() if code not in config.users)
        return found

    def counts(self) -> dict[str, int]:
        files = set(self.files())
        users = self._users()
        overrides = sum(1 for u in users if u.override is not None)
        office365 = sum(1 for u in users if u.office365 is not None)
        targets = sum(len(c.targets) for c in self.configs)
        return {"files": len(files), "users": len(users), "overrides": overrides,
                "office365": office365, "targets": targets, "errors": len(self.errors),
                "warnings": len(self.warnings)}

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "roots": [list(r) for r in self.roots],
            "files": self.files(),
            "summary": self.counts(),
            "problems": [problem_record(p) for p in self.problems],
        }


def problem_record(problem: Problem) -> dict[str, Any]:
    """A problem as `validate --format json` gives it. `code` is the rule's stable name
    where it has one, else `error` or `warning`."""
    return {"file": problem.file, "line": problem.line, "column": problem.column,
            "path": problem.dotted_path, "message": problem.message,
            "code": problem.code or problem.severity, "severity": problem.severity}


def validate_files(files: Sequence[str], roots: Sequence[str] = (),
                   variables: Mapping[str, Any] | None = None,
                   policy_files: Sequence[str] = ()) -> Validation:
    """Check `roots` (default: ./mailprov.yaml when it exists) and every file of
    `files`: a root is checked as a configuration of its own, any other file through
    the root that includes it; a file that is neither is a problem that says so.
    The policies (the files' own, and `policy_files`) are checked as far as the files
    tell: a violation is an error."""
    if not roots and (not files or os.path.exists(DEFAULT_CONFIG)):
        roots = [DEFAULT_CONFIG]
    sets: list[tuple[str, ...]] = [tuple(roots)] if roots else []
    # the roots' includes are only looked up for named files (the roots are read twice then)
    covered = covered_files(roots) if roots and files else set()
    problems: list[Problem] = []
    for name in files:
        try:
            real = Path(name).resolve(strict=True)
        except (OSError, RuntimeError):
            problems.append(Problem(name, 0, 0, (), _("file not found: check the path"),
                                    code="file-not-found"))
            continue
        if real in covered:
            continue
        if _starts_a_configuration(name):
            sets.append((name,))
            covered |= covered_files([name])
            continue
        where = ", ".join(display_name(Path(r)) for r in roots) or DEFAULT_CONFIG
        problems.append(Problem(name, 0, 0, (), _(
            "is neither a configuration file (it has no `version: 1`) nor included by "
            "{roots}: add it to `include:` there, or check it with -c {file}").format(
                roots=where, file=name), code=NOT_INCLUDED))
    configs = []
    for root_set in sets:
        try:
            config = load_config(list(root_set), variables, policy_files=policy_files)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        configs.append(config)
        problems.extend(config.warnings)
        problems.extend(_policy_problems(config))
    problems.sort(key=lambda p: (p.sort_key, p.message))
    return Validation(tuple(sets), tuple(configs), tuple(problems))


def _policy_problems(config: Config) -> list[Problem]:
    """Policy violations the files alone show, for each target as it sees the files (its
    own settings, files and policy), each said once."""
    from mailprov.config.policy import policy_problems

    views = config.scopes or {"": config}
    checked: dict[int, list[Problem]] = {}
    found: dict[tuple[str, int, int, str], tuple[Problem, list[str]]] = {}
    for name, each in views.items():
        if id(each) not in checked:
            checked[id(each)] = policy_problems(each) if each.policies else []
        for problem in checked[id(each)]:
            key = (problem.file, problem.line, problem.column, problem.message)
            found.setdefault(key, (problem, []))[1].append(name)
    out = []
    for problem, names in found.values():
        if len(names) < len(views):  # not every target: say which
            shown = ", ".join(in_quotes(name) for name in names)
            problem = problem._replace(message=problem.message + ngettext(
                " (for target {names})", " (for targets {names})", len(names)).format(
                    names=shown))
        out.append(problem)
    return out


def names_in_files(roots: Sequence[str]) -> tuple[list[str], list[str]]:
    """Target names and user codes written in `roots` and their includes, without
    checking anything: what shell completion offers. Never raises."""
    try:
        loader = _loaded(roots or [DEFAULT_CONFIG])
    except Exception:  # completion must never print a traceback into a shell
        return [], []
    targets: list[str] = []
    users: list[str] = []
    for doc in loader.documents:
        data = doc.data if isinstance(doc.data, dict) else {}
        for key, out in (("targets", targets), ("users", users)):
            section = data.get(key)
            if isinstance(section, dict):
                out.extend(str(name) for name in section)
    return sorted(set(targets)), sorted(set(users))

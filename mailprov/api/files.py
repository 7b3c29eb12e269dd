"""The configuration files: load, check offline, their policies and JSON Schema."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailprov.model import Config, Policy

if TYPE_CHECKING:
    from mailprov.config.roots import Validation


def load_config(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
    variables: Mapping[str, Any] | Sequence[str] | None = None, *,
    policy_files: Sequence[str | os.PathLike[str]] = (),
) -> Config:
    """Load, validate and merge configuration files (see mailprov.config).

    `variables` override the files' `vars` for templates: a mapping, or `KEY=VALUE`
    texts as `--var` gives them (`site.city=Québec` sets a group's value).
    `policy_files` are policies kept in files of their own (`--policy`), in force
    beside the files' `policy:` section (`Config.policies`)."""
    from mailprov.config import DEFAULT_CONFIG
    from mailprov.config import load_config as _load
    from mailprov.config.load import parse_variables

    if isinstance(paths, (str, os.PathLike)):  # one file, not a sequence of characters
        paths = [paths]
    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)
    return _load(list(paths) if paths else [DEFAULT_CONFIG], variables,
                 policy_files=policy_files)


def load_policies(paths: Sequence[str | os.PathLike[str]]) -> tuple[Policy, ...]:
    """Policies kept in files of their own (`--policy`), for a command that reads no
    configuration (`apply PLAN`); ConfigError names every problem of the files."""
    from mailprov.config.policy import load_policy_files
    from mailprov.errors import ConfigError

    policies, problems = load_policy_files(paths)
    if problems:
        raise ConfigError(problems)
    return policies


def schema_text(mapping: bool = False) -> str:
    """The JSON Schema of configuration files (or of mapping files)."""
    from mailprov.config.schema import mapping_schema_text, schema_text

    return mapping_schema_text() if mapping else schema_text()


def validate(files: Sequence[str] = (), configs: Sequence[str] = (), *,
             variables: Mapping[str, Any] | Sequence[str] | None = None,
             policy_files: Sequence[str] = ()) -> Validation:
    """Check files offline (no database): `configs` as one configuration (default
    ./mailprov.yaml), and each of `files` through the root that includes it, as
    pre-commit passes them (mailprov.config.roots). `variables` as for load_config;
    `policy_files` are policies kept apart (--policy), checked beside the files' own."""
    from mailprov.config.load import parse_variables
    from mailprov.config.roots import validate_files

    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)
    return validate_files(list(files), list(configs), variables, list(policy_files))


"""Read a mapping file: YAML checked against its schema, with the same loader and
messages as configuration files, turned into a DbMapping."""

from __future__ import annotations

from pathlib import Path

from mailprov.config.document import Document
from mailprov.config.load import display_name
from mailprov.config.schema import schema_problems
from mailprov.config.yamlload import YamlError, load_yaml, read_file
from mailprov.errors import ConfigError, MappingError, Problem
from mailprov.model.mapping import REFERENCE, DbMapping, mapping_from_data


def load_mapping(path: str | Path | None) -> DbMapping:
    """Read and validate a mapping file; None gives the reference model."""
    if path is None:
        return REFERENCE
    name = display_name(Path(path))
    try:
        raw = read_file(path)  # a regular file, bounded
    except OSError as exc:
        raise MappingError(f"{name}: cannot read the mapping file: {exc.strerror}") from None
    try:
        data = load_yaml(raw)
    except YamlError as exc:
        raise ConfigError([Problem(name, exc.line, exc.column, (), exc.message)]) from None
    problems = schema_problems(Document(name, raw.decode("utf-8-sig"), data, True), "mapping")
    if problems:
        raise ConfigError(problems)
    return mapping_from_data(data, name)

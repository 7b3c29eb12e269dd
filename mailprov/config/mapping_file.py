"""Read a mapping file: YAML checked against its schema, with the same loader and
messages as configuration files, turned into a DbMapping."""

from __future__ import annotations

from pathlib import Path

from mailprov.config.document import Document
from mailprov.config.load import display_name
from mailprov.config.schema import schema_problems
from mailprov.config.yamlload import YamlError, load_yaml, read_file
from mailprov.errors import ConfigError, MappingError, Problem
from mailprov.i18n import _
from mailprov.model.mapping import (
    REFERENCE,
    DbMapping,
    is_codec_name,
    mapping_from_data,
    naming_problems,
)

CODEC_KEY = "password_codec"


def load_mapping(path: str | Path | None) -> DbMapping:
    """Read and validate a mapping file; None gives the reference model."""
    if path is None:
        return REFERENCE
    name = display_name(Path(path))
    try:
        raw = read_file(path)  # a regular file, bounded
    except OSError as exc:
        raise MappingError(_("{name}: cannot read the mapping file: {reason}").format(
            name=name, reason=exc.strerror)) from None
    try:
        data = load_yaml(raw)
    except YamlError as exc:
        raise ConfigError([Problem(name, exc.line, exc.column, exc.path, exc.message,
                                   code=exc.code)]) from None
    doc = Document(name, raw.decode("utf-8-sig"), data, True)
    problems = schema_problems(doc, "mapping") + _codec_problems(doc)
    if problems:
        raise ConfigError(problems)
    mapping = mapping_from_data(data, name)
    naming = naming_problems(mapping)
    if naming:
        raise ConfigError([Problem(name, 0, 0, (), message, code="mapping-invalid")
                           for message in naming])
    return mapping


def _codec_problems(doc: Document) -> list[Problem]:
    """`password_codec` checked here: the schema checker does not report values under keys
    that look like secrets (in configuration files those keys are errors of their own)."""
    data = doc.data
    if not isinstance(data, dict) or CODEC_KEY not in data or is_codec_name(data[CODEC_KEY]):
        return []
    return [doc.problem((CODEC_KEY,), _(
        "must be the name of a password codec: letters, digits, '.', '_' or '-' (for "
        "example fernet, or the name a codec package declares in the entry-point group "
        "mailprov.password_codecs)"), code="mapping-invalid")]

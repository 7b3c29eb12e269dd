"""Where each logical field lives in a maestro* database.

The reference model of SPEC.md is the default; a mapping file renames tables
and columns (and translates stored client/edition values) for a real
installation, without code changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from mailprov.errors import ConfigError, MappingError

GENERAL_COLUMNS = {"edition": "edition", "client": "mail_client", "server": "smtp_server",
                   "port": "smtp_port", "ssl": "smtp_ssl"}
USER_COLUMNS = {"code": "code", "name": "name", "override": "mail_override",
                "username": "smtp_username", "from": "from_address", "server": "smtp_server",
                "port": "smtp_port", "ssl": "smtp_ssl", "password": "smtp_password",
                "password_set_at": "password_set_at"}


@dataclass(frozen=True)
class DbMapping:
    """Resolved table/column names and stored-value translations."""

    schema: str | None = None
    general_table: str = "general_config"
    general_key_column: str = "id"
    general_key_value: int | str = 1
    general_columns: Mapping[str, str] = field(default_factory=lambda: dict(GENERAL_COLUMNS))
    client_values: Mapping[str, int | str] | None = None
    edition_values: Mapping[str, int | str] | None = None
    users_table: str = "app_user"
    user_columns: Mapping[str, str] = field(default_factory=lambda: dict(USER_COLUMNS))
    source: str | None = None

    @property
    def is_reference(self) -> bool:
        return self.to_json() is None

    def to_json(self) -> dict[str, Any] | None:
        """The mapping as saved in a plan (None for the reference model)."""
        data: dict[str, Any] = {"version": 1}
        if self.schema:
            data["schema"] = self.schema
        general: dict[str, Any] = {}
        if self.general_table != "general_config":
            general["table"] = self.general_table
        if self.general_key_column != "id":
            general["key_column"] = self.general_key_column
        if self.general_key_value != 1:
            general["key_value"] = self.general_key_value
        changed = {k: v for k, v in self.general_columns.items() if GENERAL_COLUMNS[k] != v}
        if changed:
            general["columns"] = changed
        if self.client_values:
            general["client_values"] = dict(self.client_values)
        if self.edition_values:
            general["edition_values"] = dict(self.edition_values)
        if general:
            data["general"] = general
        users: dict[str, Any] = {}
        if self.users_table != "app_user":
            users["table"] = self.users_table
        changed = {k: v for k, v in self.user_columns.items() if USER_COLUMNS[k] != v}
        if changed:
            users["columns"] = changed
        if users:
            data["users"] = users
        return None if data == {"version": 1} else data


REFERENCE = DbMapping()


def mapping_from_data(data: Mapping[str, Any], source: str | None = None) -> DbMapping:
    """Build a DbMapping from already-validated data (a mapping file or a saved plan)."""
    general = data.get("general") or {}
    users = data.get("users") or {}
    return DbMapping(
        schema=data.get("schema"),
        general_table=general.get("table", "general_config"),
        general_key_column=general.get("key_column", "id"),
        general_key_value=general.get("key_value", 1),
        general_columns={**GENERAL_COLUMNS, **(general.get("columns") or {})},
        client_values=general.get("client_values"),
        edition_values=general.get("edition_values"),
        users_table=users.get("table", "app_user"),
        user_columns={**USER_COLUMNS, **(users.get("columns") or {})},
        source=source,
    )


def mapping_schema() -> dict[str, Any]:
    text = resources.files("mailprov").joinpath("schemas/mapping.schema.json").read_text("utf-8")
    return json.loads(text)


def load_mapping(path: str | Path | None) -> DbMapping:
    """Read and validate a mapping file; None gives the reference model."""
    if path is None:
        return REFERENCE
    from jsonschema import Draft202012Validator

    from mailprov.config.document import Document
    from mailprov.config.load import display_name
    from mailprov.config.schema import describe
    from mailprov.config.yamlload import YamlError, load_yaml, read_file
    from mailprov.errors import Problem

    name = display_name(Path(path))
    try:
        raw = read_file(path)  # a regular file, bounded
    except OSError as exc:
        raise MappingError(f"{name}: cannot read the mapping file: {exc.strerror}") from None
    try:
        data = load_yaml(raw)
    except YamlError as exc:
        raise ConfigError([Problem(name, exc.line, exc.column, exc.path, exc.message)]) from None
    doc = Document(name, raw.decode("utf-8-sig"), data, True)
    problems = []
    for error in Draft202012Validator(mapping_schema()).iter_errors(data):
        path_ = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed)):
                problems.append(doc.problem((*path_, key), f"unknown key '{key}' (allowed: "
                                            f"{', '.join(allowed)})", key=True))
        elif error.validator == "type":
            problems.append(doc.problem(path_, f"expected {error.validator_value}, got "
                                        f"{describe(error.instance)}"))
        else:
            problems.append(doc.problem(path_, error.message[:200]))
    if problems:
        raise ConfigError(problems)
    return mapping_from_data(data, name)

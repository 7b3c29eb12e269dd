"""Where each logical field lives in a maestro* database, and how its passwords are stored.

The reference model (docs/database.md) is the default; a mapping file (read by
mailprov.config.mapping_file) renames tables and columns, translates stored
client/edition/mode values, names the password codec (docs/password-codecs.md), and
may declare the model version, for a real installation without code changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from mailprov.i18n import _
from mailprov.model.settings import OFFICE365, OVERRIDE

GENERAL_COLUMNS = {"edition": "edition", "client": "mail_client", "server": "smtp_server",
                   "port": "smtp_port", "ssl": "smtp_ssl"}
USER_COLUMNS = {"number": "user_no", "code": "code", "name": "name",
                "override": "mail_override",
                **{f.name: f.column for f in OVERRIDE},
                "password": "smtp_password", "password_set_at": "password_set_at",
                # model version 2 (maestro* 3.05): the per-user mode and the Office 365 account
                "mode": "mail_mode", **{f.name: f.column for f in OFFICE365},
                "authenticated_at": "o365_authenticated_at"}
VERSION2_USER_FIELDS = ("mode", *(f.name for f in OFFICE365), "authenticated_at")
"""The users' columns that only a version-2 schema has (how mailprov.db.version tells)."""
DEFAULT_PASSWORD_CODEC = "fernet"
_CODEC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def is_codec_name(value: object) -> bool:
    """Whether `value` can name a password codec (an entry point name: `fernet`,
    `acme-maestro`); the mapping schema says the same."""
    return isinstance(value, str) and _CODEC_NAME.fullmatch(value) is not None


class DbMapping(msgspec.Struct, frozen=True):
    """Resolved table/column names and stored-value translations."""

    schema: str | None = None
    general_table: str = "general_config"
    general_key_column: str = "id"
    general_key_value: int | str = 1
    general_columns: Mapping[str, str] = msgspec.field(
        default_factory=lambda: dict(GENERAL_COLUMNS))
    client_values: Mapping[str, int | str] | None = None
    edition_values: Mapping[str, int | str] | None = None
    users_table: str = "app_user"
    user_columns: Mapping[str, str] = msgspec.field(default_factory=lambda: dict(USER_COLUMNS))
    source: str | None = None
    # the codec `mailprov password set` stores SMTP passwords with (an entry point of the
    # `mailprov.password_codecs` group): maestro*'s own format on a real installation
    password_codec: str = DEFAULT_PASSWORD_CODEC
    # the reference model version the mapping file declares (None: read from the schema)
    model_version: int | None = None
    # how `mail_mode` stores each per-user mode (`general` is the value of a user who
    # follows the general mode; NULL when not given), when not as smtp/office365
    mode_values: Mapping[str, int | str] | None = None

    @property
    def is_reference(self) -> bool:
        return self.to_json() is None

    def to_json(self) -> dict[str, Any] | None:
        """The mapping as saved in a plan (None for the reference model)."""
        data: dict[str, Any] = {"version": 1}
        if self.model_version is not None:
            data["model_version"] = self.model_version
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
        if self.mode_values:
            users["mode_values"] = dict(self.mode_values)
        if users:
            data["users"] = users
        if self.password_codec != DEFAULT_PASSWORD_CODEC:
            data["password_codec"] = self.password_codec
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
        password_codec=data.get("password_codec") or DEFAULT_PASSWORD_CODEC,
        model_version=data.get("model_version"),
        mode_values=users.get("mode_values"),
    )


def naming_problems(mapping: DbMapping) -> list[str]:
    """What a mapping names that no database can hold: the users' and the general
    configuration's table as one table, or two fields of one table in one column (a
    write of one would overwrite the other)."""
    problems = []
    if mapping.users_table.lower() == mapping.general_table.lower():
        problems.append(_("users.table and general.table both name '{table}': they are two "
                          "tables; name each").format(table=mapping.users_table))
    for section, columns in (("general", mapping.general_columns),
                             ("users", mapping.user_columns)):
        seen: dict[str, str] = {}
        for name, column in columns.items():
            other = seen.setdefault(column.lower(), name)
            if other != name:
                problems.append(_("{section}.columns: `{other}` and `{name}` both name column "
                                  "'{column}': give each field its own column").format(
                                      section=section, other=other, name=name, column=column))
    return problems

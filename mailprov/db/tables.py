"""SQLAlchemy Core tables for the reference model, named through a DbMapping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from mailprov.db import livestate
from mailprov.db.livestate import state_fields as state_fields  # where it used to live
from mailprov.model import OFFICE365, OVERRIDE, DbMapping

HISTORY_TABLE = "mailprov_history"


def write_order(version: int) -> tuple[str, ...]:
    """The logical user columns apply may write, in the users table's column order."""
    return state_fields(version)[2:]


@dataclass(frozen=True)
class Tables:
    """The three tables mailprov touches, the mapping that named them, and the reference
    model version they follow (the version-2 columns exist only in version 2)."""

    mapping: DbMapping
    general: Table
    users: Table
    history: Table
    key: str = ""  # identifies the mapping: statements compiled for these tables are cached by it
    version: int = 1

    def gcol(self, field: str) -> Column[Any]:
        return self.general.c[self.mapping.general_columns[field]]

    def ucol(self, field: str) -> Column[Any]:
        return self.users.c[self.mapping.user_columns[field]]

    @property
    def state_fields(self) -> tuple[str, ...]:
        return state_fields(self.version)

    @property
    def user_fields(self) -> tuple[str, ...]:
        """What plan reads of a user: the name, the stored state, and from version 2 when
        the user last authenticated with Office 365 (not fingerprinted: maestro* writes
        it, and a user signing in between plan and apply changes nothing planned)."""
        return livestate.user_fields(self.version)

    @property
    def write_order(self) -> tuple[str, ...]:
        return write_order(self.version)


def _stored_type(values: Mapping[str, int | str] | None, default: TypeEngine[Any]
                 ) -> TypeEngine[Any]:
    """Integer when a mapping stores client/edition values as numbers."""
    if values and all(isinstance(v, int) for v in values.values()):
        return Integer()
    return default


class LongText(TypeDecorator[str]):
    """TEXT, and LONGTEXT on MySQL/MariaDB, whose TEXT holds 64 KiB: too small for the
    changes of a bulk apply. The MySQL type is imported only when that dialect uses it,
    so that other databases do not load the MySQL dialect."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import LONGTEXT

            return LONGTEXT()
        return self.impl_instance


_COLUMN_TYPES: dict[type, Any] = {
    str: lambda: String(255),
    int: Integer,
    bool: lambda: Boolean(create_constraint=False),
}

_BUILT: dict[str, Tables] = {}


def build_tables(mapping: DbMapping, version: int | None = None) -> Tables:
    """Table objects for the mapped names (no reflection, no query), for model `version`
    (default: the one the mapping declares, else 1; mailprov.db.version reads a target's).

    Building SQLAlchemy tables costs milliseconds, so one set is kept per mapping.
    """
    if version is None:
        version = mapping.model_version or 1
    key = json.dumps([mapping.to_json(), mapping.source, version], sort_keys=True)
    if key not in _BUILT:
        _BUILT[key] = _build_tables(mapping, key, version)
    return _BUILT[key]


def _build_tables(mapping: DbMapping, key: str, version: int) -> Tables:
    metadata = MetaData(schema=mapping.schema)
    g = mapping.general_columns
    key_type = Integer() if isinstance(mapping.general_key_value, int) else String(64)
    general = Table(
        mapping.general_table, metadata,
        Column(mapping.general_key_column, key_type, primary_key=True, autoincrement=False),
        Column(g["edition"], _stored_type(mapping.edition_values, String(16)), nullable=False,
               server_default="standard" if not mapping.edition_values else None),
        Column(g["client"], _stored_type(mapping.client_values, String(16)), nullable=False,
               server_default="outlook" if not mapping.client_values else None),
        Column(g["server"], String(255)),
        Column(g["port"], Integer()),
        Column(g["ssl"], Boolean(create_constraint=False), nullable=False,
               server_default=false()),
    )
    u = mapping.user_columns
    users = Table(
        mapping.users_table, metadata,
        Column(u["number"], Integer(), primary_key=True, autoincrement=False),
        Column(u["code"], String(255), nullable=False, unique=True),
        Column(u["name"], String(255), nullable=False),
        Column(u["override"], Boolean(create_constraint=False), nullable=False,
               server_default=false()),
        *(Column(u[f.name], _COLUMN_TYPES[f.kind]()) for f in OVERRIDE),
        Column(u["password"], Text()),
        Column(u["password_set_at"], DateTime()),
        *(_version2_columns(mapping) if version >= 2 else ()),
    )
    history = Table(
        HISTORY_TABLE, metadata,
        Column("id", Integer(), primary_key=True, autoincrement=True),
        Column("applied_at", DateTime(), nullable=False),
        Column("target", String(255), nullable=False),
        Column("os_user", String(255), nullable=False),
        Column("host", String(255), nullable=False),
        Column("config_digest", String(80)),
        Column("base_digest", String(80), nullable=False),
        Column("git_commit", String(64)),
        Column("summary", String(255), nullable=False),
        Column("changes", LongText(), nullable=False),
    )
    return Tables(mapping, general, users, history, key, version)


def _version2_columns(mapping: DbMapping) -> list[Column[Any]]:
    """maestro* 3.05's per-user mode, Office 365 account and authentication date."""
    u = mapping.user_columns
    return [Column(u["mode"], _stored_type(mapping.mode_values, String(16))),
            *(Column(u[f.name], _COLUMN_TYPES[f.kind]()) for f in OFFICE365),
            Column(u["authenticated_at"], DateTime())]

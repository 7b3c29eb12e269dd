"""Which version of the reference model a target follows, read from its schema.

maestro* 3.05 (model version 2) adds optional columns to the users table: the
per-user mode, the Office 365 address and when the user authenticated. A target
whose users table has them is version 2; one that has none of them is version 1.
A mapping file may declare the version instead (`model_version:`), and then no
query is made. Otherwise one query, whatever the number of users, reads the
table's column names (a `SELECT *` that returns no row: no catalogue privileges or
schema search rules involved); the answer is kept per engine and tables for the
life of the process, so a process that plans and applies, or serves many
targets, asks once per database.

The mapping is checked against the version here too: the client values a mapping
lists must be the ones that version offers.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, false, literal_column, select

from mailprov.db.tables import Tables, build_tables
from mailprov.errors import MappingError
from mailprov.i18n import _
from mailprov.model.mapping import VERSION2_USER_FIELDS, DbMapping
from mailprov.model.versions import VERSIONS

if TYPE_CHECKING:
    from mailprov.db.backends import Backend

_DETECTED: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def forget_detected() -> None:
    """Forget every version read so far (a sandbox was just created: the same database
    may now have other tables)."""
    _DETECTED.clear()


def versioned(conn: Connection, tables: Tables, backend: Backend) -> Tables:
    """`tables` for the model version of the database behind `conn`: the mapping's
    declared version, else the one its schema shows (one query per engine and tables
    for the process). Raises MappingError when the schema has some of the version-2
    columns but not all, or when the mapping's values do not fit the version."""
    mapping = tables.mapping
    declared = mapping.model_version
    if declared is not None:
        number = declared
    else:
        found = _DETECTED.setdefault(conn.engine, {})
        known = found.get(tables.key)
        if known is None:
            known = found[tables.key] = _read_version(conn, tables, backend)
        number = known
    check_mapping(mapping, number)
    return tables if tables.version == number else build_tables(mapping, number)


def _read_version(conn: Connection, tables: Tables, backend: Backend) -> int:
    from mailprov.db.read import run_query

    query: Any = select(literal_column("*")).select_from(tables.users).where(false())
    result = run_query(conn, tables, backend, query)
    names = {str(name).lower() for name in list(result.keys())}
    result.close()
    columns = {field: tables.mapping.user_columns[field] for field in VERSION2_USER_FIELDS}
    present = [f for f, column in columns.items() if column.lower() in names]
    if not present:
        return 1
    if len(present) == len(columns):
        return 2
    missing = [columns[f] for f in columns if f not in present]
    where = (_("mapping file {file}").format(file=tables.mapping.source)
             if tables.mapping.source else _("reference model"))
    raise MappingError(_(
        "table '{table}' has {present} but not {missing} ({where}): maestro* 3.05 (model "
        "version 2) has all of them, earlier versions none. Map the missing columns in the "
        "mapping file, or declare `model_version: 1` there to leave Office 365 aside").format(
            table=tables.users.name, present=", ".join(columns[f] for f in present),
            missing=", ".join(missing), where=where))


def check_mapping(mapping: DbMapping, number: int) -> None:
    """The mapping's stored client values must name exactly the clients of version
    `number` (a 3.05 installation has `office365` and no `lotus_notes`)."""
    values = mapping.client_values
    if not values:
        return
    model = VERSIONS[number]
    missing = [c for c in model.clients if c not in values]
    extra = [c for c in values if c not in model.clients]
    if not missing and not extra:
        return
    where = mapping.source or _("the mapping")
    parts = []
    if missing:
        parts.append(_("it lacks {clients}").format(clients=", ".join(missing)))
    if extra:
        parts.append(_("it has {clients}, which this version does not offer").format(
            clients=", ".join(extra)))
    raise MappingError(_(
        "{where}: general.client_values do not fit model version {version} (maestro* "
        "{maestro}, clients {clients}): {problems}. Fix client_values, or declare the right "
        "`model_version:`").format(where=where, version=number, maestro=model.maestro,
                                   clients=", ".join(model.clients),
                                   problems="; ".join(parts)))

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

from mailprov.db.livestate import check_mapping, version_columns
from mailprov.db.tables import Tables, build_tables
from mailprov.errors import MappingError
from mailprov.i18n import _

if TYPE_CHECKING:
    from mailprov.db.backends import Backend

_DETECTED: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def forget_detected() -> None:
    """Forget every version read so far (a sandbox was just created: the same database
    may now have other tables)."""
    from mailprov.db.sqlitefile import forget_versions

    _DETECTED.clear()
    forget_versions()


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
    names = list(result.keys())
    result.close()
    present, missing = version_columns(tables.mapping, names)
    if not present:
        return 1
    if not missing:
        return 2
    where = (_("mapping file {file}").format(file=tables.mapping.source)
             if tables.mapping.source else _("reference model"))
    raise MappingError(_(
        "table '{table}' has {present} but not {missing} ({where}): maestro* 3.05 (model "
        "version 2) has all of them, earlier versions none. Map the missing columns in the "
        "mapping file, or declare `model_version: 1` there to leave Office 365 aside").format(
            table=tables.users.name, present=", ".join(present),
            missing=", ".join(missing), where=where))

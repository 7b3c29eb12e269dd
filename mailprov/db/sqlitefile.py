"""Plan's read of a SQLite file through the standard sqlite3 module, without SQLAlchemy.

Why: importing SQLAlchemy is most of what a small company waits for when it runs
`mailprov plan` on SQLite (bench/run.py, the 50-user figure). This reader sends the
queries mailprov.db.read sends, in SQL written here, and hands the rows to
mailprov.db.livestate as that reader does; tests/test_sqlite_file_reader.py holds the
two to the same answers.

It takes only the plain case: a file named by a plainly written URL, tables in the main
schema, and queries that succeed. For anything else it returns None and the caller
reads through SQLAlchemy, whose errors name the problem (a missing file, table or
column, a value it cannot read). It reports two errors itself, as that reader would:
a database kept busy by another connection beyond the lock timeout (waiting the same
time again would tell nothing more), and a mapping whose client values do not fit the
model version (mailprov.db.livestate.check_mapping).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from stat import S_ISREG
from urllib.parse import quote

from mailprov.config.urls import anchor_sqlite, plain_sqlite_path
from mailprov.db import livestate
from mailprov.db.livestate import GENERAL_FIELDS
from mailprov.db.timeouts import timeouts_from_env
from mailprov.errors import DatabaseError
from mailprov.i18n import _
from mailprov.model import DbMapping, LiveState

LISTENERS: list[Callable[[str], None]] = []
"""Called with each statement this reader sends (round-trip counts in tests and bench/)."""

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

_VERSIONS: dict[tuple[str, int, int, str], int] = {}
"""The model version read from each file (its path, device and inode: a file made anew
in its place, or elsewhere on a reused inode, is read again) and mapping, kept for the
process as mailprov.db.version keeps it per engine (forget_versions clears it)."""


def forget_versions() -> None:
    """Forget every version read so far (a sandbox was just made: new tables)."""
    _VERSIONS.clear()


def read_live_file(url: str, mapping: DbMapping, *, lock_timeout: float = 10.0
                   ) -> LiveState | None:
    """The live state of the SQLite file `url` names, read-only, in the queries of
    mailprov.db.read.read_live_state; None when this reader does not take the case (see
    the module's docstring). A relative path is the working folder's, as for
    mailprov.db.database.open_database."""
    timeouts_from_env()  # a wrong MAILPROV_DB_*TIMEOUT is refused whatever the database
    anchored = anchor_sqlite(url, os.getcwd())
    path = plain_sqlite_path(anchored)
    if path is None or mapping.schema:
        return None
    path = os.path.abspath(path)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):
        return None
    try:
        conn = sqlite3.connect("file:" + quote(path) + "?mode=ro", uri=True,
                               timeout=lock_timeout, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        if LISTENERS:
            conn.set_trace_callback(_tell_listeners)
        file_key = (path, stat.st_dev, stat.st_ino, _mapping_key(mapping))
        return _read(conn, mapping, file_key)
    except sqlite3.Error as exc:
        if exc.sqlite_errorcode & 0xFF in _BUSY:  # the primary code, not the message's words
            raise DatabaseError(_("{action} {url} failed: {text}").format(
                action=_("reading"), url=anchored, text=exc)) from None
        return None
    finally:
        conn.close()


def _tell_listeners(statement: str) -> None:
    for listener in LISTENERS:
        listener(statement)


# The only text these statements interpolate: identifiers from the mapping, quoted here
# (a `"` doubled), as SQLAlchemy quotes them; values are always bound parameters.
# tests/test_sql_injection.py holds the statements to that.


def _name(identifier: str) -> str:
    """An identifier quoted for SQLite."""
    return '"' + identifier.replace('"', '""') + '"'


def _column(table: str, column: str) -> str:
    """A qualified column: SQLite takes an unknown bare "name" for a string, not an error."""
    return f"{_name(table)}.{_name(column)}"


def _columns(table: str, columns: list[str]) -> str:
    return ", ".join(_column(table, column) for column in columns)


def _mapping_key(mapping: DbMapping) -> str:
    return json.dumps([mapping.to_json(), mapping.source], sort_keys=True)


def _read(conn: sqlite3.Connection, mapping: DbMapping, file_key: tuple[str, int, int, str]
          ) -> LiveState | None:
    """One read transaction: the general row, the model version (unless the mapping
    declares it), every user, and the file's identity."""
    general, users = mapping.general_table, mapping.users_table
    conn.execute("BEGIN")
    row = conn.execute(
        f"SELECT {_columns(general, [mapping.general_columns[f] for f in GENERAL_FIELDS])} "
        f"FROM {_name(general)} WHERE {_column(general, mapping.general_key_column)} = ?",
        (mapping.general_key_value,)).fetchone()
    if row is None:
        return None  # the other reader says which row is missing
    version = mapping.model_version or _VERSIONS.get(file_key)
    if version is None:
        version = _schema_version(conn, mapping)
        if version is None:
            return None
        _VERSIONS[file_key] = version
    livestate.check_mapping(mapping, version)
    settings = livestate.general_settings(row, mapping)
    columns = mapping.user_columns
    rows = conn.execute(
        f"SELECT {_columns(users, [columns[f] for f in livestate.user_fields(version)])}, "
        f"CASE WHEN {_column(users, columns['password'])} IS NULL THEN 0 ELSE 1 END, "
        f"{_column(users, columns['password_set_at'])} FROM {_name(users)}").fetchall()
    listed = conn.execute("PRAGMA database_list").fetchall()
    main = next((entry[2] for entry in listed if entry[1] == "main"), "")
    identity = livestate.identity_fingerprint("sqlite", livestate.sqlite_file_identity(main))
    return livestate.live_state(settings, rows, mapping, version, identity)


def _schema_version(conn: sqlite3.Connection, mapping: DbMapping) -> int | None:
    """1 or 2 from the users table's columns, as mailprov.db.version reads it; None when
    it has some of the version-2 columns only (the other reader says which)."""
    cursor = conn.execute(f"SELECT * FROM {_name(mapping.users_table)} WHERE 0")
    present, missing = livestate.version_columns(mapping, [d[0] for d in cursor.description])
    cursor.close()
    if not present:
        return 1
    return None if missing else 2


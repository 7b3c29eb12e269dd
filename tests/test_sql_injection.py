"""User codes, names and settings full of SQL metacharacters are data, never SQL.

On SQLite, PostgreSQL and MariaDB: users whose codes and names hold quotes, semicolons,
comment markers, backslashes and driver placeholders are inserted beside the sandbox's
own; a configuration gives them overrides whose values hold the same characters (as far
as the schema and e-mail rules allow). Plan, apply, then every row holds exactly those
values, every table still exists, and a second plan is empty.

A static check then reads mailprov/'s source: no SQL is built by string formatting,
except the lock-timeout statements (and SQLite's BEGIN) whose values mailprov computes,
and the statements of the SQLite file reader, whose only interpolations are identifiers
from the mapping, quoted by that reader's own functions (a table and columns named with
quotes and semicolons are read back alike by both readers).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from sqlalchemy import create_engine, insert, inspect, select

from mailprov import api
from mailprov.cli import cli
from mailprov.db.tables import HISTORY_TABLE, build_tables
from mailprov.model import REFERENCE

TABLES = build_tables(REFERENCE)
PACKAGE = Path(__file__).resolve().parent.parent / "mailprov"

# code -> display name; user_no from 100 so they never collide with the sandbox's users
HOSTILE_USERS = {
    "'; DROP TABLE app_user; --": "Robert'); DROP TABLE app_user;--",
    '"; DROP TABLE general_config; --': 'Name "quoted"; DELETE FROM app_user',
    "/* comment */ OR 1=1": "*/ UNION SELECT smtp_password FROM app_user /*",
    "back\\slash\\": "ends with a backslash \\",
    "%s %(code)s %%": "percent %s %(name)s %d",
    ":param ?": ":name ? $1 @var",
    "' OR '1'='1": "' OR ''='",
    "`tick`; SHOW TABLES; #": "-- comment to the end of the line",
}

# code -> smtp override: username, from, server (values the schema and e-mail rules accept)
OVERRIDES: dict[str, dict[str, Any]] = {
    "'; DROP TABLE app_user; --": {
        "username": "o'brien; --", "from": "o'brien@example.com"},
    '"; DROP TABLE general_config; --': {
        "username": '"; DROP TABLE app_user; --', "from": "'or'1'='1@example.com"},
    "/* comment */ OR 1=1": {
        "username": "/* x */ OR 1=1", "from": "x/*y*/@example.com",
        "server": "smtp--x.example.com", "port": 2525},  # quotes are no host name
    "back\\slash\\": {"username": "back\\slash\\", "from": "d'arcy+%s/*--*/@example.com"},
    "%s %(code)s %%": {"username": "%s %(x)s %%", "from": "%s@example.com", "ssl": False},
    ":param ?": {"username": ":param ?", "from": "{x}@example.com"},
    "' OR '1'='1": {"username": "' OR '1'='1", "from": "a`b`@example.com"},
    "`tick`; SHOW TABLES; #": {"username": "`tick`; SHOW TABLES; #",
                               "from": "tick@example.com"},
}
GENERAL = {"client": "outlook", "smtp": {"server": "smtp.example.com", "port": 587,
                                         "ssl": True}}


def insert_hostile_users(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(TABLES.users), [
                {"user_no": 100 + i, "code": code, "name": name, "mail_override": False}
                for i, (code, name) in enumerate(HOSTILE_USERS.items())
            ])
    finally:
        engine.dispose()


def read_rows(url: str) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Every app_user row by code (booleans as ints), and the table names."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(TABLES.users)).mappings().all()
            names = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    users = {row["code"]: {k: int(v) if isinstance(v, bool) else v for k, v in row.items()}
             for row in rows}
    return users, names


def history_changes(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(TABLES.history.c.changes)).scalars().all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    return json.loads(rows[0])


def test_hostile_codes_names_and_values_are_stored_exactly(db_url: str, tmp_path: Path) -> None:
    api.sandbox(db_url, users=5)
    insert_hostile_users(db_url)
    before, tables_before = read_rows(db_url)
    assert set(HOSTILE_USERS) <= set(before)
    config = tmp_path / "mailprov.yaml"
    data = {"version": 1, "general": GENERAL,
            "users": {code: {"smtp": smtp} for code, smtp in OVERRIDES.items()}}
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                      encoding="utf-8")
    runner = CliRunner()

    planned = runner.invoke(cli, ["plan", "-c", str(config), "-t", db_url,
                                  "--detailed-exitcode"])
    assert planned.exit_code == 2, planned.output
    # the sandbox has no general SMTP server yet: that is the one change
    assert f"Plan: {len(OVERRIDES)} to add, 1 to change, 0 to remove." in planned.stdout
    applied = runner.invoke(cli, ["apply", "-c", str(config), "-t", db_url, "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert f"Apply complete: {len(OVERRIDES)} added, 1 changed, 0 removed" in applied.stdout

    after, tables_after = read_rows(db_url)
    assert tables_before | {HISTORY_TABLE} == tables_after
    assert {"general_config", "app_user", HISTORY_TABLE} <= tables_after
    assert set(after) == set(before), "no user created or deleted"
    for code, name in HOSTILE_USERS.items():
        row, smtp = after[code], OVERRIDES[code]
        assert row["name"] == name
        assert row["mail_override"] == 1
        assert row["smtp_username"] == smtp["username"]
        assert row["from_address"] == smtp.get("from")
        assert row["smtp_server"] == smtp.get("server", "smtp.example.com")
        assert row["smtp_port"] == smtp.get("port", 587)
        assert row["smtp_ssl"] == int(smtp.get("ssl", True))
        assert row["smtp_password"] is None and row["password_set_at"] is None
    for code in set(before) - set(HOSTILE_USERS):
        assert after[code] == before[code], "users the files do not name are untouched"
    recorded = {address: {field: after for field, (_before, after) in fields.items()}
                for action in ("create", "update", "delete")
                for address, fields in history_changes(db_url)[action].items()}
    assert {"general"} | {f"user.{code}" for code in OVERRIDES} == set(recorded)
    assert recorded["user.back\\slash\\"]["username"] == "back\\slash\\"

    again = runner.invoke(cli, ["plan", "-c", str(config), "-t", db_url,
                                "--detailed-exitcode"])
    assert again.exit_code == 0, again.output
    assert "No changes. maestro* matches the configuration." in again.stdout

    explained = runner.invoke(cli, ["explain", "'; DROP TABLE app_user; --", "-t", db_url])
    assert explained.exit_code == 0, explained.output
    assert "login:      o'brien; --" in explained.stdout


# --- static check -------------------------------------------------------------------------

SQL_CALLS = {"exec_driver_sql", "execute", "executemany", "executescript", "text",
             "literal_column", "TextClause"}
STRING_METHODS = {"format", "join", "strip", "lower", "upper", "replace"}

# Formatted SQL that is allowed, by file: the values are numbers or constants mailprov computes.
ALLOWED = {
    ("db/backends/postgresql.py", "f\"SET LOCAL lock_timeout = '{int(seconds * 1000)}ms'\""),
    ("db/backends/mysql.py",
     'f"SET SESSION innodb_lock_wait_timeout = {int(self.lock_wait(seconds))}"'),
    ("db/backends/mssql.py", 'f"SET LOCK_TIMEOUT {int(seconds * 1000)}"'),
}


def _is_formatted(node: ast.AST) -> bool:
    """A string built at run time: f-string, `%`/`+` on text, or str.format()/join()."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        sides = (node.left, node.right)
        return any((isinstance(s, ast.Constant) and isinstance(s.value, str))
                   or _is_formatted(s) for s in sides)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in STRING_METHODS:
        target = node.func.value
        if node.func.attr in ("format", "join"):
            return isinstance(target, ast.Constant) or _is_formatted(target)
        return _is_formatted(target)
    return False


def formatted_sql() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in SQL_CALLS and _is_formatted(node.args[0]):
                segment = ast.get_source_segment(source, node.args[0])
                found.add((path.relative_to(PACKAGE).as_posix(), segment))
    return found


# The SQLite file reader (mailprov.db.sqlitefile) interpolates identifiers only, through these.
QUOTING = {"_name", "_column", "_columns"}


def test_no_sql_is_built_by_string_formatting() -> None:
    found = formatted_sql()
    reader = {segment for rel, segment in found if rel == "db/sqlitefile.py"}
    assert found - {("db/sqlitefile.py", segment) for segment in reader} == ALLOWED
    assert len(reader) == 3  # the general row, the users, the version's columns
    for segment in reader:
        node = ast.parse(segment.replace("\n", " "), mode="eval").body
        assert isinstance(node, ast.JoinedStr)
        for value in (v.value for v in node.values if isinstance(v, ast.FormattedValue)):
            assert isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id in QUOTING, f"{segment}: {ast.unparse(value)} is not quoted"


def test_hostile_identifiers_in_a_mapping_are_quoted_by_the_sqlite_file_reader(tmp_path) -> None:
    """Tables and columns named with quotes, semicolons and comment markers: the reader
    that plans SQLite files without SQLAlchemy reads them as SQLAlchemy does, and they
    stay identifiers."""
    import sqlite3

    from mailprov.config.mapping_file import load_mapping
    from mailprov.db.database import open_database, read_live
    from mailprov.db.sqlitefile import read_live_file

    general = 'cfg"; DROP TABLE x; --'
    users = "usr' OR '1'='1"
    columns = {field: f'{field}"--;' for field in (
        "number", "code", "name", "override", "username", "from", "server", "port", "ssl",
        "password", "password_set_at")}
    path = tmp_path / "odd.db"
    q = '"{}"'.format
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE x (a)")
        conn.execute(f"CREATE TABLE {q(general.replace(chr(34), chr(34) * 2))} "
                     "(id, edition, client, server, port, ssl)")
        conn.execute(f"INSERT INTO {q(general.replace(chr(34), chr(34) * 2))} VALUES "
                     "(1, 'standard', 'smtp', 'smtp.example.com', 587, 1)")
        names = ", ".join(q(c.replace('"', '""')) for c in columns.values())
        conn.execute(f"CREATE TABLE {q(users)} ({names})")
        conn.execute(f"INSERT INTO {q(users)} VALUES (1, 'A''B', 'Name', 1, 'u', "
                     "'u@example.com', 'smtp.example.com', 587, 1, NULL, NULL)")
    conn.close()
    (tmp_path / "mapping.yaml").write_text(yaml.safe_dump({
        "version": 1, "model_version": 1,
        "general": {"table": general, "columns": {f: f for f in ("edition", "client",
                                                                 "server", "port", "ssl")}},
        "users": {"table": users, "columns": columns}}), encoding="utf-8")
    mapping = load_mapping(tmp_path / "mapping.yaml")
    url = f"sqlite:///{path}"
    fast = read_live_file(url, mapping)
    with open_database("db", url, mapping, read_only=True) as db:
        slow = read_live(db)
    assert fast is not None and fast == slow
    assert list(fast.users) == ["A'B"] and fast.general.server == "smtp.example.com"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM x").fetchone() == (0,)
    conn.close()


def test_the_allowed_statements_only_interpolate_numbers_or_constants() -> None:
    for _rel, segment in ALLOWED:
        node = ast.parse(segment, mode="eval").body
        assert isinstance(node, ast.JoinedStr)
        for value in (v.value for v in node.values if isinstance(v, ast.FormattedValue)):
            calls = [n.func.id for n in ast.walk(value)
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
            assert "int" in calls, f"{segment}: not a number"


def test_the_static_check_finds_formatted_sql() -> None:
    """The detector itself: each way of building SQL from text is caught."""
    samples = ['conn.exec_driver_sql(f"DROP TABLE {name}")', 'text("SELECT %s" % code)',
               'conn.execute(text("SELECT * FROM t WHERE c = \'" + code + "\'"))',
               'conn.execute("DELETE FROM {}".format(table))', 'text(f"x{y}".strip())']
    for sample in samples:
        calls = [n for n in ast.walk(ast.parse(sample)) if isinstance(n, ast.Call)
                 and n.args and _is_formatted(n.args[0])]
        assert calls, sample
    safe = ['text("SELECT 1")', 'conn.execute(query)', 'conn.execute(select(t), rows)',
            'dbapi_connection.execute("PRAGMA foreign_keys = ON")']
    for sample in safe:
        assert not [n for n in ast.walk(ast.parse(sample)) if isinstance(n, ast.Call)
                    and n.args and _is_formatted(n.args[0])], sample

"""Helpers shared by the real-database tests: sandboxes, config files, table dumps, passwords.

Everything here talks to the real database named by a URL with plain SQLAlchemy, beside
mailprov, so that the tests check what mailprov wrote rather than what it says it wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import make_url

from mailprov import api
from mailprov.db import sqlitefile
from mailprov.db.sandbox import sample_users
from mailprov.db.tables import HISTORY_TABLE, build_tables
from mailprov.model import REFERENCE
from mailprov.plan.format import Plan

TARGET = "db"
TABLES = build_tables(REFERENCE)
TABLES2 = build_tables(REFERENCE, 2)  # reference model version 2 (maestro* 3.05)
SMTP = {"server": "smtp.example.com", "port": 587, "ssl": True}


def sandbox(url: str, users: int = 25, edition: str = "standard", model: int = 1
            ) -> list[str]:
    """Create a reference-model sandbox at `url`; return its user codes, in creation order.

    `model` 1 by default: the tests written before version 2 expect every sample user to
    follow the general default; version 2 gives one person in four Office 365."""
    count = api.sandbox(url, users=users, edition=edition, model=model)
    codes = [u.code for u in sample_users(users, edition)]
    assert count == len(codes) == users
    return codes


def users2(url: str) -> dict[str, dict[str, Any]]:
    """All app_user rows of a version-2 database by code, the Office 365 columns too."""
    with engine_for(url) as engine, engine.connect() as conn:
        rows = conn.execute(select(TABLES2.users)).mappings().all()
    return {row["code"]: {k: _normal(v) for k, v in row.items()} for row in rows}


def write_config(folder: Path, url: str, *, general: Mapping[str, Any] | None = None,
                 users: Mapping[str, Any] | None = None, prune: bool | None = None,
                 safety: Mapping[str, Any] | None = None, edition: str | None = None,
                 mapping: str | None = None, name: str = "mailprov.yaml") -> Path:
    """Write a mailprov YAML file with one target `db` pointing at `url`; return its path."""
    target: dict[str, Any] = {"url": url}
    if edition:
        target["edition"] = edition
    if mapping:
        target["mapping"] = mapping
    data: dict[str, Any] = {"version": 1, "targets": {TARGET: target},
                            "default_target": TARGET}
    data["general"] = dict(general) if general is not None else {"client": "outlook",
                                                                 "smtp": dict(SMTP)}
    data["users"] = dict(users or {})
    if prune is not None:
        data["prune"] = prune
    if safety is not None:
        data["safety"] = dict(safety)
    path = Path(folder) / name
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def smtp_user(code: str, **extra: Any) -> dict[str, Any]:
    """A user entry with its own login and From address (values derived from the code)."""
    address = f"{code.lower()}@example.com"
    return {"smtp": {"username": address, "from": address, **extra}}


def plan_file(path: Path) -> tuple[Plan, api.ResolvedTarget]:
    """Load one config file and plan its default target."""
    config = api.load_config([path])
    target = api.resolve_target(config, None)
    return api.plan(config, target), target


def plan_and_apply(path: Path, **kwargs: Any) -> tuple[Plan, api.ApplyResult]:
    plan, target = plan_file(path)
    result = api.apply(plan, target, config_dir=str(Path(path).parent), **kwargs)
    return plan, result


def resolved(url: str) -> api.ResolvedTarget:
    return api.ResolvedTarget(TARGET, url)


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = create_engine(make_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


def _normal(value: Any) -> Any:
    """Booleans come back as 0/1 from MariaDB; compare them as ints everywhere."""
    if isinstance(value, bool):
        return int(value)
    return value


def _rows(conn: Any, table: Any) -> list[tuple[Any, ...]]:
    rows = [tuple(_normal(v) for v in row) for row in conn.execute(select(table))]
    return sorted(rows, key=repr)


def dump(url: str) -> dict[str, Any]:
    """Every row of general_config, app_user and mailprov_history (None when it does not
    exist), as sorted tuples: equal dumps mean an identical database content."""
    with engine_for(url) as engine, engine.connect() as conn:
        out: dict[str, Any] = {
            "general_config": _rows(conn, TABLES.general),
            "app_user": _rows(conn, TABLES.users),
        }
        has_history = inspect(conn).has_table(HISTORY_TABLE)
        out[HISTORY_TABLE] = _rows(conn, TABLES.history) if has_history else None
    return out


def users(url: str) -> dict[str, dict[str, Any]]:
    """All app_user rows by code, as dicts of column -> value (booleans as ints)."""
    with engine_for(url) as engine, engine.connect() as conn:
        rows = conn.execute(select(TABLES.users)).mappings().all()
    return {row["code"]: {k: _normal(v) for k, v in row.items()} for row in rows}


def general_row(url: str) -> dict[str, Any]:
    with engine_for(url) as engine, engine.connect() as conn:
        row = conn.execute(select(TABLES.general)).mappings().one()
    return {k: _normal(v) for k, v in row.items()}


def update_user(url: str, code: str, **values: Any) -> None:
    """Change a user row directly, as another admin (or maestro* itself) would."""
    with engine_for(url) as engine, engine.begin() as conn:
        count = conn.execute(update(TABLES.users).where(TABLES.users.c.code == code)
                             .values(**values)).rowcount
    assert count == 1, f"no user {code}"


def update_general(url: str, **values: Any) -> None:
    with engine_for(url) as engine, engine.begin() as conn:
        conn.execute(update(TABLES.general).values(**values))


def set_passwords(url: str, codes: list[str]) -> dict[str, tuple[str, datetime]]:
    """Give each user an SMTP password and a set-at time directly; return what was written."""
    written = {code: (f"s3cret-{i}-{code.lower()}",
                      datetime(2024, 1 + i % 12, 1 + i % 28, 8, i % 60))
               for i, code in enumerate(codes)}
    with engine_for(url) as engine, engine.begin() as conn:
        for code, (password, when) in written.items():
            conn.execute(update(TABLES.users).where(TABLES.users.c.code == code)
                         .values(smtp_password=password, password_set_at=when))
    return written


def passwords(url: str) -> dict[str, tuple[str | None, datetime | None]]:
    """smtp_password and password_set_at of every user."""
    t = TABLES.users
    with engine_for(url) as engine, engine.connect() as conn:
        rows = conn.execute(select(t.c.code, t.c.smtp_password, t.c.password_set_at)).all()
    return {code: (password, when) for code, password, when in rows}


class StatementLog:
    """Every statement sent to any database while active: a `before_cursor_execute` listener
    on the Engine class, so it also sees the engines mailprov creates inside the API, and
    one on the reader that plans SQLite files without SQLAlchemy (mailprov.db.sqlitefile)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def _listener(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                  context: Any, executemany: bool) -> None:
        self.statements.append(statement)

    def _sqlite_file_statement(self, statement: str) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementLog:
        event.listen(Engine, "before_cursor_execute", self._listener)
        sqlitefile.LISTENERS.append(self._sqlite_file_statement)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self._listener)
        sqlitefile.LISTENERS.remove(self._sqlite_file_statement)

    def __len__(self) -> int:
        return len(self.statements)

    def matching(self, pattern: str) -> list[str]:
        regex = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        return [s for s in self.statements if regex.search(s)]


def set_columns(statement: str) -> set[str]:
    """The columns an UPDATE assigns (`SET a=..., b=CASE ... END WHERE ...`)."""
    match = re.search(r"\bSET\s+(.*?)\s+WHERE\b", statement, re.IGNORECASE | re.DOTALL)
    assert match, statement
    clause = match.group(1)
    depth, parts, current = 0, [], ""
    for char in clause:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    columns = set()
    for part in parts:
        name = part.split("=", 1)[0].strip().strip('`"[]')
        columns.add(name.rsplit(".", 1)[-1].strip('`"[]'))
    return columns


# A mapping file for mapped_installation's names (examples/mapping.yaml without `schema`).
MAPPING_FILE = """\
version: 1
general:
  table: CONFIG_GENERALE
  key_column: NO_CONFIG
  key_value: 1
  columns:
    edition: EDITION
    client: LOGICIEL_COURRIEL
    server: SMTP_SERVEUR
    port: SMTP_PORT
    ssl: SMTP_SSL
  client_values: {other: 0, outlook: 1, lotus_notes: 2, smtp: 3}
users:
  table: USAGER
  columns:
    number: NO_USAGER
    code: CODE_USAGER
    name: NOM
    override: COURRIEL_SPECIFIQUE
    username: SMTP_USAGER
    from: ADRESSE_DE
    server: SMTP_SERVEUR
    port: SMTP_PORT
    ssl: SMTP_SSL
    password: SMTP_MOT_DE_PASSE
    password_set_at: SMTP_MDP_DATE
"""


def mapped_installation(url: str) -> tuple[Table, Table]:
    """A maestro*-like schema with the names of MAPPING_FILE, made here (not by mailprov):
    users COMPTA, COORD and JTREMBLAY, each with an SMTP password; returns the two tables."""
    metadata = MetaData()
    general = Table("CONFIG_GENERALE", metadata,
                    Column("NO_CONFIG", Integer, primary_key=True),
                    Column("EDITION", String(16), nullable=False),
                    Column("LOGICIEL_COURRIEL", Integer, nullable=False),
                    Column("SMTP_SERVEUR", String(255)), Column("SMTP_PORT", Integer),
                    Column("SMTP_SSL", Boolean, nullable=False),
                    Column("LANGUE", String(2)))
    people = Table("USAGER", metadata,
                   Column("NO_USAGER", Integer, primary_key=True),
                   Column("CODE_USAGER", String(255), nullable=False, unique=True),
                   Column("NOM", String(255), nullable=False),
                   Column("COURRIEL_SPECIFIQUE", Boolean, nullable=False),
                   Column("SMTP_USAGER", String(255)), Column("ADRESSE_DE", String(255)),
                   Column("SMTP_SERVEUR", String(255)), Column("SMTP_PORT", Integer),
                   Column("SMTP_SSL", Boolean), Column("SMTP_MOT_DE_PASSE", Text),
                   Column("SMTP_MDP_DATE", DateTime), Column("ACTIF", Boolean))
    with engine_for(url) as engine, engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(insert(general).values(NO_CONFIG=1, EDITION="standard",
                                            LOGICIEL_COURRIEL=1, SMTP_SSL=False, LANGUE="fr"))
        conn.execute(insert(people), [
            {"NO_USAGER": n, "CODE_USAGER": code, "NOM": code.title(),
             "COURRIEL_SPECIFIQUE": False, "ACTIF": True, "SMTP_MOT_DE_PASSE": f"pw-{code}"}
            for n, code in enumerate(["COMPTA", "COORD", "JTREMBLAY"], start=1)])
    return general, people


def untemplated(items: Any) -> Any:
    """Plan JSON messages without `message_template` (format 1.4: each stored message's id
    and values, which tests/test_saved_plans.py checks on their own)."""
    if isinstance(items, list):
        return [untemplated(item) for item in items]
    return {k: v for k, v in items.items() if k != "message_template"}

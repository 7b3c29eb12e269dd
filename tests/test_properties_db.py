"""Properties of plan, apply and import against real databases (SQLite, PostgreSQL, MariaDB).

Hypothesis draws a starting state (written straight into the sandbox's rows, as maestro*
would have stored it, passwords included) and a valid configuration over the sandbox's real
user codes. For every example:

- planning twice from freshly loaded files gives byte-identical ``Plan.dumps()``;
- apply does exactly what the plan says: it never changes a password column, a user the plan
  does not name, or a column an update does not list;
- after apply, a new plan is empty;
- ``api.export_config`` (``mailprov import``) of the result plans empty as well.

One database per backend serves all examples; each example re-creates the sandbox with
``force=True``. The budget is fixed (derandomized, 15 examples per backend).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, Table, create_engine, select, update

from mailprov import api
from mailprov.db.sandbox import sample_users
from mailprov.model.versions import VERSIONS

CLIENTS = VERSIONS[1].clients  # the sandbox here is version 1 (before maestro* 3.05)

USERS = 8
TARGET = "maestro"
SERVERS = ("smtp.a.example.com", "mail.b.example.org", "relay.c.example.net")
PORTS = st.sampled_from((25, 587, 2525)) | st.integers(1, 65535)
PASSWORD_COLUMNS = ("smtp_password", "password_set_at")
OVERRIDE_COLUMNS = {"username": "smtp_username", "from": "from_address",
                    "server": "smtp_server", "port": "smtp_port", "ssl": "smtp_ssl"}
GENERAL_COLUMNS = {"client": "mail_client", "smtp.server": "smtp_server",
                   "smtp.port": "smtp_port", "smtp.ssl": "smtp_ssl"}


def codes_of(edition: str) -> list[str]:
    return [u.code for u in sample_users(USERS, edition)]


def logins(code: str) -> st.SearchStrategy[str]:
    local = code.split("@")[0].lower()
    return st.sampled_from((f"{local}@example.com", f"shared.{local}@example.org", local,
                            "comptabilite@example.com"))


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    edition = draw(st.sampled_from(("standard", "cloud")))
    cloud = edition == "cloud"
    codes = codes_of(edition)
    # The starting rows, as maestro* stores them (an override has its values copied in).
    start_general = {
        "mail_client": "smtp" if cloud else draw(st.sampled_from(CLIENTS)),
        "smtp_server": draw(st.sampled_from((*SERVERS, None))),
        "smtp_port": draw(st.sampled_from((587, 25, None))),
        "smtp_ssl": draw(st.booleans()),
    }
    start_users = {}
    for code in draw(st.lists(st.sampled_from(codes), unique=True)):
        start_users[code] = {
            "mail_override": True,
            "smtp_username": draw(logins(code) | st.just(code)) if cloud
            else draw(st.none() | logins(code)),
            # an override with no From address is an error in the files (the import of
            # such a row does not validate), so the live ones here all have one
            "from_address": code if cloud else draw(logins(code).filter(
                lambda a: "@" in a)),
            "smtp_server": draw(st.sampled_from(SERVERS)),
            "smtp_port": draw(PORTS),
            "smtp_ssl": draw(st.booleans()),
        }
    passwords = draw(st.lists(st.sampled_from(codes), unique=True))
    # The configuration files.
    general: dict[str, Any] = {}
    keep = start_general["smtp_server"] is not None and start_general["smtp_port"] is not None \
        and draw(st.booleans())
    if keep:  # the live general values again: the plan leaves `general` alone
        smtp: dict[str, Any] = {"server": start_general["smtp_server"],
                                "port": start_general["smtp_port"]}
        if draw(st.booleans()):
            general["client"] = start_general["mail_client"]
            smtp["ssl"] = start_general["smtp_ssl"]
    else:
        client = draw(st.none() | (st.just("smtp") if cloud else st.sampled_from(CLIENTS)))
        if client is not None:
            general["client"] = client
        smtp = {"server": draw(st.sampled_from(SERVERS)),
                "port": draw(st.sampled_from((587, 25)) | PORTS)}
        ssl = draw(st.none() | st.booleans())
        if ssl is not None:
            smtp["ssl"] = ssl
    general["smtp"] = smtp
    users: dict[str, Any] = {}
    for code in draw(st.lists(st.sampled_from(codes), unique=True)):
        if draw(st.integers(0, 3)) == 0:
            users[code] = {"smtp": False}
            continue
        section: dict[str, Any] = {}
        for key, strategy in (("username", logins(code)),
                              ("from", logins(code).filter(lambda a: "@" in a)),
                              ("server", st.sampled_from(SERVERS)), ("port", PORTS),
                              ("ssl", st.booleans())):
            if key == "from" and cloud:
                continue
            value = draw(strategy if key == "from" else st.none() | strategy)
            if value is not None:
                section[key] = value
        users[code] = {"smtp": section}
    return {"edition": edition, "start_general": start_general, "start_users": start_users,
            "passwords": passwords, "general": general, "users": users,
            "prune": draw(st.booleans())}


class Rows:
    """Raw access to the three tables over one engine (reflected once, reused by examples)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.tables: dict[str, Table] = {}

    def table(self, conn: Any, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name, MetaData(), autoload_with=conn)
        return self.tables[name]

    def read(self) -> dict[str, Any]:
        """The content: general row, users by code (every column), history ids."""
        with self.engine.connect() as conn:
            general, users, history = (self.table(conn, n) for n in
                                       ("general_config", "app_user", "mailprov_history"))
            return {
                "general": dict(conn.execute(select(general)).one()._mapping),
                "users": {r.code: dict(r._mapping) for r in conn.execute(select(users))},
                "history": conn.execute(select(history.c.id)).scalars().all(),
            }

    def reset(self, url: str, scenario: dict[str, Any]) -> None:
        """A fresh sandbox, then the drawn starting state written straight into the rows."""
        api.sandbox(url, users=USERS, edition=scenario["edition"], force=True, model=1)
        with self.engine.begin() as conn:
            general, users = (self.table(conn, n) for n in ("general_config", "app_user"))
            conn.execute(update(general).values(scenario["start_general"]))
            for code, values in scenario["start_users"].items():
                conn.execute(update(users).where(users.c.code == code).values(values))
            for n, code in enumerate(scenario["passwords"]):
                conn.execute(update(users).where(users.c.code == code).values(
                    smtp_password=f"secret-{n}-{code}",
                    password_set_at=datetime(2024, 1, 1 + n, 8, 30)))


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def same(a: Any, b: Any) -> bool:
    """Equal, counting MariaDB/SQLite 0/1 as the booleans they store."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is not None and b is not None and bool(a) == bool(b)
    return a == b


def check_apply_did_what_the_plan_says(plan: api.Plan, before: dict[str, Any],
                                       after: dict[str, Any]) -> None:
    assert set(after["users"]) == set(before["users"])
    named = {c.user_code: c for c in plan.changes if c.user_code is not None}
    for code, old in before["users"].items():
        new = after["users"][code]
        for column in PASSWORD_COLUMNS:
            assert new[column] == old[column], (code, column)
        change = named.get(code)
        if change is None:
            assert new == old, code
            continue
        assert set(new) == set(old)
        if change.action == "delete":
            assert not new["mail_override"]
            assert all(new[c] is None for c in OVERRIDE_COLUMNS.values())
        else:
            assert new["mail_override"]
            for key, column in OVERRIDE_COLUMNS.items():
                if change.action == "update" and key not in change.changed:
                    assert same(new[column], old[column]), (code, column)
                else:
                    assert same(new[column], change.after[key]), (code, column)
        untouched = set(new) - set(OVERRIDE_COLUMNS.values()) - {"mail_override"}
        assert all(new[c] == old[c] for c in untouched), code
    general = next((c for c in plan.changes if c.address == "general"), None)
    changed_columns = {GENERAL_COLUMNS[f] for f in general.changed} if general else set()
    for column, value in before["general"].items():
        if column not in changed_columns:
            assert after["general"][column] == value, column
    assert len(after["history"]) == len(before["history"]) + (1 if plan.changes else 0)


def run_properties(url: str, folder: Path) -> None:
    db = Rows(url)

    @settings(derandomize=True, max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios())
    def check(scenario: dict[str, Any]) -> None:
        db.reset(url, scenario)
        config_path = write_yaml(folder / "mailprov.yaml", {
            "version": 1, "targets": {TARGET: {"url": url}}, "general": scenario["general"],
            "users": scenario["users"], "prune": scenario["prune"]})
        config = api.load_config([config_path])
        target = api.resolve_target(config, None)

        plan = api.plan(config, target)
        again = api.plan(api.load_config([config_path]), target)
        assert again.dumps() == plan.dumps()

        before = db.read()
        api.apply(plan, target, force=True)
        after = db.read()
        check_apply_did_what_the_plan_says(plan, before, after)

        assert not api.plan(config, target).changes
        exported = folder / "imported.yaml"
        exported.write_text(api.export_config(target), encoding="utf-8")
        imported = api.load_config([exported])
        assert not api.plan(imported, api.resolve_target(imported, None)).changes
        assert db.read() == after

    try:
        check()
    finally:
        db.engine.dispose()


def test_plan_apply_import_properties(db_url, tmp_path):
    run_properties(db_url, tmp_path)

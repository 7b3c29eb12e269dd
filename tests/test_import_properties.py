"""`mailprov import` on randomly hand-edited databases (SQLite, PostgreSQL, MariaDB).

Hypothesis draws a live state as any tool could have left it: NULLs anywhere an override
allows them, odd spacing, ports out of range, invalid addresses, unknown clients, cloud
and standard editions. For every example:

- either import reports the live values it cannot write (LiveDataError, nothing written),
  or the file it writes plans to "No changes" on the same database;
- with `allow_invalid`, the file always validates, its plan changes only the users and
  general settings import reported, and the database is never changed by importing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, Table, create_engine, select, update

from mailprov import api
from mailprov.db.sandbox import sample_users
from mailprov.errors import LiveDataError

USERS = 6
SERVERS = ("smtp.example.com", "relay.example.org")
BAD_SERVERS = ("smtp.example.com ", "smtp x.example.com", " relay.example.org", "")
PORTS = (587, 25, 2525)
BAD_PORTS = (0, 99999, -1)


def rarely(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]
           ) -> st.SearchStrategy[Any]:
    """Mostly `valid`, one draw in eight `invalid`: most examples then import cleanly."""
    return st.integers(0, 7).flatmap(lambda n: invalid if n == 0 else valid)


def addresses(code: str) -> st.SearchStrategy[str]:
    local = code.split("@")[0].lower()
    return rarely(st.sampled_from((f"{local}@example.com", local, code)),
                  st.sampled_from((f"{local}@example.com ", "a@x;b@x", f" {local}@example.org",
                                   "")))


@st.composite
def live_states(draw: st.DrawFn) -> dict[str, Any]:
    edition = draw(st.sampled_from(("standard", "cloud")))
    codes = [u.code for u in sample_users(USERS, edition)]
    general = {
        "mail_client": draw(rarely(st.just("smtp") if edition == "cloud"
                                   else st.sampled_from(("smtp", "outlook", "other",
                                                         "lotus_notes")),
                                   st.sampled_from(("bogus", "outlook")))),
        "smtp_server": draw(rarely(st.sampled_from(SERVERS),
                                   st.none() | st.sampled_from(BAD_SERVERS))),
        "smtp_port": draw(rarely(st.sampled_from(PORTS), st.none() | st.sampled_from(BAD_PORTS))),
        "smtp_ssl": draw(st.booleans()),
    }
    users = {}
    for code in draw(st.lists(st.sampled_from(codes), unique=True, max_size=4)):
        inherit = draw(st.booleans())  # values copied from the general row, as maestro* does
        users[code] = {
            "mail_override": True,
            "smtp_username": draw(st.none() | addresses(code)),
            "from_address": draw(st.none() | (rarely(st.just(code), addresses(code))
                                              if edition == "cloud" else addresses(code))),
            "smtp_server": general["smtp_server"] if inherit
            else draw(st.none() | rarely(st.sampled_from(SERVERS), st.sampled_from(BAD_SERVERS))),
            "smtp_port": general["smtp_port"] if inherit
            else draw(st.none() | rarely(st.sampled_from(PORTS), st.sampled_from(BAD_PORTS))),
            "smtp_ssl": general["smtp_ssl"] if inherit else draw(st.none() | st.booleans()),
        }
    return {"edition": edition, "general": general, "users": users}


class Rows:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.tables: dict[str, Table] = {}

    def table(self, conn: Any, name: str) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name, MetaData(), autoload_with=conn)
        return self.tables[name]

    def reset(self, url: str, state: dict[str, Any]) -> None:
        api.sandbox(url, users=USERS, edition=state["edition"], force=True, model=1)
        with self.engine.begin() as conn:
            general, users = (self.table(conn, n) for n in ("general_config", "app_user"))
            conn.execute(update(general).values(state["general"]))
            for code, values in state["users"].items():
                conn.execute(update(users).where(users.c.code == code).values(values))

    def read(self) -> list[Any]:
        with self.engine.connect() as conn:
            return [sorted(map(repr, conn.execute(select(self.table(conn, n))).all()))
                    for n in ("general_config", "app_user")]


def run_properties(url: str, folder: Path) -> None:
    rows = Rows(url)
    target = api.resolve_target(None, url)

    @settings(derandomize=True, max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(live_states())
    def check(state: dict[str, Any]) -> None:
        rows.reset(url, state)
        before = rows.read()
        export = api.import_live(target, folder=folder)
        path = folder / "mailprov.yaml"
        path.unlink(missing_ok=True)
        if export.problems:
            try:
                api.export_config(target, folder=folder)
            except LiveDataError as exc:
                assert exc.lines == tuple(p.message for p in export.problems)
            else:
                raise AssertionError("import wrote a file with invalid live values")
        # with or without problems, the text (invalid values commented out) validates
        path.write_text(export.checked(allow_invalid=True), encoding="utf-8")
        config = api.load_config([path])
        plan = api.plan(config, api.resolve_target(config, None))
        reported = {("general" if p.path[0] in ("general", "targets") else f"user.{p.path[1]}")
                    for p in export.problems}
        assert {c.address for c in plan.changes} <= reported, (export.text, plan.dumps())
        event("live values reported" if export.problems else "plans to no changes")
        if not export.problems:
            assert not plan.changes
        assert rows.read() == before

    try:
        check()
    finally:
        rows.engine.dispose()


def test_import_then_plan_is_empty_or_import_reports_the_live_values(db_url, tmp_path):
    run_properties(db_url, tmp_path)

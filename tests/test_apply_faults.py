"""Apply never half-applies: faults in the middle of an apply leave the database untouched.

Each test prepares a real database (SQLite, PostgreSQL, MariaDB) with a first apply already
recorded, computes a plan that changes the general row and four users, then breaks the apply
in one way: the connection is killed, the last statement violates a constraint, another
session holds the lock, or the process is SIGKILLed before it commits. After the fault the
complete content of the maestro* tables and of mailprov_history is compared with a dump taken
before, a new plan must be byte-identical to the one computed before the fault, and the plan
must then apply normally (which also proves no lock was left behind).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import MetaData, Table, create_engine, select, text
from sqlalchemy.engine import Connection, make_url

from mailprov import api
from mailprov.cli import cli
from mailprov.errors import DatabaseError, LockError

TABLES = ("general_config", "app_user", "mailprov_history")
TARGET = "maestro"
REJECTED = "rejected-by-check@example.com"
# Users are planned in code order: MVACHON is the last change of the plan.
LAST_USER = "MVACHON"


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table mailprov may touch, in primary-key order (reflected)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            metadata = MetaData()
            out = {}
            for name in TABLES:
                table = Table(name, metadata, autoload_with=conn)
                query = select(table).order_by(*table.primary_key.columns)
                out[name] = [tuple(row) for row in conn.execute(query)]
            conn.rollback()
        return out
    finally:
        engine.dispose()


def run_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def write_config(path: Path, url: str, general: dict[str, Any],
                 users: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({
        "version": 1,
        "targets": {TARGET: {"url": url}},
        "general": general,
        "users": users,
    }, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Scenario:
    url: str
    target: api.ResolvedTarget
    config: Any
    plan: api.Plan
    plan_text: str
    plan_path: Path
    before: dict[str, list[tuple[Any, ...]]]

    def assert_untouched(self) -> None:
        """The whole content is as before, and planning again gives the very same plan."""
        assert dump(self.url) == self.before
        assert api.plan(self.config, self.target).dumps() == self.plan_text

    def assert_applies_cleanly(self) -> None:
        """No lock is left behind: the same plan now applies, and then nothing is left."""
        result = api.apply(self.plan, self.target, lock_timeout=5)
        assert result.history_id is not None
        after = dump(self.url)
        assert len(after["mailprov_history"]) == len(self.before["mailprov_history"]) + 1
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                assert read_last_username(conn) == self.plan.changes[-1].after["username"]
        finally:
            engine.dispose()
        assert not api.plan(self.config, self.target).changes


def prepare(url: str, folder: Path, last_username: str = "mvachon.new@example.com"
            ) -> Scenario:
    """A sandbox with one apply in its history, and a 5-change plan against it."""
    api.sandbox(url, users=12, force=True, model=1)
    first = write_config(folder / "first.yaml", url,
                         {"client": "outlook",
                          "smtp": {"server": "smtp.old.example.com", "port": 25, "ssl": False}},
                         {code: {"smtp": {"username": f"{code.lower()}@example.com",
                                          "from": f"{code.lower()}@example.com"}}
                          for code in ("COMPTA", "MBOUCHER", LAST_USER)})
    config1 = api.load_config([first])
    target = api.resolve_target(config1, None)
    api.apply(api.plan(config1, target), target)
    # Passwords typed by users: part of the content that must survive every fault.
    run_sql(url, "UPDATE app_user SET smtp_password = 'pw-' || code "
                 "WHERE code IN ('COMPTA', 'MVACHON')"
            if make_url(url).get_backend_name() != "mysql" else
            "UPDATE app_user SET smtp_password = CONCAT('pw-', code) "
            "WHERE code IN ('COMPTA', 'MVACHON')")
    second = write_config(folder / "second.yaml", url,
                          {"client": "smtp",
                           "smtp": {"server": "smtp.new.example.com", "port": 587, "ssl": True}},
                          {"COMPTA": {"smtp": False},
                           "COORD": {"smtp": {"username": "coord@example.com",
                                              "from": "coord@example.com"}},
                           "MBOUCHER": {"smtp": {"username": "mboucher@example.com",
                                                 "from": "mboucher@example.com", "port": 2525}},
                           LAST_USER: {"smtp": {"username": last_username,
                                                "from": "mvachon@example.com"}}})
    config2 = api.load_config([second])
    plan = api.plan(config2, target)
    assert [(c.address, c.action) for c in plan.changes] == [
        ("general", "update"), ("user.COMPTA", "delete"), ("user.COORD", "create"),
        ("user.MBOUCHER", "update"), (f"user.{LAST_USER}", "update")]
    assert plan.changes[-1].after["username"] == last_username
    plan_path = folder / "second.plan.json"
    api.save_plan(plan, plan_path)
    before = dump(url)
    assert len(before["mailprov_history"]) == 1
    return Scenario(url, target, config2, plan, plan.dumps(), plan_path, before)


def read_last_username(conn: Connection) -> str:
    """Inside the apply's transaction: the plan's writes are there, uncommitted."""
    return conn.execute(text("SELECT smtp_username FROM app_user WHERE code = :c"),
                        {"c": LAST_USER}).scalar_one()


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


# --- (a) the connection dies in the middle of the transaction ------------------------------


def _kill_session(url: str, session_id: int) -> None:
    """Kill a session from another one, as an admin would, and wait until it is gone."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as admin:
            if backend_of(url) == "postgresql":
                # With a timeout, pg_terminate_backend waits for the backend to exit.
                assert admin.execute(text("SELECT pg_terminate_backend(:p, 20000)"),
                                     {"p": session_id}).scalar_one() is True
                return
            admin.exec_driver_sql(f"KILL {int(session_id)}")
            deadline = time.monotonic() + 20
            while admin.execute(text("SELECT count(*) FROM information_schema.PROCESSLIST "
                                     "WHERE ID = :i AND COMMAND <> 'Killed'"),
                                {"i": session_id}).scalar_one():
                assert time.monotonic() < deadline, "KILL did not end the session"
                time.sleep(0.01)
    finally:
        engine.dispose()


def test_connection_killed_before_commit(db_url, tmp_path):
    scenario = prepare(db_url, tmp_path)
    backend = backend_of(db_url)
    seen: dict[str, Any] = {}
    waiting, killed = threading.Event(), threading.Event()

    def hook(conn: Connection) -> None:
        seen["username"] = read_last_username(conn)
        if backend == "sqlite":
            # No server to kill a session: the connection itself goes away mid-transaction.
            conn.connection.dbapi_connection.close()
            return
        query = "SELECT pg_backend_pid()" if backend == "postgresql" else \
            "SELECT CONNECTION_ID()"
        seen["session"] = conn.exec_driver_sql(query).scalar_one()
        waiting.set()
        assert killed.wait(30), "the test never killed the session"

    def run() -> None:
        try:
            api.apply(scenario.plan, scenario.target, before_commit=hook)
        except BaseException as exc:
            seen["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    try:
        if backend != "sqlite":
            assert waiting.wait(30), "the apply never reached its commit"
            _kill_session(db_url, seen["session"])
    finally:
        killed.set()
        worker.join(30)
    assert not worker.is_alive()
    assert seen["username"] == "mvachon.new@example.com"
    error = seen.get("error")
    assert isinstance(error, DatabaseError), repr(error)
    assert error.exit_code == 1
    assert error.message.startswith("applying to ")
    scenario.assert_untouched()
    scenario.assert_applies_cleanly()


# --- (b) the last statement violates a constraint -----------------------------------------


def _add_rejecting_constraint(url: str) -> None:
    if backend_of(url) == "sqlite":
        run_sql(url, "CREATE TRIGGER mailprov_test_reject BEFORE UPDATE OF smtp_username "
                     f"ON app_user WHEN NEW.smtp_username = '{REJECTED}' "
                     "BEGIN SELECT RAISE(ABORT, 'mailprov_test_reject'); END")
    else:
        run_sql(url, "ALTER TABLE app_user ADD CONSTRAINT mailprov_test_reject CHECK "
                     f"(smtp_username IS NULL OR smtp_username <> '{REJECTED}')")


def _drop_rejecting_constraint(url: str) -> None:
    if backend_of(url) == "sqlite":
        run_sql(url, "DROP TRIGGER mailprov_test_reject")
    else:
        run_sql(url, "ALTER TABLE app_user DROP CONSTRAINT mailprov_test_reject")


def test_constraint_violation_on_last_row(db_url, tmp_path):
    scenario = prepare(db_url, tmp_path, last_username=REJECTED)
    _add_rejecting_constraint(db_url)
    before = dump(db_url)
    assert before == scenario.before  # DDL only, no row changed
    result = CliRunner().invoke(cli, ["apply", str(scenario.plan_path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1, result.stderr
    redacted = api.ResolvedTarget(TARGET, db_url).display_url
    assert error_lines[0].startswith(f"Error: applying to {redacted} failed: ")
    assert "mailprov_test_reject" in error_lines[0]
    assert "Apply complete" not in result.stdout
    scenario.assert_untouched()
    _drop_rejecting_constraint(db_url)
    scenario.assert_applies_cleanly()


# --- (c) another session holds the lock ------------------------------------------------------


LOCK_MESSAGE = (f"another apply holds the lock on target '{TARGET}' (waited 1 s). "
                "Nothing was changed; try again when it has finished.")


def test_lock_timeout(db_url, tmp_path):
    scenario = prepare(db_url, tmp_path)
    backend = backend_of(db_url)
    holder_engine = None
    if backend == "sqlite":
        holder: Any = sqlite3.connect(make_url(db_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder_engine = create_engine(db_url)
        holder = holder_engine.connect()
        holder.begin()
        holder.execute(text("SELECT id FROM general_config WHERE id = 1 FOR UPDATE")).all()
    try:
        with pytest.raises(LockError) as caught:
            api.apply(scenario.plan, scenario.target, lock_timeout=1)
        assert caught.value.exit_code == 3
        assert caught.value.message == LOCK_MESSAGE
        if backend == "sqlite":
            result = CliRunner().invoke(cli, ["apply", str(scenario.plan_path),
                                              "--lock-timeout", "1"])
            assert result.exit_code == 3, result.output
            assert result.stderr == f"Error: {LOCK_MESSAGE}\n"
    finally:
        holder.rollback()
        holder.close()
        if holder_engine is not None:
            holder_engine.dispose()
    scenario.assert_untouched()
    scenario.assert_applies_cleanly()


# --- (d) the process is SIGKILLed between its statements and its commit -------------------

KILLABLE_APPLY = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sqlalchemy import text
    from mailprov import api

    plan = api.load_plan(sys.argv[1])
    marker = Path(sys.argv[2])

    def hook(conn):
        seen = conn.execute(text("SELECT smtp_username FROM app_user WHERE code = :c"),
                            {"c": sys.argv[3]}).scalar_one()
        tmp = marker.with_name(marker.name + ".tmp")
        tmp.write_text(seen)
        tmp.replace(marker)
        time.sleep(120)

    api.apply(plan, api.target_of_plan(plan), before_commit=hook)
    print("committed")
""")


def test_process_killed_before_commit(db_url, tmp_path):
    scenario = prepare(db_url, tmp_path)
    marker = tmp_path / "in-transaction"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_APPLY, str(scenario.plan_path), str(marker), LAST_USER],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the apply never reached its commit"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        out, _err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert marker.read_text() == "mvachon.new@example.com"
    assert b"committed" not in out
    if backend_of(db_url) == "sqlite":
        # The killed writer left its journal (or WAL) behind; the next reader recovers.
        database = make_url(db_url).database
        assert Path(f"{database}-journal").exists() or Path(f"{database}-wal").exists()
    scenario.assert_untouched()
    scenario.assert_applies_cleanly()

"""Safety of apply on real databases: stale saved plans, thresholds, the lock, atomicity."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner
from dbhelpers import (
    SMTP,
    dump,
    engine_for,
    passwords,
    plan_and_apply,
    plan_file,
    sandbox,
    set_passwords,
    smtp_user,
    update_general,
    update_user,
    users,
    write_config,
)
from sqlalchemy import text

from mailprov import api
from mailprov.cli import cli
from mailprov.errors import LockError, SafetyError, StalePlanError
from mailprov.plan.format import PlanWarning

ELSEWHERE = " (the general configuration, or a user its files manage)"


def stale(where: str) -> str:
    return (f"the saved plan for target 'db' is stale: the database changed since it was "
            f"planned{where}. Nothing was changed; run `mailprov plan` again.")


def saved(plan, tmp_path):
    """Round-trip a plan through its JSON file, as `plan --out` / `apply PLAN` do."""
    path = tmp_path / "saved.plan.json"
    api.save_plan(plan, path)
    loaded = api.load_plan(path)
    return loaded, api.target_of_plan(loaded)


# --- stale saved plans ----------------------------------------------------------------------


def test_stale_saved_plan_is_refused_and_changes_nothing(db_url, tmp_path):
    codes = sandbox(db_url, users=10)
    compta, coord, person = codes[0], codes[1], codes[5]
    plan_and_apply(write_config(tmp_path, db_url, users={compta: smtp_user(compta),
                                                         coord: smtp_user(coord)}))
    config = write_config(tmp_path, db_url, users={compta: smtp_user(compta, port=2525),
                                                   coord: smtp_user(coord),
                                                   person: smtp_user(person)})
    plan, _ = plan_file(config)
    assert [c.address for c in plan.changes] == [f"user.{compta}", f"user.{person}"]
    plan, target = saved(plan, tmp_path)
    untouched = dump(db_url)

    # Someone edits, in maestro*, a row the plan changes (or the general row); each time the
    # edit is undone afterwards, which makes the saved plan applicable again.
    edits = [
        (lambda: update_user(db_url, compta, smtp_username="edited-in-maestro"),
         lambda: update_user(db_url, compta, smtp_username="compta@example.com"),
         f": user.{compta}"),
        (lambda: update_user(db_url, person, mail_override=True, smtp_username="p",
                             smtp_server="other.example.com", smtp_port=25, smtp_ssl=False),
         lambda: update_user(db_url, person, mail_override=False, smtp_username=None,
                             smtp_server=None, smtp_port=None, smtp_ssl=None),
         f": user.{person}"),
        (lambda: update_general(db_url, mail_client="other"),
         lambda: update_general(db_url, mail_client="outlook"), ELSEWHERE),
        (lambda: update_general(db_url, smtp_ssl=False),
         lambda: update_general(db_url, smtp_ssl=True), ELSEWHERE),
        # a row the plan does not change, but that its files manage (listed, unchanged)
        (lambda: update_user(db_url, coord, smtp_port=25),
         lambda: update_user(db_url, coord, smtp_port=587), ELSEWHERE),
    ]
    for edit, undo, where in edits:
        edit()
        before = dump(db_url)
        assert before != untouched
        with pytest.raises(StalePlanError) as caught:
            api.apply(plan, target, config_dir=str(tmp_path))
        assert caught.value.exit_code == 3
        assert caught.value.message == stale(where)
        assert dump(db_url) == before
        undo()
        assert dump(db_url) == untouched

    # edits of rows the plan does not change (another user; a non-mail column) are no reason
    # to refuse it, and are kept
    other = codes[6]
    update_user(db_url, other, mail_override=True, smtp_username="by-hand",
                smtp_server="hand.example.com", smtp_port=25, smtp_ssl=False)
    update_user(db_url, compta, name="Comptabilité générale")
    assert api.apply(plan, target, config_dir=str(tmp_path)).history_id is not None
    rows = users(db_url)
    assert (rows[compta]["smtp_port"], rows[person]["mail_override"]) == (2525, 1)
    assert (rows[other]["smtp_username"], rows[other]["smtp_server"]) == (
        "by-hand", "hand.example.com")
    assert rows[compta]["name"] == "Comptabilité générale"


def test_a_plan_for_a_user_deleted_since_is_stale(db_url, tmp_path):
    codes = sandbox(db_url, users=10)
    person = codes[5]
    plan, _ = plan_file(write_config(tmp_path, db_url, users={person: smtp_user(person)}))
    plan, target = saved(plan, tmp_path)
    with engine_for(db_url) as engine, engine.begin() as conn:
        conn.execute(text("DELETE FROM app_user WHERE code = :code"), {"code": person})
    before = dump(db_url)
    with pytest.raises(StalePlanError) as caught:
        api.apply(plan, target, config_dir=str(tmp_path))
    assert caught.value.message == stale(f": user.{person} (no longer in the database)")
    assert dump(db_url) == before


def test_cli_apply_of_a_stale_plan_exits_3(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    codes = sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])})
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "--out", "p.json"])
    assert result.exit_code == 0, result.output
    update_general(sqlite_url, smtp_port=26)
    before = dump(sqlite_url)
    result = runner.invoke(cli, ["apply", "p.json"])
    assert result.exit_code == 3
    assert result.stderr == f"Error: {stale(': general')}\n"  # the plan changes general
    assert "Apply complete" not in result.stdout
    assert dump(sqlite_url) == before


# --- thresholds -------------------------------------------------------------------------------


def _with_overrides(url, tmp_path, count, users_total=30):
    """A sandbox whose first `count` users have an override; return (codes, their entries)."""
    codes = sandbox(url, users=users_total)
    entries = {c: smtp_user(c) for c in codes[:count]}
    plan, _ = plan_and_apply(write_config(tmp_path, url, users=entries))
    assert plan.summary["create"] == count  # creations are never limited
    assert not plan.safety.exceeded
    return codes, entries


def test_removing_more_than_30_percent_is_refused_unless_forced(db_url, tmp_path):
    codes, entries = _with_overrides(db_url, tmp_path, 10)
    secrets = set_passwords(db_url, codes)
    wanted = {**entries, **{c: {"smtp": False} for c in codes[:4]}}
    plan, target = plan_file(write_config(tmp_path, db_url, users=wanted))

    reason = "it removes or changes 4 of 10 existing overrides (40%, limit 30%)"
    assert plan.safety.exceeded
    assert plan.safety.reasons == (reason,)
    # the reviewer of the plan sees the refusal among the warnings, with a stable code
    assert plan.warnings == (PlanWarning(
        "safety-limit", "general", f"apply will refuse this plan without --force: {reason}"),)
    before = dump(db_url)
    for candidate in (plan, saved(plan, tmp_path)[0]):
        with pytest.raises(SafetyError) as caught:
            api.apply(candidate, target, config_dir=str(tmp_path))
        assert caught.value.exit_code == 3
        assert caught.value.message == (
            f"refused for safety: {reason}. Review the plan, then apply with --force, or raise "
            "the limits under `safety:` in the configuration.")
        assert dump(db_url) == before

    result = api.apply(plan, target, force=True, config_dir=str(tmp_path))
    assert result.history_id == 2
    assert sum(row["mail_override"] for row in users(db_url).values()) == 6
    assert passwords(db_url) == secrets


def test_thresholds_at_their_limits_and_set_in_the_file(sqlite_url, tmp_path):
    codes, entries = _with_overrides(sqlite_url, tmp_path, 10)
    changed = {c: smtp_user(c, port=2525) for c in codes[:4]}

    # exactly 30% (3 of 10) is allowed
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, users={
        **entries, **{c: smtp_user(c, port=2525) for c in codes[:3]}}))
    assert (plan.safety.counted_changes, plan.safety.exceeded) == (3, False)
    assert plan.warnings == ()

    # 4 of 10 changes (not only removals) exceed it...
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, users={**entries, **changed}))
    assert plan.safety.reasons == (
        "it removes or changes 4 of 10 existing overrides (40%, limit 30%)",)
    # ...unless the file raises the percentage or the minimum of existing overrides
    for safety in ({"max_change_percent": 40}, {"min_existing": 11}):
        plan, target = plan_file(write_config(tmp_path, sqlite_url, users={**entries, **changed},
                                              safety=safety))
        assert not plan.safety.exceeded, safety
    api.apply(plan, target, config_dir=str(tmp_path))
    assert users(sqlite_url)[codes[0]]["smtp_port"] == 2525

    # the absolute cap applies whatever the percentage
    more = {**entries, **changed, **{c: smtp_user(c, port=2526) for c in codes[:3]}}
    plan, target = plan_file(write_config(tmp_path, sqlite_url, users=more,
                                          safety={"max_changes": 2, "max_change_percent": 100}))
    assert plan.safety.reasons == ("it removes or changes 3 existing overrides (limit 2)",)
    with pytest.raises(SafetyError):
        api.apply(plan, target, config_dir=str(tmp_path))
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, users=more,
                                     safety={"max_changes": 3, "max_change_percent": 100}))
    assert not plan.safety.exceeded


def test_few_overrides_and_general_followers_do_not_trip_the_percentage(sqlite_url, tmp_path):
    codes, entries = _with_overrides(sqlite_url, tmp_path, 9)
    # 9 existing overrides: under min_existing (10), removing all of them is allowed
    plan, _ = plan_file(write_config(tmp_path, sqlite_url,
                                     users={c: {"smtp": False} for c in entries}))
    assert plan.summary["delete"] == 9
    assert (plan.safety.counted_changes, plan.safety.exceeded) == (9, False)

    # one more override: 10 existing; a general.smtp change moves all ten users, counted as one
    plan_and_apply(write_config(tmp_path, sqlite_url, users={**entries,
                                                         codes[9]: smtp_user(codes[9])}))
    entries[codes[9]] = smtp_user(codes[9])
    config = write_config(tmp_path, sqlite_url, users=entries,
                          general={"client": "outlook", "smtp": {**SMTP, "port": 2587}})
    plan, target = plan_file(config)
    assert plan.summary == {"create": 0, "update": 11, "delete": 0}
    assert all(c.follows_general for c in plan.changes[1:])
    assert (plan.safety.existing_overrides, plan.safety.counted_changes) == (10, 1)
    assert not plan.safety.exceeded
    api.apply(plan, target, config_dir=str(tmp_path))
    assert {users(sqlite_url)[c]["smtp_port"] for c in entries} == {2587}


def test_cli_warns_at_plan_time_and_refuses_at_apply_with_exit_3(sqlite_url, tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    codes, entries = _with_overrides(sqlite_url, tmp_path, 10)
    write_config(tmp_path, sqlite_url, users={**entries, **{c: {"smtp": False}
                                                            for c in codes[:5]}})
    reason = "it removes or changes 5 of 10 existing overrides (50%, limit 30%)"
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "--detailed-exitcode"])
    assert result.exit_code == 2
    assert f"Warning: apply will refuse this plan without --force: {reason}\n" in result.stdout
    assert result.stdout.endswith("Plan: 0 to add, 0 to change, 5 to remove.\n")

    before = dump(sqlite_url)
    result = runner.invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: refused for safety: {reason}. Review the plan, then apply with --force, or "
        "raise the limits under `safety:` in the configuration.\n")
    assert dump(sqlite_url) == before
    result = runner.invoke(cli, ["plan", "--out", "p.json"])
    assert result.exit_code == 0
    result = runner.invoke(cli, ["apply", "p.json"])
    assert result.exit_code == 3
    assert dump(sqlite_url) == before

    result = runner.invoke(cli, ["apply", "--auto-approve", "--force"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Apply complete: 0 added, 0 changed, 5 removed (history #2) "
                                  f"in {sqlite_url}.\n")
    assert sum(row["mail_override"] for row in users(sqlite_url).values()) == 5


# --- the lock -------------------------------------------------------------------------------


def _waiting_on_a_lock(url: str) -> int:
    """How many sessions of this database wait for a row lock (PostgreSQL / MariaDB)."""
    if url.startswith("postgresql"):
        query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    else:
        # INNODB_TRX may not list a transaction whose first statement is still waiting
        # (seen on MariaDB 10.11): look for the apply's locking read in the process list.
        query = ("SELECT count(*) FROM information_schema.PROCESSLIST "
                 "WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND = 'Query' "
                 "AND INFO LIKE 'SELECT%FOR UPDATE%' AND TIME_MS > 100")
    with engine_for(url) as engine, engine.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def _until_blocked(url: str, worker: threading.Thread) -> None:
    """Return once `worker` is stuck on the lock; SQLite cannot tell, so give it time."""
    if url.startswith("sqlite"):
        time.sleep(0.5)
        assert worker.is_alive()
        return
    for _ in range(200):
        if _waiting_on_a_lock(url):
            return
        assert worker.is_alive(), "the second apply finished while the first held the lock"
        time.sleep(0.05)
    raise AssertionError("the second apply never waited for the lock")


class Holder:
    """A `before_commit` hook that keeps the apply transaction (and its lock) open."""

    def __init__(self, events: list[str], name: str, hold: bool) -> None:
        self.events, self.name, self.hold = events, name, hold
        self.inside = threading.Event()
        self.release = threading.Event()

    def __call__(self, conn) -> None:
        self.events.append(f"{self.name} holds the lock")
        self.inside.set()
        if self.hold:
            assert self.release.wait(30), "never released"
        self.events.append(f"{self.name} commits")


def _run(results: dict, name: str, fn, *args, **kwargs) -> threading.Thread:
    def body() -> None:
        try:
            results[name] = fn(*args, **kwargs)
        except BaseException as exc:  # reported by the test
            results[name] = exc

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread


def _two_plans(url, tmp_path):
    codes = sandbox(url, users=10)
    plan_and_apply(write_config(tmp_path, url, name="base.yaml"))  # general.smtp, once
    first, _ = plan_file(write_config(tmp_path, url, users={codes[0]: smtp_user(codes[0])},
                                      name="first.yaml"))
    second, target = plan_file(write_config(tmp_path, url, users={codes[1]: smtp_user(codes[1])},
                                            name="second.yaml"))
    return codes, first, second, target


def test_two_concurrent_applies_on_one_target_serialize(db_url, tmp_path):
    codes, first, second, target = _two_plans(db_url, tmp_path)
    events: list[str] = []
    a, b = Holder(events, "A", hold=True), Holder(events, "B", hold=False)
    results: dict = {}
    thread_a = _run(results, "A", api.apply, first, target, before_commit=a,
                    config_dir=str(tmp_path))
    assert a.inside.wait(30)
    thread_b = _run(results, "B", api.apply, second, target, before_commit=b,
                    config_dir=str(tmp_path))
    try:
        _until_blocked(db_url, thread_b)
        assert events == ["A holds the lock"]
    finally:
        a.release.set()
        thread_a.join(30)
        thread_b.join(30)
    assert events == ["A holds the lock", "A commits", "B holds the lock", "B commits"]
    assert results["A"].history_id == 2, results
    assert results["B"].history_id == 3, results
    rows = users(db_url)
    assert rows[codes[0]]["mail_override"] == rows[codes[1]]["mail_override"] == 1


def test_apply_waiting_past_lock_timeout_fails_with_exit_3(db_url, tmp_path):
    codes, first, second, target = _two_plans(db_url, tmp_path)
    events: list[str] = []
    a = Holder(events, "A", hold=True)
    results: dict = {}
    thread_a = _run(results, "A", api.apply, first, target, before_commit=a,
                    config_dir=str(tmp_path))
    try:
        assert a.inside.wait(30)
        with pytest.raises(LockError) as caught:
            api.apply(second, target, lock_timeout=1.0, config_dir=str(tmp_path))
    finally:
        a.release.set()
        thread_a.join(30)
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        "another apply holds the lock on target 'db' (waited 1 s). Nothing was changed; try "
        "again when it has finished.")
    assert results["A"].history_id == 2
    rows = users(db_url)
    assert rows[codes[0]]["mail_override"] == 1
    assert rows[codes[1]]["mail_override"] == 0
    assert len(dump(db_url)["mailprov_history"]) == 2


# --- atomicity --------------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


def test_failure_in_the_middle_of_an_apply_leaves_the_database_exactly_as_before(db_url,
                                                                                  tmp_path):
    codes = sandbox(db_url, users=60)
    plan_and_apply(write_config(tmp_path, db_url,
                                users={c: smtp_user(c) for c in codes[:20]}))
    set_passwords(db_url, codes[:30])
    # general change (followers), updates, removals (prune) and creations, in several batches
    wanted = {c: smtp_user(c) for c in codes[:10]}
    wanted.update({c: smtp_user(c, port=2525, ssl=False) for c in codes[10:15]})
    wanted.update({c: smtp_user(c) for c in codes[20:50]})
    config = write_config(tmp_path, db_url, users=wanted, prune=True,
                          general={"client": "smtp", "smtp": {**SMTP, "server": "new.example"}},
                          safety={"max_change_percent": 100})
    plan, target = plan_file(config)
    assert plan.summary == {"create": 30, "update": 16, "delete": 5}
    before = dump(db_url)
    seen: dict = {}

    def fail(conn) -> None:
        row = conn.execute(text("SELECT smtp_port FROM app_user WHERE code = :c"),
                           {"c": codes[10]}).scalar_one()
        seen["port inside the transaction"] = row
        seen["history rows"] = conn.execute(
            text("SELECT count(*) FROM mailprov_history")).scalar_one()
        raise Boom("the network dropped")

    with pytest.raises(Boom):
        api.apply(plan, target, before_commit=fail, config_dir=str(tmp_path))
    assert seen == {"port inside the transaction": 2525, "history rows": 2}
    assert dump(db_url) == before

    result = api.apply(plan, target, config_dir=str(tmp_path))  # not stale: nothing changed
    assert result.history_id is not None
    assert len(dump(db_url)["mailprov_history"]) == 2
    assert dump(db_url) != before
    assert plan_file(config)[0].changes == ()


def test_failure_of_the_first_apply_leaves_the_tables_as_before(db_url, tmp_path):
    codes = sandbox(db_url, users=10)
    with engine_for(db_url) as engine, engine.begin() as conn:
        conn.execute(text("DROP TABLE mailprov_history"))  # as in a real maestro* database
    before = dump(db_url)
    assert before["mailprov_history"] is None
    plan, target = plan_file(write_config(tmp_path, db_url,
                                          users={c: smtp_user(c) for c in codes[:3]}))

    def fail(conn) -> None:
        raise Boom("disk full")

    with pytest.raises(Boom):
        api.apply(plan, target, before_commit=fail, config_dir=str(tmp_path))
    after = dump(db_url)
    assert after["general_config"] == before["general_config"]
    assert after["app_user"] == before["app_user"]
    if db_url.startswith("mysql"):
        # MySQL/MariaDB commit on DDL: the table is created before the transaction, empty
        assert after["mailprov_history"] == []
    else:  # transactional DDL: the table is created under the lock, and rolled back too
        assert after["mailprov_history"] is None

"""What apply does while others work on the same database: it plans under the lock, never
overwrites a hand edit made while it waited, and writes exactly the rows it planned."""

from __future__ import annotations

import threading

import pytest
from dbhelpers import (
    dump,
    engine_for,
    plan_and_apply,
    plan_file,
    sandbox,
    smtp_user,
    update_user,
    users,
    write_config,
)
from sqlalchemy import text
from test_apply_safety import Holder, _run, _until_blocked

from mailprov import api
from mailprov.db.write import write_changes
from mailprov.errors import LockError, StalePlanError, WriteCheckError
from mailprov.plan.format import Change

MANAGED = 4  # users every configuration of these tests lists


def _configs(url, tmp_path, count):
    """`count` configurations that manage the same users, each changing a different one."""
    codes = sandbox(url, users=10)
    base = {c: smtp_user(c) for c in codes[:MANAGED]}
    plan_and_apply(write_config(tmp_path, url, users=base, name="base.yaml"))
    paths = []
    for i in range(count):
        wanted = {**base, codes[i % MANAGED]: smtp_user(codes[i % MANAGED], port=2600 + i)}
        paths.append(write_config(tmp_path, url, users=wanted, name=f"c{i}.yaml"))
    return codes, paths


def test_applies_queued_on_the_lock_end_in_exactly_one_configuration(db_url, tmp_path):
    codes, paths = _configs(db_url, tmp_path, 4)
    configs = [api.load_config([p]) for p in paths]
    target = api.resolve_target(configs[0], None)
    # someone holds the lock while four applies of the files start
    holder_plan, _ = plan_file(write_config(tmp_path, db_url, name="holder.yaml", users={
        **{c: smtp_user(c) for c in codes[:MANAGED]}, codes[8]: smtp_user(codes[8])}))
    events: list[str] = []
    holder = Holder(events, "holder", hold=True)
    results: dict = {}
    held = _run(results, "holder", api.apply, holder_plan, target, before_commit=holder)
    assert holder.inside.wait(30)
    workers = []
    for i, config in enumerate(configs):
        workers.append(_run(results, i, api.apply_config, config, target, lock_timeout=60))
        _until_blocked(db_url, workers[-1])
    holder.release.set()
    for worker in (held, *workers):
        worker.join(60)
    assert all(isinstance(results[i], api.ApplyResult) for i in range(4)), results
    # each planned from what the previous one left: the last one wrote its whole file, so the
    # database matches exactly one configuration, and no mix of them
    matching = [i for i, config in enumerate(configs) if not api.plan(config, target).changes]
    assert len(matching) == 1, matching
    last = max(range(4), key=lambda i: results[i].history_id or 0)
    assert matching == [last]


def test_a_change_while_a_person_reviews_the_plan_is_not_applied(sqlite_url, tmp_path):
    codes, paths = _configs(sqlite_url, tmp_path, 1)
    config = api.load_config(paths)
    target = api.resolve_target(config, None)
    approved = api.plan(config, target)  # shown, and the person is typing "yes"...
    update_user(sqlite_url, codes[1], smtp_port=25)  # ...while someone edits a managed user
    before = dump(sqlite_url)
    with pytest.raises(StalePlanError) as caught:
        api.apply_config(config, target, approved=approved)
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        "target 'db' changed while you were reviewing the plan: what you approved is no "
        "longer what apply would do. Nothing was changed; run `mailprov apply` again to see "
        "the new plan.")
    assert dump(sqlite_url) == before


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "in-progress"])
def test_a_hand_edit_made_while_a_saved_plan_waits_is_never_overwritten(
        db_url, tmp_path, committed):
    codes, paths = _configs(db_url, tmp_path, 1)
    plan, target = plan_file(paths[0])
    assert [c.address for c in plan.changes] == [f"user.{codes[0]}"]
    events: list[str] = []
    holder = Holder(events, "holder", hold=True)
    results: dict = {}
    other, _ = plan_file(write_config(tmp_path, db_url, name="other.yaml",
                                      users={codes[8]: smtp_user(codes[8])}))
    held = _run(results, "holder", api.apply, other, target, before_commit=holder)
    assert holder.inside.wait(30)
    edit = f"UPDATE app_user SET smtp_username = 'by-hand' WHERE code = '{codes[0]}'"
    sqlite = db_url.startswith("sqlite")
    if committed:  # the edit commits while the apply waits for the lock
        waiting = _run(results, "plan", api.apply, plan, target, lock_timeout=60)
        _until_blocked(db_url, waiting)
        if sqlite:  # one writer at a time: the edit itself queues behind the lock
            def hand_edit() -> None:
                with engine_for(db_url) as engine, engine.begin() as conn:
                    conn.exec_driver_sql("PRAGMA busy_timeout = 60000")
                    conn.execute(text(edit))

            editing = _run(results, "edit", hand_edit)
            threading.Event().wait(0.3)
            holder.release.set()
            editing.join(60)
        else:
            with engine_for(db_url) as engine, engine.begin() as conn:
                conn.execute(text(edit))
            holder.release.set()
    else:  # the edit is still in progress when the apply re-reads the row
        holder.release.set()
        held.join(30)
        engine_cm = engine_for(db_url)
        engine = engine_cm.__enter__()
        conn = engine.connect()
        transaction = conn.begin()
        if db_url.startswith("sqlite"):
            conn.exec_driver_sql("SELECT 1")  # (pysqlite begins lazily)
        conn.execute(text(edit))
        waiting = _run(results, "plan", api.apply, plan, target, lock_timeout=60)
        threading.Event().wait(1.0)  # the apply is now waiting on the edited row
        transaction.commit()
        conn.close()
        engine_cm.__exit__(None, None, None)
    held.join(30)
    waiting.join(60)
    row = users(db_url)[codes[0]]
    assert row["smtp_username"] == "by-hand"  # never overwritten
    history = dump(db_url)["mailprov_history"]
    if sqlite and committed and not isinstance(results["plan"], StalePlanError):
        assert len(history) == 3  # the apply got the lock first; the edit came after it
        return
    assert isinstance(results["plan"], StalePlanError), results  # it saw the edit: refused
    assert len(history) == 2  # the base apply and the holder; none for the refused plan


def test_mariadb_writes_only_the_planned_row_whatever_the_collation(mariadb_url, tmp_path):
    """A case-insensitive, PAD SPACE collation (MariaDB's default) and no unique index on
    `code`: `code = 'COMPTA'` would also match `compta` and `COMPTA `. Rows are written by
    their number, and only the planned one changes."""
    sandbox(mariadb_url, users=3)
    with engine_for(mariadb_url) as engine, engine.begin() as conn:
        conn.execute(text("ALTER TABLE app_user DROP INDEX code"))
        conn.execute(text("INSERT INTO app_user (user_no, code, name, mail_override) VALUES "
                          "(101, 'compta', 'lower', 0), (102, 'COMPTA ', 'padded', 0)"))
    plan, _ = plan_and_apply(write_config(tmp_path, mariadb_url,
                                          users={"COMPTA": smtp_user("COMPTA")}))
    assert [c.address for c in plan.changes] == ["general", "user.COMPTA"]
    with engine_for(mariadb_url) as engine, engine.connect() as conn:
        rows = conn.execute(text("SELECT user_no, mail_override, smtp_username FROM app_user "
                                 "WHERE user_no IN (1, 101, 102) ORDER BY user_no")).all()
    assert [tuple(r) for r in rows] == [(1, 1, "compta@example.com"), (101, 0, None),
                                        (102, 0, None)]


def test_a_write_that_touches_other_rows_than_planned_rolls_back(db_url, tmp_path):
    sandbox(db_url, users=5)
    before = dump(db_url)
    phantom = Change("user.GHOST", "update", {"port": 25}, {"port": 587}, ("port",),
                     number=424242)
    with api.open_database(api.resolve_target(None, db_url)) as db, \
            pytest.raises(WriteCheckError) as caught, db.engine.begin() as conn:
        write_changes(conn, db.tables, db.backend, [phantom])
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        "writing 1 user row(s) touched 0 row(s) instead of 1: the table does not hold the "
        "rows the plan was made for (a duplicate or missing key). Nothing was changed; check "
        "the table, then plan again.")
    assert dump(db_url) == before


def test_the_lock_wait_is_said_as_the_database_counts_it(db_url, tmp_path):
    codes, paths = _configs(db_url, tmp_path, 1)
    plan, target = plan_file(paths[0])
    other, _ = plan_file(write_config(tmp_path, db_url, name="other.yaml",
                                      users={codes[8]: smtp_user(codes[8])}))
    holder = Holder([], "holder", hold=True)
    results: dict = {}
    held = _run(results, "holder", api.apply, other, target, before_commit=holder)
    try:
        assert holder.inside.wait(30)
        with pytest.raises(LockError) as caught:
            api.apply(plan, target, lock_timeout=0.5)
    finally:
        holder.release.set()
        held.join(30)
    waited = "1" if db_url.startswith("mysql") else "0.5"  # MariaDB counts whole seconds
    assert caught.value.message == (
        f"another apply holds the lock on target 'db' (waited {waited} s). Nothing was "
        "changed; try again when it has finished.")

"""Eight saved plans applied at once against one target: the lock serialises them.

All eight plans are computed from the same live state. Three of them change user COMPTA,
two change COORD, three touch other users only. Released together by a barrier, eight
'spawn' processes run `mailprov apply PLAN` (the click command). Exactly one plan per
overlapping group can still find its base current when it gets the lock; the disjoint ones
always do. The losers exit 3 (stale plan) and change nothing; the final rows equal the
winners' `after` values applied to the starting rows, and mailprov_history has one row per
winner, in an order in which every winner's base digest was current.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import MetaData, Table, create_engine, select

from mailprov import api
from mailprov.db.history import changes_record
from mailprov.model import GeneralSettings, LiveState, LiveUser, MailSettings
from mailprov.plan.digest import base_digest

TARGET = "maestro"
GENERAL = {"client": "outlook",
           "smtp": {"server": "smtp.base.example.com", "port": 587, "ssl": True}}
OVERRIDE_COLUMNS = ("smtp_username", "from_address", "smtp_server", "smtp_port", "smtp_ssl")
AFTER_KEYS = ("username", "from", "server", "port", "ssl")


def _smtp(name: str, **extra: Any) -> dict[str, Any]:
    return {"smtp": {"username": f"{name}@example.com", "from": f"{name}@example.com",
                     **extra}}


# Who starts with an override (before the eight plans are computed).
START_USERS = {"COORD": _smtp("coord"), "EDEMERS": _smtp("edemers"),
               "IPERREAULT": _smtp("iperreault")}
# plan name -> users section; groups of plans touching the same user overlap.
PLANS: dict[str, dict[str, Any]] = {
    "compta-a": {"COMPTA": _smtp("compta-a")},
    "compta-b": {"COMPTA": _smtp("compta-b", port=2525)},
    "compta-c": {"COMPTA": _smtp("compta-c"), "KMORIN": _smtp("kmorin-c")},
    "coord-port": {"COORD": _smtp("coord", port=2525)},
    "coord-off": {"COORD": {"smtp": False}},
    "dleclerc": {"DLECLERC": _smtp("dleclerc")},
    "edemers-off": {"EDEMERS": {"smtp": False}},
    "two-users": {"ELACHANCE": _smtp("elachance"), "IPERREAULT": _smtp("iperreault-new")},
}
OVERLAPPING = ({"compta-a", "compta-b", "compta-c"}, {"coord-port", "coord-off"})
DISJOINT = {"dleclerc", "edemers-off", "two-users"}
def stale_message(plan: api.Plan) -> str:
    """A loser's refusal: it names the user its plan changes that another plan changed."""
    where = ", ".join(c.address for c in plan.changes if c.user_code in ("COMPTA", "COORD"))
    return (f"Error: the saved plan for target '{TARGET}' is stale: the database changed "
            f"since it was planned: {where}. Nothing was changed; run `mailprov plan` "
            "again.\n")


# A `mailprov apply PLAN` process that loads everything first, then waits at a start gate,
# so that the eight really race for the lock.
GATED_APPLY = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import psycopg, sqlalchemy.dialects.postgresql.psycopg, sqlalchemy.dialects.sqlite
    import mailprov.api, mailprov.db.write
    from mailprov.cli import main

    ready, gate, plan = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    ready.touch()
    deadline = time.monotonic() + 120
    while not gate.exists():
        if time.monotonic() > deadline:
            sys.exit(99)
        time.sleep(0.005)
    sys.argv = ["mailprov", "apply", plan, "--lock-timeout", "60"]
    main()
""")


def write_config(path: Path, url: str, users: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "targets": {TARGET: {"url": url}},
                                    "general": GENERAL, "users": users}, sort_keys=False),
                    encoding="utf-8")
    return path


def user_rows(url: str) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            table = Table("app_user", MetaData(), autoload_with=conn)
            return {row.code: dict(row._mapping) for row in conn.execute(select(table))}
    finally:
        engine.dispose()


def table_rows(url: str, name: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            table = Table(name, MetaData(), autoload_with=conn)
            return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c[
                table.primary_key.columns.keys()[0]]))]
    finally:
        engine.dispose()


def live_from_rows(general: dict[str, Any], users: dict[str, dict[str, Any]],
                   sqlite: bool) -> LiveState:
    """A LiveState built from raw rows (to replay winners without the database)."""
    settings = GeneralSettings(general["edition"], general["mail_client"],
                               general["smtp_server"], general["smtp_port"],
                               bool(general["smtp_ssl"]))
    live_users = {}
    for code, row in users.items():
        override = None
        if row["mail_override"]:
            ssl = row["smtp_ssl"]
            override = MailSettings(row["smtp_username"], row["from_address"],
                                    row["smtp_server"], row["smtp_port"],
                                    None if ssl is None else bool(ssl))
        live_users[code] = LiveUser(code, row["name"], override, row["user_no"])
    # the stored rows as the driver returns them (db.read.STATE_FIELDS), as plan reads them
    # (SQLite's driver gives booleans as 0/1)
    def stored_bool(value: Any) -> Any:
        return int(value) if sqlite and value is not None else value

    stored = {row["user_no"]: (row["user_no"], code, stored_bool(row["mail_override"]),
                               *(stored_bool(row[c]) if c == "smtp_ssl" else row[c]
                                 for c in OVERRIDE_COLUMNS))
              for code, row in users.items()}
    return LiveState(settings, live_users, None, stored)


def replay(rows: dict[str, dict[str, Any]], plan: api.Plan) -> None:
    """Apply a plan's `after` values to raw rows, the way maestro* stores overrides."""
    for change in plan.changes:
        assert change.user_code is not None, "these plans change users only"
        row = rows[change.user_code]
        if change.action == "delete":
            row.update(mail_override=False, **dict.fromkeys(OVERRIDE_COLUMNS))
        else:
            row["mail_override"] = True
            after = change.after or {}
            row.update({col: after[key] for col, key in zip(OVERRIDE_COLUMNS, AFTER_KEYS,
                                                               strict=True)})


def normalise(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """Comparable rows (MariaDB/SQLite booleans come back as integers)."""
    out = {}
    for code, row in rows.items():
        ssl = row["smtp_ssl"]
        out[code] = (row["user_no"], row["name"], bool(row["mail_override"]),
                     row["smtp_username"], row["from_address"], row["smtp_server"],
                     row["smtp_port"], None if ssl is None else bool(ssl),
                     row["smtp_password"], row["password_set_at"])
    return out


@pytest.mark.parametrize("first_applies", [False, True],
                         ids=["history-exists", "first-applies-create-history"])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_eight_concurrent_applies(backend, first_applies, request, tmp_path):
    url = request.getfixturevalue(f"{backend}_url")
    api.sandbox(url, users=12, force=True, model=1)
    start = api.load_config([write_config(tmp_path / "start.yaml", url, START_USERS)])
    target = api.resolve_target(start, None)
    api.apply(api.plan(start, target), target)
    plans: dict[str, api.Plan] = {}
    paths: dict[str, str] = {}
    for name, users in PLANS.items():
        config = api.load_config([write_config(tmp_path / f"{name}.yaml", url, users)])
        plans[name] = api.plan(config, target)
        assert plans[name].changes, name
        paths[name] = str(tmp_path / f"{name}.plan.json")
        api.save_plan(plans[name], paths[name])
    start_users = user_rows(url)
    start_general = table_rows(url, "general_config")
    start_history = table_rows(url, "mailprov_history")
    assert len(start_history) == 1
    if first_applies:  # the very first applies on a target race to create the history table
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE mailprov_history")
        engine.dispose()
        start_history = []

    gate = tmp_path / "go"
    # As in CI: the password from the environment (trust auth ignores it), never the keyring.
    env = {k: v for k, v in os.environ.items() if k != "MAILPROV_DB_URL"}
    env.update(MAILPROV_DB_PASSWORD="unused-by-trust-auth",
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    procs = {name: subprocess.Popen(
        [sys.executable, "-c", GATED_APPLY, str(tmp_path / f"{name}.ready"), str(gate), path],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, path in paths.items()}
    outcomes = {}
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"{name}.ready").exists() for name in procs):
            assert all(p.poll() is None for p in procs.values()), "a child died early"
            assert time.monotonic() < deadline, "the children never got ready"
            time.sleep(0.01)
        gate.touch()
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            outcomes[name] = (proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    winners = {name for name, (code, _, _) in outcomes.items() if code == 0}
    losers = {name for name, (code, _, _) in outcomes.items() if code == 3}
    assert winners | losers == set(PLANS), outcomes
    for group in OVERLAPPING:
        assert len(group & winners) == 1, (group, outcomes)
    assert winners >= DISJOINT
    assert len(winners) == 5
    for name in losers:
        assert outcomes[name][2] == stale_message(plans[name])
        assert "Apply complete" not in outcomes[name][1]
    for name in winners:
        summary = plans[name].summary
        assert outcomes[name][2] == ""
        assert (f"Apply complete: {summary['create']} added, {summary['update']} changed, "
                f"{summary['delete']} removed (history #") in outcomes[name][1]

    # One history row per winner; their ids give the order the lock granted.
    history = table_rows(url, "mailprov_history")[len(start_history):]
    assert len(history) == len(winners)
    order = []
    for row in history:
        matches = [name for name in winners if json.loads(row["changes"]) ==
                   changes_record(plans[name].changes)]
        assert len(matches) == 1, row
        assert row["base_digest"] == plans[matches[0]].base_digest
        assert f"#{row['id']})" in outcomes[matches[0]][1]
        order.append(matches[0])
    assert sorted(order) == sorted(winners)

    # Replay the winners serially in that order: each found its base current.
    expected = {code: dict(row) for code, row in start_users.items()}
    for name in order:
        live = live_from_rows(start_general[0], expected, backend == "sqlite")
        assert base_digest(live, plans[name].managed_users) == \
            plans[name].base_digest, name
        replay(expected, plans[name])
    final_live = live_from_rows(start_general[0], expected, backend == "sqlite")
    for name in losers:
        assert base_digest(final_live, plans[name].managed_users) != \
            plans[name].base_digest, name

    assert normalise(user_rows(url)) == normalise(expected)
    assert table_rows(url, "general_config") == start_general
    # And mailprov itself sees nothing left to do for the winners' files.
    for name in winners:
        config = api.load_config([tmp_path / f"{name}.yaml"])
        assert not api.plan(config, target).changes, name

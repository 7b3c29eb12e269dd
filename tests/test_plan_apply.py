"""plan / apply / import against real SQLite, PostgreSQL and MariaDB databases (API level)."""

from __future__ import annotations

import getpass
import json
import re
import socket
from datetime import datetime

import pytest
from dbhelpers import (
    SMTP,
    TARGET,
    StatementLog,
    dump,
    general_row,
    passwords,
    plan_and_apply,
    plan_file,
    resolved,
    sandbox,
    set_columns,
    set_passwords,
    smtp_user,
    update_general,
    update_user,
    users,
    write_config,
)

from mailprov import api
from mailprov.db.history import changes_record
from mailprov.errors import ConfigError, EditionError, PlanFileError, UnknownUserError
from mailprov.plan.format import PlanWarning
from mailprov.render.text import render_text

CLEARED = {"mail_override": 0, "smtp_username": None, "from_address": None,
           "smtp_server": None, "smtp_port": None, "smtp_ssl": None}


def override(username, from_address, server, port, ssl):
    return {"mail_override": 1, "smtp_username": username, "from_address": from_address,
            "smtp_server": server, "smtp_port": port, "smtp_ssl": ssl}


def mail_fields(row):
    return {k: row[k] for k in CLEARED}


def test_plan_apply_then_plan_shows_no_changes(db_url, tmp_path):
    codes = sandbox(db_url, users=25)
    compta, coord, person = codes[0], codes[1], codes[10]
    secrets = set_passwords(db_url, codes)
    config = write_config(tmp_path, db_url, users={
        compta: smtp_user(compta),
        coord: smtp_user(coord, port=2525, ssl=False),
        person: {"smtp": {"username": "jdoe", "from": "compta@example.com",
                          "server": "relay.example.com"}},
    })

    plan, target = plan_file(config)
    assert [c.address for c in plan.changes] == [
        "general", f"user.{compta}", f"user.{coord}", f"user.{person}"]
    assert plan.summary == {"create": 3, "update": 1, "delete": 0}
    assert plan.changes[0].changed == ("smtp.server", "smtp.port", "smtp.ssl")
    result = api.apply(plan, target, config_dir=str(tmp_path))
    assert result.history_id == 1

    rows = users(db_url)
    assert mail_fields(rows[compta]) == override(
        "compta@example.com", "compta@example.com", "smtp.example.com", 587, 1)
    assert mail_fields(rows[coord]) == override(
        "coord@example.com", "coord@example.com", "smtp.example.com", 2525, 0)
    assert mail_fields(rows[person]) == override(
        "jdoe", "compta@example.com", "relay.example.com", 587, 1)
    for code in set(codes) - {compta, coord, person}:
        assert mail_fields(rows[code]) == CLEARED
    general = general_row(db_url)
    assert (general["mail_client"], general["smtp_server"], general["smtp_port"],
            general["smtp_ssl"]) == ("outlook", "smtp.example.com", 587, 1)
    assert passwords(db_url) == secrets

    again, target = plan_file(config)
    assert again.changes == ()
    assert not again.changes_present
    assert again.unmanaged_overrides == 0
    assert render_text(again).endswith("No changes. maestro* matches the configuration.\n")

    # applying an empty plan changes nothing and records nothing
    before = dump(db_url)
    assert len(before["mailprov_history"]) == 1
    assert api.apply(again, target, config_dir=str(tmp_path)).history_id is None
    assert dump(db_url) == before


def test_import_then_plan_shows_no_changes(db_url, tmp_path):
    codes = sandbox(db_url, users=20)
    # Rows as maestro* itself would have written them, values copied or not.
    update_general(db_url, mail_client="smtp", smtp_server="mail.example.com", smtp_port=25,
                   smtp_ssl=False)
    update_user(db_url, codes[0], mail_override=True, smtp_username="compta@example.com",
                from_address="compta@example.com", smtp_server="mail.example.com",
                smtp_port=25, smtp_ssl=False)
    update_user(db_url, codes[1], mail_override=True, smtp_username="coord",
                from_address="coord@example.com", smtp_server="smtp.office365.com",
                smtp_port=587, smtp_ssl=True)
    update_user(db_url, codes[7], mail_override=True, smtp_username="x@example.com",
                from_address=None, smtp_server="mail.example.com", smtp_port=2525,
                smtp_ssl=False)
    set_passwords(db_url, codes[:3])
    before = dump(db_url)

    text = api.export_config(resolved(db_url))
    assert "s3cret" not in text
    exported = tmp_path / "imported.yaml"
    exported.write_text(text, encoding="utf-8")
    config = api.load_config([exported])
    assert config.general.client == "smtp"
    assert sorted(config.users) == sorted([codes[0], codes[1], codes[7]])
    assert config.users[codes[0]].override.port is None  # equal to general: inherited
    assert config.users[codes[1]].override.port == 587
    assert config.users[codes[7]].override.from_address is None

    plan = api.plan(config, api.resolve_target(config, None))
    # the row without a From address is imported as `from: null` (stored empty, on
    # purpose): left out, `from` would default to the login
    assert plan.changes == ()
    assert plan.unmanaged_overrides == 0
    assert dump(db_url) == before


def test_general_smtp_change_updates_every_inheriting_user(db_url, tmp_path):
    codes = sandbox(db_url, users=25)
    inherit, own_port, own_server, renamed, unlisted = (codes[0], codes[1], codes[6],
                                                         codes[7], codes[8])
    listed = {
        inherit: smtp_user(inherit),
        own_port: smtp_user(own_port, port=2525),
        own_server: smtp_user(own_server, server="relay.example.com"),
        renamed: smtp_user(renamed),
    }
    plan_and_apply(write_config(tmp_path, db_url, users={**listed, unlisted: smtp_user(unlisted)}))
    secrets = set_passwords(db_url, codes)

    listed[renamed] = {"smtp": {"username": "new-login", "from": "renamed@example.com"}}
    new_smtp = {"server": "smtp2.example.com", "port": 587, "ssl": True}
    config = write_config(tmp_path, db_url, general={"client": "outlook", "smtp": new_smtp},
                          users=listed)
    plan, target = plan_file(config)

    by_address = {c.address: c for c in plan.changes}
    assert list(by_address) == ["general", f"user.{inherit}", f"user.{own_port}",
                                f"user.{renamed}"]
    assert by_address["general"].changed == ("smtp.server",)
    assert by_address[f"user.{inherit}"].changed == ("server",)
    assert by_address[f"user.{inherit}"].follows_general is True
    assert by_address[f"user.{own_port}"].changed == ("server",)
    assert by_address[f"user.{own_port}"].follows_general is True
    assert by_address[f"user.{renamed}"].changed == ("username", "from", "server")
    assert by_address[f"user.{renamed}"].follows_general is False
    assert plan.safety.counted_changes == 2  # the general change, and the renamed user
    assert plan.unmanaged_overrides == 1
    assert plan.warnings == (PlanWarning(
        "unlisted-overrides-keep-old-smtp", "general",
        "1 override(s) on users not listed in the files use the old general SMTP settings "
        "and will keep them: list those users, or set `prune: true`"),)
    assert plan.to_json()["changes"][1]["follows_general"] is True
    assert "follows_general" not in plan.to_json()["changes"][3]

    api.apply(plan, target, config_dir=str(tmp_path))
    rows = users(db_url)
    assert rows[inherit]["smtp_server"] == "smtp2.example.com"
    assert (rows[own_port]["smtp_server"], rows[own_port]["smtp_port"]) == (
        "smtp2.example.com", 2525)
    assert rows[own_server]["smtp_server"] == "relay.example.com"
    assert (rows[renamed]["smtp_username"], rows[renamed]["smtp_server"]) == (
        "new-login", "smtp2.example.com")
    assert rows[unlisted]["smtp_server"] == SMTP["server"]
    assert general_row(db_url)["smtp_server"] == "smtp2.example.com"
    assert passwords(db_url) == secrets
    assert plan_file(config)[0].changes == ()


def test_cloud_edition_from_address_is_the_user_code(db_url, tmp_path):
    codes = sandbox(db_url, users=10, edition="cloud")
    first, second = codes[0], codes[1]
    assert first == "compta@example.com"
    config = write_config(tmp_path, db_url, edition="cloud",
                          general={"client": "smtp", "smtp": dict(SMTP)},
                          users={first: {"smtp": {}}, second: {"smtp": {"username": "login2"}}})
    plan, target = plan_file(config)
    assert plan.edition == "cloud"
    assert [dict(c.after) for c in plan.changes[1:]] == [
        {"username": first, "from": first, **SMTP},
        {"username": "login2", "from": second, **SMTP},
    ]
    api.apply(plan, target, config_dir=str(tmp_path))
    rows = users(db_url)
    assert (rows[first]["from_address"], rows[first]["smtp_username"]) == (first, first)
    assert (rows[second]["from_address"], rows[second]["smtp_username"]) == (second, "login2")
    assert plan_file(config)[0].changes == ()

    exported = tmp_path / "imported.yaml"
    exported.write_text(api.export_config(resolved(db_url)), encoding="utf-8")
    imported = api.load_config([exported])
    assert imported.users[first].override.from_address is None
    assert api.plan(imported, api.resolve_target(imported, None)).changes == ()


def test_cloud_edition_rules_checked_against_the_live_database(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=5, edition="cloud")
    before = dump(sqlite_url)
    # The target does not declare its edition: the database's `cloud` is found at plan time.
    config = write_config(tmp_path, sqlite_url, general={"client": "outlook", "smtp": dict(SMTP)},
                          users={codes[0]: {"smtp": {"from": "other@example.com"}}})
    with pytest.raises(EditionError) as caught:
        plan_file(config)
    # one message that lists every change to make (each also a Problem, at its place)
    messages = [p.message for p in caught.value.problems]
    assert messages == [
        "set `client: smtp` (or `client: office365` from maestro* 3.05 on): maestro*CLOUD has "
        "no desktop mail program, so no Outlook mode",
        "remove `from`: in maestro*CLOUD the From address is the user code",
    ]
    assert caught.value.message.splitlines()[0] == (
        "target 'db' is maestro*CLOUD (its database says so), but the files are written for "
        "an installed maestro*. Change this, then plan again:")
    declared = write_config(tmp_path, sqlite_url, edition="standard", name="declared.yaml",
                            general={"client": "smtp", "smtp": dict(SMTP)})
    with pytest.raises(EditionError) as caught:
        plan_file(declared)
    assert [p.message for p in caught.value.problems] == [
        "write `edition: cloud`: the database says cloud"]
    assert dump(sqlite_url) == before


def test_unknown_users_are_errors_beside_the_plan_of_the_others(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=25)
    assert codes[0] == "COMPTA"
    before = dump(sqlite_url)
    config = write_config(tmp_path, sqlite_url, users={
        "COMPTAA": smtp_user("COMPTAA"),
        codes[6].lower(): smtp_user(codes[6]),
        "NOBODYATALL": smtp_user("NOBODYATALL"),
        codes[1]: smtp_user(codes[1]),
    })
    plan, target = plan_file(config)
    # the users that exist are planned; the others are errors beside the plan
    assert [c.address for c in plan.changes] == ["general", f"user.{codes[1]}"]
    lines = [p.format() for p in plan.errors]
    assert len(lines) == 3
    assert {p.code for p in plan.errors} == {"unknown-user"}
    tail = " mailprov configures existing maestro* users; it never creates them"
    assert lines[0].endswith(f"users.COMPTAA: no user 'COMPTAA' in target 'db'; did you mean "
                             f"COMPTA?{tail}")
    assert lines[1].endswith(f"no user '{codes[6].lower()}' in target 'db'; did you mean "
                             f"{codes[6]}?{tail}")
    assert lines[2].endswith(f"users.NOBODYATALL: no user 'NOBODYATALL' in target 'db'.{tail}")
    assert all(line.startswith("mailprov.yaml:") or "/mailprov.yaml:" in line
               for line in lines)  # sorted by place, like every configuration error
    # such a plan is never applied, nor saved for later
    with pytest.raises(UnknownUserError) as caught:
        api.apply(plan, target)
    assert caught.value.exit_code == 1
    assert caught.value.message.splitlines() == lines
    with pytest.raises(PlanFileError):
        api.save_plan(plan, tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()
    assert dump(sqlite_url) == before


def test_user_level_smtp_false_removes_the_override(db_url, tmp_path):
    codes = sandbox(db_url, users=10)
    compta, coord = codes[0], codes[1]
    plan_and_apply(write_config(tmp_path, db_url, users={compta: smtp_user(compta, port=2525),
                                                         coord: smtp_user(coord)}))
    secrets = set_passwords(db_url, codes)
    config = write_config(tmp_path, db_url, users={compta: {"smtp": False},
                                                   coord: smtp_user(coord),
                                                   codes[5]: {"smtp": False}})
    plan, target = plan_file(config)
    assert len(plan.changes) == 1
    change = plan.changes[0]
    assert (change.address, change.action, change.after) == (f"user.{compta}", "delete", None)
    assert dict(change.before) == {"username": "compta@example.com",
                                   "from": "compta@example.com", "server": "smtp.example.com",
                                   "port": 2525, "ssl": True}
    assert "REMOVE the per-user SMTP override" in render_text(plan)
    api.apply(plan, target, config_dir=str(tmp_path))
    rows = users(db_url)
    assert mail_fields(rows[compta]) == CLEARED
    assert rows[coord]["mail_override"] == 1
    assert passwords(db_url) == secrets
    assert plan_file(config)[0].changes == ()


def test_prune_removes_overrides_of_unlisted_users_only_when_asked(db_url, tmp_path):
    codes = sandbox(db_url, users=25)
    chosen = [codes[0], codes[1], codes[6], codes[9]]
    plan_and_apply(write_config(tmp_path, db_url, users={c: smtp_user(c) for c in chosen}))
    secrets = set_passwords(db_url, codes)
    kept = {c: smtp_user(c) for c in chosen[:2]}

    plan, _ = plan_file(write_config(tmp_path, db_url, users=kept))
    assert plan.changes == ()
    assert plan.unmanaged_overrides == 2
    assert ("2 existing overrides are left alone because the files do not list those users "
            "(prune: false).") in render_text(plan)

    plan, target = plan_file(write_config(tmp_path, db_url, users=kept, prune=True))
    assert [(c.address, c.action) for c in plan.changes] == sorted(
        [(f"user.{chosen[2]}", "delete"), (f"user.{chosen[3]}", "delete")])
    assert plan.unmanaged_overrides == 0
    api.apply(plan, target, config_dir=str(tmp_path))
    rows = users(db_url)
    assert [c for c in codes if rows[c]["mail_override"]] == chosen[:2]
    assert mail_fields(rows[chosen[2]]) == mail_fields(rows[chosen[3]]) == CLEARED
    assert passwords(db_url) == secrets
    again, _ = plan_file(write_config(tmp_path, db_url, users=kept, prune=True))
    assert again.changes == ()


def test_apply_writes_only_the_columns_that_change(db_url, tmp_path):
    codes = sandbox(db_url, users=10)
    compta, coord = codes[0], codes[1]
    plan_and_apply(write_config(tmp_path, db_url, users={compta: smtp_user(compta),
                                                         coord: smtp_user(coord)}))

    config = write_config(tmp_path, db_url, users={compta: smtp_user(compta, port=2525),
                                                   coord: smtp_user(coord)})
    with StatementLog() as log:
        plan_and_apply(config)
    updates = log.matching(r"^\s*UPDATE\b")
    assert len(updates) == 1, updates
    assert "app_user" in updates[0]
    assert set_columns(updates[0]) == {"smtp_port"}

    config = write_config(tmp_path, db_url, users={compta: smtp_user(compta, port=2525),
                                                   coord: smtp_user(coord)},
                          general={"client": "outlook", "smtp": {**SMTP, "port": 2587}})
    with StatementLog() as log:
        plan, _ = plan_and_apply(config)
    assert [c.address for c in plan.changes] == ["general", f"user.{coord}"]
    updates = log.matching(r"^\s*UPDATE\b")
    assert len(updates) == 2, updates
    assert "general_config" in updates[0] and "app_user" in updates[1]
    assert set_columns(updates[0]) == {"smtp_port"}
    assert set_columns(updates[1]) == {"smtp_port"}
    assert log.statements, "the listener saw nothing"
    # plan reads whether a password is stored, and when, in its users query; nothing
    # else names the password columns, and no statement writes them
    password_reads = log.matching(r"smtp_password|password_set_at")
    assert password_reads and all(s.lstrip().startswith("SELECT") for s in password_reads)
    for statement in password_reads:
        # as SQLAlchemy writes it, or the SQLite file reader (mailprov.db.sqlitefile)
        assert re.search(r'CASE WHEN \(?"?app_user"?\."?smtp_password"? IS NULL\)? THEN 0 '
                         r"ELSE 1 END", statement), statement
        assert statement.count("smtp_password") == 1
    assert not any(c in set_columns(u) for u in updates
                   for c in ("smtp_password", "password_set_at"))
    assert users(db_url)[coord]["smtp_port"] == 2587


def test_history_row_records_the_changes_and_no_secret(db_url, tmp_path):
    codes = sandbox(db_url, users=10)
    compta, coord = codes[0], codes[1]
    assert api.history(resolved(db_url)) == []
    update_user(db_url, coord, mail_override=True, smtp_username="old", from_address=None,
                smtp_server="old.example.com", smtp_port=25, smtp_ssl=False)
    secrets = set_passwords(db_url, codes)
    config = write_config(tmp_path, db_url, users={compta: smtp_user(compta),
                                                   coord: smtp_user(coord)})
    plan, result = plan_and_apply(config)

    rows = api.history(resolved(db_url))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == result.history_id
    assert row["target"] == TARGET
    assert row["summary"] == "1 to add, 2 to change, 0 to remove"
    assert row["config_digest"] == plan.config_digest
    assert row["config_digest"] == api.load_config([config]).digest
    assert row["base_digest"] == plan.base_digest
    assert row["git_commit"] is None  # tmp_path is not a git work tree
    assert row["os_user"] == getpass.getuser()
    assert row["host"] == socket.gethostname()
    assert isinstance(row["applied_at"], datetime)
    recorded = json.loads(row["changes"])
    assert recorded == changes_record(plan.changes)
    # only what changed, as [before, after]: the coordinator's old relay is on record
    assert set(recorded["create"]) == {f"user.{compta}"}
    coordinator = recorded["update"][f"user.{coord}"]
    assert plan.changes[2].address == f"user.{coord}"
    assert set(coordinator) == set(plan.changes[2].changed)
    assert coordinator["server"] == ["old.example.com", plan.changes[2].after["server"]]
    text = repr(row)
    for password, _when in secrets.values():
        assert password not in text
    assert "password" not in text

    config = write_config(tmp_path, db_url, users={compta: {"smtp": False},
                                                   coord: smtp_user(coord)})
    plan_and_apply(config)
    rows = api.history(resolved(db_url))
    assert [r["id"] for r in rows] == [2, 1]
    assert rows[0]["summary"] == "0 to add, 0 to change, 1 to remove"


def test_plan_errors_come_all_at_once_with_the_users_the_target_lacks(sqlite_url, tmp_path):
    sandbox(sqlite_url, users=10)  # its general row has no SMTP server or port
    config = write_config(tmp_path, sqlite_url, general={"client": "outlook"}, users={
        "COMPTA": smtp_user("COMPTA"), "NOBODY": smtp_user("NOBODY")})
    with pytest.raises(ConfigError) as caught:
        plan_file(config)
    problems = [(p.dotted_path, p.message.split(":")[0]) for p in caught.value.problems]
    assert problems == [("users.COMPTA.smtp", "no SMTP server and port"),
                        ("users.NOBODY", "no user 'NOBODY' in target 'db'. mailprov "
                                         "configures existing maestro* users; it never "
                                         "creates them")]

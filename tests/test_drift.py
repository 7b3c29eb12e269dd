"""`mailprov drift` on real databases: worded as drift, field by field, with the apply
that last set the files' value (from both history layouts), unlisted overrides named,
users who left reported without failing, and one history query whatever the size."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner
from dbhelpers import (
    TABLES,
    StatementLog,
    engine_for,
    sandbox,
    smtp_user,
    update_user,
    write_config,
)
from sqlalchemy import delete, insert

from mailprov import api
from mailprov.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def _history_of(url: str, history_id: int) -> tuple[str, str]:
    applied = api.history_record(api.ResolvedTarget("db", url), history_id).applied
    assert applied.applied_at is not None
    return (applied.applied_at.strftime("%Y-%m-%d %H:%M UTC"),
            f"{applied.os_user}@{applied.host}")


def test_drift_names_the_field_the_live_value_the_file_value_and_the_apply(run, db_url,
                                                                          tmp_path):
    sandbox(db_url, users=20)
    write_config(tmp_path, db_url, users={"COMPTA": smtp_user("COMPTA"),
                                          "COORD": smtp_user("COORD")})
    assert run("apply", "--auto-approve").exit_code == 0
    result = run("drift")
    assert (result.exit_code, result.stdout) == (0, (
        f"Drift check of target 'db' ({db_url}), edition standard.\n\n"
        "No drift. maestro* matches the configuration.\n"))

    # someone edits users by hand in maestro*: a port, an override turned off, and an
    # override on a user no file lists
    update_user(db_url, "COMPTA", smtp_port=2525)
    update_user(db_url, "COORD", mail_override=False, smtp_username=None, from_address=None,
                smtp_server=None, smtp_port=None, smtp_ssl=None)
    update_user(db_url, "PAIE", mail_override=True, smtp_username="paie@example.com",
                smtp_server="smtp.example.com", smtp_port=25, smtp_ssl=False)
    when, who = _history_of(db_url, 1)
    by = f"apply #1, {when}, by {who}"
    result = run("drift")
    assert result.exit_code == 2, result.output
    assert result.stdout == (
        f"Drift check of target 'db' ({db_url}), edition standard.\n\n"
        "maestro* differs from the files here:\n\n"
        "  user.COMPTA: differs from the files\n"
        f"      port  live 2525, file 587  ({by})\n\n"
        "  user.COORD: the per-user SMTP section is off in maestro*; the files enable it\n"
        f"      username  live (none), file coord@example.com  ({by})\n"
        f"      from      live (none), file coord@example.com  ({by})\n"
        f"      server    live (none), file smtp.example.com  ({by})\n"
        f"      port      live (none), file 587  ({by})\n"
        f"      ssl       live (none), file true  ({by})\n\n"
        "1 override is on a user no file lists (left alone: prune is false): PAIE\n"
        "Drift: 2 row(s), 6 field(s) differ; 0 listed user(s) missing.\n")

    data = json.loads(run("drift", "--format", "json").stdout)
    assert data["drift"] is True
    assert data["summary"] == {"rows": 2, "fields": 6, "unlisted_overrides": 1,
                               "departed_users": 0}
    port = data["rows"][0]["fields"][0]
    assert {k: port[k] for k in ("field", "live", "file")} == {
        "field": "port", "live": 2525, "file": 587}
    assert port["set_by"]["id"] == 1
    assert data["unlisted_overrides"] == ["PAIE"]

    # the next apply clears the drift; it is then the apply that set the values
    assert run("apply", "--auto-approve").exit_code == 0
    assert run("drift").exit_code == 0
    assert run("drift", "--strict").exit_code == 2  # PAIE: an override no file lists


def test_a_user_who_left_is_reported_not_fatal(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=20)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA"),
                                              "PAIE": smtp_user("PAIE")})
    assert run("apply", "--auto-approve").exit_code == 0
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.execute(delete(TABLES.users).where(TABLES.users.c.code == "PAIE"))
    result = run("drift")
    assert result.exit_code == 2
    assert result.stdout.endswith(
        "1 user listed in the files is no longer in maestro* (left the company?):\n"
        "  PAIE  (mailprov.yaml:17)\n\n"
        "Drift: 0 row(s), 0 field(s) differ; 1 listed user(s) missing.\n")
    markdown = run("drift", "--format", "markdown").stdout
    assert markdown.startswith("<!-- mailprov:drift target=db -->\n")
    assert ("- <code>PAIE</code> (<code>mailprov\\.yaml</code> line 17): remove the user "
            "from the files, or restore the user in maestro*") in markdown


def test_the_first_history_layout_is_read_too(run, sqlite_url, tmp_path):
    """Rows written by an older mailprov hold a list of the plan's full changes."""
    sandbox(sqlite_url, users=20)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    old = [{"address": "user.COMPTA", "action": "update",
            "before": {"username": "c", "from": None, "server": "s", "port": 25,
                       "ssl": False},
            "after": {"username": "compta@example.com", "from": "compta@example.com",
                      "server": "smtp.example.com", "port": 587, "ssl": True},
            "changed": ["username", "from", "server", "port", "ssl"]}]
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.execute(delete(TABLES.history))
        conn.execute(insert(TABLES.history).values(
            id=7, applied_at=datetime(2024, 3, 1, 8, 30), target="db", os_user="alice",
            host="admin-pc", config_digest="sha256:0", base_digest="sha256:1",
            git_commit="0123456789abcdef0123456789abcdef01234567",
            summary="0 to add, 1 to change, 0 to remove", changes=json.dumps(old)))
    update_user(sqlite_url, "COMPTA", smtp_port=2525)
    result = run("drift")
    assert "      port  live 2525, file 587  (apply #7, 2024-03-01 08:30 UTC, by " \
           "alice@admin-pc, commit 0123456789)\n" in result.stdout
    shown = run("history", "--show", "7")
    assert shown.exit_code == 0
    assert shown.stdout == (
        "Apply #7 on target 'db', 2024-03-01 08:30:00 UTC, by alice@admin-pc.\n"
        "Files at commit 0123456789abcdef0123456789abcdef01234567.\n"
        "Config sha256:0, base sha256:1.\n"
        "(Recorded by an older mailprov, as the plan's full changes.)\n\n"
        "  ~ user.COMPTA  (update)\n"
        "      username  c -> compta@example.com\n"
        "      from      (none) -> compta@example.com\n"
        "      server    s -> smtp.example.com\n"
        "      port      25 -> 587\n"
        "      ssl       false -> true\n\n"
        "0 to add, 1 to change, 0 to remove.\n")
    data = json.loads(run("history", "--show", "7", "--format", "json").stdout)
    assert data["layout"] == "list"
    assert data["changes"] == [{"address": "user.COMPTA", "action": "update", "fields": {
        "username": ["c", "compta@example.com"], "from": [None, "compta@example.com"],
        "server": ["s", "smtp.example.com"], "port": [25, 587], "ssl": [False, True]}}]
    assert run("history", "--show", "8").stderr == (
        "Error: no apply #8 is recorded on target 'db': `mailprov history` lists them\n")


def test_history_json_and_the_grouped_layout(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=20)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    data = json.loads(run("history", "--format", "json").stdout)
    assert data["target"] == "db"
    [entry] = data["applies"]
    assert entry["id"] == 1
    assert entry["summary"] == "1 to add, 1 to change, 0 to remove"
    assert entry["applied_at"].endswith("Z")
    record = json.loads(run("history", "--show", "1", "--format", "json").stdout)
    assert record["layout"] == "grouped"
    assert [c["address"] for c in record["changes"]] == ["general", "user.COMPTA"]
    assert record["changes"][0]["fields"]["smtp.port"] == [None, 587]


def test_drift_reads_the_history_in_one_query_whatever_its_size(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=200)
    path = write_config(tmp_path, sqlite_url, users={c: smtp_user(c) for c in codes[:100]})
    config = api.load_config([path])
    target = api.resolve_target(config, None)
    api.apply(api.plan(config, target), target, force=True)
    for port in range(2000, 2030):  # a long history: 30 more applies
        path = write_config(tmp_path, sqlite_url, users={c: smtp_user(c, port=port)
                                                         for c in codes[:100]})
        config = api.load_config([path])
        api.apply(api.plan(config, target), target, force=True)
    statements = {}
    api.drift(config, target)  # the process's first read through this engine reads the version
    for drifted in (1, 100):
        for code in codes[:drifted]:
            update_user(sqlite_url, code, smtp_port=25)
        with StatementLog() as log:
            report = api.drift(config, target)
        assert len(report.rows) == drifted
        assert all(f.set_by is not None and f.set_by.id == 31
                   for row in report.rows for f in row.fields)
        assert report.history_read == 1  # the newest apply set every value
        statements[drifted] = [s.split()[0].upper() for s in log.statements]
        assert len(log.matching(r"FROM mailprov_history")) == 1
    assert statements[1] == statements[100]

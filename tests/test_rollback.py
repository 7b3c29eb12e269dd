"""`mailprov rollback N` on real databases: the rows apply N changed restored exactly, the
rollback itself rolled back cleanly, conflicts after later changes, both history layouts,
stale rollback plans refused, and the files' commit to revert named by the rollback, by
apply and by the next drift check."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import (
    TABLES,
    dump,
    engine_for,
    general_row,
    sandbox,
    smtp_user,
    untemplated,
    update_user,
    users,
    write_config,
)
from sqlalchemy import insert

from mailprov import api
from mailprov.cli import cli
from mailprov.passwords.keys import generate_key

SMTP = {"server": "smtp.example.com", "port": 587, "ssl": True}


@pytest.fixture
def url(db_url: str) -> str:
    """SQLite, PostgreSQL and MariaDB: every test that takes it runs on each."""
    return db_url


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_POLICY", "MAILPROV_PLAN_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(cli, list(args), **kw)


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _commit(folder: Path, message: str) -> str:
    _git(folder, "add", "mailprov.yaml")
    _git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)
    return _git(folder, "rev-parse", "HEAD")


def _rows(url: str) -> dict:
    """The maestro* rows (not mailprov's history): what a rollback must restore."""
    data = dump(url)
    return {"general_config": data["general_config"], "app_user": data["app_user"]}


def _history_changes(url: str, history_id: int) -> dict:
    with engine_for(url) as engine, engine.connect() as conn:
        text = conn.execute(TABLES.history.select().where(TABLES.history.c.id == history_id)
                            ).mappings().one()["changes"]
    return json.loads(text)


def test_a_rollback_restores_exactly_the_earlier_rows_and_is_rolled_back_cleanly(
        run, url, tmp_path):
    codes = sandbox(url, users=12)
    _git(tmp_path, "init", "-q")
    write_config(tmp_path, url, general={"client": "smtp", "smtp": dict(SMTP)}, users={
        "COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD"),
        "KMORIN": smtp_user("KMORIN", port=2525)})
    _commit(tmp_path, "first")
    assert run("apply", "--auto-approve").exit_code == 0
    earlier = _rows(url)

    # apply #2: the general port moves (COMPTA and COORD follow it), KMORIN's login
    # changes, COORD's override goes and MVACHON gets one
    write_config(tmp_path, url, general={"client": "smtp", "smtp": {**SMTP, "port": 2587}},
                 users={"COMPTA": smtp_user("COMPTA"), "COORD": {"smtp": False},
                        "KMORIN": {"smtp": {"username": "km@example.com",
                                            "from": "kmorin@example.com", "port": 2525}},
                        "MVACHON": smtp_user("MVACHON")})
    sha = _commit(tmp_path, "second")
    assert run("apply", "--auto-approve", "--force").exit_code == 0
    later = _rows(url)
    assert later != earlier

    result = run("rollback", "2", "--out", "rollback.json")
    assert result.exit_code == 0, result.output
    applied_at = api.history_record(api.ResolvedTarget("db", url), 2).applied.applied_at
    assert applied_at is not None
    assert result.stdout == (
        f"Target 'db' ({url}), edition standard.\n\n"
        f"Rollback of apply #2 ({applied_at:%Y-%m-%dT%H:%M:%SZ}; 1 to add, 3 to change, 1 to "
        f"remove; files at commit {sha[:10]}): every row it changed goes back to its value "
        "before it.\n\n"
        "mailprov will make these changes:\n\n"
        "  ~ general  (update)\n"
        "      smtp.port  2587 -> 587\n\n"
        "  ~ user.COMPTA  (follows general.smtp)\n"
        "      port  2587 -> 587\n\n"
        "  + user.COORD  (enable the per-user SMTP override)\n"
        "      username  coord@example.com\n"
        "      from      coord@example.com\n"
        "      server    smtp.example.com\n"
        "      port      587\n"
        "      ssl       true\n\n"
        "  ~ user.KMORIN  (update)\n"
        "      username  km@example.com -> kmorin@example.com\n\n"
        "  - user.MVACHON  (REMOVE the per-user SMTP override)\n"
        "      username  mvachon@example.com -> (cleared)\n"
        "      from      mvachon@example.com -> (cleared)\n"
        "      server    smtp.example.com -> (cleared)\n"
        "      port      2587 -> (cleared)\n"
        "      ssl       true -> (cleared)\n\n"
        f"After this rollback, maestro* no longer matches the files of apply #2 (commit "
        f"{sha[:10]}): revert that commit in Git (`git revert {sha[:10]}`), so that the next "
        "plan does not apply it again.\n"
        "Password: COORD: needs a password: none is stored for the login coord@example.com; "
        "set it with `mailprov password set COORD` (or the user types it in maestro*, "
        "Préférences > Courriel)\n"
        "Password: KMORIN: needs a password: none is stored for the login kmorin@example.com; "
        "set it with `mailprov password set KMORIN` (or the user types it in maestro*, "
        "Préférences > Courriel)\n"
        "Plan: 1 to add, 3 to change, 1 to remove.\n")
    saved = json.loads((tmp_path / "rollback.json").read_text())
    assert saved["rollback_of"] == {"id": 2, "applied_at": f"{applied_at:%Y-%m-%dT%H:%M:%SZ}",
                                    "git_commit": sha,
                                    "summary": "1 to add, 3 to change, 1 to remove"}
    assert saved["conflicts"] == [] and saved["git_commit"] is None
    assert _rows(url) == later  # planning changes nothing

    applied = run("apply", "rollback.json")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.endswith(
        f"(history #3, a rollback of #2) in {url}.\n"
        f"Now, maestro* no longer matches the files of apply #2 (commit {sha[:10]}): revert "
        f"that commit in Git (`git revert {sha[:10]}`), so that the next plan does not apply "
        "it again.\n")
    assert _rows(url) == earlier
    record = _history_changes(url, 3)
    assert record["rollback_of"] == {"id": 2, "git_commit": sha}
    assert record["follows_general"] == ["user.COMPTA"]
    history = run("history").stdout.splitlines()
    assert history[0].endswith("rollback of #2: 1 to add, 3 to change, 1 to remove")
    shown = json.loads(run("history", "--show", "3", "--format", "json").stdout)
    assert shown["rollback_of"] == {"id": 2, "git_commit": sha}

    # the files still say what #2 applied: drift says so, and which commit to revert
    drift = run("drift")
    assert drift.exit_code == 2
    assert "      smtp.port  live 587, file 2587  (apply #2, " in drift.stdout
    assert f", commit {sha[:10]}; rolled back by #3)\n" in drift.stdout
    assert (f"Apply #3 rolled back apply #2: the files still say what #2 applied (commit "
            f"{sha[:10]}). Revert that commit in Git (`git revert {sha[:10]}`) so that they "
            "agree with maestro*, or apply them again to re-do #2.\n") in drift.stdout
    data = json.loads(run("drift", "--format", "json").stdout)
    assert data["format_version"] == "1.1"
    assert [r["id"] for r in data["rollbacks"]] == [3]
    assert data["rows"][0]["fields"][0]["rolled_back_by"]["rollback_of"] == {
        "id": 2, "git_commit": sha}
    assert "#### ↩️ Rolled back" in run("drift", "--format", "markdown").stdout

    # rolling the rollback back brings #2's rows back, exactly
    again = run("rollback", "3", "--out", "again.json")
    assert again.exit_code == 0, again.output
    assert ("After this rollback, maestro* again holds what apply #2 set, which rollback #3 "
            f"had undone: the files agree with it unless commit {sha[:10]} was reverted "
            "since.\n") in again.stdout
    assert run("apply", "again.json").exit_code == 0
    assert _rows(url) == later
    assert run("drift").exit_code == 0  # the files said what #2 applied all along
    assert len(codes) == 12


def test_rows_changed_since_are_conflicts_left_out_unless_asked(run, url, tmp_path):
    sandbox(url, users=12)
    base = {"COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD"),
            "KMORIN": smtp_user("KMORIN")}
    write_config(tmp_path, url, users=base)
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, url, users={name: smtp_user(name.upper(), port=2525)
                                       for name in base})
    assert run("apply", "--auto-approve", "--force").exit_code == 0  # #2: three ports
    write_config(tmp_path, url, users={**{name: smtp_user(name, port=2525) for name in base},
                                       "COMPTA": smtp_user("COMPTA", port=2600)})
    assert run("apply", "--auto-approve").exit_code == 0  # #3: COMPTA again
    update_user(url, "COORD", smtp_port=2526)  # by hand in maestro*

    result = run("rollback", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "  ~ user.KMORIN  (update)\n"
        "      port  2525 -> 587\n\n"
        "Conflict: user.COMPTA: changed again by apply #3 since #2 (left out; "
        "--include-later-changes restores it anyway)\n"
        "      port  before #2: 587, after #2: 2525, now: 2600\n"
        "Conflict: user.COORD: changed since #2 outside mailprov (port no longer as #2 left "
        "them) (left out; --include-later-changes restores it anyway)\n"
        "      port  before #2: 587, after #2: 2525, now: 2526\n"
        "After this rollback, maestro* no longer matches the files apply #2 was made from (it "
        "recorded no Git commit): change them back by hand, so that the next plan does not "
        "apply it again.\n"
        "Plan: 0 to add, 1 to change, 0 to remove.\n")
    data = json.loads(run("rollback", "2", "--format", "json").stdout)
    assert untemplated(data["conflicts"]) == [
        {"address": "user.COMPTA", "code": "changed-later",
         "message": "changed again by apply #3 since #2",
         "fields": {"port": {"before": 587, "after": 2525, "live": 2600}}, "later": [3],
         "included": False},
        {"address": "user.COORD", "code": "changed-by-hand",
         "message": "changed since #2 outside mailprov (port no longer as #2 left them)",
         "fields": {"port": {"before": 587, "after": 2525, "live": 2526}}, "later": [],
         "included": False}]
    markdown = run("rollback", "2", "--format", "markdown").stdout
    assert markdown.splitlines()[1].startswith("### mailprov rollback of apply #2 · ")
    assert "#### ↩️ Rollback of apply \\#2 \\(" in markdown
    assert "No existing override is left alone" not in markdown
    assert "- Conflict: <code>user\\.COMPTA</code>: changed again by apply \\#3 since \\#2 " \
           "(left out\\; \\-\\-include\\-later\\-changes restores it anyway): port " \
           "<code>587</code> → <code>2525</code>, now <code>2600</code>\n" in markdown

    assert run("rollback", "2", "--out", "r.json").exit_code == 0
    assert run("apply", "r.json").exit_code == 0
    rows = users(url)
    assert [rows[c]["smtp_port"] for c in ("COMPTA", "COORD", "KMORIN")] == [2600, 2526, 587]

    everything = run("rollback", "2", "--include-later-changes", "--out", "all.json")
    assert everything.exit_code == 0
    assert "(restored anyway: --include-later-changes)" in everything.stdout
    assert run("apply", "all.json").exit_code == 0
    rows = users(url)
    assert [rows[c]["smtp_port"] for c in ("COMPTA", "COORD", "KMORIN")] == [587, 587, 587]


def test_a_rollback_plan_is_stale_when_its_rows_change_before_apply(run, url, tmp_path):
    sandbox(url, users=12)
    write_config(tmp_path, url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, url, users={"COMPTA": smtp_user("COMPTA", port=2525)})
    assert run("apply", "--auto-approve").exit_code == 0
    assert run("rollback", "2", "--out", "r.json").exit_code == 0
    update_user(url, "COMPTA", smtp_port=2526)
    before = dump(url)
    result = run("apply", "r.json")
    assert result.exit_code == 3
    assert result.stderr == (
        "Error: the saved plan for target 'db' is stale: the database changed since it was "
        "planned: user.COMPTA. Nothing was changed; run `mailprov plan` again.\n")
    assert dump(url) == before


def test_the_first_history_layout_is_rolled_back_too(run, url, tmp_path):
    """A row written by an older mailprov holds the plan's full changes, as a list."""
    sandbox(url, users=12)
    write_config(tmp_path, url, users={"COMPTA": smtp_user("COMPTA", port=2525)})
    assert run("apply", "--auto-approve").exit_code == 0
    old = [{"address": "user.COMPTA", "action": "update",
            "before": {"username": "c@example.com", "from": None, "server": "s.example.com",
                       "port": 25, "ssl": False},
            "after": {"username": "compta@example.com", "from": "compta@example.com",
                      "server": "smtp.example.com", "port": 2525, "ssl": True},
            "changed": ["username", "from", "server", "port", "ssl"]},
           {"address": "general", "action": "update",
            "before": {"client": "outlook", "smtp": {"server": None, "port": None,
                                                     "ssl": False}},
            "after": {"client": "outlook", "smtp": {"server": "smtp.example.com",
                                                    "port": 587, "ssl": True}},
            "changed": ["smtp.server", "smtp.port", "smtp.ssl"]}]
    with engine_for(url) as engine, engine.begin() as conn:
        conn.execute(insert(TABLES.history).values(
            id=7, applied_at=datetime(2024, 3, 1, 8, 30), target="db", os_user="alice",
            host="admin-pc", config_digest="sha256:0", base_digest="sha256:1",
            git_commit="0123456789abcdef0123456789abcdef01234567",
            summary="0 to add, 2 to change, 0 to remove", changes=json.dumps(old)))
    result = run("rollback", "7", "--out", "r.json")
    assert result.exit_code == 0, result.output
    assert ("Rollback of apply #7 (2024-03-01T08:30:00Z; 0 to add, 2 to change, 0 to remove; "
            "files at commit 0123456789): every row it changed goes back to its value before "
            "it.\n") in result.stdout
    assert run("apply", "r.json").exit_code == 0
    compta = users(url)["COMPTA"]
    assert (compta["mail_override"], compta["smtp_username"], compta["from_address"],
            compta["smtp_server"], compta["smtp_port"], compta["smtp_ssl"]) == (
        1, "c@example.com", None, "s.example.com", 25, 0)
    # (PostgreSQL numbers it from its own sequence, which the row inserted by hand skipped)
    applies = json.loads(run("history", "--format", "json").stdout)["applies"]
    [rollback] = [a for a in applies if a["id"] not in (1, 7)]
    assert rollback["summary"] == "rollback of #7: 0 to add, 2 to change, 0 to remove"
    assert rollback["rollback_of"] == {
        "id": 7, "git_commit": "0123456789abcdef0123456789abcdef01234567"}
    assert general_row(url)["smtp_server"] is None


def test_what_cannot_be_rolled_back_says_why(run, sqlite_url, tmp_path, memory_keyring,
                                              monkeypatch):
    sandbox(sqlite_url, users=12)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    assert run("rollback", "9").stderr == (
        "Error: no apply #9 is recorded on target 'db': `mailprov history` lists them\n")
    monkeypatch.setenv("MAILPROV_SECRET_KEY", generate_key())
    stored = run("password", "set", "COMPTA", "--stdin", input="s3cret-passw0rd\n")
    assert stored.exit_code == 0, stored.output
    assert run("rollback", "2").stderr == (
        "Error: history entry #2 is a password change (password set for COMPTA), not an "
        "apply: mailprov never keeps passwords, so there is nothing to restore; set it again "
        "with `mailprov password set`\n")
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.execute(insert(TABLES.history).values(
            id=5, applied_at=datetime(2024, 3, 1), target="db", os_user="a", host="h",
            base_digest="sha256:1", summary="?", changes="not json"))
    assert run("rollback", "5").stderr == (
        "Error: history entry #5 cannot be rolled back: its changes cannot be read (the row "
        "is not mailprov JSON)\n")


def test_a_rollback_that_breaks_the_policy_is_not_saved(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=12)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA", port=25,
                                                                   ssl=False)})
    assert run("apply", "--auto-approve").exit_code == 0
    path = write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    with path.open("a", encoding="utf-8") as handle:
        handle.write("policy:\n  forbidden_ports: [25]\n")
    result = run("rollback", "2", "--out", "r.json")
    assert result.exit_code == 1
    line = len(path.read_text().splitlines())
    assert ("Policy: 1 violation; this plan cannot be saved or applied (--force does not "
            "change that):\n"
            f"  mailprov.yaml:{line}:3: policy.forbidden_ports: user COMPTA: port 25 is "
            "forbidden (forbidden ports: 25): use another port, such as 587 (policy rule "
            f"forbidden_ports, mailprov.yaml:{line})\n") in result.stdout
    assert result.stderr.endswith("Nothing was saved.\n")
    assert not (tmp_path / "r.json").exists()


def test_a_rollback_on_a_305_database_restores_smtp_rows_and_names_office365_ones(
        run, sqlite_url, tmp_path):
    """On reference model version 2 (maestro* 3.05) the rollback plan is of that version
    (apply checks it), restores SMTP sections, and names as a conflict a row whose user
    had an Office 365 mode, rather than turning it into an empty SMTP override."""
    sandbox(sqlite_url, users=12, model=2)
    live = api.read_target(api.ResolvedTarget("t", sqlite_url))
    office365 = sorted(code for code, user in live.users.items() if user.office365)[0]
    before, before_users = _rows(sqlite_url), users(sqlite_url)
    write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": dict(SMTP)},
                 users={"COMPTA": smtp_user("COMPTA"), office365: smtp_user(office365)})
    applied = run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    result = run("rollback", "1", "--out", "r.json")
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "r.json").read_text())
    assert plan["model_version"] == 2
    assert [c["address"] for c in plan["changes"]] == ["general", "user.COMPTA"]
    [conflict] = plan["conflicts"]
    assert (conflict["address"], conflict["code"], conflict["included"]) == (
        f"user.{office365}", "office365-mode", False)
    assert conflict["message"] == (
        f"user {office365} had or has an Office 365 – Modern Authentication mode, which "
        "rollback does not restore: set the user's settings in the files and apply")
    shown = run("show", "r.json").stdout
    assert f"user.{office365}: " in shown and "(cannot be restored)" in shown
    result = run("apply", "r.json")
    assert result.exit_code == 0, result.output
    assert _rows(sqlite_url)["general_config"] == before["general_config"]
    now = users(sqlite_url)
    assert now["COMPTA"] == before_users["COMPTA"]
    assert now[office365]["mail_override"]  # left as the apply made it

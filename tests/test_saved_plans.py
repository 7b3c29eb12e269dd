"""Saved plans are applied exactly, to the database they were made from, or not at all.

A plan names its database by what the server says (a copy does not share it), its values
are checked like a configuration before anything is written, a signature proves it was
not edited after review, and a stale plan is refused before its text is shown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import dump, engine_for, sandbox, smtp_user, update_user, users, write_config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mailprov import api
from mailprov.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    monkeypatch.delenv("MAILPROV_PLAN_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(cli, list(args), **kwargs)

    return invoke


@contextmanager
def copy_of(url: str, tmp_path: Path, temporary_database) -> Iterator[str]:
    """A copy of the database at `url` with identical rows: a test copy of production."""
    if url.startswith("sqlite"):
        shutil.copyfile(url.removeprefix("sqlite:///"), tmp_path / "copy.db")
        yield f"sqlite:///{tmp_path / 'copy.db'}"
        return
    backend = "postgres" if url.startswith("postgresql") else "mariadb"
    source = make_url(url).database
    with temporary_database(backend) as other:
        copy = make_url(other).database
        with engine_for(other) as engine, engine.begin() as conn:
            if backend == "mariadb":  # one server: copy table by table, across schemas
                for table in ("general_config", "app_user", "mailprov_history"):
                    conn.execute(text(f"CREATE TABLE `{copy}`.{table} LIKE `{source}`.{table}"))
                    conn.execute(text(f"INSERT INTO `{copy}`.{table} "
                                      f"SELECT * FROM `{source}`.{table}"))
        if backend == "postgres":
            _pg_copy(url, other)
        yield other


def _pg_copy(url: str, other: str) -> None:
    """PostgreSQL cannot query another database: dump the rows, create the tables alike."""
    with engine_for(url) as engine, engine.connect() as conn:
        tables = {name: conn.execute(text(f"SELECT * FROM {name} ORDER BY 1")).mappings().all()
                  for name in ("general_config", "app_user", "mailprov_history")}
    from mailprov.db.tables import build_tables
    from mailprov.model import REFERENCE

    with engine_for(other) as engine, engine.begin() as conn:
        metadata = build_tables(REFERENCE).general.metadata
        metadata.create_all(conn)
        for name, rows in tables.items():
            if rows:
                conn.execute(metadata.tables[name].insert(), [dict(r) for r in rows])


def _saved_plan(run, tmp_path: Path, url: str) -> list[str]:
    codes = sandbox(url, users=10)
    write_config(tmp_path, url, users={codes[0]: smtp_user(codes[0])})
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, url, users={codes[0]: smtp_user(codes[0], port=2525),
                                       codes[1]: smtp_user(codes[1])})
    result = run("plan", "--out", "p.json")
    assert result.exit_code == 0, result.output
    return codes


def test_a_saved_plan_applies_only_to_the_database_it_was_made_from(
        run, db_url, tmp_path, temporary_database, monkeypatch):
    codes = _saved_plan(run, tmp_path, db_url)
    plan = json.loads((tmp_path / "p.json").read_text())
    assert plan["database_id"].startswith("db:")
    with copy_of(db_url, tmp_path, temporary_database) as copy:
        original, copied = dump(db_url), dump(copy)
        assert copied["app_user"] == original["app_user"]  # identical rows: the stale check
        # would pass; only the identity tells the databases apart
        shown_copy = api.ResolvedTarget("x", copy).display_url
        shown_url = api.ResolvedTarget("x", db_url).display_url
        for args, env in ((["--db", copy], {}), ([], {"MAILPROV_DB_URL": copy})):
            result = run("apply", "p.json", *args, env=env)
            assert result.exit_code == 3, result.output
            assert result.stdout == ""
            message = result.stderr
            assert message.startswith(
                f"Error: the plan was made for target 'db', database {shown_url} (db:")
            assert f"but {shown_copy} is another database (db:" in message
            assert message.endswith("Nothing was changed; plan against this database "
                                    "instead.\n")
            assert dump(copy) == copied and dump(db_url) == original
    # the same database under another spelling of its URL is the same database
    if db_url.startswith("sqlite"):  # another path to the same file
        (tmp_path / "link.db").symlink_to(tmp_path / "maestro.db")
    other_spelling = (db_url.replace("maestro.db", "link.db")
                      if db_url.startswith("sqlite") else
                      db_url + ("&" if "?" in db_url else "?") + "application_name=x"
                      if db_url.startswith("postgresql") else db_url + "&autocommit=false")
    result = run("apply", "p.json", "--db", other_spelling)
    assert result.exit_code == 0, result.output
    shown = api.ResolvedTarget("x", other_spelling).display_url
    assert result.stdout.endswith(f"(history #2) in {shown}.\n")  # the database written
    assert users(db_url)[codes[0]]["smtp_port"] == 2525
    assert run("apply", "p.json").exit_code == 3  # applied once; now stale


@pytest.mark.parametrize("edit, says", [
    (lambda p: p["changes"][0]["after"].update(port=99999),
     'changes[0] ("user.COMPTA"): after.port: 99999 is not a port (1 to 65535)'),
    (lambda p: p["changes"][0]["after"].update(port=-5),
     'changes[0] ("user.COMPTA"): after.port: -5 is not a port (1 to 65535)'),
    (lambda p: p["changes"][0]["after"].update(ssl="yes"),
     'changes[0] ("user.COMPTA"): after.ssl: "yes" is not true or false'),
    (lambda p: p["changes"][1]["after"].update({"from": "not-an-address"}),
     'changes[1] ("user.COORD"): after.from: "not-an-address" is not an e-mail address: '
     "An email address must have an @-sign."),
    (lambda p: p["changes"][1]["after"].update(server="smtp://evil:25"),
     'changes[1] ("user.COORD"): after.server: "smtp://evil:25" is not a host name'),
    (lambda p: p["changes"][0].update(action="drop"),
     'changes[0] ("user.COMPTA"): unknown action "drop" (create, update or delete)'),
    (lambda p: p["changes"][0].update(changed=["smtp_password"]),
     'changes[0] ("user.COMPTA"): unknown field "smtp_password" (allowed: mode, username, '
     "from, server, port, ssl, email)"),
    # what apply writes is `after`; what show, the history and drift name is `changed`: a
    # value written but not named would be written unseen
    (lambda p: p["changes"][0]["after"].update({"from": "ceo@evil.example"}),
     'changes[0] ("user.COMPTA"): `changed` must name exactly the fields `before` and '
     "`after` differ in, in this order: from, port"),
    (lambda p: p["changes"][0].update(changed=["port", "ssl"]),
     'changes[0] ("user.COMPTA"): `changed` must name exactly the fields `before` and '
     "`after` differ in, in this order: port"),
    (lambda p: p["changes"][0]["after"].update(port=p["changes"][0]["before"]["port"]),
     'changes[0] ("user.COMPTA"): `changed` must name exactly the fields `before` and '
     "`after` differ in, in this order: (none: the change changes nothing)"),
    (lambda p: p["changes"][0].update(address="app_user"),
     'changes[0] ("app_user"): unknown address "app_user" (general or user.CODE)'),
    (lambda p: p.update(target_url="postgresql://u:hunter2@db/maestro"),
     "target_url: holds a password: plans never do"),
])
def test_an_edited_plan_is_checked_like_a_configuration(run, sqlite_url, tmp_path, edit, says):
    _saved_plan(run, tmp_path, sqlite_url)
    path = tmp_path / "p.json"
    plan = json.loads(path.read_text())
    edit(plan)
    path.write_text(json.dumps(plan))
    before = dump(sqlite_url)
    result = run("apply", "p.json")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == (f"Error: p.json: not a valid mailprov plan; nothing was changed:\n"
                             f"  {says}\n")
    assert "hunter2" not in result.output
    assert dump(sqlite_url) == before


def test_a_signed_plan_edited_after_review_is_refused(run, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILPROV_PLAN_KEY", "a-key-only-ci-and-the-admin-know")
    codes = _saved_plan(run, tmp_path, sqlite_url)
    result = run("plan", "--out", "p.json")
    assert "(signed with the plan key)" in result.stderr
    path = tmp_path / "p.json"
    good = path.read_text()
    assert json.loads(good)["signature"].startswith("hmac-sha256:")
    before = dump(sqlite_url)

    tampered = json.loads(good)
    tampered["changes"][0]["after"]["port"] = 2526  # a valid value, but not the reviewed one
    path.write_text(json.dumps(tampered))
    result = run("apply", "p.json")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == ("Error: p.json was changed after it was saved (its signature "
                             "does not match), or was signed with another key. Nothing was "
                             "changed; plan again.\n")
    assert "Signature: NOT VALID" in run("show", "p.json").stderr

    unsigned = json.loads(good)
    del unsigned["signature"]
    path.write_text(json.dumps(unsigned))
    result = run("apply", "p.json")
    assert result.exit_code == 3
    assert "is not signed, and this machine has a plan key" in result.stderr

    path.write_text(good)
    monkeypatch.delenv("MAILPROV_PLAN_KEY")
    result = run("apply", "p.json", env={"PYTHON_KEYRING_BACKEND":
                                          "keyring.backends.fail.Keyring"})
    assert result.exit_code == 3
    assert "is signed, but no plan key is available to check it" in result.stderr
    assert dump(sqlite_url) == before

    monkeypatch.setenv("MAILPROV_PLAN_KEY", "a-key-only-ci-and-the-admin-know")
    assert run("show", "p.json").stderr == "Signature: valid.\n"
    result = run("apply", "p.json")
    assert result.exit_code == 0, result.output
    assert users(sqlite_url)[codes[0]]["smtp_port"] == 2525


def test_show_prints_a_saved_plan_as_plan_did(run, sqlite_url, tmp_path):
    _saved_plan(run, tmp_path, sqlite_url)
    for fmt in ("text", "markdown"):
        planned = run("plan", "--format", fmt)
        shown = run("show", "p.json", "--format", fmt)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout == planned.stdout
        assert shown.stderr == "Signature: unsigned.\n"
    shown = run("show", "p.json", "--format", "json")
    assert json.loads(shown.stdout) == json.loads((tmp_path / "p.json").read_text())
    missing = run("show", "nope.json")
    assert missing.exit_code == 1
    assert missing.stderr == ("Error: nope.json: cannot read the plan file: No such file or "
                              "directory\n")


def test_a_stale_plan_is_refused_before_its_text_is_printed(run, sqlite_url, tmp_path):
    codes = _saved_plan(run, tmp_path, sqlite_url)
    update_user(sqlite_url, codes[0], smtp_username="changed-by-hand@example.com")
    result = run("apply", "p.json")
    assert result.exit_code == 3
    assert result.stdout == ""  # no plan text for a plan that will not run
    assert result.stderr == (
        "Error: the saved plan for target 'db' is stale: the database changed since it was "
        f"planned: user.{codes[0]}. Nothing was changed; run `mailprov plan` again.\n")
    assert users(sqlite_url)[codes[0]]["smtp_username"] == "changed-by-hand@example.com"


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_commit_of_a_plan_and_of_the_history_says_dirty(run, sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])})
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "mailprov.yaml")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")
    sha = _git(tmp_path, "rev-parse", "HEAD")
    assert run("plan", "--out", "clean.json").exit_code == 0
    assert json.loads((tmp_path / "clean.json").read_text())["git_commit"] == sha

    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0], port=2525)})
    assert run("plan", "--out", "dirty.json").exit_code == 0
    assert json.loads((tmp_path / "dirty.json").read_text())["git_commit"] == f"{sha}+dirty"
    assert run("apply", "dirty.json").exit_code == 0
    history = run("history")
    assert f" git {sha[:10]}+dirty" in history.stdout
    assert api.history(api.resolve_target(None, sqlite_url))[0]["git_commit"] == f"{sha}+dirty"
    result = run("apply", "--auto-approve")  # the files, planned under the lock: also dirty
    assert result.exit_code == 0


def test_emptying_the_safety_verdict_of_a_plan_does_not_lift_the_limit(run, sqlite_url,
                                                                      tmp_path):
    codes = sandbox(sqlite_url, users=12)
    listed = {c: smtp_user(c) for c in codes[:10]}
    write_config(tmp_path, sqlite_url, users=listed)
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, sqlite_url, users={**listed, **{c: {"smtp": False}
                                                         for c in codes[:4]}})
    assert run("plan", "--out", "p.json").exit_code == 0
    path = tmp_path / "p.json"
    plan = json.loads(path.read_text())
    assert plan["safety"]["exceeded"] is True
    plan["safety"].update(reasons=[], exceeded=False, counted_changes=0)  # hand-edited
    path.write_text(json.dumps(plan))
    before = dump(sqlite_url)
    result = run("apply", "p.json")
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: refused for safety: it removes or changes 4 of 10 "
                                    "existing overrides (40%, limit 30%).")
    assert dump(sqlite_url) == before


def test_an_edited_override_count_does_not_lift_the_limit(run, sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=12)
    listed = {c: smtp_user(c) for c in codes[:10]}
    write_config(tmp_path, sqlite_url, users=listed)
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, sqlite_url, users={**listed, **{c: {"smtp": False}
                                                         for c in codes[:4]}})
    assert run("plan", "--out", "p.json").exit_code == 0
    path = tmp_path / "p.json"
    plan = json.loads(path.read_text())
    plan["safety"].update(reasons=[], exceeded=False, existing_overrides=100)
    path.write_text(json.dumps(plan))
    before = dump(sqlite_url)
    result = run("apply", "p.json")
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("Error: refused for safety: it removes or changes 4 of 10 "
                                    "existing overrides (40%, limit 30%).")
    assert dump(sqlite_url) == before


@pytest.mark.parametrize("edit", [
    lambda p: p["changes"][1].update(number=5),  # another row than the change names
    lambda p: p["changes"][1].update(before=p["changes"][1]["after"], action="delete",
                                     after=None),  # a removal of an override that is not
])
def test_a_change_must_describe_the_row_it_writes(run, sqlite_url, tmp_path, edit):
    codes = sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])})
    assert run("plan", "--out", "p.json").exit_code == 0
    path = tmp_path / "p.json"
    plan = json.loads(path.read_text())
    assert plan["changes"][1]["address"] == f"user.{codes[0]}"
    edit(plan)
    path.write_text(json.dumps(plan))
    before = dump(sqlite_url)
    result = run("apply", "p.json")
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(
        "Error: the saved plan for target 'db' does not describe the database it was made "
        f"from: its change of user.{codes[0]} does not match ")
    assert result.stderr.endswith("The plan was edited after it was made. Nothing was "
                                  "changed; plan again.\n")
    assert dump(sqlite_url) == before


def test_a_plan_written_into_a_missing_folder_is_a_clear_error(run, sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=5)
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])})
    result = run("plan", "--out", "no/such/folder/p.json")
    assert result.exit_code == 1
    assert result.stderr == ("Error: cannot write the plan to no/such/folder/p.json: No such "
                             "file or directory (its folder does not exist: create it "
                             "first)\n")


def test_a_plan_whose_mapping_writes_one_table_as_two_is_refused(run, sqlite_url, tmp_path):
    _saved_plan(run, tmp_path, sqlite_url)
    path = tmp_path / "p.json"
    plan = json.loads(path.read_text())
    plan["mapping"] = {"version": 1, "users": {"table": "general_config"}}
    path.write_text(json.dumps(plan))
    result = run("apply", "p.json")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: p.json: not a valid mailprov plan; nothing was changed:\n"
        "  mapping: users.table and general.table both name 'general_config': they are two "
        "tables; name each\n")


def test_a_mapping_file_naming_one_column_twice_is_refused(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=5)
    (tmp_path / "m.yaml").write_text("version: 1\nusers:\n  columns:\n"
                                     "    username: from_address\n", encoding="utf-8")
    write_config(tmp_path, sqlite_url, mapping="m.yaml")
    result = run("plan")
    assert result.exit_code == 1
    assert result.stderr == (
        "m.yaml: users.columns: `username` and `from` both name column 'from_address': give "
        "each field its own column\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")


@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_number_too_long_for_python_is_not_a_plan(run, sqlite_url, tmp_path, command):
    """json refuses a number of more than 4,300 digits with a ValueError of its own: the
    plan file is refused as a plan, not reported as a bug."""
    _saved_plan(run, tmp_path, sqlite_url)
    path = tmp_path / "p.json"
    text = path.read_text()
    path.write_text(text.replace('"port": 2525', '"port": 1' + "0" * 5000, 1))
    before = dump(sqlite_url)
    result = run(command, "p.json")
    assert result.exit_code == 1
    assert result.stderr == ("Error: p.json: not a mailprov plan (a number too long to be one "
                             "a plan holds). Save plans with `mailprov plan --out FILE`.\n")
    assert dump(sqlite_url) == before

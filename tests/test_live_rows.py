"""Rows a real installation has: users without a code or a name (its table may allow
them), and text holding terminal escape sequences. Every command reads them without
crashing, says what it leaves out, and escapes what it prints.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from dbhelpers import SMTP, engine_for, smtp_user, untemplated, write_config
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    update,
)
from test_import_live import plan_schema_errors

from mailprov import api
from mailprov.cli import cli
from mailprov.config.urls import redact

NO_CHANGES = "No changes. maestro* matches the configuration.\n"
LEFT_OUT = ("users number 2, 4 (app_user.user_no) have no user code: mailprov leaves them "
            "alone (the files name users by their code); give them a code in maestro*")


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def installation(url: str, users: list[dict], client: str = "smtp") -> None:
    """The reference tables, made here, without NOT NULL on code and name."""
    metadata = MetaData()
    general = Table("general_config", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=False),
                    Column("edition", String(16), nullable=False),
                    Column("mail_client", String(16), nullable=False),
                    Column("smtp_server", String(255)), Column("smtp_port", Integer),
                    Column("smtp_ssl", Boolean, nullable=False))
    people = Table("app_user", metadata,
                   Column("user_no", Integer, primary_key=True, autoincrement=False),
                   Column("code", String(255)), Column("name", String(255)),
                   Column("mail_override", Boolean, nullable=False),
                   Column("smtp_username", String(255)), Column("from_address", String(255)),
                   Column("smtp_server", String(255)), Column("smtp_port", Integer),
                   Column("smtp_ssl", Boolean), Column("smtp_password", Text),
                   Column("password_set_at", DateTime))
    with engine_for(url) as engine, engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(insert(general).values(id=1, edition="standard", mail_client=client,
                                            smtp_server=SMTP["server"], smtp_port=SMTP["port"],
                                            smtp_ssl=SMTP["ssl"]))
        conn.execute(insert(people), [{"mail_override": False, "smtp_username": None,
                                       "from_address": None, "smtp_server": None,
                                       "smtp_port": None, "smtp_ssl": None, **row}
                                      for row in users])


def override(code: str) -> dict:
    address = f"{code.lower()}@example.com"
    return {"mail_override": True, "smtp_username": address, "from_address": address,
            "smtp_server": SMTP["server"], "smtp_port": SMTP["port"], "smtp_ssl": SMTP["ssl"]}


def test_users_without_a_code_or_a_name(run, db_url, tmp_path):
    installation(db_url, [
        {"user_no": 1, "code": "COMPTA", "name": "Comptabilité", **override("COMPTA")},
        {"user_no": 2, "code": None, "name": "Sans Code", **override("X")},
        {"user_no": 3, "code": "KMORIN", "name": None, **override("KMORIN")},
        {"user_no": 4, "code": None, "name": None},
        {"user_no": 5, "code": "MVACHON", "name": None},
    ])
    write_config(tmp_path, db_url, general={"client": "smtp", "smtp": SMTP},
                 users={"COMPTA": smtp_user("COMPTA"), "KMORIN": smtp_user("KMORIN")})
    result = run("plan")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"Target 'db' ({redact(db_url)}), edition standard.\n\n"
        "No existing override is left alone: the files list every user that has one.\n"
        f"Warning: database: {LEFT_OUT}\n" + NO_CHANGES)

    document = json.loads(run("plan", "--format", "json").stdout)
    assert untemplated(document["warnings"]) == [
        {"code": "users-without-code", "address": "database", "message": LEFT_OUT}]
    assert plan_schema_errors(document) == []

    result = run("import", "-o", "imported.yaml")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"Warning: {LEFT_OUT}\nWrote imported.yaml.\n"
    result = run("plan", "-c", "imported.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(NO_CHANGES)

    result = run("explain", "KMORIN")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "KMORIN on target 'db', edition standard"
    result = run("explain", "MVACHON")
    assert result.stdout.splitlines()[:2] == ["MVACHON on target 'db', edition standard",
                                              "  sends with: smtp"]
    result = run("explain", "NOBODY")
    assert (result.exit_code, result.stderr) == (1, "Error: no user 'NOBODY' in target 'db'\n")

    result = run("apply", "--auto-approve")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert run("history").exit_code == 0

    # prune: every user with a code is managed; the rows without one are left as they are
    write_config(tmp_path, db_url, general={"client": "smtp", "smtp": SMTP},
                 users={"KMORIN": smtp_user("KMORIN")}, prune=True)
    assert run("plan", "--out", "prune.json").exit_code == 0
    result = run("apply", "prune.json")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert result.stdout.endswith("Apply complete: 0 added, 0 changed, 1 removed "
                                  f"(history #1) in {redact(db_url)}.\n")
    with engine_for(db_url) as engine, engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT user_no, mail_override FROM app_user "
                                    "ORDER BY user_no").all()
    assert [(n, bool(o)) for n, o in rows] == [(1, False), (2, True), (3, True), (4, False),
                                               (5, False)]


RED = "RED\x1b[31m"
TITLE = "\x1b]0;owned\x07Name"


def test_what_the_database_holds_is_escaped_in_every_output(run, db_url, tmp_path):
    installation(db_url, [
        {"user_no": 1, "code": RED, "name": TITLE, **override("red")},
        {"user_no": 2, "code": "COMPTA", "name": "Comptabilité"},
    ], client="smtp\x1b[2J")
    write_config(tmp_path, db_url, general={"smtp": SMTP}, users={}, prune=True)

    result = run("explain", RED)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "'RED\\x1b[31m' ('\\x1b]0;owned\\x07Name') on target 'db', edition standard")
    assert result.stdout.splitlines()[2] == (
        "  because:    the user's own SMTP section is enabled; it takes precedence over the "
        "general default (smtp\\x1b[2J): maestro*'s bi-mode")
    result = run("explain", "COMPTA")
    assert result.stdout.splitlines()[1:3] == [
        "  sends with: smtp\\x1b[2J",
        "  because:    no per-user SMTP section: the general default applies (smtp\\x1b[2J)"]

    result = run("plan")
    assert result.exit_code == 0, result.output
    assert "  - user.'RED\\x1b[31m'  (REMOVE the per-user SMTP override)\n" in result.stdout
    result = run("plan", "--format", "markdown")
    assert "RED" in result.stdout and "\x1b" not in result.stdout  # named, escaped
    for output in (run("plan").stdout, run("plan", "--format", "markdown").stdout,
                   run("explain", RED).stdout, run("explain", "COMPTA").stdout):
        assert "\x1b" not in output and "\x07" not in output

    assert run("apply", "--auto-approve").exit_code == 0
    with engine_for(db_url) as engine, engine.begin() as conn:
        history = Table("mailprov_history", MetaData(), autoload_with=conn)
        conn.execute(update(history).values(os_user="ad\x1b[2Jmin", host="host\rx"))
    result = run("history")
    assert result.exit_code == 0
    assert "  'ad\\x1b[2Jmin'@'host\\rx'  0 to add, 0 to change, 1 to remove\n" in result.stdout


def test_a_date_that_is_not_a_date_is_read_as_unknown(run, sqlite_url, tmp_path):
    """A hand-edited SQLite row: plan, explain and password status still work, and the plan
    says which user and column to correct."""
    installation(sqlite_url, [{"user_no": 1, "code": "COMPTA", "name": "Compta",
                               **override("COMPTA"), "password_set_at": None}])
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE app_user SET password_set_at = 'hier', "
                             "smtp_password = 'x' WHERE user_no = 1")
    write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": SMTP},
                 users={"COMPTA": smtp_user("COMPTA")})
    message = ("user COMPTA (app_user.password_set_at) holds 'hier', which is not a date: "
               "mailprov reads it as unknown; correct or clear it in maestro*")
    result = run("plan")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert f"Warning: user.COMPTA: {message}\n" in result.stdout
    document = json.loads(run("plan", "--format", "json").stdout)
    assert untemplated(document["warnings"]) == [
        {"code": "unreadable-date", "address": "user.COMPTA", "message": message}]
    assert plan_schema_errors(document) == []
    result = run("explain", "COMPTA")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    # the user's own row: explain says it among its notes, password status on stderr
    assert message in " ".join(result.stdout.split())
    assert json.loads(run("explain", "COMPTA", "--format", "json").stdout)["notes"][-1] \
        == message
    result = run("password", "status")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Warning: {message}\n"
    document = json.loads(run("password", "status", "--format", "json").stdout)
    assert document["warnings"] == [{"code": "unreadable-date", "address": "user.COMPTA",
                                     "message": message}]


def test_unreadable_dates_in_password_and_office365_status(run, sqlite_url, tmp_path):
    """A number and a date with a time zone where a date is kept: the status commands still
    answer, and office365 status says which sign-in date it could not read."""
    api.sandbox(sqlite_url, users=12, model=2)
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.exec_driver_sql("UPDATE app_user SET password_set_at = 1700000000, "
                             "smtp_password = 'x' WHERE user_no = 1")
        conn.exec_driver_sql("UPDATE app_user SET password_set_at = "
                             "'2026-11-30T08:37:00+05:00', smtp_password = 'y' WHERE user_no = 2")
        conn.exec_driver_sql("UPDATE app_user SET o365_authenticated_at = '2026-13-01' "
                             "WHERE mail_mode = 'office365'")
    write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": SMTP}, users={})
    result = run("password", "status")
    assert result.exit_code == 0, result.output
    # the number is no date, the date with a time zone is one; and the sign-in dates of
    # the Office 365 users, whom password status lists too
    lines = result.stderr.splitlines()
    assert lines[0] == ("Warning: user COMPTA (app_user.password_set_at) holds '1700000000', "
                        "which is not a date: mailprov reads it as unknown; correct or clear "
                        "it in maestro*")
    assert len(lines) == 3 and all("(app_user.o365_authenticated_at) holds '2026-13-01'" in line
                                   for line in lines[1:]), lines
    assert "2 Office 365 users: 0 signed in, 0 not yet.\n2 of them are unknown: the " \
        "sign-in date maestro* holds is not a date.\n" in result.stdout
    summary = json.loads(run("password", "status", "--format", "json").stdout)["summary"]
    assert (summary["office365_users"], summary["office365_unknown"]) == (2, 2)
    # in a fleet, after the target's section
    result = run("password", "status", "--all-targets")
    assert result.exit_code == 0, result.output
    assert [line for line in result.stdout.splitlines() if line.startswith("Warning:")] \
        == lines
    result = run("office365", "status")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == lines  # every warning of the database, as above
    # maestro* holds something there: whether they signed in is unknown, not "not yet"
    unknown = [line for line in result.stdout.splitlines() if "unknown" in line]
    assert len(unknown) == 2 and all(line.endswith(
        "unknown: the sign-in date maestro* holds is not a date") for line in unknown)
    assert "Remind" not in result.stdout
    data = json.loads(run("office365", "status", "--format", "json").stdout)
    assert data["summary"] == {"users": 2, "authenticated": 0, "pending": 0, "unknown": 2}
    assert {user["authenticated"] for user in data["users"]} == {None}
    assert [w["address"] for w in data["warnings"]] == [
        "user." + line.split()[2] for line in lines]
    code = data["users"][0]["code"]
    notes = " ".join(run("explain", code).stdout.split())
    assert "which is not a date" in notes and "has not authenticated" not in notes
    assert "Traceback" not in result.output


def test_a_mode_maestro_does_not_know_is_named_not_guessed(run, sqlite_url, tmp_path):
    """`mail_mode` holding a value maestro* 3.05 does not use: the user is read as
    following the general mode, and plan, status commands and explain say so."""
    api.sandbox(sqlite_url, users=12, model=2)
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        code = conn.exec_driver_sql("SELECT code FROM app_user WHERE mail_mode IS NULL "
                                    "AND mail_override = 0 ORDER BY user_no").scalar()
        conn.exec_driver_sql("UPDATE app_user SET mail_mode = 'weird' WHERE code = ?", (code,))
        # one whose SMTP section is on sends with it: its mode column is not read
        other = conn.exec_driver_sql("SELECT code FROM app_user WHERE mail_mode IS NULL "
                                     "AND code <> ? ORDER BY user_no", (code,)).scalar()
        assert other is not None
        conn.exec_driver_sql("UPDATE app_user SET mail_mode = 'legacy', mail_override = 1, "
                             "smtp_username = 'x@example.com' WHERE code = ?", (other,))
    write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": SMTP}, users={})
    message = (f"user {code} (app_user.mail_mode) holds 'weird', which is no mode maestro* "
               "3.05 knows: mailprov reads it as following the general mode; correct it in "
               "maestro*")
    document = json.loads(run("plan", "--format", "json").stdout)
    assert untemplated([w for w in document["warnings"] if w["code"] == "unknown-mode"]) == [
        {"code": "unknown-mode", "address": f"user.{code}", "message": message}]
    assert plan_schema_errors(document) == []
    for args in (["office365", "status"], ["password", "status"]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert f"Warning: {message}\n" in result.stderr
    assert message in " ".join(run("explain", code).stdout.split())

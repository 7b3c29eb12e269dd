"""The `mailprov` command end to end (click's CliRunner) on real databases."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from dbhelpers import (
    MAPPING_FILE,
    dump,
    engine_for,
    mapped_installation,
    sandbox,
    set_passwords,
    smtp_user,
    untemplated,
    update_user,
    users,
    write_config,
)
from sqlalchemy import Table, create_engine, select, text

from mailprov import api
from mailprov.cli import cli

PROMPT = "Apply these changes? Only 'yes' is accepted: "
DECLINED = "Error: apply cancelled: the answer was not 'yes'. Nothing was changed.\n"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke `mailprov ARGS` in tmp_path; return click's Result."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    monkeypatch.delenv("MAILPROV_DB_PASSWORD", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input)

    return invoke


def expected_first_plan(url: str) -> str:
    return f"""Target 'db' ({url}), edition standard.

mailprov will make these changes:

  ~ general  (update)
      smtp.server  (none) -> smtp.example.com
      smtp.port    (none) -> 587
      smtp.ssl     false -> true

  + user.COMPTA  (enable the per-user SMTP override)
      username  compta@example.com
      from      compta@example.com
      server    smtp.example.com
      port      587
      ssl       true

No existing override is left alone: the files list every user that has one.
Password: COMPTA: needs a password: none is stored for the login compta@example.com; set \
it with `mailprov password set COMPTA` (or the user types it in maestro*, Préférences > \
Courriel)
Plan: 1 to add, 1 to change, 0 to remove.
"""


def test_sandbox_plan_formats_and_saved_plan_apply(run, sqlite_url, tmp_path):
    result = run("sandbox", sqlite_url, "--users", "12", "--model", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Created a standard sandbox with 12 users in {sqlite_url}.\n"
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})

    result = run("plan")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == expected_first_plan(sqlite_url)
    assert run("plan", "--detailed-exitcode").exit_code == 2

    result = run("plan", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {"format_version", "target", "base_digest", "changes_present", "changes",
            "summary", "warnings"} <= set(data)
    assert data["format_version"] == "1.4"
    assert re.fullmatch(r"db:[0-9a-f]{24}", data["database_id"])
    assert data["managed_users"] == [1]  # COMPTA, the one user the files list
    assert data["target"] == "db"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", data["base_digest"])
    assert data["changes_present"] is True
    assert data["summary"] == {"create": 1, "update": 1, "delete": 0}
    assert data["warnings"] == []
    assert untemplated(data["password_notes"]) == [{
        "address": "user.COMPTA", "code": "needs-password",
        "message": "needs a password: none is stored for the login compta@example.com; set "
                   "it with `mailprov password set COMPTA` (or the user types it in maestro*, "
                   "Préférences > Courriel)"}]
    assert data["changes"] == [
        {"address": "general", "action": "update",
         "before": {"client": "outlook", "smtp": {"server": None, "port": None, "ssl": False}},
         "after": {"client": "outlook",
                   "smtp": {"server": "smtp.example.com", "port": 587, "ssl": True}},
         "changed": ["smtp.server", "smtp.port", "smtp.ssl"]},
        {"address": "user.COMPTA", "action": "create", "before": None,
         "after": {"username": "compta@example.com", "from": "compta@example.com",
                   "server": "smtp.example.com", "port": 587, "ssl": True},
         "changed": ["username", "from", "server", "port", "ssl"], "number": 1,
         "sources": {
             "username": {"source": "user", "file": "mailprov.yaml", "line": 15, "column": 17,
                          "path": "users.COMPTA.smtp.username"},
             "from": {"source": "user", "file": "mailprov.yaml", "line": 16, "column": 13,
                      "path": "users.COMPTA.smtp.from"},
             "server": {"source": "general", "file": "mailprov.yaml", "line": 9, "column": 13,
                        "path": "general.smtp.server"},
             "port": {"source": "general", "file": "mailprov.yaml", "line": 10, "column": 11,
                      "path": "general.smtp.port"},
             "ssl": {"source": "general", "file": "mailprov.yaml", "line": 11, "column": 10,
                     "path": "general.smtp.ssl"}}},
    ]

    result = run("plan", "--format", "markdown")
    assert result.exit_code == 0
    markdown = result.stdout
    assert markdown.startswith(
        "<!-- mailprov:plan target=db -->\n### mailprov plan · <code>db</code>\n\n"
        "✅ **Ready to apply\\.**\n\n"
        "**Plan\\: 1 to add\\, 1 to change\\, 0 to remove\\.** ")
    assert ("| Port | <code>\\(none\\)</code> | **<code>587</code>** | General "
            "configurations \\> Divers \\> « Configuration du compte de courriel SMTP » |"
            ) in markdown
    assert "<details open><summary><b>1 per-user SMTP section to enable</b></summary>" \
        in markdown
    assert ("- [ ] <code>COMPTA</code>: needs a password\\: none is stored for the login "
            "compta\\@example\\.com\\; set it with \\`mailprov password set COMPTA\\` \\(or "
            "the user types it in maestro\\*\\, Préférences \\> Courriel\\)\n") in markdown
    digest = data["base_digest"].replace(":", "\\:")  # Markdown-escaped
    assert f"<sub>base {digest}</sub>" in markdown

    result = run("plan", "--out", "prod.plan.json")
    assert result.exit_code == 0
    assert result.stdout == expected_first_plan(sqlite_url)
    assert result.stderr == ("Saved the plan to prod.plan.json (not signed: no plan key is "
                             "set); apply it with `mailprov apply prod.plan.json`.\n")
    assert (tmp_path / "prod.plan.json").read_text(encoding="utf-8") == json.dumps(
        data, indent=2, ensure_ascii=False) + "\n"

    (tmp_path / "mailprov.yaml").unlink()  # a saved plan needs no configuration
    result = run("apply", "prod.plan.json")
    assert result.exit_code == 0, result.output
    assert result.stdout == (expected_first_plan(sqlite_url)
                             + "Apply complete: 1 added, 1 changed, 0 removed (history #1) "
                             f"in {sqlite_url}.\n")
    assert users(sqlite_url)["COMPTA"]["smtp_username"] == "compta@example.com"

    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    result = run("plan", "--detailed-exitcode")
    assert result.exit_code == 0
    assert result.stdout.endswith("\nNo changes. maestro* matches the configuration.\n")


def test_apply_asks_for_yes(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    before = dump(sqlite_url)
    for answer in ("no\n", "", "y\n", "YES\n", "yes please\n"):
        result = run("apply", input=answer)
        assert result.exit_code == 1, answer
        assert result.stdout.startswith(expected_first_plan(sqlite_url))
        assert PROMPT in result.stdout
        assert result.stderr == DECLINED
        assert dump(sqlite_url) == before

    result = run("apply", input="yes\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == (expected_first_plan(sqlite_url) + PROMPT
                             + "Apply complete: 1 added, 1 changed, 0 removed (history #1) "
                             f"in {sqlite_url}.\n")
    assert users(sqlite_url)["COMPTA"]["mail_override"] == 1

    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA", port=2525)})
    result = run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert PROMPT not in result.stdout
    assert result.stdout.endswith("Apply complete: 0 added, 1 changed, 0 removed "
                                  f"(history #2) in {sqlite_url}.\n")
    assert users(sqlite_url)["COMPTA"]["smtp_port"] == 2525

    result = run("apply")  # nothing to do: no question asked
    assert result.exit_code == 0
    assert result.stdout.endswith("No changes. maestro* matches the configuration.\n")
    assert PROMPT not in result.stdout


def test_import_then_plan_shows_no_changes(run, sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=12)
    write_config(tmp_path, sqlite_url, users={
        "COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD", port=2525, ssl=False),
        codes[4]: {"smtp": {"username": "x@example.com", "server": "relay.example.com"}}})
    assert run("apply", "--auto-approve").exit_code == 0

    result = run("import", "-o", "imported.yaml")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Wrote imported.yaml.\n")
    imported = (tmp_path / "imported.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(imported)
    # the database lies in the new file's folder: written relative to it
    assert sqlite_url == f"sqlite:///{tmp_path}/maestro.db"
    assert data["targets"] == {"db": {"url": "sqlite:///maestro.db", "edition": "standard"}}
    assert data["users"]["COORD"] == {"smtp": {"username": "coord@example.com",
                                               "from": "coord@example.com", "port": 2525,
                                               "ssl": False}}
    assert run("import").stdout == imported

    (tmp_path / "mailprov.yaml").unlink()
    result = run("plan", "-c", "imported.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "No existing override is left alone: the files list every user that has one.\n"
        "No changes. maestro* matches the configuration.\n")

    result = run("import", "-t", sqlite_url, "-o", "imported.yaml")
    assert result.exit_code == 1
    assert result.stderr == ("Error: imported.yaml already exists: choose another file, or "
                             "add --force\n")
    assert run("import", "-t", sqlite_url, "-o", "imported.yaml", "--force").exit_code == 0


def test_explain_and_history(run, sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=12)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    result = run("history")
    assert (result.exit_code, result.stdout) == (0, "No apply recorded on target 'db'.\n")
    assert run("apply", "--auto-approve").exit_code == 0

    result = run("explain", "COMPTA")
    assert result.exit_code == 0
    assert result.stdout == (
        "COMPTA (Comptabilité) on target 'db', edition standard\n"
        "  sends with: per-user SMTP override\n"
        "  because:    the user's own SMTP section is enabled; it takes precedence over the "
        "general default (outlook): maestro*'s bi-mode\n"
        "  server:     smtp.example.com\n"
        "  port:       587\n"
        "  ssl:        true\n"
        "  login:      compta@example.com\n"
        "  from:       compta@example.com\n"
        "  password:   not entered\n"
        "  note:       no SMTP password entered yet: the user types it in maestro* "
        "(Préférences > Courriel), or set it with `mailprov password set COMPTA`\n"
        # ./mailprov.yaml is read: what the files make of the user, and from where
        "  in the files: its entry under `users:`, mailprov.yaml:13\n"
        "    login   compta@example.com           <- the user's entry (mailprov.yaml:15:17)\n"
        "    from    compta@example.com           <- the user's entry (mailprov.yaml:16:13)\n"
        "    server  smtp.example.com             <- inherited from general.smtp "
        "(mailprov.yaml:9:13)\n"
        "    port    587                          <- inherited from general.smtp "
        "(mailprov.yaml:10:11)\n"
        "    ssl     true                         <- inherited from general.smtp "
        "(mailprov.yaml:11:10)\n")
    set_passwords(sqlite_url, ["COMPTA"])
    result = run("explain", "COMPTA")
    assert "  password:   entered\n" in result.stdout
    assert "note:" not in result.stdout
    assert "s3cret" not in result.output

    result = run("explain", codes[6])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        "  sends with: outlook",
        "  because:    no per-user SMTP section: the general default applies (the Outlook "
        "profile of the Windows user)",
        "  in the files: not listed; apply leaves this user as it is"]
    result = run("explain", "COMPTAA")
    assert result.exit_code == 1
    assert result.stderr == "Error: no user 'COMPTAA' in target 'db'; did you mean COMPTA?\n"

    write_config(tmp_path, sqlite_url, users={"COMPTA": {"smtp": False}})
    assert run("apply", "--auto-approve").exit_code == 0
    result = run("history")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  \S+@\S+"
    assert re.fullmatch(rf"#2  {stamp}  0 to add, 0 to change, 1 to remove", lines[0])
    assert re.fullmatch(rf"#1  {stamp}  1 to add, 1 to change, 0 to remove", lines[1])
    assert run("history", "--limit", "1").stdout.splitlines() == lines[:1]


def test_sandbox_refuses_an_existing_database_without_force(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=10)
    update_user(sqlite_url, "COMPTA", mail_override=True, smtp_username="keep")
    before = dump(sqlite_url)
    result = run("sandbox", sqlite_url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: the database already has table(s) general_config, app_user, mailprov_history: "
        "refusing to overwrite. Use another database, or `--force` to drop and re-create "
        "them.\n")
    assert dump(sqlite_url) == before

    result = run("sandbox", sqlite_url, "--users", "30", "--force")
    assert result.exit_code == 0
    assert len(users(sqlite_url)) == 30
    assert users(sqlite_url)["COMPTA"]["mail_override"] == 0


def test_plan_with_a_url_target_still_needs_the_files(run, sqlite_url):
    sandbox(sqlite_url, users=5)
    result = run("plan", "-t", sqlite_url)
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml: file not found: check the path, or create it (default name: "
        "mailprov.yaml)\nError: 1 problem in the configuration; nothing was changed.\n")


# --- database passwords -----------------------------------------------------------------------

SECRET = "Pw-9f3kQz-x7"


def test_a_password_in_a_command_line_url_never_appears_in_any_output(run, postgres_url,
                                                                      tmp_path, monkeypatch):
    assert postgres_url.startswith("postgresql+psycopg://postgres@")
    with_password = postgres_url.replace("postgres@", f"postgres:{SECRET}@", 1)
    outputs = []

    def check(*args, code=0, input=None):
        result = run(*args, input=input)
        assert result.exit_code == code, (args, result.output)
        outputs.append(result.output)
        return result

    check("sandbox", with_password, "--users", "10", "--model", "1")
    assert outputs[-1] == f"Created a standard sandbox with 10 users in {postgres_url}.\n"
    write_config(tmp_path, postgres_url, users={"COMPTA": smtp_user("COMPTA")})
    check("plan", "-t", with_password)
    assert f"Target '{postgres_url}' ({postgres_url})" in outputs[-1]
    check("plan", "-t", with_password, "--format", "json", "--out", "p.json")
    check("plan", "-t", with_password, "--format", "markdown")
    check("plan", "--db", with_password, "--detailed-exitcode", code=2)
    check("apply", "-t", with_password, input="no\n", code=1)
    check("apply", "--db", with_password, "--auto-approve")
    check("import", "-t", with_password)
    check("explain", "COMPTA", "-t", with_password)
    check("history", "-t", with_password)
    check("explain", "NOBODY", "-t", with_password, code=1)
    monkeypatch.setenv("MAILPROV_DB_URL", with_password)
    check("plan")
    check("history")
    monkeypatch.delenv("MAILPROV_DB_URL")
    # database errors quote the URL, without the password
    wrong_db = with_password.rsplit("/", 1)[0] + "/mailprov_no_such_db"
    check("history", "-t", wrong_db, code=1)
    assert outputs[-1].startswith(
        f"Error: connecting to {wrong_db.replace(':' + SECRET, '')} failed: ")
    check("plan", "-t", "postgresql+psycopg://postgres:" + SECRET + "@127.0.0.1:1/x", code=1)
    check("sandbox", "postgresql://postgres:" + SECRET + "@[bad", code=1)

    assert len(outputs) == 16
    for output in outputs:
        assert SECRET not in output
    assert SECRET not in (tmp_path / "p.json").read_text(encoding="utf-8")
    assert SECRET not in repr(dump(postgres_url))


def test_mailprov_db_password_is_used_for_a_url_with_a_user(run, postgres_url, tmp_path,
                                                            monkeypatch, memory_keyring):
    role = f"mailprov_role_{uuid.uuid4().hex[:8]}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                          isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'"))
        sandbox(postgres_url, users=10)
        with engine_for(postgres_url) as engine, engine.begin() as conn:
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        host_db = postgres_url.split("@", 1)[1]
        role_url = f"postgresql://{role}@{host_db}"  # no driver: mailprov picks psycopg

        monkeypatch.setenv("MAILPROV_DB_PASSWORD", SECRET)
        db = api.open_database(api.resolve_target(None, role_url))
        try:
            assert db.url.password == SECRET
            assert db.url.username == role
            assert db.url.drivername == "postgresql+psycopg"
            with db.connect() as conn:
                assert conn.execute(text("SELECT current_user")).scalar_one() == role
        finally:
            db.close()

        write_config(tmp_path, role_url, users={"COMPTA": smtp_user("COMPTA")})
        results = [run("plan"), run("explain", "COMPTA"), run("import"), run("history"),
                   run("plan", "--format", "json")]
        assert [r.exit_code for r in results] == [0] * 5, [r.output for r in results]
        assert results[0].stdout.startswith(f"Target 'db' ({role_url}), edition standard.")
        for result in results:
            assert SECRET not in result.output

        # without the variable, the keyring entry of `mailprov login db` is used
        monkeypatch.delenv("MAILPROV_DB_PASSWORD")
        db = api.open_database(api.resolve_target(api.load_config(["mailprov.yaml"]), None))
        assert db.url.password is None
        db.close()
        api.login("db", "from-the-keyring")
        db = api.open_database(api.resolve_target(api.load_config(["mailprov.yaml"]), None))
        assert db.url.password == "from-the-keyring"
        db.close()
    finally:
        with engine_for(postgres_url) as engine, engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
            left = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"),
                                {"r": role}).scalar_one()
        admin.dispose()
    assert left == 0


# --- mapping files ------------------------------------------------------------------------------

def _read(url: str, table: Table) -> list[dict]:
    with engine_for(url) as engine, engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c[0])).mappings()]


def test_a_mapping_file_points_mailprov_at_other_table_names(run, sqlite_url, tmp_path):
    general, people = mapped_installation(sqlite_url)
    (tmp_path / "mapping.yaml").write_text(MAPPING_FILE, encoding="utf-8")
    write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                 general={"client": "smtp", "smtp": {"server": "smtp.example.com",
                                                      "port": 587, "ssl": True}},
                 users={"COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD", port=2525)})

    result = run("plan", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    assert "      client       outlook -> smtp\n" in result.stdout
    assert result.stdout.endswith("Plan: 2 to add, 1 to change, 0 to remove.\n")
    result = run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output

    assert _read(sqlite_url, general) == [{
        "NO_CONFIG": 1, "EDITION": "standard", "LOGICIEL_COURRIEL": 3,
        "SMTP_SERVEUR": "smtp.example.com", "SMTP_PORT": 587, "SMTP_SSL": True,
        "LANGUE": "fr"}]
    rows = {r["CODE_USAGER"]: r for r in _read(sqlite_url, people)}
    assert {k: rows["COORD"][k] for k in ("COURRIEL_SPECIFIQUE", "SMTP_USAGER", "ADRESSE_DE",
                                          "SMTP_SERVEUR", "SMTP_PORT", "SMTP_SSL")} == {
        "COURRIEL_SPECIFIQUE": True, "SMTP_USAGER": "coord@example.com",
        "ADRESSE_DE": "coord@example.com", "SMTP_SERVEUR": "smtp.example.com",
        "SMTP_PORT": 2525, "SMTP_SSL": True}
    assert rows["JTREMBLAY"]["COURRIEL_SPECIFIQUE"] is False
    assert [rows[c]["SMTP_MOT_DE_PASSE"] for c in ("COMPTA", "COORD", "JTREMBLAY")] == [
        "pw-COMPTA", "pw-COORD", "pw-JTREMBLAY"]
    assert all(r["ACTIF"] is True for r in rows.values())

    result = run("plan", "--detailed-exitcode")
    assert result.exit_code == 0
    assert result.stdout.endswith("No changes. maestro* matches the configuration.\n")
    result = run("explain", "COORD")
    assert "  port:       2525\n" in result.stdout
    assert run("history").stdout.startswith("#1  ")

    # a saved plan carries the mapping: applying it needs neither the config nor the mapping
    write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                 general={"client": "smtp", "smtp": {"server": "smtp.example.com",
                                                      "port": 587, "ssl": True}},
                 users={"COMPTA": {"smtp": False}, "COORD": smtp_user("COORD", port=2525)})
    assert run("plan", "--out", "p.json").exit_code == 0
    (tmp_path / "mailprov.yaml").unlink()
    (tmp_path / "mapping.yaml").unlink()
    result = run("apply", "p.json")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Apply complete: 0 added, 0 changed, 1 removed "
                                  f"(history #2) in {sqlite_url}.\n")
    rows = {r["CODE_USAGER"]: r for r in _read(sqlite_url, people)}
    assert (rows["COMPTA"]["COURRIEL_SPECIFIQUE"], rows["COMPTA"]["SMTP_USAGER"]) == (False, None)
    assert rows["COMPTA"]["SMTP_MOT_DE_PASSE"] == "pw-COMPTA"


def test_a_mapping_naming_a_missing_column_is_a_clear_error(run, sqlite_url, tmp_path):
    mapped_installation(sqlite_url)
    (tmp_path / "mapping.yaml").write_text(
        MAPPING_FILE.replace("from: ADRESSE_DE", "from: ADRESSE_EXPEDITEUR"), encoding="utf-8")
    write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                 users={"COMPTA": smtp_user("COMPTA")})
    result = run("plan")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: column 'ADRESSE_EXPEDITEUR' does not exist in table 'USAGER' (mapping file "
        "mapping.yaml): fix the mapping file's columns\n")

    (tmp_path / "mapping.yaml").write_text(MAPPING_FILE.replace("table: USAGER", "table: USERS"),
                                           encoding="utf-8")
    result = run("plan")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: table 'USERS' does not exist in the database (mapping file mapping.yaml): "
        "check the URL, or point the mapping file at the right table\n")
    # apply says the same (its read fails inside its own transaction), and writes nothing
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    before = database.read_bytes()
    for args in (["apply", "--auto-approve"], ["apply", "--auto-approve", "--force"]):
        result = run(*args)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            "Error: table 'USERS' does not exist in the database (mapping file mapping.yaml): "
            "check the URL, or point the mapping file at the right table\n")
    assert database.read_bytes() == before


def test_import_modeline_points_where_asked(tmp_path, monkeypatch):
    from mailprov import api as api_module

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    api_module.sandbox(url, users=5)
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "-t", url, "--schema", "schemas/mailprov.schema.json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "# yaml-language-server: $schema=schemas/mailprov.schema.json\n")
    result = runner.invoke(cli, ["import", "-t", url])
    assert result.stdout.startswith("# yaml-language-server: $schema=https://mailprov.example/"
                                    "schemas/mailprov.schema.json\n")


def test_apply_names_a_missing_column_on_every_database(run, db_url, tmp_path):
    """apply's read fails inside its own transaction (on PostgreSQL that aborts it): the
    missing column is still named, promptly, and no row is written."""
    _general, people = mapped_installation(db_url)
    (tmp_path / "mapping.yaml").write_text(
        MAPPING_FILE.replace("from: ADRESSE_DE", "from: ADRESSE_EXPEDITEUR"), encoding="utf-8")
    write_config(tmp_path, db_url, mapping="mapping.yaml",
                 users={"COMPTA": smtp_user("COMPTA", port=2525)})
    with engine_for(db_url) as engine, engine.connect() as conn:
        before = sorted(tuple(row) for row in conn.execute(people.select()))
    result = run("apply", "--auto-approve")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: column 'ADRESSE_EXPEDITEUR' does not exist in table 'USAGER' (mapping file "
        "mapping.yaml): fix the mapping file's columns\n")
    with engine_for(db_url) as engine, engine.connect() as conn:
        assert sorted(tuple(row) for row in conn.execute(people.select())) == before

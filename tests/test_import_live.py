"""`mailprov import` of hand-edited databases: the written file plans to "No changes", or
import says which live values cannot be written as valid configuration and writes nothing.

Rows are changed straight in the database, as another tool or maestro* itself would, on
SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from dbhelpers import (
    MAPPING_FILE,
    SMTP,
    mapped_installation,
    sandbox,
    smtp_user,
    update_general,
    update_user,
    write_config,
)
from jsonschema import Draft202012Validator

from mailprov import api
from mailprov.cli import cli
from mailprov.config.urls import redact
from mailprov.errors import LiveDataError

REPO = Path(__file__).resolve().parent.parent
HEADER = ("# yaml-language-server: $schema=https://mailprov.example/schemas/"
          "mailprov.schema.json\n# Exported by `mailprov import`.\n")
NO_CHANGES = "No changes. maestro* matches the configuration.\n"
GENERAL = {"mail_client": "smtp", "smtp_server": "smtp.example.com", "smtp_port": 587,
           "smtp_ssl": True}


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke `mailprov ARGS` in tmp_path; return click's Result."""
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args))

    return invoke


def general_text(url: str) -> str:
    return (f"{HEADER}version: 1\ntargets:\n  main:\n    url: {redact(url)}\n"
            "    edition: standard\ndefault_target: main\ngeneral:\n  client: smtp\n  smtp:\n"
            "    server: smtp.example.com\n    port: 587\n    ssl: true\n")


def test_empty_server_port_or_ssl_of_an_override_import_as_null(run, db_url, tmp_path):
    sandbox(db_url, users=8)
    update_general(db_url, **GENERAL)
    update_user(db_url, "COMPTA", mail_override=True, smtp_username="compta@example.com",
                from_address="compta@example.com", smtp_server=None, smtp_port=None,
                smtp_ssl=None)
    update_user(db_url, "MBOUCHER", mail_override=True, smtp_username="mb@example.com",
                from_address=None, smtp_server="smtp.example.com", smtp_port=2525,
                smtp_ssl=None)

    result = run("import", "-t", db_url, "-o", "mailprov.yaml")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "Wrote mailprov.yaml.\n")
    assert (tmp_path / "mailprov.yaml").read_text(encoding="utf-8") == general_text(db_url) + (
        "users:\n"
        "  COMPTA:\n    smtp:\n      username: compta@example.com\n"
        "      from: compta@example.com\n      server: null\n      port: null\n"
        "      ssl: null\n"
        # a From left empty is written null: left out, it would default to the login
        "  MBOUCHER:\n    smtp:\n      username: mb@example.com\n      from: null\n"
        "      port: 2525\n      ssl: null\n"
        "prune: false\n")

    result = run("plan", "--detailed-exitcode")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.endswith(NO_CHANGES)

    # maestro*'s own precedence: an override without a server sends through the general one
    result = run("explain", "COMPTA")
    assert result.exit_code == 0
    assert result.stdout == (
        "COMPTA (Comptabilité) on target 'main', edition standard\n"
        "  sends with: per-user SMTP override\n"
        "  because:    the user's own SMTP section is enabled; it takes precedence over the "
        "general default (smtp): maestro*'s bi-mode\n"
        "  server:     smtp.example.com\n"
        "  port:       587\n"
        "  ssl:        true\n"
        "  login:      compta@example.com\n"
        "  from:       compta@example.com\n"
        "  password:   not entered\n"
        "  note:       the user's SMTP section has no server: maestro* uses the general one "
        "(smtp.example.com)\n"
        "  note:       the user's SMTP section has no port: maestro* uses the general one "
        "(587)\n"
        "  note:       the user's SMTP section has no ssl: maestro* uses the general one "
        "(true)\n"
        "  note:       no SMTP password entered yet: the user types it in maestro* "
        "(Préférences > Courriel), or set it with `mailprov password set COMPTA`\n"
        # ./mailprov.yaml is read: the files keep the row as it is (null: stored empty)
        "  in the files: its entry under `users:`, mailprov.yaml:16\n"
        "    login   compta@example.com           <- the user's entry (mailprov.yaml:18:17)\n"
        "    from    compta@example.com           <- the user's entry (mailprov.yaml:19:13)\n"
        "    server  (none)                       <- the user's entry (mailprov.yaml:20:15)\n"
        "    port    (none)                       <- the user's entry (mailprov.yaml:21:13)\n"
        "    ssl     (none)                       <- the user's entry (mailprov.yaml:22:12)\n")


def test_null_in_a_file_stores_the_value_empty(db_url, tmp_path):
    """`server: null` is what apply writes too: NULL, not the general value."""
    sandbox(db_url, users=8)
    update_general(db_url, **GENERAL)
    path = write_config(tmp_path, db_url, general={"client": "smtp", "smtp": SMTP}, users={
        "COMPTA": {"smtp": {"username": "compta@example.com", "from": None, "server": None,
                            "ssl": None}}})
    config = api.load_config([path])
    target = api.resolve_target(config, None)
    plan = api.plan(config, target)
    assert [{k: v for k, v in c.to_json().items() if k != "sources"}
            for c in plan.changes] == [{
        "address": "user.COMPTA", "action": "create", "before": None,
        "after": {"username": "compta@example.com", "from": None, "server": None, "port": 587,
                  "ssl": None},
        "changed": ["username", "from", "server", "port", "ssl"], "number": 1}]
    assert plan_schema_errors(plan.to_json()) == []
    api.apply(plan, target)
    assert not api.plan(config, target).changes


def plan_schema_errors(document: dict) -> list[str]:
    """What the shipped plan JSON schema says of `document`."""
    schema = json.loads((REPO / "mailprov" / "schemas" / "plan.schema.json").read_text())
    return [e.message for e in Draft202012Validator(schema).iter_errors(document)]


INVALID_LINES = (
    "  user KMORIN: port 0 in maestro* is not a valid port (1 to 65535)\n"
    "  user KMORIN: username in maestro* is empty\n"
    "  user MBOUCHER: from 'a@x;b@x' in maestro* is not a valid e-mail address (The part "
    "after the @-sign contains invalid characters: ';', '@')\n"
    "  user MBOUCHER: port 99999 in maestro* is not a valid port (1 to 65535)\n"
    "  user MBOUCHER: username 'mb@example.com ' in maestro* ends with a space\n"
    "  user MVACHON: server 'relay.example.com ' in maestro* ends with a space\n")


def hand_edited_invalid(url: str) -> None:
    sandbox(url, users=8)
    update_general(url, **GENERAL)
    update_user(url, "MBOUCHER", mail_override=True, smtp_username="mb@example.com ",
                from_address="a@x;b@x", smtp_server="smtp.example.com", smtp_port=99999,
                smtp_ssl=True)
    update_user(url, "KMORIN", mail_override=True, smtp_username="",
                from_address="kmorin@example.com", smtp_server="smtp.example.com",
                smtp_port=0, smtp_ssl=True)
    update_user(url, "MVACHON", mail_override=True, smtp_username="mvachon",
                from_address="mvachon@example.com", smtp_server="relay.example.com ",
                smtp_port=587, smtp_ssl=True)
    update_user(url, "COMPTA", mail_override=True, smtp_username="compta@example.com",
                from_address="compta@example.com", smtp_server="smtp.example.com",
                smtp_port=587, smtp_ssl=True)


def test_live_values_that_are_not_valid_configuration_are_reported(run, db_url, tmp_path):
    hand_edited_invalid(db_url)
    for args in (("import", "-t", db_url, "-o", "mailprov.yaml"), ("import", "-t", db_url)):
        result = run(*args)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr == (
            "Error: maestro* holds 6 values that cannot be written as valid configuration; "
            "nothing was written:\n" + INVALID_LINES
            + "Fix them in maestro*, or add --allow-invalid to write the file with them "
            "commented out.\n")
        assert not (tmp_path / "mailprov.yaml").exists()
    with pytest.raises(LiveDataError) as caught:
        api.export_config(api.resolve_target(None, db_url))
    assert caught.value.lines == tuple(line.strip() for line in INVALID_LINES.splitlines())


def test_allow_invalid_writes_them_commented_out_with_the_reason(run, db_url, tmp_path):
    hand_edited_invalid(db_url)
    result = run("import", "-t", db_url, "-o", "mailprov.yaml", "--allow-invalid")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "".join(
        f"Warning: {line.strip()} (commented out)\n" for line in INVALID_LINES.splitlines()
    ) + "Wrote mailprov.yaml.\n"
    assert (tmp_path / "mailprov.yaml").read_text(encoding="utf-8") == general_text(db_url) + (
        "users:\n"
        "  COMPTA:\n    smtp:\n      username: compta@example.com\n"
        "      from: compta@example.com\n"
        "  KMORIN:\n    smtp:\n"
        "      # username: \"\"  # username in maestro* is empty\n"
        "      from: kmorin@example.com\n"
        "      # port: 0  # port 0 in maestro* is not a valid port (1 to 65535)\n"
        "  MBOUCHER:\n    smtp:\n"
        "      # username: \"mb@example.com \"  # username 'mb@example.com ' in maestro* "
        "ends with a space\n"
        "      from: null\n"
        "      # from: \"a@x;b@x\"  # from 'a@x;b@x' in maestro* is not a valid e-mail "
        "address (The part after the @-sign contains invalid characters: ';', '@')\n"
        "      # port: 99999  # port 99999 in maestro* is not a valid port (1 to 65535)\n"
        "  MVACHON:\n    smtp:\n      username: mvachon\n      from: mvachon@example.com\n"
        "      # server: \"relay.example.com \"  # server 'relay.example.com ' in maestro* "
        "ends with a space\n"
        "prune: false\n")
    # the file is valid; its plan puts the commented values back to what the file says
    result = run("plan")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Plan: 0 to add, 3 to change, 0 to remove.\n")
    assert "  ~ user.COMPTA" not in result.stdout


def test_a_target_with_a_mapping_file_keeps_it(run, sqlite_url, tmp_path):
    mapped_installation(sqlite_url)
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "mapping.yaml").write_text(MAPPING_FILE, encoding="utf-8")
    write_config(tmp_path, sqlite_url, mapping="maps/mapping.yaml",
                 general={"client": "smtp", "smtp": {"server": "smtp.example.com",
                                                      "port": 587, "ssl": True}},
                 users={"COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD", port=2525)})
    assert run("apply", "--auto-approve").exit_code == 0

    result = run("import", "-o", "imported.yaml")
    assert (result.exit_code, result.stderr) == (0, "Wrote imported.yaml.\n")
    data = yaml.safe_load((tmp_path / "imported.yaml").read_text(encoding="utf-8"))
    # the database lies in the folder of the new file: written relative, as the mapping
    assert sqlite_url == f"sqlite:///{tmp_path}/maestro.db"
    assert data["targets"] == {"db": {"url": "sqlite:///maestro.db", "edition": "standard",
                                      "mapping": "maps/mapping.yaml"}}
    (tmp_path / "mailprov.yaml").unlink()
    result = run("plan", "-c", "imported.yaml", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(NO_CHANGES)

    # a file beside the mapping's folder, not above it, could not use it
    (tmp_path / "elsewhere").mkdir()
    result = run("import", "-c", "imported.yaml", "-o", "elsewhere/imported.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the target's mapping file {tmp_path}/maps/mapping.yaml is outside "
        f"{tmp_path}/elsewhere, the folder of the file to write, and a configuration may "
        "only use mapping files in its folder: write the file beside the mapping file, or "
        f"copy the mapping file into {tmp_path}/elsewhere\n")
    assert not (tmp_path / "elsewhere" / "imported.yaml").exists()


def test_a_relative_sqlite_url_is_written_relative_to_the_new_file(run, tmp_path):
    assert run("sandbox", "sqlite:///maestro.db", "--users", "8").exit_code == 0
    update_user(f"sqlite:///{tmp_path}/maestro.db", "COMPTA", mail_override=True,
                smtp_username="compta", smtp_server="relay.example.com", smtp_port=25,
                smtp_ssl=False)
    (tmp_path / "sub").mkdir()
    result = run("import", "-t", "sqlite:///maestro.db", "-o", "sub/mailprov.yaml")
    assert (result.exit_code, result.stderr) == (0, "Wrote sub/mailprov.yaml.\n")
    data = yaml.safe_load((tmp_path / "sub" / "mailprov.yaml").read_text(encoding="utf-8"))
    assert data["targets"]["main"]["url"] == "sqlite:///../maestro.db"
    result = run("plan", "-c", "sub/mailprov.yaml", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Target 'main' (sqlite:///{tmp_path}/maestro.db)")
    assert result.stdout.endswith(NO_CHANGES)
    # to standard output, the path stays relative to the working folder
    result = run("import", "-t", "sqlite:///maestro.db")
    assert "    url: sqlite:///maestro.db\n" in result.stdout

    result = run("import", "-t", "sqlite:///maestro.db", "-o", "nowhere/mailprov.yaml")
    assert (result.exit_code, result.stderr) == (
        1, "Error: cannot write nowhere/mailprov.yaml: its folder does not exist; create it "
           "first\n")


def test_a_configuration_s_sqlite_target_is_written_relative_when_it_lies_below(run,
                                                                               tmp_path):
    """A target of mailprov.yaml (`sqlite:///maestro.db`, read relative to that file):
    imported next to it or above it, the URL stays relative, as a repository keeps it;
    imported where the file is not below, the absolute path is the only one that works."""
    assert run("sandbox", "sqlite:///maestro.db", "--users", "8").exit_code == 0
    (tmp_path / "mailprov.yaml").write_text(
        "version: 1\ntargets:\n  prod:\n    url: sqlite:///maestro.db\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    for output, url in (("imported.yaml", "sqlite:///maestro.db"),
                        ("sub/imported.yaml", f"sqlite:///{tmp_path}/maestro.db")):
        result = run("import", "-t", "prod", "-o", output)
        assert result.exit_code == 0, result.output
        data = yaml.safe_load((tmp_path / output).read_text(encoding="utf-8"))
        assert data["targets"]["prod"]["url"] == url
    assert run("plan", "-c", "imported.yaml", "--detailed-exitcode").exit_code == 0


def test_import_with_a_url_needs_no_configuration_file(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=8)
    # a ./mailprov.yaml that does not validate is not read for -t URL
    (tmp_path / "mailprov.yaml").write_text("version: 1\ngeneral: [broken\n", encoding="utf-8")
    for args in (("import", "-t", sqlite_url), ("explain", "COMPTA", "-t", sqlite_url),
                 ("history", "-t", sqlite_url)):
        result = run(*args)
        assert (result.exit_code, result.stderr) == (0, ""), (args, result.output)
    # a target name is looked up in it
    result = run("import", "-t", "prod")
    assert result.exit_code == 1
    assert result.stderr.startswith("mailprov.yaml:3:1: invalid YAML: ")
    assert result.stdout == ""


def test_a_cloud_database_round_trips(run, db_url, tmp_path):
    codes = sandbox(db_url, users=6, edition="cloud")
    update_general(db_url, **GENERAL)
    update_user(db_url, codes[0], mail_override=True, smtp_username=codes[0],
                from_address=codes[0], smtp_server="smtp.example.com", smtp_port=587,
                smtp_ssl=True)
    update_user(db_url, codes[1], mail_override=True, smtp_username=None, from_address=None,
                smtp_server="relay.example.com", smtp_port=587, smtp_ssl=True)
    update_user(db_url, codes[2], mail_override=True, smtp_username="shared@example.com",
                from_address="other@example.com", smtp_server="smtp.example.com",
                smtp_port=587, smtp_ssl=True)

    result = run("import", "-t", db_url, "-o", "mailprov.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: maestro* holds a value that cannot be written as valid configuration; nothing "
        "was written:\n"
        f"  user {codes[2]}: from 'other@example.com' in maestro*CLOUD is not the user code, "
        "which maestro*CLOUD always sends from\n"
        "Fix them in maestro*, or add --allow-invalid to write the file with them commented "
        "out.\n")
    update_user(db_url, codes[2], from_address=codes[2])
    result = run("import", "-t", db_url, "-o", "mailprov.yaml")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "mailprov.yaml").read_text(encoding="utf-8"))
    assert data["users"] == {
        codes[0]: {"smtp": {}},
        codes[1]: {"smtp": {"username": None, "from": None, "server": "relay.example.com"}},
        codes[2]: {"smtp": {"username": "shared@example.com"}},
    }
    result = run("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(NO_CHANGES)


def test_an_override_with_no_server_anywhere_is_left_out_whole(db_url, tmp_path):
    """Values a file cannot hold together (an override with no server, and no general one)
    are reported as such rather than written into a file that fails validation."""
    sandbox(db_url, users=8)
    update_general(db_url, mail_client="outlook", smtp_server=None, smtp_port=None,
                   smtp_ssl=False)
    update_user(db_url, "COMPTA", mail_override=True, smtp_username="compta",
                smtp_server=None, smtp_port=25, smtp_ssl=False)
    export = api.import_live(api.resolve_target(None, db_url), folder=tmp_path)
    assert [p.message for p in export.problems] == [
        "user COMPTA: the SMTP override has no valid server in maestro*, and there is no "
        "valid general one to use"]
    path = tmp_path / "mailprov.yaml"
    path.write_text(export.text, encoding="utf-8")
    config = api.load_config([path])  # valid: the user is commented out whole
    assert dict(config.users) == {}
    assert ("users: {}\n  # COMPTA: {smtp: {username: \"compta\", from: null, server: null, "
            "port: 25, ssl: false}}  # the SMTP override has no valid server in maestro*, and "
            "there is no valid general one to use\n") in export.text
    assert not api.plan(config, api.resolve_target(config, None)).changes

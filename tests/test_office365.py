"""Office 365 – Modern Authentication (reference model version 2, maestro* 3.05): plan,
apply and import of the three per-user modes on every database, the refusal on version 1,
how the version is read, mappings of a real 3.05 installation, the status report and the
warnings of the basic-authentication retirement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from dbhelpers import (
    SMTP,
    StatementLog,
    dump,
    engine_for,
    plan_file,
    resolved,
    sandbox,
    smtp_user,
    untemplated,
    users2,
    write_config,
)
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
    select,
    text,
)

from mailprov import api
from mailprov.cli import cli
from mailprov.errors import ConfigError, MappingError, PlanFileError, WrongDatabaseError
from mailprov.plan.planfile import plan_from_json

BASIC_AUTH = (
    "smtp.office365.com: sending with a password (SMTP AUTH) stops working when Microsoft "
    "turns basic authentication off by default for existing Exchange Online tenants, at the "
    "end of December 2026: maestro* then gets `550 5.7.30` (basic authentication is not "
    "supported for client submission) or `535 5.7.139` (SMTP AUTH is disabled for the "
    "tenant). Move to Office 365 – Modern Authentication (`office365:` instead of `smtp:`, "
    "maestro* 3.05; `mailprov migrate office365` rewrites the files), or send through a relay")
OFFICE = {"server": "smtp.office365.com", "port": 587, "ssl": True}
KEY = "kQ3bNw3c7m5jJ7wJ7sBZ3YV8d1m6uQ3k2W3x9Yv0b8c="  # a Fernet key, for `password set`
# the v2 columns of a user row: flag, SMTP section, mode, account
V2 = ("mail_override", "smtp_username", "from_address", "smtp_server", "smtp_port",
      "smtp_ssl", "mail_mode", "o365_email")


def row(url: str, code: str) -> tuple[object, ...]:
    return tuple(users2(url)[code][column] for column in V2)


def o365(email: str | None = None) -> dict[str, object]:
    return {"office365": {} if email is None else {"email": email}}


# --- the three modes and the moves between them, on every database ----------------------------


def test_office365_plan_apply_import_round_trip(db_url, tmp_path):
    codes = sandbox(db_url, users=12, model=2)
    assert codes[:3] == ["COMPTA", "COORD", "MBOUCHER"]
    assert (codes[5], codes[9]) == ("ELACHANCE", "EDEMERS")  # the sandbox's Office 365 users
    assert row(db_url, "ELACHANCE")[-2:] == ("office365", "elachance@example.com")
    signed_in = users2(db_url)["ELACHANCE"]["o365_authenticated_at"]
    assert signed_in == datetime(2026, 11, 3, 8, 37)

    # general -> SMTP (COMPTA), general -> Office 365 (COORD), Office 365 kept (ELACHANCE)
    first = write_config(tmp_path, db_url, general={"client": "office365", "smtp": dict(SMTP)},
                         users={"COMPTA": smtp_user("COMPTA"),
                                "COORD": o365("coordination@example.com"),
                                "ELACHANCE": o365("elachance@example.com")})
    plan, target = plan_file(first)
    assert plan.model_version == 2
    assert [{k: v for k, v in c.to_json().items() if k != "sources"}
            for c in plan.changes] == [
        {"address": "general", "action": "update",
         "before": {"client": "outlook", "smtp": {"server": None, "port": None, "ssl": False}},
         "after": {"client": "office365", "smtp": dict(SMTP)},
         "changed": ["client", "smtp.server", "smtp.port", "smtp.ssl"]},
        {"address": "user.COMPTA", "action": "create", "before": None,
         "after": {"username": "compta@example.com", "from": "compta@example.com", **SMTP},
         "changed": ["username", "from", "server", "port", "ssl"], "number": 1},
        {"address": "user.COORD", "action": "create", "before": None,
         "after": {"mode": "office365", "email": "coordination@example.com"},
         "changed": ["email"], "number": 2},
    ]
    email_source = plan.to_json()["changes"][2]["sources"]["email"]
    line = first.read_text(encoding="utf-8").splitlines().index(
        "      email: coordination@example.com") + 1
    assert (email_source["source"], email_source["path"], email_source["line"]) == (
        "user", "users.COORD.office365.email", line)
    assert plan.unmanaged_overrides == 1  # EDEMERS, left alone
    api.apply(plan, target, config_dir=str(tmp_path))
    assert row(db_url, "COMPTA") == (1, "compta@example.com", "compta@example.com",
                                     "smtp.example.com", 587, 1, "smtp", None)
    assert row(db_url, "COORD") == (0, None, None, None, None, None, "office365",
                                    "coordination@example.com")
    assert plan_file(first)[0].changes == ()

    # every move: SMTP -> Office 365, Office 365 -> SMTP, Office 365 -> general, a new
    # account, general -> Office 365
    second = write_config(tmp_path, db_url, general={"client": "office365",
                                                     "smtp": dict(SMTP)},
                          users={"COMPTA": o365("compta@example.com"),
                                 "COORD": smtp_user("COORD"),
                                 "ELACHANCE": {"smtp": False},
                                 "EDEMERS": o365("emilie.demers@example.com"),
                                 "MBOUCHER": o365("mboucher@example.com")},
                          name="second.yaml")
    plan, target = plan_file(second)
    changes = [{k: v for k, v in c.to_json().items() if k != "sources"} for c in plan.changes]
    compta = {"username": "compta@example.com", "from": "compta@example.com", **SMTP}
    assert changes == [
        {"address": "user.COMPTA", "action": "update", "before": compta,
         "after": {"mode": "office365", "email": "compta@example.com"},
         "changed": ["mode", "username", "from", "server", "port", "ssl", "email"],
         "number": 1},
        {"address": "user.COORD", "action": "update",
         "before": {"mode": "office365", "email": "coordination@example.com"},
         "after": {"username": "coord@example.com", "from": "coord@example.com", **SMTP},
         "changed": ["mode", "email", "username", "from", "server", "port", "ssl"],
         "number": 2},
        {"address": "user.EDEMERS", "action": "update",
         "before": {"mode": "office365", "email": "edemers@example.com"},
         "after": {"mode": "office365", "email": "emilie.demers@example.com"},
         "changed": ["email"], "number": 10},
        {"address": "user.ELACHANCE", "action": "delete",
         "before": {"mode": "office365", "email": "elachance@example.com"}, "after": None,
         "changed": ["email"], "number": 6},
        {"address": "user.MBOUCHER", "action": "create", "before": None,
         "after": {"mode": "office365", "email": "mboucher@example.com"},
         "changed": ["email"], "number": 3},
    ]
    assert plan.summary == {"create": 1, "update": 3, "delete": 1}
    assert plan.unmanaged_overrides == 0
    api.apply(plan, target, config_dir=str(tmp_path))
    rows = {code: row(db_url, code) for code in ("COMPTA", "COORD", "EDEMERS", "ELACHANCE",
                                                 "MBOUCHER")}
    assert rows == {
        # SMTP -> Office 365 clears the SMTP section, as maestro* does
        "COMPTA": (0, None, None, None, None, None, "office365", "compta@example.com"),
        "COORD": (1, "coord@example.com", "coord@example.com", "smtp.example.com", 587, 1,
                  "smtp", None),
        "EDEMERS": (0, None, None, None, None, None, "office365", "emilie.demers@example.com"),
        "ELACHANCE": (0, None, None, None, None, None, None, None),
        "MBOUCHER": (0, None, None, None, None, None, "office365", "mboucher@example.com"),
    }
    # maestro* writes when a user authenticated; mailprov never does
    assert users2(db_url)["ELACHANCE"]["o365_authenticated_at"] == signed_in
    assert plan_file(second)[0].changes == ()

    # import writes the three modes, and the file plans to no change
    exported = tmp_path / "imported.yaml"
    exported.write_text(api.export_config(resolved(db_url)), encoding="utf-8")
    data = yaml.safe_load(exported.read_text(encoding="utf-8"))
    assert data["general"]["client"] == "office365"
    assert data["users"] == {
        "COMPTA": {"office365": {"email": "compta@example.com"}},
        "COORD": {"smtp": {"username": "coord@example.com", "from": "coord@example.com"}},
        "EDEMERS": {"office365": {"email": "emilie.demers@example.com"}},
        "MBOUCHER": {"office365": {"email": "mboucher@example.com"}},
    }
    imported = api.load_config([exported])
    assert api.plan(imported, api.resolve_target(imported, None)).changes == ()


def test_the_plan_text_names_each_move(sqlite_url, tmp_path, monkeypatch):
    sandbox(sqlite_url, users=12, model=2)
    write_config(tmp_path, sqlite_url, general={"client": "outlook", "smtp": dict(SMTP)},
                 users={"COMPTA": {"smtp": {"username": "compta@example.com", **OFFICE}},
                        "ELACHANCE": {"smtp": False}, "MBOUCHER": o365("mb@example.com")})
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["apply", "--auto-approve"]).exit_code == 0
    write_config(tmp_path, sqlite_url, general={"client": "outlook", "smtp": dict(SMTP)},
                 users={"COMPTA": o365("compta@example.com"),
                        "MBOUCHER": {"smtp": {"username": "mb@example.com"}}})
    result = runner.invoke(cli, ["plan"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"""\
Target 'db' ({sqlite_url}), edition standard.

mailprov will make these changes:

  ~ user.COMPTA  (move from SMTP to Office 365 – Modern Authentication)
      mode      smtp -> office365
      username  compta@example.com -> (cleared)
      from      compta@example.com -> (cleared)
      server    smtp.office365.com -> (cleared)
      port      587 -> (cleared)
      ssl       true -> (cleared)
      email     (none) -> compta@example.com

  ~ user.MBOUCHER  (move from Office 365 to a per-user SMTP override)
      mode      office365 -> smtp
      email     mb@example.com -> (cleared)
      username  (none) -> mb@example.com
      from      (none) -> mb@example.com
      server    (none) -> smtp.example.com
      port      (none) -> 587
      ssl       (none) -> true

1 existing override is left alone because the files do not list that user (prune: false).
Password: MBOUCHER: needs a password: none is stored for the login mb@example.com; set it \
with `mailprov password set MBOUCHER` (or the user types it in maestro*, Préférences > Courriel)
Follow-up: 1 user moves to Office 365 – Modern Authentication and signs in once in maestro* \
(Préférences > Courriel > Authentifier); `mailprov office365 status` shows who has.
Plan: 0 to add, 2 to change, 0 to remove.
"""
    assert runner.invoke(cli, ["apply", "--auto-approve"]).exit_code == 0
    write_config(tmp_path, sqlite_url, general={"client": "outlook", "smtp": dict(SMTP)},
                 users={"COMPTA": {"smtp": False}}, prune=True)
    result = runner.invoke(cli, ["plan"])
    assert "  - user.COMPTA  (REMOVE the Office 365 mode: the user follows the general " \
           "default)\n      email  compta@example.com -> (cleared)\n" in result.stdout
    markdown = runner.invoke(cli, ["plan", "--format", "markdown"]).stdout
    assert "#### ⚠️ 3 users\\' own modes will be removed \\(they follow the general " \
           "default\\)\n" in markdown
    assert "<details open><summary><b>2 users leave Office 365 – Modern Authentication for " \
           "the general default</b></summary>\n\nSame for all 2: Sending mode \\(" \
           "Configuration d\\'envoi\\) <code>office365</code> → **<code>general</code>**\n" \
           in markdown


# --- what a version-1 target refuses, and how the version is known ----------------------------


VERSION_1 = ("target 'db' is on reference model version 1 (maestro* before 3.05; read from "
             "its schema: its users table has no Office 365 columns (mail_mode, o365_email, "
             "o365_authenticated_at))")
IF_WRONG_1 = ("If the target is maestro* 3.05 and that is wrong, declare `model_version: 2` "
              "in its mapping file (docs/office365.md).")


def test_version_1_refuses_office365_with_one_message(sqlite_url, tmp_path, monkeypatch):
    sandbox(sqlite_url, users=12, model=1)
    before = dump(sqlite_url)
    config = write_config(tmp_path, sqlite_url,
                          general={"client": "office365", "smtp": dict(SMTP)},
                          users={"COMPTA": o365("compta@example.com"),
                                 "MBOUCHER": o365("mb@example.com"),
                                 "COORD": smtp_user("COORD")})
    with pytest.raises(ConfigError) as caught:
        plan_file(config)
    assert [(p.dotted_path, p.code, p.message) for p in caught.value.problems] == [
        ("general.client", "model-version",
         f"{VERSION_1}, which has no Office 365 – Modern Authentication (Office 365 – "
         "Authentification moderne): choose one of other, outlook, lotus_notes, smtp. "
         f"{IF_WRONG_1}"),
        ("users.COMPTA.office365", "model-version",
         f"{VERSION_1}, which has no Office 365 – Modern Authentication mode: 2 users ask "
         "for it (COMPTA, MBOUCHER). Keep them on `smtp:` until maestro* is 3.05. "
         f"{IF_WRONG_1}"),
    ]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["apply", "--auto-approve"])
    assert result.exit_code == 1
    assert result.output.endswith(
        "Error: 2 problems in the configuration; nothing was changed.\n")
    assert dump(sqlite_url) == before  # nothing written


def test_version_2_refuses_lotus_notes_and_a_declared_version_is_named(sqlite_url, tmp_path):
    sandbox(sqlite_url, users=5, model=2)
    config = write_config(tmp_path, sqlite_url, general={"client": "lotus_notes"})
    with pytest.raises(ConfigError) as caught:
        plan_file(config)
    assert [p.message for p in caught.value.problems] == [
        "target 'db' is on reference model version 2 (maestro* 3.05; read from its schema: "
        "its users table has the Office 365 columns), which has no Lotus Notes: choose one "
        "of other, outlook, office365, smtp. If the target is maestro* before 3.05 and that "
        "is wrong, declare `model_version: 1` in its mapping file (docs/office365.md)."]

    # the mapping file says version 1 (wrongly): mailprov believes it, and says where to fix it
    (tmp_path / "mapping.yaml").write_text("version: 1\nmodel_version: 1\n", encoding="utf-8")
    declared = write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                            users={"COMPTA": o365("compta@example.com")}, name="declared.yaml")
    with pytest.raises(ConfigError) as caught:
        plan_file(declared)
    assert [p.message for p in caught.value.problems] == [
        "target 'db' is on reference model version 1 (maestro* before 3.05; declared in its "
        f"mapping file {tmp_path / 'mapping.yaml'}), which has no Office 365 – Modern "
        "Authentication mode: 1 user asks for it (COMPTA). Keep them on `smtp:` until "
        f"maestro* is 3.05. If that is wrong, fix `model_version` in {tmp_path / 'mapping.yaml'}."]


def test_version_2_declared_on_a_version_1_schema_names_the_missing_column(sqlite_url,
                                                                            tmp_path):
    sandbox(sqlite_url, users=5, model=1)
    (tmp_path / "mapping.yaml").write_text("version: 1\nmodel_version: 2\n", encoding="utf-8")
    config = write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                          users={"COMPTA": o365("compta@example.com")})
    with pytest.raises(MappingError) as caught:
        plan_file(config)
    assert caught.value.message == (
        f"column 'mail_mode' does not exist in table 'app_user' (mapping file "
        f"{tmp_path / 'mapping.yaml'}): fix the mapping file's columns")


def test_some_version_2_columns_but_not_all_is_an_error_naming_them(sqlite_url, tmp_path):
    sandbox(sqlite_url, users=5, model=2)
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.execute(text("ALTER TABLE app_user DROP COLUMN o365_authenticated_at"))
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    with pytest.raises(MappingError) as caught:
        plan_file(config)
    assert caught.value.message == (
        "table 'app_user' has mail_mode, o365_email but not o365_authenticated_at (reference "
        "model): maestro* 3.05 (model version 2) has all of them, earlier versions none. Map "
        "the missing columns in the mapping file, or declare `model_version: 1` there to "
        "leave Office 365 aside")


@pytest.mark.parametrize("model", [1, 2])
def test_the_version_costs_one_query_per_database_and_process(sqlite_url, tmp_path, model):
    sandbox(sqlite_url, users=20, model=model)
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    kinds = []
    for _attempt in range(2):
        with StatementLog() as log:
            plan, _target = plan_file(config)
        assert plan.model_version == model
        kinds.append([s.split()[0].upper() for s in log.statements
                      if not s.upper().startswith("BEGIN")])
    # the general row, the version (SELECT * ... WHERE 0 = 1, once), every user, the identity
    assert kinds == [["SELECT", "SELECT", "SELECT", "PRAGMA"], ["SELECT", "SELECT", "PRAGMA"]]
    # declared by a mapping file: no query at all
    (tmp_path / "mapping.yaml").write_text(f"version: 1\nmodel_version: {model}\n",
                                           encoding="utf-8")
    mapped = write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                          users={"COMPTA": smtp_user("COMPTA")}, name="mapped.yaml")
    with StatementLog() as log:
        assert plan_file(mapped)[0].model_version == model
    assert [s.split()[0].upper() for s in log.statements
            if not s.upper().startswith("BEGIN")] == ["SELECT", "SELECT", "PRAGMA"]


# --- a real 3.05 installation: French labels and numbered modes --------------------------------


MAPPING_305 = """\
version: 1
model_version: 2
general:
  table: CONFIG_GENERALE
  key_column: NO_CONFIG
  columns: {edition: EDITION, client: LOGICIEL_COURRIEL, server: SMTP_SERVEUR,
            port: SMTP_PORT, ssl: SMTP_SSL}
  client_values:
    outlook: "Microsoft Outlook"
    office365: "Office 365 – Authentification moderne"
    smtp: "SMTP – Autre"
    other: "Autre logiciel de courriel"
users:
  table: USAGER
  columns: {number: NO_USAGER, code: CODE_USAGER, name: NOM, override: COURRIEL_SPECIFIQUE,
            username: SMTP_USAGER, from: ADRESSE_DE, server: SMTP_SERVEUR, port: SMTP_PORT,
            ssl: SMTP_SSL, password: SMTP_MOT_DE_PASSE, password_set_at: SMTP_MDP_DATE,
            mode: MODE_ENVOI, email: COURRIEL_O365, authenticated_at: O365_AUTHENTIFIE_LE}
  mode_values: {general: 0, smtp: 1, office365: 2}
"""


def _installation_305(url: str) -> Table:
    metadata = MetaData()
    general = Table("CONFIG_GENERALE", metadata,
                    Column("NO_CONFIG", Integer, primary_key=True),
                    Column("EDITION", String(16), nullable=False),
                    Column("LOGICIEL_COURRIEL", String(64), nullable=False),
                    Column("SMTP_SERVEUR", String(255)), Column("SMTP_PORT", Integer),
                    Column("SMTP_SSL", Boolean, nullable=False))
    people = Table("USAGER", metadata,
                   Column("NO_USAGER", Integer, primary_key=True),
                   Column("CODE_USAGER", String(255), nullable=False, unique=True),
                   Column("NOM", String(255), nullable=False),
                   Column("COURRIEL_SPECIFIQUE", Boolean, nullable=False),
                   Column("SMTP_USAGER", String(255)), Column("ADRESSE_DE", String(255)),
                   Column("SMTP_SERVEUR", String(255)), Column("SMTP_PORT", Integer),
                   Column("SMTP_SSL", Boolean), Column("SMTP_MOT_DE_PASSE", Text),
                   Column("SMTP_MDP_DATE", DateTime), Column("MODE_ENVOI", Integer),
                   Column("COURRIEL_O365", String(255)),
                   Column("O365_AUTHENTIFIE_LE", DateTime))
    with engine_for(url) as engine, engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(insert(general).values(NO_CONFIG=1, EDITION="standard",
                                            LOGICIEL_COURRIEL="Microsoft Outlook",
                                            SMTP_SSL=False))
        conn.execute(insert(people), [
            {"NO_USAGER": 1, "CODE_USAGER": "COMPTA", "NOM": "Comptabilité",
             "COURRIEL_SPECIFIQUE": False, "MODE_ENVOI": 0},
            {"NO_USAGER": 2, "CODE_USAGER": "JTREMBLAY", "NOM": "Jean Tremblay",
             "COURRIEL_SPECIFIQUE": False, "MODE_ENVOI": 2,
             "COURRIEL_O365": "jtremblay@example.com",
             "O365_AUTHENTIFIE_LE": datetime(2026, 11, 20, 9, 15)}])
    return people


def test_a_mapped_305_installation_with_french_labels_and_numbered_modes(db_url, tmp_path):
    people = _installation_305(db_url)
    (tmp_path / "mapping.yaml").write_text(MAPPING_305, encoding="utf-8")
    config = write_config(tmp_path, db_url, mapping="mapping.yaml",
                          general={"client": "office365"},
                          users={"COMPTA": o365("compta@example.com"),
                                 "JTREMBLAY": {"smtp": {"username": "jt@example.com",
                                                        **SMTP}}})
    plan, target = plan_file(config)
    assert [(c.address, c.action, c.changed) for c in plan.changes] == [
        ("general", "update", ("client",)),
        ("user.COMPTA", "create", ("email",)),
        ("user.JTREMBLAY", "update", ("mode", "email", "username", "from", "server", "port",
                                      "ssl")),
    ]
    api.apply(plan, target, config_dir=str(tmp_path))
    with engine_for(db_url) as engine, engine.connect() as conn:
        client = conn.execute(text('SELECT "LOGICIEL_COURRIEL" FROM "CONFIG_GENERALE"'
                                   if "mysql" not in db_url else
                                   "SELECT LOGICIEL_COURRIEL FROM CONFIG_GENERALE")).scalar()
        rows = {r[0]: tuple(r[1:]) for r in conn.execute(select(
            people.c.CODE_USAGER, people.c.COURRIEL_SPECIFIQUE, people.c.SMTP_USAGER,
            people.c.MODE_ENVOI, people.c.COURRIEL_O365))}
    assert client == "Office 365 – Authentification moderne"
    assert {code: (bool(flag), *rest) for code, (flag, *rest) in rows.items()} == {
        "COMPTA": (False, None, 2, "compta@example.com"),
        "JTREMBLAY": (True, "jt@example.com", 1, None),
    }
    assert plan_file(config)[0].changes == ()
    # a saved plan carries the mapping, the model version with it: apply needs no file
    assert plan.mapping is not None and plan.mapping["model_version"] == 2


# --- saved plans --------------------------------------------------------------------------------


def test_a_saved_plan_is_refused_on_a_target_whose_version_changed(sqlite_url, tmp_path):
    sandbox(sqlite_url, users=5, model=2)
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    plan, _target = plan_file(config)
    api.save_plan(plan, tmp_path / "plan.json")
    saved = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert (saved["format_version"], saved["model_version"]) == ("1.4", 2)
    with engine_for(sqlite_url) as engine, engine.begin() as conn:  # maestro* "downgraded"
        for column in ("mail_mode", "o365_email", "o365_authenticated_at"):
            conn.execute(text(f"ALTER TABLE app_user DROP COLUMN {column}"))
    before = dump(sqlite_url)
    with pytest.raises(WrongDatabaseError) as caught:
        api.apply_saved(api.read_saved_plan(tmp_path / "plan.json"))
    assert caught.value.exit_code == 3
    assert caught.value.message == (
        "the plan was made for target 'db' on reference model version 2, but the database "
        "now follows version 1 (maestro* upgraded, or the mapping's `model_version` "
        "changed). Nothing was changed; run `mailprov plan` again.")
    assert dump(sqlite_url) == before


def _plan_json(changes: list[dict[str, object]], model_version: int = 2,
               edition: str = "standard") -> str:
    return json.dumps({
        "format_version": "1.3", "target": "db", "target_url": "sqlite:///x.db",
        "database_id": None, "edition": edition, "mapping": None,
        "model_version": model_version, "config_digest": "sha256:" + "0" * 64,
        "git_commit": None, "base_digest": "sha256:" + "0" * 64, "managed_users": [1],
        "changes_present": True, "changes": changes,
        "summary": {"create": 1, "update": 0, "delete": 0}, "unmanaged_overrides": 0,
        "safety": {"existing_overrides": 0, "counted_changes": 0, "max_change_percent": 30,
                   "min_existing": 10, "max_changes": None, "exceeded": False,
                   "reasons": []}, "warnings": []})


def test_saved_plans_are_checked_for_the_office365_mode():
    create = {"address": "user.COMPTA", "action": "create", "before": None,
              "after": {"mode": "office365", "email": "compta@example.com"},
              "changed": ["email"], "number": 1}
    assert plan_from_json(_plan_json([create]), "p.json").plan.changes[0].after == \
        create["after"]
    bad = [
        (_plan_json([create], model_version=1),
         "changes[0] (\"user.COMPTA\"): after: the Office 365 mode needs reference model "
         "version 2 (maestro* 3.05); the plan is for version 1"),
        (_plan_json([{**create, "after": {"mode": "office365", "email": "not an address"}}]),
         "changes[0] (\"user.COMPTA\"): after.email: \"not an address\" is not an e-mail "
         "address: An email address must have an @-sign."),
        (_plan_json([{**create, "after": {"mode": "lotus", "email": "a@example.com"}}]),
         "changes[0] (\"user.COMPTA\"): after: an Office 365 state is {\"mode\": "
         "\"office365\", \"email\": ...}"),
        (_plan_json([{**create, "address": "user.paie@example.com"}], edition="cloud"),
         "changes[0] (\"user.paie@example.com\"): after.email: in maestro*CLOUD the Office "
         "365 account is the user code"),
        (_plan_json([{**create, "action": "update",
                      "before": {"mode": "office365", "email": "old@example.com"},
                      "changed": ["mode", "email"]}]),
         "changes[0] (\"user.COMPTA\"): `changed` names `mode` exactly when the update moves "
         "the user to the other mode"),
    ]
    for text_, problem in bad:
        with pytest.raises(PlanFileError) as caught:
            plan_from_json(text_, "p.json")
        assert caught.value.message == (f"p.json: not a valid mailprov plan; nothing was "
                                        f"changed:\n  {problem}")


# --- the status report ----------------------------------------------------------------------------


def test_office365_status_names_whom_to_remind(sqlite_url, tmp_path, monkeypatch):
    sandbox(sqlite_url, users=20, model=2)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["office365", "status", "-t", sqlite_url])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"""\
Office 365 – Modern Authentication on target '{sqlite_url}' ({sqlite_url}), edition \
standard, reference model version 2.

  ADEMERS    ademers@example.com    NOT authenticated yet
  EDEMERS    edemers@example.com    NOT authenticated yet
  ELACHANCE  elachance@example.com  authenticated 2026-11-03 08:37
  SLAVOIE    slavoie@example.com    authenticated 2026-11-05 08:51

2 of 4 users have authenticated.
Remind ADEMERS, EDEMERS: maestro* cannot send for them until they sign in once \
(Préférences > Courriel > Authentifier).
"""
    data = json.loads(runner.invoke(cli, ["office365", "status", "-t", sqlite_url,
                                          "--pending", "--format", "json"]).stdout)
    assert data["summary"] == {"users": 4, "authenticated": 2, "pending": 2, "unknown": 0}
    assert data["users"] == [
        {"code": "ADEMERS", "name": "Alexandre Demers", "email": "ademers@example.com",
         "mode": "own", "authenticated": False, "authenticated_at": None},
        {"code": "EDEMERS", "name": "Émilie Demers", "email": "edemers@example.com",
         "mode": "own", "authenticated": False, "authenticated_at": None},
    ]
    # with `client: office365`, the users who follow the general default are listed too
    write_config(tmp_path, sqlite_url, general={"client": "office365"})
    assert runner.invoke(cli, ["apply", "--auto-approve"]).exit_code == 0
    data = json.loads(runner.invoke(cli, ["office365", "status", "--format", "json"]).stdout)
    assert data["summary"] == {"users": 20, "authenticated": 2, "pending": 18, "unknown": 0}
    assert {u["mode"] for u in data["users"]} == {"own", "general"}
    # a maestro* before 3.05 has nobody to report
    sandbox(sqlite_url.replace("maestro.db", "old.db"), users=3, model=1)
    result = runner.invoke(cli, ["office365", "status", "-t",
                                 sqlite_url.replace("maestro.db", "old.db")])
    assert result.stdout.endswith("reference model version 1.\nThis maestro* (before 3.05) "
                                  "has no Office 365 mode: nobody to report.\n")


def test_explain_an_office365_user(sqlite_url, tmp_path):
    sandbox(sqlite_url, users=12, model=2)
    config = write_config(tmp_path, sqlite_url, users={"ELACHANCE": o365("eric@example.com")})
    info = api.explain("ELACHANCE", resolved(sqlite_url), api.load_config([config]))
    assert (info.mode, info.office365_email, info.authenticated_at) == (
        "office365", "elachance@example.com", datetime(2026, 11, 3, 8, 37))
    assert info.notes == ("authenticated with Office 365 in maestro* on 2026-11-03 08:37",)
    assert info.configured is not None and info.configured.office365 is not None
    assert info.configured.office365.email == "eric@example.com"
    pending = api.explain("EDEMERS", resolved(sqlite_url))
    assert pending.notes == (
        "has not authenticated with Office 365 in maestro* yet: until the user does "
        "(Préférences > Courriel > Authentifier, once), maestro* cannot send for them",)
    outlook = api.explain("KMORIN", resolved(sqlite_url))
    assert outlook.notes == (
        "the new Outlook for Windows cannot be driven through an Outlook profile: if this "
        "user runs it, give them Office 365 – Modern Authentication (an `office365` section)",)


# --- warnings -----------------------------------------------------------------------------------


def test_every_remaining_password_override_on_exchange_online_is_named(sqlite_url, tmp_path,
                                                                      monkeypatch):
    sandbox(sqlite_url, users=12, model=2)
    # an unlisted user already on Exchange Online with a password
    with engine_for(sqlite_url) as engine, engine.begin() as conn:
        conn.execute(text("UPDATE app_user SET mail_override = 1, mail_mode = 'smtp', "
                          "smtp_username = 'ml@example.com', from_address = 'ml@example.com', "
                          "smtp_server = 'smtp.office365.com', smtp_port = 587, smtp_ssl = 1 "
                          "WHERE code = 'MLAVOIE'"))
    config = write_config(tmp_path, sqlite_url, general={"client": "outlook",
                                                         "smtp": {"provider": "office365"}},
                          users={"COMPTA": smtp_user("COMPTA"),  # inherits Exchange Online
                                 "COORD": smtp_user("COORD", server="relay.example.com"),
                                 "MBOUCHER": o365("mb@example.com")})
    plan, _target = plan_file(config)
    assert [(w.code, w.address) for w in plan.warnings
            if w.code == "office365-basic-auth-retirement"] == [
        ("office365-basic-auth-retirement", "general"),
        ("office365-basic-auth-retirement", "user.COMPTA"),
        ("office365-basic-auth-retirement", "user.MLAVOIE"),
    ]
    assert {w.message for w in plan.warnings
            if w.code == "office365-basic-auth-retirement"} == {BASIC_AUTH}
    monkeypatch.chdir(tmp_path)
    output = CliRunner().invoke(cli, ["plan"]).stdout
    assert f"Warning: general, user.COMPTA, user.MLAVOIE: {BASIC_AUTH}\n" in output
    # setting Outlook as the default on a 3.05 target warns of the new Outlook
    write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": dict(SMTP)},
                 name="smtp.yaml")
    assert CliRunner().invoke(cli, ["apply", "-c", "smtp.yaml", "--auto-approve"]
                              ).exit_code == 0
    plan, _target = plan_file(write_config(tmp_path, sqlite_url, name="outlook.yaml"))
    assert untemplated([w.to_json() for w in plan.warnings]) == [{
        "code": "new-outlook-needs-office365", "address": "general",
        "message": "`client: outlook` works through the Outlook profile of classic Outlook "
                   "for Windows; the new Outlook for Windows cannot be driven that way: its "
                   "users need Office 365 – Modern Authentication (`client: office365`, or an "
                   "`office365` section for each of them)"}, {
        "code": "office365-basic-auth-retirement", "address": "user.MLAVOIE",
        "message": BASIC_AUTH}]


# --- the sandbox --------------------------------------------------------------------------------


def test_sandbox_model_2_by_default_and_1_on_request(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["sandbox", "sqlite:///new.db", "--users", "30"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "Created a standard sandbox with 30 users in sqlite:///new.db.\n"
        "Reference model version 2 (maestro* 3.05): 6 users send with Office 365 – Modern "
        "Authentication, 3 of them authenticated (`mailprov office365 status`).\n")
    rows = users2(f"sqlite:///{tmp_path}/new.db")
    assert sum(1 for r in rows.values() if r["mail_mode"] == "office365") == 6
    result = runner.invoke(cli, ["sandbox", "sqlite:///old.db", "--model", "1"])
    assert result.stdout == "Created a standard sandbox with 25 users in sqlite:///old.db.\n"
    with engine_for(f"sqlite:///{tmp_path}/old.db") as engine, engine.connect() as conn:
        columns = [r[1] for r in conn.execute(text("PRAGMA table_info(app_user)"))]
    assert "mail_mode" not in columns
    result = runner.invoke(cli, ["sandbox", "sqlite:///x.db", "--model", "3"])
    assert result.exit_code == 2
    assert "Error: Invalid value for '--model': 3 is not in the range 1<=x<=2." in result.output


# --- the files ----------------------------------------------------------------------------------


def _write(folder: Path, body: str) -> Path:
    path = folder / "mailprov.yaml"
    path.write_text("version: 1\ntargets:\n  db:\n    url: sqlite:///m.db\n" + body,
                    encoding="utf-8")
    return path


def test_smtp_and_office365_in_one_entry_is_an_error(tmp_path):
    path = _write(tmp_path, "users:\n  COMPTA:\n    smtp: {username: c@example.com}\n"
                  "    office365: {email: c@example.com}\nprofiles:\n  staff:\n"
                  "    smtp: {port: 587}\n    office365: {email: x@example.com}\n"
                  "  nobody:\n    office365: {}\n"
                  "  JDOE-LIKE: {office365: {email: 'not an address'}}\n")
    with pytest.raises(ConfigError) as caught:
        api.load_config([path])
    both = ("`smtp` and `office365` are two ways of sending: keep one (`office365` sends with "
            "the user's Office 365 account, Modern Authentication; `smtp` through an SMTP "
            "server with a password)")
    assert [(p.line, p.column, p.dotted_path, p.message) for p in caught.value.problems] == [
        (8, 5, "users.COMPTA.office365", both),
        (12, 5, "profiles.staff.office365", both),
        (15, 34, "profiles.JDOE-LIKE.office365.email",
         "'not an address' is not an e-mail address: An email address must have an @-sign."),
    ]


def test_office365_needs_an_account_except_in_the_cloud(tmp_path):
    path = _write(tmp_path, "    edition: standard\nusers:\n  COMPTA: {office365: {}}\n")
    with pytest.raises(ConfigError) as caught:
        api.load_config([path])
    assert [p.message for p in caught.value.problems] == [
        "no Office 365 account: set `office365.email` (the address the user signs in to "
        "Office 365 with)"]
    cloud = _write(tmp_path, "    edition: cloud\ngeneral:\n  client: office365\nusers:\n"
                   "  compta@example.com: {office365: {}}\n"
                   "  paie@example.com: {office365: {email: other@example.com}}\n")
    with pytest.raises(ConfigError) as caught:
        api.load_config([cloud])
    assert [(p.dotted_path, p.message) for p in caught.value.problems] == [
        ('users."paie@example.com".office365.email',
         "target 'db' is maestro*CLOUD: the Office 365 account is the user code and cannot "
         "be set; remove `email`")]


def test_profiles_defaults_and_csv_give_the_office365_mode(tmp_path):
    (tmp_path / "people.csv").write_text(
        "code;profile;office365.email;smtp.username\n"
        "CSV1;;csv1@example.com;\nCSV2;smtp-staff;;\nCSV3;;;csv3@example.com\n",
        encoding="utf-8")
    path = _write(tmp_path, """\
vars: {domain: example.com}
defaults:
  smtp: {port: 2525}
profiles:
  cloud-staff:
    office365: {email: "{{ user.code | lower }}@{{ vars.domain }}"}
  smtp-staff:
    smtp: {username: "{{ user.code | lower }}@{{ vars.domain }}", server: relay.example.com}
users_from: people.csv
users:
  A: {profile: cloud-staff}
  B: {profile: [smtp-staff, cloud-staff]}
  C: {profile: cloud-staff, smtp: {username: c@example.com, server: relay.example.com}}
  D: {profile: smtp-staff, office365: {email: d@example.com}}
""")
    config = api.load_config([path])
    modes = {code: (user.mode, None if user.office365 is None else user.office365.email,
                    None if user.override is None else user.override.port)
             for code, user in config.users.items()}
    assert modes == {
        "A": ("office365", "{{ user.code | lower }}@{{ vars.domain }}", None),
        "B": ("smtp", None, 2525),  # the first profile with a mode decides
        "C": ("smtp", None, 2525),  # the user's own section decides
        "D": ("office365", "d@example.com", None),
        "CSV1": ("office365", "csv1@example.com", None),
        "CSV2": ("smtp", None, 2525),
        "CSV3": ("smtp", None, 2525),
    }


# --- passwords and test-send ----------------------------------------------------------------------


def test_password_status_names_the_office365_users_and_whom_to_remind(sqlite_url, tmp_path,
                                                                      monkeypatch):
    sandbox(sqlite_url, users=12, model=2)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert runner.invoke(cli, ["apply", "--auto-approve"]).exit_code == 0
    assert runner.invoke(cli, ["password", "set", "COMPTA", "--stdin"],
                         input="pw-compta\n", env={"MAILPROV_SECRET_KEY": KEY}).exit_code == 0
    result = runner.invoke(cli, ["password", "status"], env={"MAILPROV_SECRET_KEY": KEY})
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.endswith("""\
1 SMTP user: 1 with a password, 0 without.

Office 365 – Modern Authentication (no SMTP password: each user signs in once in maestro*, \
Préférences > Courriel > Authentifier):

USER       ACCOUNT                SIGNED IN
EDEMERS    edemers@example.com    not yet: remind them
ELACHANCE  elachance@example.com  2026-11-03 08:37:00

2 Office 365 users: 1 signed in, 1 not yet.
""")
    data = json.loads(runner.invoke(cli, ["password", "status", "--format", "json"],
                                    env={"MAILPROV_SECRET_KEY": KEY}).stdout)
    assert (data["summary"]["office365_users"], data["summary"]["office365_authenticated"]) \
        == (2, 1)
    assert [u["code"] for u in data["office365"]] == ["EDEMERS", "ELACHANCE"]

    # moving COMPTA to Office 365 says its stored password stays (and is then orphaned)
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": o365("compta@example.com")})
    plan, target = plan_file(config)
    assert [(n.address, n.code, n.message) for n in plan.password_notes or ()] == [(
        "user.COMPTA", "password-stays",
        "its stored SMTP password (set on " + f"{datetime.now(UTC):%Y-%m-%d}" + ") stays in the "
        "row when the user moves to Office 365 – Modern Authentication, which needs none "
        "(plan and apply never touch passwords); remove it with `mailprov password clear "
        "COMPTA`")]
    api.apply(plan, target, config_dir=str(tmp_path))
    data = json.loads(runner.invoke(cli, ["password", "status", "--format", "json"],
                                    env={"MAILPROV_SECRET_KEY": KEY}).stdout)
    assert [(u["code"], u["orphaned"]) for u in data["users"]] == [("COMPTA", True)]
    assert data["summary"]["office365_users"] == 3


def test_test_send_explains_that_office365_users_sign_in_with_oauth(sqlite_url):
    from mailprov.live.sending import NotSendingError

    sandbox(sqlite_url, users=12, model=2)
    with pytest.raises(NotSendingError) as caught:
        api.test_send("ELACHANCE", resolved(sqlite_url), to="it@example.com")
    assert caught.value.message == (
        "ELACHANCE sends with Office 365 – Modern Authentication on target 'db' (account "
        "elachance@example.com): maestro* sends with the user's own Office 365 sign-in "
        "(OAuth 2.0), which mailprov never holds, so test-send cannot send as them. "
        "`mailprov office365 status` shows whether they have signed in to it in maestro*")

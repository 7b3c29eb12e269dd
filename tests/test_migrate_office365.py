"""`mailprov migrate office365`: the files edited in place (comments kept), then the plan
shows exactly the moves, then apply makes them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from dbhelpers import sandbox, users2

from mailprov import api
from mailprov.cli import cli

BEFORE = """\
# Acme's maestro* mail settings (reviewed in pull requests)
version: 1
targets:
  prod:
    url: {url}   # the 3.05 sandbox
vars:
  domain: example.com
general:
  client: outlook
  smtp:
    provider: office365            # Exchange Online
profiles:
  staff:
    # everybody signs in with their own mailbox
    smtp:
      username: "{{{{ user.code | lower }}}}@{{{{ vars.domain }}}}"
  relay:
    smtp: {{server: relay.example.com, from: "noreply@{{{{ vars.domain }}}}"}}
users:
  # accounting's shared mailbox
  COMPTA:
    smtp:
      username: compta@example.com   # the shared one
      from: comptabilite@example.com
  COORD: {{smtp: {{username: coord@example.com}}}}   # coordination
  MBOUCHER: {{profile: staff}}
  KMORIN:
    profile: staff      # Karine
  MVACHON:
    profile: relay
  MLAVOIE:
    smtp:
      username: MLAVOIE
      from: mlavoie@example.com
# end of file
"""

AFTER = """\
# Acme's maestro* mail settings (reviewed in pull requests)
version: 1
targets:
  prod:
    url: {url}   # the 3.05 sandbox
vars:
  domain: example.com
general:
  client: outlook
  smtp:
    provider: office365            # Exchange Online
profiles:
  staff:
    # everybody signs in with their own mailbox
    office365:
      email: "{{{{ user.code | lower }}}}@{{{{ vars.domain }}}}"
  relay:
    smtp: {{server: relay.example.com, from: "noreply@{{{{ vars.domain }}}}"}}
users:
  # accounting's shared mailbox
  COMPTA:
    office365:
      email: compta@example.com
  COORD: {{office365: {{email: coord@example.com}}}}   # coordination
  MBOUCHER: {{profile: staff}}
  KMORIN:
    profile: staff      # Karine
  MVACHON:
    profile: relay
  MLAVOIE:
    smtp:
      username: MLAVOIE
      from: mlavoie@example.com
# end of file
"""


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_migrate_a_file_with_comments_then_plan_then_apply(sqlite_url, tmp_path, run):
    sandbox(sqlite_url, users=12, model=2)
    path = tmp_path / "mailprov.yaml"
    path.write_text(BEFORE.format(url=sqlite_url), encoding="utf-8")
    assert run("apply", "--auto-approve").exit_code == 0  # the users on SMTP, as today

    dry = run("migrate", "office365", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert path.read_text(encoding="utf-8") == BEFORE.format(url=sqlite_url)  # untouched
    assert dry.stdout.endswith("Dry run: 4 entries would move to Office 365; nothing was "
                               "written.\n")

    result = run("migrate", "office365")
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == AFTER.format(url=sqlite_url)
    assert result.stdout == """\
--- a/mailprov.yaml
+++ b/mailprov.yaml
@@ -12,17 +12,16 @@
 profiles:
   staff:
     # everybody signs in with their own mailbox
-    smtp:
-      username: "{{ user.code | lower }}@{{ vars.domain }}"
+    office365:
+      email: "{{ user.code | lower }}@{{ vars.domain }}"
   relay:
     smtp: {server: relay.example.com, from: "noreply@{{ vars.domain }}"}
 users:
   # accounting's shared mailbox
   COMPTA:
-    smtp:
-      username: compta@example.com   # the shared one
-      from: comptabilite@example.com
-  COORD: {smtp: {username: coord@example.com}}   # coordination
+    office365:
+      email: compta@example.com
+  COORD: {office365: {email: coord@example.com}}   # coordination
   MBOUCHER: {profile: staff}
   KMORIN:
     profile: staff      # Karine
4 entries moved to Office 365 – Modern Authentication in mailprov.yaml. Review with \
`mailprov plan`; each user then signs in once in maestro*.
"""
    assert result.stderr == (
        "2 user(s) of profiles.staff: Office 365 account {{ user.code | lower }}@"
        "{{ vars.domain }} (mailprov.yaml, profiles.staff)\n"
        "COMPTA: Office 365 account compta@example.com (mailprov.yaml, users.COMPTA); COMPTA "
        "sent From comptabilite@example.com; maestro* now sends From the Office 365 account\n"
        "COORD: Office 365 account coord@example.com (mailprov.yaml, users.COORD)\n"
        "MLAVOIE: not moved: its login MLAVOIE is not an e-mail address: set "
        "`office365: {email: ...}` by hand\n")

    # the plan is exactly those four moves; the relay user and MLAVOIE stay as they are
    plan = json.loads(run("plan", "--format", "json").stdout)
    assert [(c["address"], c["action"], c["changed"], c["after"]) for c in plan["changes"]] == [
        (f"user.{code}", "update", ["mode", "username", "from", "server", "port", "ssl",
                                    "email"], {"mode": "office365", "email": email})
        for code, email in [("COMPTA", "compta@example.com"), ("COORD", "coord@example.com"),
                            ("KMORIN", "kmorin@example.com"),
                            ("MBOUCHER", "mboucher@example.com")]]
    assert [(w["code"], w["address"]) for w in plan["warnings"]
            if w["code"] == "office365-basic-auth-retirement"] == [
        ("office365-basic-auth-retirement", "general"),
        ("office365-basic-auth-retirement", "user.MLAVOIE")]
    assert run("apply", "--auto-approve").exit_code == 0
    rows = users2(sqlite_url)
    assert {code: (rows[code]["mail_override"], rows[code]["mail_mode"],
                   rows[code]["o365_email"], rows[code]["smtp_username"])
            for code in ("COMPTA", "COORD", "KMORIN", "MBOUCHER", "MVACHON", "MLAVOIE")} == {
        "COMPTA": (0, "office365", "compta@example.com", None),
        "COORD": (0, "office365", "coord@example.com", None),
        "KMORIN": (0, "office365", "kmorin@example.com", None),
        "MBOUCHER": (0, "office365", "mboucher@example.com", None),
        "MVACHON": (1, "smtp", None, None),
        "MLAVOIE": (1, "smtp", None, "MLAVOIE"),
    }
    assert run("plan", "--detailed-exitcode").exit_code == 0
    again = run("migrate", "office365")
    assert again.stdout == ("Nobody to move: no user the files list sends through "
                            "smtp.office365.com with a password.\n")


def test_a_selection_of_users_gets_its_own_office365_key(sqlite_url, tmp_path, run):
    sandbox(sqlite_url, users=12, model=2)
    path = tmp_path / "mailprov.yaml"
    path.write_text(BEFORE.format(url=sqlite_url), encoding="utf-8")
    result = run("migrate", "office365", "--users", "KMORIN,COMPTA")
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    # the profile still serves MBOUCHER: KMORIN gets a key of its own, which wins over it
    assert "  staff:\n    # everybody signs in with their own mailbox\n    smtp:\n" in text
    assert "  KMORIN:\n    profile: staff      # Karine\n    office365: {email: " \
           "\"{{ user.code | lower }}@{{ vars.domain }}\"}\n  MVACHON:\n" in text
    assert "  COORD: {smtp: {username: coord@example.com}}   # coordination\n" in text
    config = api.load_config([path])
    assert {code: user.mode for code, user in config.users.items()} == {
        "COMPTA": "office365", "COORD": "smtp", "MBOUCHER": "smtp", "KMORIN": "office365",
        "MVACHON": "smtp", "MLAVOIE": "smtp"}


def test_a_migration_that_would_change_another_user_writes_nothing(tmp_path):
    path = tmp_path / "mailprov.yaml"
    # OTHER takes its login from the profile but sends through another server: moving the
    # profile would break it, so each of the others gets its own key instead
    path.write_text("""\
version: 1
targets: {db: {url: "sqlite:///x.db"}}
general: {smtp: {server: smtp.office365.com, port: 587, ssl: true}}
profiles:
  staff:
    smtp: {username: "{{ user.code | lower }}@example.com"}
users:
  A: {profile: staff}
  OTHER: {profile: staff, smtp: {server: relay.example.com}}
""", encoding="utf-8")
    migration = api.migrate_office365([str(path)], dry_run=True)
    assert [(m.who, m.where) for m in migration.moved] == [("A", "users.A")]
    assert migration.texts[str(path)][1].splitlines()[7] == (
        '  A: {profile: staff, office365: {email: "{{ user.code | lower }}@example.com"}}')


def test_a_csv_row_is_reported_not_edited(tmp_path):
    (tmp_path / "people.csv").write_text("code;smtp.username\nCSV1;csv1@example.com\n",
                                         encoding="utf-8")
    path = tmp_path / "mailprov.yaml"
    path.write_text("version: 1\ntargets: {db: {url: \"sqlite:///x.db\"}}\n"
                    "general: {smtp: {provider: office365}}\nusers_from: people.csv\n",
                    encoding="utf-8")
    migration = api.migrate_office365([str(path)])
    assert migration.moved == ()
    assert [(s.who, s.reason) for s in migration.skipped] == [
        ("CSV1", f"listed in {tmp_path / 'people.csv'}, which mailprov does not edit: clear "
                 "its smtp cells and set office365.email to csv1@example.com")]


def test_every_target_of_a_fleet_is_considered(tmp_path):
    (tmp_path / "clients" / "b").mkdir(parents=True)
    (tmp_path / "clients" / "b" / "users.yaml").write_text(
        "users:\n  BUSER:\n    smtp: {username: buser@client-b.ca}   # client-b only\n",
        encoding="utf-8")
    path = tmp_path / "mailprov.yaml"
    path.write_text("""\
version: 1
general:
  client: outlook
  smtp: {server: relay.example.com, port: 25, ssl: false}
targets:
  client-a:
    url: "sqlite:///a.db"
  client-b:
    url: "sqlite:///b.db"
    general:
      smtp: {provider: office365}
    include: [clients/b/*.yaml]
users:
  SHARED:
    smtp: {username: shared@example.com}
  OWN:
    smtp: {username: own@example.com, server: smtp.office365.com, port: 587}
""", encoding="utf-8")
    migration = api.migrate_office365([str(path)])
    assert [(m.who, m.email, m.where) for m in migration.moved] == [
        ("OWN", "own@example.com", "users.OWN"),
        ("BUSER", "buser@client-b.ca", "users.BUSER")]
    assert [(s.who, s.reason) for s in migration.skipped] == [
        ("SHARED", "it sends through smtp.office365.com with a password for some targets "
                   "only: move it by hand, or give those targets an entry of their own")]
    assert (tmp_path / "clients" / "b" / "users.yaml").read_text(encoding="utf-8") == (
        "users:\n  BUSER:\n    office365: {email: buser@client-b.ca}   # client-b only\n")
    config = api.load_config([str(path)])
    assert config.for_target("client-b").users["BUSER"].mode == "office365"
    assert config.for_target("client-a").users["SHARED"].mode == "smtp"

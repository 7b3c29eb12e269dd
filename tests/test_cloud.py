"""maestro*CLOUD end to end: sandbox, validate, plan, apply, import, explain, drift and the
Office 365 status on a cloud database, and the one message a configuration written for an
installed maestro* gets when it is pointed at a cloud target."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from dbhelpers import SMTP, dump, engine_for, users2
from sqlalchemy import text

from mailprov.cli import cli


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


CLOUD = """\
version: 1
targets:
  cloud:
    url: {url}
    edition: cloud
general:
  client: smtp
  smtp:
    server: smtp.example.com
    port: 587
    ssl: true
users:
  compta@example.com:
    smtp: {{}}
  maxime.boucher@example.com:
    smtp:
      username: mboucher-login
  karine.morin@example.com:
    office365: {{}}
  eric.lachance@example.com:
    smtp: false
"""


def test_the_full_cycle_on_a_cloud_sandbox(url, tmp_path, run):
    result = run("sandbox", url, "--users", "8", "--edition", "cloud")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Created a cloud sandbox with 8 users in {url}.\n")
    (tmp_path / "mailprov.yaml").write_text(CLOUD.format(url=url), encoding="utf-8")

    result = run("validate")
    assert (result.exit_code, result.stderr) == (0, "")

    result = run("plan", "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert (plan["edition"], plan["model_version"]) == ("cloud", 2)
    assert [(c["address"], c["action"], c["after"]) for c in plan["changes"]] == [
        ("general", "update", {"client": "smtp", "smtp": dict(SMTP)}),
        # the From address is the user code; so is the login unless the files give one
        ("user.compta@example.com", "create",
         {"username": "compta@example.com", "from": "compta@example.com", **SMTP}),
        # the sandbox's Office 365 user goes back to the general default
        ("user.eric.lachance@example.com", "delete", None),
        # the Office 365 account is the user code
        ("user.karine.morin@example.com", "create",
         {"mode": "office365", "email": "karine.morin@example.com"}),
        ("user.maxime.boucher@example.com", "create",
         {"username": "mboucher-login", "from": "maxime.boucher@example.com", **SMTP}),
    ]
    assert plan["changes"][3]["sources"] == {"email": {"source": "user-code"}}

    result = run("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    rows = users2(url)
    assert {code: (rows[code]["mail_override"], rows[code]["smtp_username"],
                   rows[code]["from_address"], rows[code]["mail_mode"],
                   rows[code]["o365_email"])
            for code in ("compta@example.com", "maxime.boucher@example.com",
                         "karine.morin@example.com", "eric.lachance@example.com")} == {
        "compta@example.com": (1, "compta@example.com", "compta@example.com", "smtp", None),
        "maxime.boucher@example.com": (1, "mboucher-login", "maxime.boucher@example.com",
                                       "smtp", None),
        "karine.morin@example.com": (0, None, None, "office365", "karine.morin@example.com"),
        "eric.lachance@example.com": (0, None, None, None, None),
    }
    assert run("plan", "--detailed-exitcode").exit_code == 0

    # import: the login and the From address are left to the user code, Office 365 too
    result = run("import", "-o", "imported.yaml")
    assert result.exit_code == 0, result.output
    imported = yaml.safe_load((tmp_path / "imported.yaml").read_text(encoding="utf-8"))
    assert imported["targets"]["cloud"]["edition"] == "cloud"
    assert imported["users"] == {
        "compta@example.com": {"smtp": {}},
        "karine.morin@example.com": {"office365": {}},
        "maxime.boucher@example.com": {"smtp": {"username": "mboucher-login"}},
    }
    assert run("plan", "-c", "imported.yaml", "--detailed-exitcode").exit_code == 0

    result = run("explain", "karine.morin@example.com", "--format", "json")
    info = json.loads(result.stdout)
    assert (info["edition"], info["mode"], info["office365_email"]) == (
        "cloud", "office365", "karine.morin@example.com")
    result = run("explain", "compta@example.com")
    assert "  login:      compta@example.com\n  from:       compta@example.com\n" in \
        result.stdout

    result = run("office365", "status", "--format", "json")
    status = json.loads(result.stdout)
    assert (status["edition"], status["summary"]) == (
        "cloud", {"users": 1, "authenticated": 0, "pending": 1, "unknown": 0})

    assert run("drift").exit_code == 0
    with engine_for(url) as engine, engine.begin() as conn:  # a hand edit in maestro*
        conn.execute(text("UPDATE app_user SET o365_email = 'other@example.com' "
                          "WHERE code = 'karine.morin@example.com'"))
    result = run("drift", "--format", "json")
    assert result.exit_code == 2, result.output
    drift = json.loads(result.stdout)
    assert [(r["address"], r["state"], r["fields"][0]["field"], r["fields"][0]["live"],
             r["fields"][0]["file"]) for r in drift["rows"]] == [
        ("user.karine.morin@example.com", "changed", "email", "other@example.com",
         "karine.morin@example.com")]


STANDARD = """\
version: 1
targets:
  db:
    url: {url}
    edition: standard
general:
  client: outlook
  smtp:
    server: smtp.example.com
    port: 587
users:
  COMPTA:
    smtp:
      username: compta@example.com
  maxime.boucher@example.com:
    smtp:
      from: mb@example.com
"""


def test_a_standard_configuration_on_a_cloud_target_fails_with_one_message(sqlite_url,
                                                                          tmp_path, run):
    assert run("sandbox", sqlite_url, "--users", "5", "--edition", "cloud").exit_code == 0
    before = dump(sqlite_url)
    (tmp_path / "mailprov.yaml").write_text(STANDARD.format(url=sqlite_url), encoding="utf-8")
    assert run("validate").exit_code == 0  # offline, the files are fine for a standard target
    for command in (["plan"], ["apply", "--auto-approve"], ["drift"]):
        result = run(*command)
        assert result.exit_code == 1, command
        assert result.stdout == ""
        assert result.stderr == """\
Error: target 'db' is maestro*CLOUD (its database says so), but the files are written for an \
installed maestro*. Change this, then plan again:
  - mailprov.yaml:5:14: targets.db.edition: write `edition: cloud`: the database says cloud
  - mailprov.yaml:7:11: general.client: set `client: smtp` (or `client: office365` from \
maestro* 3.05 on): maestro*CLOUD has no desktop mail program, so no Outlook mode
  - mailprov.yaml:12:3: users.COMPTA: list this user by its e-mail address: maestro*CLOUD \
user codes are e-mail addresses, and 'COMPTA' is not one
  - mailprov.yaml:17:7: users."maxime.boucher@example.com".smtp.from: remove `from`: in \
maestro*CLOUD the From address is the user code
""", command
    assert dump(sqlite_url) == before

    # a cloud configuration on a standard database: one message too
    standard_url = sqlite_url.replace("maestro.db", "standard.db")
    assert run("sandbox", standard_url, "--users", "5").exit_code == 0
    (tmp_path / "cloud.yaml").write_text(CLOUD.format(url=standard_url), encoding="utf-8")
    result = run("plan", "-c", "cloud.yaml")
    assert result.exit_code == 1
    assert result.stderr == """\
Error: target 'cloud' is declared `cloud` but its database says `standard`. Change this, then \
plan again:
  - cloud.yaml:5:14: targets.cloud.edition: write `edition: standard`: the database says \
standard
"""

"""Policy rules on real databases: in the files and from --policy (or MAILPROV_POLICY),
checked on effective values (templates, CSV rows, inheritance from the live general
row), shown in every output, never saved or applied, whatever --force says; and a saved
plan that a hand edit would make break its policy is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from dbhelpers import (
    dump,
    sandbox,
    smtp_user,
    update_general,
    update_user,
    users2,
    write_config,
)

from mailprov import api
from mailprov.cli import cli
from mailprov.errors import PolicyError

DOMAIN = "acme-construction.ca"
POLICY = {"from_domains": [DOMAIN], "require_ssl": True,
          "allowed_servers": ["smtp.office365.com", "smtp.acme-construction.ca"],
          "forbidden_ports": [25, 465], "max_overrides": 200}
GENERAL = {"client": "smtp", "smtp": {"server": "smtp.acme-construction.ca", "port": 587,
                                      "ssl": True}}
REFUSED = ("Error: the plan breaks the policy: {n} violations (listed with the plan). Such a "
           "plan is never saved or applied, and --force does not change that: change the files "
           "(or the policy), then plan again.")


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


def _yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _with_policy(path: Path, policy: dict) -> None:
    """Add `policy:` at the end of a configuration file written by write_config."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump({"policy": policy}, sort_keys=False))


def _users() -> dict:
    return {"COMPTA": {"smtp": {"username": f"compta@{DOMAIN}",
                                "from": "comptabilite@gmail.com"}},
            "COORD": {"smtp": {"username": f"coord@{DOMAIN}", "port": 465}},
            "KMORIN": {"smtp": {"username": f"kmorin@{DOMAIN}"}}}


def test_a_policy_in_the_files_fails_the_plan_and_every_output_says_why(run, url, tmp_path):
    sandbox(url, users=12)
    path = write_config(tmp_path, url, general=GENERAL, users=_users())
    _with_policy(path, POLICY)
    lines = path.read_text().splitlines()
    compta = next(i for i, line in enumerate(lines, 1) if "comptabilite@gmail.com" in line)
    coord = next(i for i, line in enumerate(lines, 1) if "port: 465" in line)
    rule = next(i for i, line in enumerate(lines, 1) if "from_domains:" in line)
    ports = next(i for i, line in enumerate(lines, 1) if "forbidden_ports:" in line)
    violations = [
        f"  mailprov.yaml:{compta}:13: users.COMPTA.smtp.from: user COMPTA: from "
        f"'comptabilite@gmail.com' is not in an allowed domain ({DOMAIN}): use an address in "
        f"one of them (policy rule from_domains, mailprov.yaml:{rule})",
        f"  mailprov.yaml:{coord}:13: users.COORD.smtp.port: user COORD: port 465 is forbidden "
        "(forbidden ports: 25, 465): use another port, such as 587 (policy rule "
        f"forbidden_ports, mailprov.yaml:{ports})",
    ]
    before = dump(url)

    result = run("plan")
    assert result.exit_code == 1
    assert result.stdout.endswith(
        "Policy: 2 violations; this plan cannot be saved or applied (--force does not change "
        "that):\n" + "\n".join(violations) + "\nPlan: 3 to add, 1 to change, 0 to remove.\n")
    assert result.stderr.splitlines()[-1] == REFUSED.format(n=2)

    saved = run("plan", "--out", "p.json")
    assert saved.exit_code == 1
    assert saved.stderr.splitlines()[-1] == REFUSED.format(n=2) + " Nothing was saved."
    assert not (tmp_path / "p.json").exists()

    data = json.loads(run("plan", "--format", "json").stdout)
    assert data["format_version"] == "1.4"
    assert data["policies"] == [{"file": "mailprov.yaml", "rules": POLICY}]
    assert data["policy_violations"][0] == {
        "code": "policy-from-domains", "rule": "from_domains", "address": "user.COMPTA",
        "user": "COMPTA", "field": "from", "value": "comptabilite@gmail.com",
        "message": violations[0].split(": ", 2)[2], "policy": f"mailprov.yaml:{rule}",
        "file": "mailprov.yaml", "line": compta, "column": 13, "path": "users.COMPTA.smtp.from"}
    assert [v["code"] for v in data["policy_violations"]] == [
        "policy-from-domains", "policy-forbidden-ports"]

    markdown = run("plan", "--format", "markdown")
    assert markdown.exit_code == 1
    # the PR comment says why CI failed, first
    assert "⛔ **This plan cannot be applied\\: it breaks the policy \\(2 violations\\)\\, and " \
           "\\-\\-force does not change that\\.**" in markdown.stdout
    assert "#### ⛔ 2 policy violations: this plan cannot be applied\n\n" \
           "`--force` does not lift a policy: change the files, or the policy.\n\n" \
           f"- <code>mailprov\\.yaml</code> line {compta}: user COMPTA\\: from " \
           "\\'comptabilite\\@gmail\\.com\\' is not in an allowed domain \\(acme\\-construction" \
           "\\.ca\\)\\: use an address in one of them \\(policy rule from\\_domains\\, mailprov" \
           f"\\.yaml\\:{rule}\\)\n" in markdown.stdout
    # the CI log has them too (standard output went to the comment)
    assert markdown.stderr.endswith(
        "Error: the plan breaks the policy: 2 violations:\n" + "\n".join(violations)
        + "\nSuch a plan is never saved or applied, and --force does not change that: change "
        "the files (or the policy), then plan again.\n")
    html = run("plan", "--format", "html").stdout
    assert '<section class="attention stop" id="policy">' in html
    assert "user COMPTA: from &#39;comptabilite@gmail.com&#39; is not in an allowed domain" \
        in html

    forced = run("apply", "--auto-approve", "--force")
    assert forced.exit_code == 1
    assert forced.stderr.splitlines()[-1] == REFUSED.format(n=2) + " Nothing was changed."
    asked = run("apply", "--force", input="yes\n")
    assert asked.exit_code == 1
    assert "Apply these changes?" not in asked.stdout  # refused before asking
    assert dump(url) == before

    config = api.load_config([path])
    plan = api.plan(config, api.resolve_target(config, None))
    with pytest.raises(PolicyError) as raised:
        api.apply(plan, api.resolve_target(config, None), force=True)
    assert raised.value.exit_code == 1
    assert dump(url) == before

    # fixed files plan, save and apply
    path = write_config(tmp_path, url, general=GENERAL, users={
        "COMPTA": {"smtp": {"username": f"compta@{DOMAIN}", "from": f"comptabilite@{DOMAIN}"}},
        "COORD": {"smtp": {"username": f"coord@{DOMAIN}"}}})
    _with_policy(path, POLICY)
    assert run("plan", "--out", "p.json").exit_code == 0
    assert json.loads((tmp_path / "p.json").read_text())["policy_violations"] == []
    assert run("apply", "p.json").exit_code == 0


def test_a_policy_from_policy_option_and_the_environment(run, url, tmp_path, monkeypatch):
    sandbox(url, users=12)
    repo = tmp_path / "repo"
    repo.mkdir()
    path = write_config(repo, url, general=GENERAL, users=_users())
    monkeypatch.chdir(repo)
    policy = _yaml(tmp_path / "it-policy" / "policy.yaml",
                   {"version": 1, "policy": {"from_domains": [DOMAIN]}})
    assert run("plan").exit_code == 0  # the files alone break no policy
    message = (f"user COMPTA: from 'comptabilite@gmail.com' is not in an allowed domain "
               f"({DOMAIN}): use an address in one of them (policy rule from_domains, "
               f"{policy}:3)")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if "comptabilite@gmail.com" in text)
    expected = f"  mailprov.yaml:{line}:13: users.COMPTA.smtp.from: {message}"

    result = run("plan", "--policy", str(policy))
    assert result.exit_code == 1
    assert ("Policy: 1 violation; this plan cannot be saved or applied (--force does not "
            f"change that):\n{expected}\n") in result.stdout
    assert result.stderr.splitlines()[-1] == REFUSED.format(n=1).replace(
        "1 violations", "1 violation")

    checked = run("validate", "--policy", str(policy))
    assert checked.exit_code == 1
    assert expected.strip() in checked.stderr.splitlines()

    monkeypatch.setenv("MAILPROV_POLICY", str(policy))
    assert run("plan").exit_code == 1
    data = json.loads(run("plan", "--format", "json").stdout)
    assert [v["message"] for v in data["policy_violations"]] == [message]
    assert data["policies"] == [{"file": str(policy), "rules": {"from_domains": [DOMAIN]}}]

    # the files' policy and the separate one are both in force
    _with_policy(path, {"forbidden_ports": [465]})
    data = json.loads(run("plan", "--format", "json").stdout)
    assert [(v["rule"], v["user"]) for v in data["policy_violations"]] == [
        ("from_domains", "COMPTA"), ("forbidden_ports", "COORD")]


def test_unknown_rules_and_misshapen_policy_files_are_errors(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=5)
    path = write_config(tmp_path, sqlite_url, users={})
    _with_policy(path, {"from_domain": [DOMAIN], "require_ssl": True})
    result = run("validate")
    assert result.exit_code == 1
    line = len(path.read_text().splitlines()) - 2
    assert result.stderr == (
        f"mailprov.yaml:{line}:3: policy.from_domain: unknown policy rule 'from_domain'; did "
        "you mean 'from_domains'?\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")

    write_config(tmp_path, sqlite_url, users={})
    other = _yaml(tmp_path / "policy.yaml", {
        "version": 1, "users": {"X": {"smtp": False}},
        "policy": {"forbiden_ports": [25], "from_domains": ["it@acme.ca", "*.acme.ca"],
                   "allowed_servers": []}})
    result = run("plan", "--policy", "policy.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        "policy.yaml:2:1: users: a policy file holds `policy:` only (and `version: 1`): move "
        "'users' to the configuration files\n"
        "policy.yaml:6:3: policy.forbiden_ports: unknown policy rule 'forbiden_ports'; did you "
        "mean 'forbidden_ports'?\n"
        "Error: 2 problems in the configuration; nothing was changed.\n")
    other.write_text("version: 1\npolicy:\n  from_domains: [it@acme.ca, '*.acme.ca']\n"
                     "  allowed_servers: []\n", encoding="utf-8")
    result = run("plan", "--policy", "policy.yaml")
    assert result.stderr == (
        "policy.yaml:3:18: policy.from_domains[0]: 'it@acme.ca' is an address, not a domain: "
        "write the domain alone (acme.ca)\n"
        "policy.yaml:4:3: policy.allowed_servers: lists nothing, so every value would break "
        "it: list at least one, or remove the rule\n"
        "Error: 2 problems in the configuration; nothing was changed.\n")
    result = run("plan", "--policy", "nowhere.yaml")
    assert result.stderr == (
        "nowhere.yaml: policy file not found: check the path given with --policy or in "
        "MAILPROV_POLICY\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")


def test_a_template_outside_the_domains_is_caught_at_plan_time(run, url, tmp_path):
    """The stand-in user `validate` renders for gets an allowed address; some real users
    do not: `plan` names each, at the template's line."""
    sandbox(url, users=12)
    template = ("{{ user.code | lower }}@{% if user.number > 10 %}gmail.com{% else %}"
                "{{ vars.domain }}{% endif %}")
    path = tmp_path / "mailprov.yaml"
    path.write_text(
        "version: 1\n"
        f"targets:\n  db:\n    url: {url}\ndefault_target: db\n"
        f"vars:\n  domain: {DOMAIN}\n"
        "general:\n  client: smtp\n  smtp:\n    server: smtp.acme-construction.ca\n"
        "    port: 587\n    ssl: true\n"
        "profiles:\n  staff:\n    smtp:\n"
        f"      username: \"{template}\"\n"
        "all_users:\n  profile: staff\n"
        f"policy:\n  from_domains: [{DOMAIN}]\n", encoding="utf-8")
    assert run("validate").exit_code == 0  # JDOE, number 1: an allowed address

    result = run("plan")
    assert result.exit_code == 1
    shown = "{{ user.code | lower }}@{% if user.number > 10 %}gmail.co..."  # clipped
    expected = [
        f"  mailprov.yaml:17:17: profiles.staff.smtp.username: user {code}: username "
        f"'{code.lower()}@gmail.com' (rendered from '{shown}') is not in an allowed domain "
        f"({DOMAIN}): use an address in one of them (policy rule from_domains, "
        "mailprov.yaml:21)"
        for code in ("IPERREAULT", "MTHIBAULT")]
    assert ("Policy: 2 violations; this plan cannot be saved or applied (--force does not "
            "change that):\n" + "\n".join(expected) + "\n") in result.stdout
    data = json.loads(run("plan", "--format", "json").stdout)
    assert [(v["user"], v["field"], v["value"], v["line"]) for v in
            data["policy_violations"]] == [("IPERREAULT", "username",
                                            "iperreault@gmail.com", 17),
                                           ("MTHIBAULT", "username", "mthibault@gmail.com", 17)]
    assert run("apply", "--auto-approve", "--force").exit_code == 1


def test_csv_cells_and_the_live_general_row_are_places_too(run, url, tmp_path):
    sandbox(url, users=12)
    update_general(url, smtp_server="relay.example.com", smtp_port=25, smtp_ssl=False)
    (tmp_path / "people.csv").write_text(
        "code;profile;smtp.port\nKMORIN;staff;2525\nMVACHON;staff;465\n", encoding="utf-8")
    path = tmp_path / "mailprov.yaml"
    path.write_text(
        "version: 1\n"
        f"targets:\n  db:\n    url: {url}\ndefault_target: db\n"
        "profiles:\n  staff:\n    smtp:\n"
        f"      username: \"{{{{ user.code | lower }}}}@{DOMAIN}\"\n"
        "      server: smtp.acme-construction.ca\n      ssl: true\n"
        "users_from: people.csv\n"
        "policy:\n  forbidden_ports: [25, 465]\n  require_ssl: true\n", encoding="utf-8")
    result = run("plan")
    assert result.exit_code == 1
    assert (
        "Policy: 3 violations; this plan cannot be saved or applied (--force does not change "
        "that):\n"
        "  mailprov.yaml:14:3: policy.forbidden_ports: the general SMTP account: port 25 (in "
        "the target's general configuration; the files do not set it) is forbidden (forbidden "
        "ports: 25, 465): use another port, such as 587 (policy rule forbidden_ports, "
        "mailprov.yaml:14)\n"
        "  mailprov.yaml:15:3: policy.require_ssl: the general SMTP account: ssl false (in the "
        "target's general configuration; the files do not set it) is not allowed: the policy "
        "requires SSL; set `ssl: true` (policy rule require_ssl, mailprov.yaml:15)\n"
        "  people.csv:3:3: users.MVACHON.smtp.port: user MVACHON: port 465 is forbidden "
        "(forbidden ports: 25, 465): use another port, such as 587 (policy rule "
        "forbidden_ports, mailprov.yaml:14)\n"
        "Plan: 2 to add, 0 to change, 0 to remove.\n") in result.stdout
    data = json.loads(run("plan", "--format", "json").stdout)
    assert [(v["file"], v["line"], v["column"], v["path"]) for v in data["policy_violations"]] \
        == [("mailprov.yaml", 14, 3, "policy.forbidden_ports"),
            ("mailprov.yaml", 15, 3, "policy.require_ssl"),
            ("people.csv", 3, 3, "users.MVACHON.smtp.port")]


def test_max_overrides_counts_every_override_after_the_plan(run, sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=12)
    for code in codes[:3]:  # overrides no file lists count too
        update_user(sqlite_url, code, mail_override=True, smtp_username=f"{code}@x.ca",
                    from_address=f"{code}@x.ca", smtp_server="smtp.x.ca", smtp_port=587,
                    smtp_ssl=True)
    path = write_config(tmp_path, sqlite_url, users={c: smtp_user(c) for c in codes[3:6]})
    _with_policy(path, {"max_overrides": 5})
    result = run("plan", "--format", "json")
    assert result.exit_code == 1
    [violation] = json.loads(result.stdout)["policy_violations"]
    line = len(path.read_text().splitlines())
    assert violation["message"] == (
        "6 per-user overrides (SMTP or Office 365) after this plan, more than the 5 the "
        "policy allows: remove some, or raise the limit (policy rule max_overrides, "
        f"mailprov.yaml:{line})")
    assert (violation["file"], violation["line"], violation["path"]) == (
        "mailprov.yaml", line, "policy.max_overrides")
    assert (violation["address"], violation["field"], violation["value"]) == (
        "general", "overrides", 6)
    path = write_config(tmp_path, sqlite_url, users={c: smtp_user(c) for c in codes[3:5]})
    _with_policy(path, {"max_overrides": 5})
    assert run("plan").exit_code == 0


def test_a_saved_plan_cannot_be_edited_past_its_policy(run, url, tmp_path, monkeypatch):
    sandbox(url, users=12)
    path = write_config(tmp_path, url, general=GENERAL,
                        users={"KMORIN": {"smtp": {"username": f"kmorin@{DOMAIN}"}}})
    _with_policy(path, {"forbidden_ports": [25]})
    assert run("plan", "--out", "p.json").exit_code == 0
    plan_path = tmp_path / "p.json"
    data = json.loads(plan_path.read_text())
    assert data["policies"] == [{"file": "mailprov.yaml", "rules": {"forbidden_ports": [25]}}]
    data["changes"][-1]["after"]["port"] = 25  # a valid port: only the policy refuses it
    plan_path.write_text(json.dumps(data))
    before = dump(url)
    expected = ("mailprov.yaml: policy.forbidden_ports: user KMORIN: port 25 is forbidden "
                "(forbidden ports: 25): use another port, such as 587 (policy rule "
                "forbidden_ports, mailprov.yaml)")
    shown = run("show", "p.json")  # found again in the plan's changes, by its own policy
    assert ("Policy: 1 violation; this plan cannot be saved or applied (--force does not "
            f"change that):\n  {expected}\n") in shown.stdout
    result = run("apply", "p.json", "--force")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the plan breaks the policy: 1 violation:\n"
        f"  {expected}\n"
        "Such a plan is never saved or applied, and --force does not change that: change the "
        "files (or the policy), then plan again. Nothing was changed.\n")
    # dropping the policy from an unsigned plan: the one apply is given still holds
    del data["policies"]
    plan_path.write_text(json.dumps(data))
    policy = _yaml(tmp_path / "it" / "policy.yaml", {"policy": {"forbidden_ports": [25]}})
    monkeypatch.setenv("MAILPROV_POLICY", str(policy))
    result = run("apply", "p.json")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the plan breaks the policy: 1 violation:\n"
                                    "  it/policy.yaml:2:3: policy.forbidden_ports: user KMORIN: "
                                    "port 25 is forbidden")
    assert dump(url) == before
    # and a signed plan cannot lose its policy at all
    monkeypatch.delenv("MAILPROV_POLICY")
    monkeypatch.setenv("MAILPROV_PLAN_KEY", "a-plan-key-for-the-tests-0123456789")
    assert run("plan", "--out", "p.json").exit_code == 0
    data = json.loads(plan_path.read_text())
    del data["policies"]
    plan_path.write_text(json.dumps(data))
    assert run("apply", "p.json").exit_code == 3
    assert dump(url) == before


def test_a_plan_without_violations_is_checked_under_the_lock_against_apply_policies(
        run, sqlite_url, tmp_path):
    """A value stored empty follows the general row: apply reads that row under its lock."""
    sandbox(sqlite_url, users=12)
    update_general(sqlite_url, smtp_server="smtp.acme-construction.ca", smtp_port=25,
                   smtp_ssl=True)
    write_config(tmp_path, sqlite_url, general={},
                 users={"KMORIN": {"smtp": {"username": f"kmorin@{DOMAIN}", "port": None}}})
    assert run("plan", "--out", "p.json").exit_code == 0
    policy = _yaml(tmp_path / "policy.yaml", {"policy": {"forbidden_ports": [25]}})
    before = dump(sqlite_url)
    result = run("apply", "p.json", "--policy", str(policy))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the plan breaks the policy: 1 violation:\n"
        "  policy.yaml:2:3: policy.forbidden_ports: user KMORIN: port 25 is forbidden "
        "(forbidden ports: 25): use another port, such as 587 (policy rule forbidden_ports, "
        "policy.yaml:2)\n"
        "Such a plan is never saved or applied, and --force does not change that: change the "
        "files (or the policy), then plan again. Nothing was changed.\n")
    assert dump(sqlite_url) == before
    assert run("apply", "p.json").exit_code == 0


def test_validate_reports_policy_violations_with_their_code(run, sqlite_url, tmp_path):
    path = write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": {
        "server": "smtp.gmail.com", "port": 587, "ssl": True}}, users=_users())
    _with_policy(path, {"allowed_servers": ["*.acme-construction.ca"], "from_domains": [DOMAIN]})
    result = run("validate", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["code"], p["path"], p["severity"]) for p in problems] == [
        ("policy-allowed-servers", "general.smtp.server", "error"),
        ("policy-from-domains", "users.COMPTA.smtp.from", "error"),
        ("smtp-465-starttls", "users.COORD.smtp", "warning")]
    assert problems[0]["message"] == (
        "the general SMTP account: server 'smtp.gmail.com' is not an allowed server "
        "(*.acme-construction.ca): use one of them (policy rule allowed_servers, "
        f"mailprov.yaml:{len(path.read_text().splitlines()) - 3})")


def test_validate_renders_templates_for_the_stand_in_user(run, sqlite_url, tmp_path):
    path = tmp_path / "mailprov.yaml"
    path.write_text(
        "version: 1\n"
        f"targets:\n  db:\n    url: {sqlite_url}\n"
        "general:\n  client: smtp\n  smtp: {server: smtp.acme-construction.ca, port: 587, "
        "ssl: true}\n"
        "selections:\n  - match: 'K*'\n"
        "    smtp: {username: \"{{ user.code | lower }}@gmail.com\"}\n"
        f"policy:\n  from_domains: [{DOMAIN}]\n", encoding="utf-8")
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml:10:22: selections[0].smtp.username: the users selections[0] takes: "
        "username 'jdoe@gmail.com' (rendered for the stand-in user JDOE from "
        "'{{ user.code | lower }}@gmail.com') is not in an allowed domain "
        f"({DOMAIN}): use an address in one of them (policy rule from_domains, "
        "mailprov.yaml:12)\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")


def test_over_a_fleet_each_target_holds_to_the_shared_and_its_own_policies(run, tmp_path):
    """A target's own files may add a `policy:` for it (a client's own domain); a fleet's
    plan file leaves out the target that breaks one, and apply refuses that target only."""
    from fleet_support import codes, make_fleet

    (tmp_path / "clients").mkdir()
    (tmp_path / "clients" / "beta.yaml").write_text(
        "policy:\n  from_domains: [beta.example.org]\n", encoding="utf-8")
    urls = make_fleet(tmp_path, ["alpha", "beta", "gamma"], extra={
        "policy": {"forbidden_ports": [25]}}, targets={
        "beta": {"include": ["clients/beta.yaml"]},
        "gamma": {"general": {"smtp": {"port": 25}}}})
    first = codes(5)[0]
    data = json.loads(run("plan", "--all-targets", "--format", "json").stdout)
    violations = {t["target"]: [(v["rule"], v["address"]) for v in
                                t["plan"]["policy_violations"]] for t in data["targets"]}
    assert violations["alpha"] == []
    assert violations["beta"][0] == ("from_domains", f"user.{first}")
    assert len(violations["beta"]) == 5  # every user's login, in example.com
    assert violations["gamma"] == [("forbidden_ports", "general")]
    assert {t["target"]: t["exit_code"] for t in data["targets"]} == {
        "alpha": 0, "beta": 1, "gamma": 1}

    result = run("plan", "--all-targets", "--out", "fleet.plan.json")
    assert result.exit_code == 1
    saved = json.loads((tmp_path / "fleet.plan.json").read_text(encoding="utf-8"))
    assert [p["target"] for p in saved["plans"]] == ["alpha"]
    assert [(n["target"], n["message"]) for n in saved["not_planned"]] == [
        ("beta", "the plan breaks the policy: 5 violations"),
        ("gamma", "the plan breaks the policy: 1 violation")]

    checked = run("validate")  # offline too, each target as it sees the files
    assert checked.exit_code == 1
    assert "clients/beta.yaml:2:18: policy.from_domains" not in checked.stderr
    assert ("mailprov.yaml:13:15: targets.gamma.general.smtp.port: the general SMTP account: "
            "port 25 is forbidden (forbidden ports: 25): use another port, such as 587 (policy "
            "rule forbidden_ports, mailprov.yaml:37) (for target 'gamma')\n") in checked.stderr
    assert (f"mailprov.yaml:23:17: users.{first}.smtp.username: user {first}: username "
            f"'{first.lower()}@example.com' is not in an allowed domain (beta.example.org): use "
            "an address in one of them (policy rule from_domains, clients/beta.yaml:2) (for "
            "target 'beta')\n") in checked.stderr

    before = {name: dump(url) for name, url in urls.items()}
    applied = run("apply", "--auto-approve", "--all-targets", "--force")
    assert applied.exit_code == 1
    assert dump(urls["alpha"]) != before["alpha"]
    assert dump(urls["beta"]) == before["beta"] and dump(urls["gamma"]) == before["gamma"]


# --- Office 365 – Modern Authentication: maestro* sends From the account ------------------


def _office365(email: str) -> dict:
    return {"office365": {"email": email}}


def test_validate_checks_an_office365_account_as_a_from_address(run, sqlite_url, tmp_path):
    """`from_domains` reads an Office 365 user's `email` at its place, a template rendered
    for the stand-in user; the SMTP rules (SSL, servers, ports) are not that user's."""
    path = tmp_path / "mailprov.yaml"
    text = (
        "version: 1\n"
        f"targets:\n  db:\n    url: {sqlite_url}\n"
        "general:\n  client: smtp\n  smtp: {server: smtp.acme-construction.ca, port: 587, "
        "ssl: true}\n"
        "users:\n"
        "  COORD:\n    office365: {email: coord@gmail.com}\n"
        f"  COMPTA:\n    office365: {{email: compta@{DOMAIN}}}\n"
        "selections:\n  - match: 'K*'\n"
        "    office365: {email: \"{{ user.code | lower }}@gmail.com\"}\n"
        f"policy:\n  from_domains: [{DOMAIN}]\n  require_ssl: true\n"
        "  allowed_servers: [smtp.acme-construction.ca]\n  forbidden_ports: [25, 465]\n")
    path.write_text(text, encoding="utf-8")
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml:10:24: users.COORD.office365.email: user COORD: email "
        "'coord@gmail.com' is not in an allowed domain (acme-construction.ca): use an address "
        "in one of them (policy rule from_domains, mailprov.yaml:17)\n"
        "mailprov.yaml:15:24: selections[0].office365.email: the users selections[0] takes: "
        "email 'jdoe@gmail.com' (rendered for the stand-in user JDOE from "
        "'{{ user.code | lower }}@gmail.com') is not in an allowed domain "
        "(acme-construction.ca): use an address in one of them (policy rule from_domains, "
        "mailprov.yaml:17)\n"
        "Error: 2 problems in the configuration; nothing was changed.\n")
    problems = json.loads(run("validate", "--format", "json").stdout)["problems"]
    assert [(p["code"], p["path"], p["line"], p["column"]) for p in problems] == [
        ("policy-from-domains", "users.COORD.office365.email", 10, 24),
        ("policy-from-domains", "selections[0].office365.email", 15, 24)]

    path.write_text(text.replace("@gmail.com", f"@{DOMAIN}"), encoding="utf-8")
    allowed = run("validate")
    assert allowed.exit_code == 0, allowed.stderr


def test_plan_and_a_saved_plan_check_an_office365_account(run, url, tmp_path):
    sandbox(url, users=12, model=2)
    users = {"COORD": _office365("coord@gmail.com"), "COMPTA": _office365(f"compta@{DOMAIN}")}
    path = write_config(tmp_path, url, general=GENERAL, users=users)
    _with_policy(path, POLICY)
    lines = path.read_text().splitlines()
    line, text = next((i, t) for i, t in enumerate(lines, 1) if "coord@gmail.com" in t)
    rule = next(i for i, t in enumerate(lines, 1) if "from_domains:" in t)
    message = (f"user COORD: email 'coord@gmail.com' is not in an allowed domain ({DOMAIN}): "
               f"use an address in one of them (policy rule from_domains, mailprov.yaml:{rule})")

    result = run("plan", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["policy_violations"] == [{
        "code": "policy-from-domains", "rule": "from_domains", "address": "user.COORD",
        "user": "COORD", "field": "email", "value": "coord@gmail.com", "message": message,
        "policy": f"mailprov.yaml:{rule}", "file": "mailprov.yaml", "line": line,
        "column": text.index("coord@") + 1, "path": "users.COORD.office365.email"}]
    assert run("plan", "--out", "p.json").exit_code == 1

    # allowed, saved; then the account edited into the plan file is found again
    users["COORD"] = _office365(f"coord@{DOMAIN}")
    path = write_config(tmp_path, url, general=GENERAL, users=users)
    _with_policy(path, POLICY)
    assert run("plan", "--out", "p.json").exit_code == 0
    plan_path = tmp_path / "p.json"
    data = json.loads(plan_path.read_text())
    [coord] = [c for c in data["changes"] if c["address"] == "user.COORD"]
    assert coord["after"] == {"mode": "office365", "email": f"coord@{DOMAIN}"}
    coord["after"]["email"] = "coord@gmail.com"
    plan_path.write_text(json.dumps(data))
    before = dump(url)
    expected = ("mailprov.yaml: policy.from_domains: user COORD: email 'coord@gmail.com' is "
                f"not in an allowed domain ({DOMAIN}): use an address in one of them (policy "
                "rule from_domains, mailprov.yaml)")
    shown = run("show", "p.json")
    assert ("Policy: 1 violation; this plan cannot be saved or applied (--force does not "
            f"change that):\n  {expected}\n") in shown.stdout
    result = run("apply", "p.json", "--force")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the plan breaks the policy: 1 violation:\n"
        f"  {expected}\n"
        "Such a plan is never saved or applied, and --force does not change that: change the "
        "files (or the policy), then plan again. Nothing was changed.\n")
    assert dump(url) == before


def test_the_smtp_rules_do_not_apply_to_office365_users(run, sqlite_url, tmp_path):
    """An Office 365 user inherits no server, port or SSL from the general row: apply,
    which reads that row for SMTP users' inherited values, does not hold them to it."""
    sandbox(sqlite_url, users=12, model=2)
    update_general(sqlite_url, smtp_server="relay.example.com", smtp_port=25, smtp_ssl=False)
    write_config(tmp_path, sqlite_url, general={},
                 users={"COORD": _office365(f"coord@{DOMAIN}"),
                        "KMORIN": {"smtp": {"username": f"kmorin@{DOMAIN}"}}})
    assert run("plan", "--out", "p.json").exit_code == 0
    rules = {"from_domains": [DOMAIN], "require_ssl": True,
             "allowed_servers": ["smtp.acme-construction.ca"], "forbidden_ports": [25]}
    policy = _yaml(tmp_path / "policy.yaml", {"policy": rules})
    refused = run("apply", "p.json", "--policy", str(policy))
    assert refused.exit_code == 1
    assert [line.split(": ")[2] for line in refused.stderr.splitlines()[1:-1]] == [
        "user KMORIN"] * 3  # server, port and SSL: KMORIN's, never COORD's

    write_config(tmp_path, sqlite_url, general={},
                 users={"COORD": _office365(f"coord@{DOMAIN}")})
    assert run("plan", "--out", "p.json").exit_code == 0
    applied = run("apply", "p.json", "--policy", str(policy))
    assert applied.exit_code == 0, applied.stderr
    assert (users2(sqlite_url)["COORD"]["mail_mode"], users2(sqlite_url)["COORD"]["o365_email"]) \
        == ("office365", f"coord@{DOMAIN}")


def test_max_overrides_counts_office365_users_too(run, sqlite_url, tmp_path):
    """A user's own Office 365 mode is a per-user override too: those of the model-2
    sandbox count with the SMTP overrides the files add."""
    sandbox(sqlite_url, users=12, model=2)
    live = api.read_target(api.ResolvedTarget("t", sqlite_url))
    office365 = [code for code, user in live.users.items() if user.office365 is not None]
    plain = [code for code, user in live.users.items() if user.mode is None]
    assert len(office365) == 2
    path = write_config(tmp_path, sqlite_url, users={c: smtp_user(c) for c in plain[:2]})
    _with_policy(path, {"max_overrides": 3})
    result = run("plan", "--format", "json")
    assert result.exit_code == 1
    [violation] = json.loads(result.stdout)["policy_violations"]
    assert violation["message"].startswith(
        "4 per-user overrides (SMTP or Office 365) after this plan, more than the 3 the "
        "policy allows")
    path = write_config(tmp_path, sqlite_url, users={c: smtp_user(c) for c in plain[:2]})
    _with_policy(path, {"max_overrides": 4})
    result = run("plan")
    assert result.exit_code == 0, result.output

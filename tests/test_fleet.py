"""Fleets: several targets in one command, end to end on real databases.

Targets are selected by name, glob, --all-targets and --shard; each is planned,
applied or checked for drift in its own transaction, a few at a time; the output has
one section per target and a summary; the exit code is the worst of the targets'.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from dbhelpers import untemplated, update_general, update_user, users
from fleet_support import codes, make_fleet

from mailprov import api
from mailprov.cli import cli

PLAN_KEY = "fleet-test-plan-key"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke `mailprov ARGS` in tmp_path; return click's Result."""
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_DB_PASSWORD", "MAILPROV_PLAN_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input)

    return invoke


def fleet_json(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["kind"] == "mailprov-fleet"
    return data


def results(data: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    return {t["target"]: (t["result"], t["exit_code"]) for t in data["targets"]}


# --- selection: names, globs, --all-targets, --shard -------------------------------------


def test_shards_are_disjoint_complete_and_stable_over_ten_targets(run, tmp_path):
    names = [f"site-{i:02d}" for i in range(10)]
    make_fleet(tmp_path, names)

    def shard_names(k: int, n: int = 3, *selection: str) -> list[str]:
        result = run("plan", *(selection or ("--all-targets",)), "--shard", f"{k}/{n}",
                     "--format", "json")
        assert result.exit_code == 0, result.output
        data = fleet_json(result)
        assert data["shard"] == f"{k}/{n}"
        return [t["target"] for t in data["targets"]]

    shards = [shard_names(k) for k in (1, 2, 3)]
    flat = [name for shard in shards for name in shard]
    assert sorted(flat) == names  # complete, and disjoint (no name twice)
    assert len(flat) == len(set(flat)) == 10
    assert all(shards), shards  # ten names spread over three shards: none empty here

    # the same slices whatever order the targets are listed in, in the files or on -t
    config = yaml.safe_load((tmp_path / "mailprov.yaml").read_text(encoding="utf-8"))
    config["targets"] = dict(reversed(list(config["targets"].items())))
    (tmp_path / "mailprov.yaml").write_text(yaml.safe_dump(config, sort_keys=False),
                                            encoding="utf-8")
    assert [sorted(shard_names(k)) for k in (1, 2, 3)] == [sorted(s) for s in shards]
    reordered = [arg for name in reversed(names) for arg in ("-t", name)]
    assert [sorted(shard_names(k, 3, *reordered)) for k in (1, 2, 3)] == \
        [sorted(s) for s in shards]
    assert [sorted(shard_names(k, 3, "-t", "site-*")) for k in (1, 2, 3)] == \
        [sorted(s) for s in shards]

    # an eleventh target: only it is new in a shard, no other target moves
    make_fleet(tmp_path, [*names, "site-10"])
    grown = [shard_names(k) for k in (1, 2, 3)]
    for before, after in zip(shards, grown, strict=True):
        assert sorted(set(after) - {"site-10"}) == sorted(before)
    assert sum("site-10" in shard for shard in grown) == 1


def test_a_shard_is_the_hash_of_the_name_alone():
    from mailprov.config.fleet import parse_shard, select_names, shard_of, shards

    names = [f"client-{i:03d}" for i in range(300)]
    table = shards(names, 4)
    assert sorted(n for members in table.values() for n in members) == sorted(names)
    assert all(len(members) > 50 for members in table.values())  # spread, not piled up
    assert shard_of("client-007", 4) == shard_of("client-007", 4)
    picked = select_names(names, ["client-00*"], shard=parse_shard("2/4"))
    assert picked == [n for n in names[:10] if shard_of(n, 4) == 2]
    assert select_names(list(reversed(names)), [], all_targets=True,
                        shard=parse_shard("3/4")) == [n for n in reversed(names)
                                                      if shard_of(n, 4) == 3]


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_a_bad_shard_is_refused_with_how_to_write_it(run, tmp_path, text):
    make_fleet(tmp_path, ["a", "b"])
    result = run("plan", "--all-targets", "--shard", text)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: --shard {text!r}: write K/N, the shard K of N "
                             "(1 <= K <= N), as a CI matrix numbers its jobs: --shard 1/3, "
                             "--shard 2/3, --shard 3/3\n")


def test_globs_names_and_all_targets_select_in_a_stable_order(run, tmp_path):
    make_fleet(tmp_path, ["prod", "test", "client-b", "client-a", "training"])

    def selected(*args: str) -> list[str]:
        result = run("plan", *args, "--format", "json")
        assert result.exit_code == 0, result.output
        return [t["target"] for t in fleet_json(result)["targets"]]

    assert selected("-t", "client-*") == ["client-b", "client-a"]  # the files' order
    assert selected("-t", "prod", "-t", "client-*", "-t", "prod") == [
        "prod", "client-b", "client-a"]  # the order of -t, each once
    assert selected("--all-targets") == ["prod", "test", "client-b", "client-a", "training"]
    assert selected("-t", "t*", "-t", "?rod") == ["test", "training", "prod"]

    result = run("plan", "-t", "clients-*")
    assert result.exit_code == 1
    assert result.stderr == ("Error: no target matches 'clients-*' (defined: client-a, "
                             "client-b, prod, test, training): check the pattern; it is "
                             "matched against the names under `targets`, case-sensitively\n")
    result = run("plan", "-t", "prod", "-t", "staging")
    assert result.exit_code == 1
    assert result.stderr == ("Error: target 'staging' is not defined in the configuration "
                             "(defined: client-a, client-b, prod, test, training): add it "
                             "under `targets`\n")
    result = run("plan", "-t", "prod", "-t", "sqlite:///other.db")
    assert result.exit_code == 1
    assert result.stderr == ("Error: -t sqlite:///other.db names one database: it cannot be "
                             "combined with other targets, --all-targets or --shard; define "
                             "the databases under `targets` to work on several\n")
    result = run("plan", "-t", "client-*", "--db", "sqlite:///other.db")
    assert result.exit_code == 1
    assert result.stderr == ("Error: --db (or MAILPROV_DB_URL) names one database, and 2 "
                             "targets are selected: unset it to work on several targets, or "
                             "select one with -t NAME\n")
    result = run("plan", "-t", "client-*", "--format", "html")
    assert result.exit_code == 1
    assert result.stderr == ("Error: --format html is a page for one target: with several "
                             "targets, use --format text, markdown or json, or -t NAME for "
                             "one page\n")


def test_one_target_by_name_or_url_keeps_the_single_target_output(run, tmp_path):
    urls = make_fleet(tmp_path, ["prod", "test"])
    by_name = run("plan", "-t", "prod")
    by_url = run("plan", "-t", urls["prod"])
    assert by_name.exit_code == by_url.exit_code == 0
    assert by_name.stdout.startswith(f"Target 'prod' ({urls['prod']}), edition standard.\n")
    assert by_url.stdout.startswith(f"Target '{urls['prod']}' ({urls['prod']}), edition "
                                    "standard.\n")
    assert "Fleet summary" not in by_name.stdout + by_url.stdout
    query = run("plan", "-t", urls["prod"] + "?timeout=5")  # `?`: a URL, not a glob
    assert query.exit_code == 0, query.output
    assert "Fleet summary" not in query.stdout


# --- output and exit codes -------------------------------------------------------------


def test_sections_summary_and_the_worst_exit_code(run, tmp_path):
    urls = make_fleet(tmp_path, ["alpha", "beta", "gamma", "delta"])
    run("apply", "--auto-approve", "-t", "beta")  # beta matches the files already
    Path(urls["gamma"].removeprefix("sqlite:///")).unlink()  # unreachable
    result = run("plan", "--all-targets", "--detailed-exitcode")
    assert result.exit_code == 1, result.output  # 1 (error) over 2 (changes)
    out = result.stdout
    assert out.startswith("=== Target alpha (1/4) ===\n\nTarget 'alpha' (")
    assert "=== Target beta (2/4) ===\n\nTarget 'beta'" in out
    missing = Path(urls["gamma"].removeprefix("sqlite:///"))
    assert (f"=== Target gamma (3/4) ===\n\nError: the SQLite database {urls['gamma']} does "
            f"not exist (no file {missing}): check the path (in a configuration file it is "
            "relative to the file's folder), or create a test database with `mailprov "
            "sandbox URL`\n\n=== Target delta (4/4) ===") in out
    summary = out[out.index("Fleet summary"):]
    full = (f"the SQLite database {urls['gamma']} does not exist (no file {missing}): check "
            "the path")
    note = full[:97] + "..."  # notes are clipped to 100 characters
    assert summary.splitlines()[:8] == [
        "Fleet summary: plan on 4 targets",
        "",
        "  target  result      add  change  remove  exit  note",
        "  alpha   changes       5       1       0     2",
        "  beta    no changes    0       0       0     0",
        f"  gamma   error         -       -       -     1  {note}",
        "  delta   changes       5       1       0     2",
        "",
    ]
    assert summary.splitlines()[8:] == [
        "With changes (2): alpha, delta.",
        "No changes (1): beta.",
        "Failed (1): gamma.",
        "Exit code 1: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).",
    ]
    assert not missing.exists()  # planning never creates a missing SQLite file

    without_gamma = run("plan", "-t", "alpha", "-t", "beta", "--detailed-exitcode")
    assert without_gamma.exit_code == 2
    assert run("plan", "-t", "alpha", "-t", "beta").exit_code == 0  # as `plan` alone

    data = fleet_json(run("plan", "--all-targets", "--format", "json"))
    assert data["exit_code"] == 1 and data["command"] == "plan" and data["shard"] is None
    assert results(data) == {"alpha": ("changes", 0), "beta": ("no-changes", 0),
                             "gamma": ("error", 1), "delta": ("changes", 0)}
    gamma = data["targets"][2]
    assert gamma["error"].startswith("the SQLite database ") and "plan" not in gamma
    assert data["targets"][0]["plan"]["summary"] == {"create": 5, "update": 1, "delete": 0}
    assert data["targets"][0]["counts"] == {"add": 5, "change": 1, "remove": 0}
    assert data["summary"] == {
        "targets": 4, "by_result": {"changes": 2, "no-changes": 1, "error": 1},
        "changed": ["alpha", "delta"], "not_changed": ["beta", "gamma"], "failed": ["gamma"],
        "not_run": [], "exit_code": 1}


def test_markdown_output_has_a_heading_per_target_and_a_summary_table(run, tmp_path):
    make_fleet(tmp_path, ["alpha", "beta"])
    result = run("plan", "--all-targets", "--format", "markdown")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("## Target <code>alpha</code>\n\n")
    assert "## Target <code>beta</code>\n\n" in out
    assert ("| target | result | add | change | remove | exit |\n"
            "|---|---|---:|---:|---:|---:|\n"
            "| <code>alpha</code> | changes | 5 | 1 | 0 | 0 |\n"
            "| <code>beta</code> | changes | 5 | 1 | 0 | 0 |\n") in out
    assert out.endswith("**Exit code 0\\: the worst of the targets\\' \\(1 error\\, then 3 "
                        "refused\\, then 2 changes or drift\\, then 0\\)\\.**\n")


# --- per-target settings -------------------------------------------------------------------


def test_a_target_overrides_general_and_vars_and_reads_its_own_files(run, tmp_path):
    (tmp_path / "clients").mkdir()
    (tmp_path / "clients" / "gamma.yaml").write_text(
        "# gamma's own mailboxes and settings\n"
        "vars:\n  domain: gamma.example.org\n"
        "users:\n  KMORIN: {profile: staff}\n", encoding="utf-8")
    first = codes(5)[0]
    make_fleet(tmp_path, ["alpha", "beta", "gamma"], extra={
        "vars": {"domain": "shared.example.com"},
        "profiles": {"staff": {"smtp": {"username": "{{ user.code | lower }}@{{ vars.domain }}"}}},
        "users": {first: {"profile": "staff"}},
    }, targets={
        "alpha": {"general": {"smtp": {"port": 2525}}, "vars": {"domain": "alpha.example.net"}},
        "beta": {"general": {"client": "outlook", "smtp": {"provider": "office365"}}},
        "gamma": {"include": ["clients/gamma*.yaml"]},
    })
    data = fleet_json(run("plan", "--all-targets", "--format", "json"))

    def after(target: str, address: str) -> Any:
        plan = next(t["plan"] for t in data["targets"] if t["target"] == target)
        return next(c["after"] for c in plan["changes"] if c["address"] == address)

    assert after("alpha", "general") == {"client": "smtp", "smtp": {
        "server": "smtp.example.com", "port": 2525, "ssl": True}}
    assert after("alpha", f"user.{first}")["username"] == f"{first.lower()}@alpha.example.net"
    assert after("beta", "general") == {"client": "outlook", "smtp": {
        "server": "smtp.office365.com", "port": 587, "ssl": True}}
    assert after("beta", f"user.{first}")["username"] == f"{first.lower()}@shared.example.com"
    gamma = next(t["plan"] for t in data["targets"] if t["target"] == "gamma")
    assert [c["address"] for c in gamma["changes"]] == ["general", f"user.{first}",
                                                        "user.KMORIN"]
    assert after("gamma", "user.KMORIN")["username"] == "kmorin@gamma.example.org"
    assert after("gamma", "general")["smtp"]["port"] == 587  # the shared general
    alpha = next(t["plan"] for t in data["targets"] if t["target"] == "alpha")
    port = next(c for c in alpha["changes"] if c["address"] == f"user.{first}")
    assert port["after"]["port"] == 2525
    # the digest of a target's files includes its own
    assert gamma["config_digest"] != alpha["config_digest"] == \
        next(t["plan"] for t in data["targets"] if t["target"] == "beta")["config_digest"]

    # the same settings for one target named alone, and in apply
    single = json.loads(run("plan", "-t", "alpha", "--format", "json").stdout)
    assert single["changes"] == alpha["changes"]
    assert run("apply", "--auto-approve", "-t", "gamma").exit_code == 0
    assert users(f"sqlite:///{tmp_path / 'gamma.db'}")["KMORIN"]["smtp_username"] == \
        "kmorin@gamma.example.org"
    assert users(f"sqlite:///{tmp_path / 'alpha.db'}")["KMORIN"]["mail_override"] == 0
    explained = run("explain", "KMORIN", "-t", "gamma", "--format", "json")
    assert explained.exit_code == 0, explained.output
    configured = json.loads(explained.stdout)["configured"]
    assert (configured["file"], configured["line"]) == ("clients/gamma.yaml", 5)
    assert configured["settings"]["username"] == "kmorin@gamma.example.org"  # its vars
    checked = run("validate", "clients/gamma.yaml")  # pre-commit names the file alone
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == "Valid: 2 file(s), 2 user(s) (2 with an SMTP override), 3 " \
                             "target(s).\n"


def test_a_target_s_settings_are_checked_at_their_place(run, tmp_path):
    make_fleet(tmp_path, ["alpha", "beta"], targets={
        "alpha": {"general": {"smtp": {"port": 70000, "server": "smtp example.com"}}},
        "beta": {"vars": {"db_password": "x"}, "general": {"smtp": {"port": 465}}},
    })
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:3] == [
        "mailprov.yaml:7:15: targets.alpha.general.smtp.port: port 70000 is out of range: "
        "use 1 to 65535",
        "mailprov.yaml:8:17: targets.alpha.general.smtp.server: 'smtp example.com' is not a "
        "host name: no spaces allowed",
        "mailprov.yaml:12:7: targets.beta.vars.db_password: 'db_password' looks like a secret: "
        "passwords never go in mailprov files: each user types their own SMTP password in "
        "maestro* (Préférences > Courriel), and the database password comes from `mailprov "
        "login TARGET` or the MAILPROV_DB_PASSWORD environment variable; remove this key"]
    make_fleet(tmp_path, ["alpha", "beta"], targets={
        "beta": {"general": {"smtp": {"port": 465}}}})
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "mailprov.yaml:9:9: targets.beta.general.smtp: warning: port 465 with `ssl: true`: "
        "maestro* (.NET) speaks STARTTLS only and hangs until timeout on an implicit-TLS "
        "port; use port 587\n")
    plan = json.loads(run("plan", "-t", "beta", "--format", "json").stdout)
    assert untemplated(plan["warnings"][0]) == {
        "code": "smtp-465-starttls", "address": "general",
        "message": "port 465 with `ssl: true`: maestro* (.NET) speaks STARTTLS only and hangs "
                   "until timeout on an implicit-TLS port; use port 587"}
    assert json.loads(run("plan", "-t", "alpha", "--format", "json").stdout)["warnings"] == []


def test_shared_settings_every_target_completes_are_checked_per_target(run, tmp_path):
    (tmp_path / "mailprov.yaml").write_text(
        "version: 1\n"
        "general:\n  client: smtp\n"
        "targets:\n"
        "  a: {url: 'sqlite:///a.db', general: {smtp: {server: smtp.a.example, port: 587}}}\n"
        "  b: {url: 'sqlite:///b.db', general: {smtp: {server: smtp.b.example, port: 25}}}\n"
        "  c: {url: 'sqlite:///c.db', vars: {site: c}}\n"
        "  d: {url: 'sqlite:///d.db', vars: {site: d}}\n", encoding="utf-8")
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml:3:11: general.client: `client: smtp` needs general.smtp.server and "
        "general.smtp.port: add them (for targets 'c', 'd')\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")
    text = (tmp_path / "mailprov.yaml").read_text(encoding="utf-8")
    (tmp_path / "mailprov.yaml").write_text(text.replace("  c: {url: 'sqlite:///c.db', vars: "
                                                         "{site: c}}\n", "").replace(
        "  d: {url: 'sqlite:///d.db', vars: {site: d}}\n", ""), encoding="utf-8")
    result = run("validate")
    assert result.exit_code == 0, result.output  # every target sets what the shared lacks
    assert result.stdout == "Valid: 1 file(s), 0 user(s) (0 with an SMTP override), 2 " \
                            "target(s).\n"


def test_a_file_included_by_a_target_cannot_define_targets_nor_be_shared(run, tmp_path):
    (tmp_path / "own.yaml").write_text("targets:\n  sneaky: {url: 'sqlite:///x.db'}\n",
                                       encoding="utf-8")
    (tmp_path / "shared.yaml").write_text("users: {}\n", encoding="utf-8")
    make_fleet(tmp_path, ["alpha", "beta"], extra={"include": ["shared.yaml"]}, targets={
        "alpha": {"include": ["own.yaml"]}, "beta": {"include": ["shared.yaml"]}})
    result = run("validate")
    assert result.exit_code == 1
    assert "own.yaml:1:1: targets: a file included by target 'alpha' cannot set `targets`: " \
           "targets are defined in the shared files" in result.stderr
    assert ": targets.beta.include[0]: shared.yaml is read both for every target and for " \
           "target 'beta' alone: a file belongs to every target or to one" in result.stderr


# --- apply: each target alone --------------------------------------------------------------


def test_apply_on_a_fleet_says_which_targets_changed_and_which_did_not(run, tmp_path):
    urls = make_fleet(tmp_path, ["alpha", "beta", "gamma"])
    run("apply", "--auto-approve", "-t", "beta")
    update_general(urls["gamma"], smtp_port=0)  # not a port: the plan is refused at apply
    result = run("apply", "--auto-approve", "--all-targets")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Apply complete: 5 added, 1 changed, 0 removed (history #1) in " \
           f"{urls['alpha']}." in out
    assert out.endswith(
        "Changed (2): alpha (history #1), gamma (history #1).\n"
        "Not changed (1): beta (unchanged).\n"
        "Exit code 0: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).\n")
    for name in ("alpha", "beta", "gamma"):
        assert all(u["mail_override"] == 1 for u in users(urls[name]).values()), name


def test_apply_reports_as_json_for_scripts(run, tmp_path):
    urls = make_fleet(tmp_path, ["alpha", "beta"])
    result = run("apply", "-t", "alpha", "-t", "beta", "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ("Error: --format json cannot ask for 'yes': give a plan file, or "
                             "--auto-approve\n")
    Path(urls["beta"].removeprefix("sqlite:///")).unlink()
    data = fleet_json(run("apply", "--auto-approve", "--all-targets", "--format", "json"))
    assert data["command"] == "apply" and data["exit_code"] == 1
    assert results(data) == {"alpha": ("applied", 0), "beta": ("error", 1)}
    alpha = data["targets"][0]
    assert alpha["note"] == "history #1" and alpha["counts"] == {"add": 5, "change": 1,
                                                                 "remove": 0}
    assert alpha["apply"]["history_id"] == 1
    assert alpha["apply"]["database_url"] == urls["alpha"]
    assert alpha["apply"]["plan"]["summary"] == {"create": 5, "update": 1, "delete": 0}
    assert data["summary"]["changed"] == ["alpha"] and data["summary"]["failed"] == ["beta"]
    single = json.loads(run("apply", "--auto-approve", "-t", "alpha", "--format",
                            "json").stdout)
    assert single["apply"]["history_id"] is None  # nothing left to change
    assert single["apply"]["plan"]["changes"] == []


def test_apply_asks_once_for_the_fleet_and_applies_only_what_was_shown(run, tmp_path):
    urls = make_fleet(tmp_path, ["alpha", "beta"])
    declined = run("apply", "-t", "alpha", "-t", "beta", input="no\n")
    assert declined.exit_code == 1
    assert "2 targets have changes to apply: alpha, beta.\n" in declined.stdout
    assert declined.stderr == ("Error: apply cancelled: the answer was not 'yes'. Nothing was "
                               "changed.\n")
    assert all(u["mail_override"] == 0 for u in users(urls["alpha"]).values())
    result = run("apply", "-t", "alpha", "-t", "beta", input="yes\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "Changed (2): alpha (history #1), beta (history #1).\n"
        "Not changed (0): none.\n"
        "Exit code 0: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).\n")


def test_fail_fast_starts_no_target_after_the_first_failure(run, tmp_path):
    names = ["a1", "a2", "a3", "a4", "a5"]
    urls = make_fleet(tmp_path, names)
    Path(urls["a2"].removeprefix("sqlite:///")).unlink()
    result = run("apply", "--auto-approve", "--all-targets", "--parallel", "1", "--fail-fast")
    assert result.exit_code == 1
    out = result.stdout
    assert "=== Target a3 (3/5) ===\n\nNot run: an earlier target failed (--fail-fast).\n" in out
    assert out.endswith(
        "Changed (1): a1 (history #1).\n"
        "Not changed (4): a2 (error), a3 (not run), a4 (not run), a5 (not run).\n"
        "Stopped at the first failure (--fail-fast): the targets not run were left as they "
        "are.\n"
        "Exit code 1: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).\n")
    for name in ("a3", "a4", "a5"):
        assert all(u["mail_override"] == 0 for u in users(urls[name]).values()), name
    # without --fail-fast, the others are applied all the same
    result = run("apply", "--auto-approve", "--all-targets", "--parallel", "2")
    assert result.exit_code == 1
    assert "Changed (3): a3 (history #1), a4 (history #1), a5 (history #1).\n" in result.stdout


# --- saved plans of a fleet ----------------------------------------------------------------


def test_a_fleet_s_saved_plans_round_trip_each_bound_and_signed(run, tmp_path, monkeypatch):
    urls = make_fleet(tmp_path, ["alpha", "beta", "gamma"])
    monkeypatch.setenv("MAILPROV_PLAN_KEY", PLAN_KEY)
    result = run("plan", "--all-targets", "--out", "fleet.plan.json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("Saved the plans of 3 targets to fleet.plan.json (signed with "
                             "the plan key); apply them with `mailprov apply "
                             "fleet.plan.json`.\n")
    saved = json.loads((tmp_path / "fleet.plan.json").read_text(encoding="utf-8"))
    assert saved["kind"] == "mailprov-fleet-plan" and saved["not_planned"] == []
    assert saved["targets"] == ["alpha", "beta", "gamma"]
    assert [p["target"] for p in saved["plans"]] == ["alpha", "beta", "gamma"]
    assert all(p["signature"].startswith("hmac-sha256:") for p in saved["plans"])
    assert len({p["database_id"] for p in saved["plans"]}) == 3  # three databases

    shown = run("show", "fleet.plan.json")
    assert shown.exit_code == 0
    assert shown.stdout.startswith("=== Target alpha (1/3) ===\n\nTarget 'alpha' (")
    assert "Fleet summary: show on 3 targets" in shown.stdout
    assert "Exit code" not in shown.stdout
    assert shown.stderr == ("Signature of alpha: valid.\nSignature of beta: valid.\n"
                            "Signature of gamma: valid.\n")

    # one plan taken out of the file is a plan of its own, applied alone
    (tmp_path / "beta.plan.json").write_text(json.dumps(saved["plans"][1]), encoding="utf-8")
    alone = run("apply", "beta.plan.json")
    assert alone.exit_code == 0, alone.output
    # a plan edited in the file is refused alone; the others are applied
    saved["plans"][0]["changes"][0]["after"]["smtp"]["port"] = 25
    (tmp_path / "fleet.plan.json").write_text(json.dumps(saved), encoding="utf-8")
    result = run("apply", "fleet.plan.json")
    assert result.exit_code == 3
    data_alpha = ("Error: fleet.plan.json, plan 1 (target \"alpha\") was changed after it was "
                  "saved (its signature does not match), or was signed with another key. "
                  "Nothing was changed; plan again.")
    assert data_alpha in result.stdout
    assert "Error: the saved plan for target 'beta' is stale" in result.stdout  # applied
    assert result.stdout.endswith(
        "Changed (1): gamma (history #1).\n"
        "Not changed (2): alpha (refused), beta (refused).\n"
        "Exit code 3: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).\n")
    assert all(u["mail_override"] == 0 for u in users(urls["alpha"]).values())
    assert all(u["mail_override"] == 1 for u in users(urls["gamma"]).values())

    # --db names one database: not for several plans
    result = run("apply", "fleet.plan.json", "--db", urls["gamma"])
    assert result.exit_code == 1
    assert result.stderr == ("Error: --db (or MAILPROV_DB_URL) names one database, and "
                             "fleet.plan.json holds the plans of 3 targets: unset it, or apply "
                             "one of them with -t NAME\n")
    # -t keeps some of the file's targets
    result = run("apply", "fleet.plan.json", "-t", "g*")
    assert result.exit_code == 3  # gamma's plan is stale now: it was applied
    assert "apply on 1 target" in result.stdout


def test_a_plan_for_another_database_in_a_fleet_file_is_refused_alone(run, tmp_path):
    urls = make_fleet(tmp_path, ["alpha", "beta"])
    assert run("plan", "--all-targets", "--out", "fleet.json").exit_code == 0
    # beta's file replaced by a copy: the same URL, another database
    beta = Path(urls["beta"].removeprefix("sqlite:///"))
    shutil.copyfile(beta, tmp_path / "copy.db")
    beta.unlink()
    shutil.move(tmp_path / "copy.db", beta)
    result = run("apply", "fleet.json")
    assert result.exit_code == 3
    assert "Error: the plan was made for target 'beta', database " in result.stdout
    assert "Changed (1): alpha (history #1).\n" in result.stdout


# --- the whole story: 200 targets of 50 users --------------------------------------------


def test_two_hundred_targets_planned_and_applied_in_one_command_each(run, tmp_path):
    names = [f"client-{i:03d}" for i in range(200)]
    urls = make_fleet(tmp_path, names, user_count=50)
    gone, stale = "client-042", "client-137"
    Path(urls[gone].removeprefix("sqlite:///")).unlink()
    result = run("plan", "--all-targets", "--parallel", "8", "--out", "fleet.json",
                 "--format", "json")
    assert result.exit_code == 1, result.stderr
    data = fleet_json(result)
    assert len(data["targets"]) == 200
    assert data["summary"]["by_result"] == {"changes": 199, "error": 1}
    assert data["summary"]["failed"] == [gone]
    assert result.stderr == ("Saved the plans of 199 targets to fleet.json (not signed: no "
                             "plan key is set); apply them with `mailprov apply "
                             "fleet.json`.\nNot in the file (they could not be planned): "
                             f"{gone}.\n")
    assert data["targets"][0]["counts"] == {"add": 50, "change": 1, "remove": 0}

    update_user(urls[stale], codes(50)[7], smtp_port=2525, mail_override=1)  # by hand
    result = run("apply", "fleet.json", "--parallel", "8")
    assert result.exit_code == 1  # 1 (the unreachable target) over 3 (the stale plan)
    summary = result.stdout[result.stdout.index("Fleet summary: apply on 200 targets"):]
    changed = [n for n in names if n not in (gone, stale)]
    rows = {line.split()[0]: line for line in summary.splitlines()[3:203]}
    assert rows[stale].startswith(f"  {stale}  refused    -       -       -     3  the saved "
                                  f"plan for target '{stale}' is stale: the database changed ")
    assert rows[gone].startswith(f"  {gone}  error      -       -       -     1  not applied: "
                                 "the plan file has no plan for this target, which could")
    assert rows[changed[0]] == f"  {changed[0]}  applied   50       1       0     0  history #1"
    assert f"Error: the saved plan for target '{stale}' is stale: the database changed since " \
           f"it was planned: user.{codes(50)[7]}. Nothing was changed; run `mailprov plan` " \
           "again." in result.stdout
    assert "Changed (198): " + ", ".join(f"{n} (history #1)" for n in changed[:3]) in \
        summary.replace("\n  ", " ")
    assert f"Not changed (2): {gone} (error), {stale} (refused).\n" in \
        summary.replace("\n  ", " ")
    for name in changed[::20]:
        rows = users(urls[name])
        assert all(u["mail_override"] == 1 and u["smtp_port"] == 587 for u in rows.values())
    assert sum(u["mail_override"] for u in users(urls[stale]).values()) == 1  # untouched
    assert not Path(urls[gone].removeprefix("sqlite:///")).exists()

    # without the unreachable target, the stale plan decides: 3
    result = run("apply", "fleet.json", "-t", stale, "-t", "client-00*")
    assert result.exit_code == 3

    # and the files applied in one command: the 198 match, the stale one is put right
    result = run("apply", "--auto-approve", "--all-targets")
    assert result.exit_code == 1
    assert f"Changed (1): {stale} (history #1).\n" in result.stdout
    assert f"Not changed (199): {names[0]} (unchanged)" in result.stdout.replace("\n  ", " ")


def test_the_engine_cache_is_bounded_across_a_fleet(run, tmp_path):
    from mailprov.db.connect import ENGINE_CACHE_SIZE, cached_engines

    names = [f"t{i:02d}" for i in range(ENGINE_CACHE_SIZE + 8)]
    make_fleet(tmp_path, names)
    result = run("plan", "--all-targets", "--parallel", "4")
    assert result.exit_code == 0, result.output
    assert cached_engines() == ENGINE_CACHE_SIZE
    # the evicted engines are disposed, and their targets open new ones when asked again
    result = run("plan", "-t", "t00", "-t", "t01")
    assert result.exit_code == 0


# --- drift over a fleet, and PostgreSQL beside SQLite ----------------------------------------


def test_drift_over_a_fleet(run, tmp_path):
    urls = make_fleet(tmp_path, ["alpha", "beta"])
    assert run("apply", "--auto-approve", "--all-targets").exit_code == 0
    update_user(urls["beta"], codes(5)[0], smtp_port=2525)
    result = run("drift", "--all-targets")
    assert result.exit_code == 2
    assert "=== Target beta (2/2) ===\n\nDrift check of target 'beta'" in result.stdout
    assert result.stdout.endswith(
        "Drifted (1): beta.\nNo drift (1): alpha.\n"
        "Exit code 2: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).\n")
    data = fleet_json(run("drift", "--all-targets", "--format", "json"))
    assert results(data) == {"alpha": ("no-drift", 0), "beta": ("drift", 2)}
    assert data["targets"][1]["counts"] == {"rows": 1, "fields": 1, "departed": 0}
    assert data["targets"][1]["drift"]["rows"][0]["user"] == codes(5)[0]


@pytest.mark.postgres
def test_a_fleet_of_postgresql_and_sqlite_never_shows_the_password(run, tmp_path, monkeypatch,
                                                                   temporary_database):
    secret = "s3cret-fleet-pw!"
    monkeypatch.setenv("MAILPROV_DB_PASSWORD", secret)
    with temporary_database("postgres") as pg_a, temporary_database("postgres") as pg_b:
        api.sandbox(pg_a, users=5)
        api.sandbox(pg_b, users=5)
        make_fleet(tmp_path, ["lite"])
        config = yaml.safe_load((tmp_path / "mailprov.yaml").read_text(encoding="utf-8"))
        config["targets"].update({"pg-a": {"url": pg_a}, "pg-b": {"url": pg_b},
                                  "pg-gone": {"url": pg_a.rsplit("/", 1)[0] + "/no_such_db"}})
        (tmp_path / "mailprov.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        result = run("apply", "--auto-approve", "--all-targets", "--parallel", "4")
        assert result.exit_code == 1
        assert "Changed (3): lite (history #1), pg-a (history #1), pg-b (history #1)." in \
            result.stdout
        assert 'database "no_such_db" does not exist' in result.stdout
        plan = run("plan", "--all-targets", "--format", "json")
        assert results(fleet_json(plan))["pg-a"] == ("no-changes", 0)
        for text in (result.stdout, result.stderr, plan.stdout, plan.stderr):
            assert secret not in text


def test_password_status_over_a_fleet_says_whom_to_remind(run, tmp_path, memory_keyring):
    make_fleet(tmp_path, ["alpha", "beta"])
    assert run("apply", "--auto-approve", "--all-targets").exit_code == 0
    assert run("key", "init").exit_code == 0
    secret = "Fleet-SMTP-pw-42"
    for target, users_ in (("alpha", codes(5)), ("beta", codes(5)[:1])):
        for code in users_:
            result = run("password", "set", code, "-t", target, "--stdin", input=secret + "\n")
            assert result.exit_code == 0, result.output
    result = run("password", "status", "--all-targets")
    assert result.exit_code == 0, result.output
    assert "=== Target beta (2/2) ===\n\nSMTP passwords on target 'beta'" in result.stdout
    summary = result.stdout[result.stdout.index("Fleet summary"):]
    assert summary == (
        "Fleet summary: password status on 2 targets\n\n"
        "  target  result      users  set  not set  stale  exit\n"
        "  alpha   complete        5    5        0      0     0\n"
        "  beta    incomplete      5    1        4      0     0\n\n"
        "Passwords missing or stale (1): beta.\n"
        "Every SMTP user has a password (1): alpha.\n"
        "Exit code 0: the worst of the targets' (1 error, then 3 refused, then 2 changes or "
        "drift, then 0).\n")
    data = fleet_json(run("password", "status", "-t", "*", "--format", "json"))
    assert data["command"] == "password-status"
    assert results(data) == {"alpha": ("complete", 0), "beta": ("incomplete", 0)}
    beta = data["targets"][1]
    assert beta["counts"] == {"smtp_users": 5, "set": 1, "not_set": 4, "stale": 0}
    assert beta["password_status"]["summary"]["not_set"] == 4
    assert secret not in result.output + json.dumps(data)


# --- gathering the shards of a CI matrix -----------------------------------------------


def test_ci_fleet_summary_gathers_shards_and_exits_with_the_worst_code(run, tmp_path):
    names = [f"site-{i}" for i in range(9)]
    urls = make_fleet(tmp_path, names)
    Path(urls["site-4"].removeprefix("sqlite:///")).unlink()
    codes_seen = []
    for k in (1, 2, 3):
        result = run("plan", "--all-targets", "--shard", f"{k}/3", "--format", "json")
        codes_seen.append(result.exit_code)
        (tmp_path / f"shard-{k}.json").write_text(result.stdout, encoding="utf-8")
    assert sorted(codes_seen) == [0, 0, 1]
    result = run("ci", "fleet-summary", "--format", "text", "shard-1.json", "shard-2.json",
                 "shard-3.json")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "Fleet summary: plan on 9 targets"
    assert [line.split()[0] for line in lines[3:12]] == names  # sorted by name
    assert "Failed (1): site-4." in lines
    md = run("ci", "fleet-summary", "shard-3.json", "shard-1.json", "shard-2.json")
    assert md.exit_code == 1 and md.stdout.startswith("### Fleet summary\\: plan on 9 targets")
    gathered = json.loads(run("ci", "fleet-summary", "--format", "json", "shard-1.json",
                              "shard-2.json", "shard-3.json").stdout)
    assert gathered["exit_code"] == 1 and gathered["summary"]["failed"] == ["site-4"]

    missing = run("ci", "fleet-summary", "shard-1.json", "shard-3.json")
    assert missing.exit_code == 1
    assert missing.stderr == ("Error: shard 2 of 3 is missing: its job failed before writing "
                              "its JSON, or its file was not downloaded\n")
    twice = run("ci", "fleet-summary", "shard-1.json", "shard-1.json", "shard-2.json",
                "shard-3.json")
    assert twice.exit_code == 1 and "were two jobs given the same shard?" in twice.stderr
    (tmp_path / "plan.json").write_text(run("plan", "-t", "site-0", "--format",
                                            "json").stdout, encoding="utf-8")
    single = run("ci", "fleet-summary", "plan.json")
    assert single.exit_code == 1
    assert single.stderr == ("Error: plan.json: not the JSON of a fleet command (written by "
                             "`mailprov plan|apply|drift ... --format json` with several "
                             "targets)\n")


# --- the runner and the progress bar -----------------------------------------------------------


def test_the_worst_exit_code_is_1_then_3_then_2_then_0():
    from mailprov.fleet import worst_exit_code

    assert worst_exit_code([]) == 0
    assert worst_exit_code([0, 2, 0]) == 2
    assert worst_exit_code([2, 3, 0]) == 3
    assert worst_exit_code([3, 1, 2]) == 1
    assert worst_exit_code([0, None, 2]) == 2  # not run
    assert worst_exit_code([2, 130]) == 1  # any other code is an error


def test_a_bug_in_one_target_is_that_target_s_error_only():
    from mailprov.errors import StalePlanError
    from mailprov.fleet import run_fleet

    def task(name: str) -> int:
        if name == "b":
            raise RuntimeError("boom")
        if name == "c":
            raise StalePlanError("stale")
        return len(name)

    seen: list[tuple[str, int, int]] = []
    done = run_fleet(["a", "b", "c", "dd"], task, name=str, parallel=3,
                     on_done=lambda o, n, total: seen.append((o.target, n, total)))
    assert [(o.target, o.value, o.exit_code) for o in done.outcomes] == [
        ("a", 1, 0), ("b", None, 1), ("c", None, 3), ("dd", 2, 0)]
    assert done.outcomes[1].error == ("unexpected RuntimeError: boom. This is a bug in mailprov; "
                                      "run again with --debug and report the traceback.")
    assert "RuntimeError: boom" in (done.outcomes[1].trace or "")
    assert done.exit_code == 1
    assert sorted(n for _t, n, _total in seen) == [1, 2, 3, 4]
    assert {total for _t, _n, total in seen} == {4}


def test_the_progress_bar_draws_on_a_terminal_only():
    import io

    from mailprov.fleet import Outcome
    from mailprov.render.progress import ProgressBar

    quiet = io.StringIO()
    bar = ProgressBar(quiet, 2)
    bar(Outcome("a"), 1, 2)
    bar.close()
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = ProgressBar(shown, 2, enabled=True)
    bar(Outcome("a", exit_code=1), 1, 2)
    bar(Outcome("b"), 2, 2)
    bar.close()
    text = shown.getvalue()
    assert "\r\x1b[2K[############............] 1/2, 1 failed  a" in text
    assert "\r\x1b[2K[########################] 2/2, 1 failed  b" in text
    assert text.endswith("\r\x1b[2K")


def test_a_fleet_s_json_is_written_a_target_at_a_time_as_one_document():
    from datetime import datetime

    from mailprov.plan.fleetfile import json_chunks

    head = {"kind": "x", "nested": {"a": [1, 2]}, "é": "ü"}
    for items in ([], [{"b": 1}], [{"b": 1, "c": [{"d": None}]}, {"e": "f\ng"}]):
        text = "".join(json_chunks(head, "targets", iter(items)))
        assert text == json.dumps({**head, "targets": items}, indent=2,
                                  ensure_ascii=False) + "\n"
    when = datetime(2026, 1, 27, 7, 0)
    assert json.loads("".join(json_chunks({}, "t", [{"at": when}], default=str))) == {
        "t": [{"at": "2026-01-27 07:00:00"}]}

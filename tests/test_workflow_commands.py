"""The smaller pieces of the pull-request workflow: `validate` on the files pre-commit
passes and as JSON, `explain --format json`, `init`, the `ci` helpers, and shell
completion of target names and user codes through click's own mechanism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import sandbox, smtp_user, write_config

from mailprov import api
from mailprov.cli import cli
from mailprov.errors import ConfigError, Problem
from mailprov.render.ci import find_marked

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

ROOT_FILE = """\
version: 1
targets:
  prod: {url: "sqlite:///m.db"}
  test: {url: "sqlite:///t.db"}
include: [users/*.yaml]
"""


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    runner = CliRunner()
    return lambda *args, **kwargs: runner.invoke(cli, list(args), **kwargs)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "users").mkdir()
    (tmp_path / "mailprov.yaml").write_text(ROOT_FILE, encoding="utf-8")
    (tmp_path / "users" / "compta.yaml").write_text(
        "users:\n  COMPTA:\n    smtp: {username: c@acme.ca, server: s.acme.ca, port: 587}\n",
        encoding="utf-8")
    (tmp_path / "users" / "site.yaml").write_text(
        "users:\n  COORD:\n    smtp: {username: co@acme.ca, server: s.acme.ca, port: 70000}\n",
        encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("hello: world\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text("version: 1\nusers:\n  X: {smtp: false}\n",
                                         encoding="utf-8")
    return tmp_path


def _port_problem() -> Problem:
    """The problem the configuration loader finds in users/site.yaml (its wording is
    the loader's): validate must report exactly that one."""
    with pytest.raises(ConfigError) as caught:
        api.load_config(["mailprov.yaml"])
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.path) == (
        "users/site.yaml", 3, ("users", "COORD", "smtp", "port"))
    return problem


def test_validate_checks_an_included_file_through_its_root(run, repo):
    result = run("validate", "users/site.yaml")
    assert result.exit_code == 1
    assert result.stderr == (_port_problem().format() + "\n"
                             "Error: 1 problem in the configuration; nothing was changed.\n")
    (repo / "users" / "site.yaml").write_text("users: {}\n", encoding="utf-8")
    result = run("validate", "users/site.yaml", "users/compta.yaml")
    assert (result.exit_code, result.stdout) == (
        0, "Valid: 3 file(s), 1 user(s) (1 with an SMTP override), 2 target(s).\n")


def test_validate_says_when_a_file_belongs_to_no_configuration(run, repo):
    result = run("validate", "notes.yaml", "other.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "notes.yaml: is neither a configuration file (it has no `version: 1`) nor included "
        "by mailprov.yaml: add it to `include:` there, or check it with -c notes.yaml\n")


def test_validate_json_lists_every_problem_with_its_place(run, repo):
    result = run("validate", "users/site.yaml", "notes.yaml", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["roots"] == [["mailprov.yaml"]]
    assert data["files"] == []  # no configuration loaded: it has an error
    assert data["problems"] == [
        {"file": "notes.yaml", "line": 0, "column": 0, "path": "",
         "message": "is neither a configuration file (it has no `version: 1`) nor included "
                    "by mailprov.yaml: add it to `include:` there, or check it with "
                    "-c notes.yaml", "code": "not-included", "severity": "error"},
        {"file": "users/site.yaml", "line": 3, "column": _port_problem().column,
         "path": "users.COORD.smtp.port", "message": _port_problem().message,
         "code": _port_problem().code or "error", "severity": "error"}]
    ok = json.loads(run("validate", "users/compta.yaml", "--format", "json").stdout)
    assert ok["valid"] is False  # site.yaml is part of the same configuration
    (repo / "users" / "site.yaml").write_text("users: {}\n", encoding="utf-8")
    ok = json.loads(run("validate", "--format", "json").stdout)
    assert ok["valid"] is True
    assert ok["summary"] == {"files": 3, "users": 1, "overrides": 1, "office365": 0,
                             "targets": 2,
                             "errors": 0, "warnings": 0}


def test_explain_json(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=12)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    data = json.loads(run("explain", "COMPTA", "--format", "json").stdout)
    assert data == {
        "target": "db", "code": "COMPTA", "name": "Comptabilité", "edition": "standard",
        "mode": "override",
        "reason": "the user's own SMTP section is enabled; it takes precedence over the "
                  "general default (outlook): maestro*'s bi-mode",
        "server": "smtp.example.com", "port": 587, "ssl": True,
        "username": "compta@example.com", "from": "compta@example.com",
        "password_set": False,
        "notes": ["no SMTP password entered yet: the user types it in maestro* "
                  "(Préférences > Courriel), or set it with `mailprov password set "
                  "COMPTA`"],
        "office365_email": None, "authenticated_at": None,  # Office 365 users only
        # ./mailprov.yaml is read: what the files make of the user, and from where
        "configured": {
            "listed_by": "user", "file": "mailprov.yaml", "line": 13, "profiles": [],
            "settings": {"username": "compta@example.com", "from": "compta@example.com",
                         "server": "smtp.example.com", "port": 587, "ssl": True},
            "sources": {
                "username": {"source": "user", "file": "mailprov.yaml", "line": 15,
                             "column": 17, "path": "users.COMPTA.smtp.username"},
                "from": {"source": "user", "file": "mailprov.yaml", "line": 16, "column": 13,
                         "path": "users.COMPTA.smtp.from"},
                "server": {"source": "general", "file": "mailprov.yaml", "line": 9,
                           "column": 13, "path": "general.smtp.server"},
                "port": {"source": "general", "file": "mailprov.yaml", "line": 10,
                         "column": 11, "path": "general.smtp.port"},
                "ssl": {"source": "general", "file": "mailprov.yaml", "line": 11,
                        "column": 10, "path": "general.smtp.ssl"}}}}


def test_init_scaffolds_a_repository_that_validates(run, tmp_path):
    result = run("init", "team", "--ci", "gitlab", "--target", "maestro")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "team/mailprov.yaml", "team/schemas/mailprov.schema.json",
        "team/users/shared-mailboxes.yaml", "team/.gitignore", "team/.pre-commit-config.yaml",
        "team/README.md", "team/.gitlab-ci.yml"]
    team = tmp_path / "team"
    assert (team / "mailprov.yaml").read_text().startswith(
        "# yaml-language-server: $schema=./schemas/mailprov.schema.json\n")
    assert "  MAILPROV_TARGET: maestro\n" in (team / ".gitlab-ci.yml").read_text()
    assert (team / ".pre-commit-config.yaml").read_text() == (
        ROOT / "examples" / "ci" / "pre-commit-config.yml").read_text()
    result = run("validate", "-c", "team/mailprov.yaml")
    assert (result.exit_code, result.stdout) == (
        0, "Valid: 2 file(s), 0 user(s) (0 with an SMTP override), 1 target(s).\n")
    again = run("init", "team")
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: team already has mailprov.yaml, schemas/mailprov.schema.json, "
        "users/shared-mailboxes.yaml, .gitignore, .pre-commit-config.yaml, README.md: "
        "nothing was written. Choose an empty folder, or add --force to overwrite them\n")


def test_init_from_a_database_starts_from_import_and_plans_no_change(run, sqlite_url,
                                                                     tmp_path):
    sandbox(sqlite_url, users=12)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("apply", "--auto-approve").exit_code == 0
    os.remove(tmp_path / "mailprov.yaml")
    result = run("init", "repo", "--from-db", "sqlite:///maestro.db", "--ci", "github")
    assert result.exit_code == 0, result.output
    # the URL is written: the next step does not ask for it
    assert result.stderr == ("Next: `cd repo && git init && pre-commit install`, then "
                             "`mailprov plan`.\n")
    text = (tmp_path / "repo" / "mailprov.yaml").read_text()
    assert "    url: sqlite:///../maestro.db\n" in text
    assert text.endswith("include:\n  - users/*.yaml\n")
    assert (tmp_path / "repo" / ".github" / "workflows" / "mailprov.yml").exists()
    plan = run("plan", "-c", "repo/mailprov.yaml")
    assert plan.exit_code == 0, plan.output
    assert plan.stdout.endswith("No changes. maestro* matches the configuration.\n")


def test_ci_find_picks_the_comment_or_issue_with_the_targets_marker(run):
    pages = (json.dumps([{"id": 1, "body": "hello"},
                         {"id": 2, "body": "<!-- mailprov:plan target=test -->\nx"}])
             + json.dumps([{"id": 3, "body": "<!-- mailprov:plan target=prod -->\ny"}]))
    assert find_marked(pages, "<!-- mailprov:plan target=prod -->") == "3"
    result = CliRunner().invoke(cli, ["ci", "find", "--comment", "-t", "prod"], input=pages)
    assert (result.exit_code, result.stdout) == (0, "3\n")
    issues = json.dumps([{"iid": 9, "description": "<!-- mailprov:drift target=prod -->"}])
    result = CliRunner().invoke(cli, ["ci", "find", "--issue", "-t", "prod"], input=issues)
    assert (result.exit_code, result.stdout) == (0, "9\n")
    result = CliRunner().invoke(cli, ["ci", "find", "-t", "prod"], input="[]")
    assert (result.exit_code, result.stdout) == (0, "")
    result = CliRunner().invoke(cli, ["ci", "find", "-t", "prod"], input="<html>")
    assert result.exit_code == 1
    assert result.stderr == ("Error: standard input is not a JSON listing: Expecting value: "
                             "line 1 column 1 (char 0)\n")
    # an API error is no listing: not "no comment yet", which would post a second one
    for text in ('{"message": "Not Found"}', "42", '"x"'):
        result = CliRunner().invoke(cli, ["ci", "find", "-t", "prod"], input=text)
        assert (result.exit_code, result.stdout) == (1, ""), text
        assert result.stderr == (
            "Error: standard input is not a JSON listing: expected the API's listing of "
            "comments or issues (a JSON array), not a single object or value\n")


def _complete(cwd: Path, words: str) -> list[str]:
    """Ask the installed `mailprov` for completions, as bash does."""
    env = {**os.environ, "_MAILPROV_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    out = subprocess.run([str(BIN / "mailprov")], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    return [line.split(",", 1)[1] for line in out.stdout.splitlines()]


def test_shell_completion_offers_targets_and_user_codes_from_the_files(repo):
    assert _complete(repo, "mailprov plan -t ") == ["prod", "test"]
    assert _complete(repo, "mailprov plan -t p") == ["prod"]
    assert _complete(repo, "mailprov explain C") == ["COMPTA", "COORD"]
    assert _complete(repo, "mailprov explain -c other.yaml ") == ["X"]
    source = subprocess.run([str(BIN / "mailprov")], env={
        **os.environ, "_MAILPROV_COMPLETE": "bash_source"}, capture_output=True, text=True,
        check=True).stdout
    assert "_mailprov_completion()" in source


def test_init_installs_the_driver_the_database_needs(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=5)
    for url, package in (("sqlite:///maestro.db", '"mailprov=='),
                         ("mysql+pymysql://mailprov@db/maestro", '"mailprov[mysql]=='),
                         ("postgresql://mailprov@db/maestro", '"mailprov[postgres]==')):
        from mailprov.scaffold import ci_file

        text = ci_file("github", "prod", url)
        assert text.count(package) == 3, url
    result = run("init", "repo", "--from-db", "sqlite:///maestro.db", "--ci", "gitlab",
                 "--allow-invalid")
    assert result.exit_code == 0, result.output
    assert '"mailprov==' in (tmp_path / "repo" / ".gitlab-ci.yml").read_text()


def test_ci_find_skips_a_marker_pasted_by_someone_else(run, tmp_path):
    listing = json.dumps([
        {"id": 1, "body": "<!-- mailprov:plan target=prod -->", "user": {"login": "mallory"}},
        {"id": 2, "body": "x <!-- mailprov:plan target=prod -->",
         "user": {"login": "github-actions[bot]"}},
    ])
    assert run("ci", "find", "-t", "prod", input=listing).stdout == "1\n"
    assert run("ci", "find", "-t", "prod", "--author", "github-actions[bot]",
               input=listing).stdout == "2\n"

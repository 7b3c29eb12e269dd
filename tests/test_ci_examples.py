"""The CI examples run for real: the `run:` steps of the GitHub workflow and the
`script:` lines of the GitLab file are executed in order, in a throwaway Git repository,
against a sandbox database: plan on a branch, apply of the saved plan after the merge,
drift found after a hand edit of a row, and the drift cleared by the next apply.

What only GitHub or GitLab can do is emulated the way their runners do it: checkout
and setup are the repository itself, artifacts are copied between jobs, `${{ }}`
expressions come from the job's context. The steps that call the CI's API do nothing
without a token, and the test leaves the tokens unset; it checks the comment body,
its marker and the drift report they would have posted."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbhelpers import update_user, users

from mailprov import api
from mailprov.scaffold import ci_file

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
PLAN_KEY = "test-plan-key-3f9a"
BIN = str(Path(sys.executable).parent)


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                         text=True)
    return out.stdout


def _config(url: str) -> str:
    return ("# yaml-language-server: $schema=./schemas/mailprov.schema.json\n"
            "version: 1\n"
            f"targets:\n  prod:\n    url: {url}\ndefault_target: prod\n"
            "general:\n  client: outlook\n  smtp:\n    server: smtp.office365.com\n"
            "    port: 587\n    ssl: true\n"
            "include:\n  - users/*.yaml\n")


MAILBOXES = ("COMPTA", "COORD", "RECEPTION", "PAIE")


def _users(extra_comment: str = "") -> str:
    lines = [f"# shared mailboxes{extra_comment}", "users:"]
    for code in MAILBOXES:
        lines += [f"  {code}:", "    smtp:", f"      username: {code.lower()}@acme.ca",
                  f"      from: {code.lower()}@acme.ca"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Any]:
    """A configuration repository (main: no user yet) and its sandbox database."""
    url = f"sqlite:///{tmp_path}/maestro.db"
    api.sandbox(url, users=30)
    repo = tmp_path / "repo"
    (repo / "users").mkdir(parents=True)
    (repo / "mailprov.yaml").write_text(_config(url), encoding="utf-8")
    (repo / "users" / "shared-mailboxes.yaml").write_text("users: {}\n", encoding="utf-8")
    (repo / ".gitignore").write_text("plan/\n*.json\n*.md\ndrift-exit-code\n",
                                     encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@acme.ca")
    git(repo, "config", "user.name", "CI")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "mailprov configuration")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAILPROV_", "GITHUB_", "CI_", "GH_"))}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return {"repo": repo, "url": url, "env": env, "artifacts": tmp_path / "artifacts",
            "tmp": tmp_path}


def _branch_with_mailboxes(repo: Path, branch: str, comment: str = "") -> None:
    git(repo, "checkout", "-q", "-b", branch, "main")
    (repo / "users" / "shared-mailboxes.yaml").write_text(_users(comment), encoding="utf-8")
    git(repo, "commit", "-q", "-am", f"{branch}: shared mailboxes")


def _merge(repo: Path, branch: str) -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", branch)


def _fresh_checkout(repo: Path) -> None:
    """Each job starts from a clean checkout of the commit (untracked files gone)."""
    git(repo, "clean", "-q", "-fdx")


# --- GitHub Actions --------------------------------------------------------------------


class GitHubRunner:
    """Runs one job of a workflow as the Actions runner would, step by step."""

    def __init__(self, workflow: dict[str, Any], ws: dict[str, Any], event: str) -> None:
        self.workflow, self.ws, self.event = workflow, ws, event
        self.store: Path = ws["artifacts"]

    def expression(self, text: str, outputs: dict[str, dict[str, str]]) -> str:
        secrets = {"MAILPROV_DB_PASSWORD": "unused-by-sqlite", "MAILPROV_PLAN_KEY": PLAN_KEY}

        def value(match: re.Match[str]) -> str:
            expr = match.group(1).strip()
            if expr.startswith("secrets."):
                return secrets[expr.removeprefix("secrets.")]
            if expr == "github.token":
                return ""  # no token: the API steps do nothing
            if expr == "github.event.pull_request.number":
                return "7"
            found = re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+)", expr)
            if found:
                return outputs.get(found.group(1), {}).get(found.group(2), "")
            raise AssertionError(f"unknown expression {expr!r}")

        return re.sub(r"\$\{\{(.*?)\}\}", value, str(text))

    def run(self, job_name: str) -> list[tuple[str, int, str]]:
        job = self.workflow["jobs"][job_name]
        repo: Path = self.ws["repo"]
        _fresh_checkout(repo)
        files = {name: self.ws["tmp"] / f"{job_name}-{name}" for name in ("output", "summary")}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        outputs: dict[str, dict[str, str]] = {}
        base = {**self.ws["env"], **{k: str(v) for k, v in self.workflow["env"].items()},
                "GITHUB_STEP_SUMMARY": str(files["summary"]),
                "GITHUB_REPOSITORY": "acme/maestro-mail", "GITHUB_RUN_ID": "4242",
                "GITHUB_SERVER_URL": "https://github.com", "GITHUB_EVENT_NAME": self.event,
                "GITHUB_SHA": git(repo, "rev-parse", "HEAD").strip(), "CI": "true"}
        for key, value in (job.get("env") or {}).items():
            base[key] = self.expression(value, outputs)
        shell = self.workflow["defaults"]["run"]["shell"]
        assert shell == "bash"
        done = []
        for number, step in enumerate(job["steps"]):
            assert "if" not in step, "steps run unconditionally (the test runs every one)"
            name = step.get("name") or step.get("uses")
            if "uses" in step:
                self.action(step, outputs)
                continue
            assert "${{" not in step["run"], f"{name}: pass expressions through env:"
            env = {**base, **{k: self.expression(v, outputs)
                              for k, v in (step.get("env") or {}).items()}}
            env["GITHUB_OUTPUT"] = str(files["output"])
            files["output"].write_text("", encoding="utf-8")
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                     step["run"]], cwd=repo, env=env, capture_output=True,
                                    text=True, timeout=120)
            done.append((name, result.returncode, result.stdout + result.stderr))
            step_id = step.get("id")
            if step_id:
                outputs[step_id] = dict(line.split("=", 1) for line in
                                        files["output"].read_text().splitlines() if line)
            if result.returncode != 0:
                break
            assert number < len(job["steps"])
        self.summary = files["summary"].read_text(encoding="utf-8")
        return done

    def action(self, step: dict[str, Any], outputs: dict[str, dict[str, str]]) -> None:
        repo: Path = self.ws["repo"]
        uses, given = step["uses"], step.get("with") or {}
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            return
        if uses.startswith("actions/upload-artifact@"):
            shutil.copytree(repo / given["path"], self.store / given["name"],
                            dirs_exist_ok=True)
            return
        if uses.startswith("actions/download-artifact@"):
            # the run-id found by the API step is empty without a token: this run's store
            assert self.expression(given["run-id"], outputs) == ""
            shutil.copytree(self.store / given["name"], repo / given["path"],
                            dirs_exist_ok=True)
            return
        raise AssertionError(f"no emulation for {uses}")


def test_the_workflow_file_is_the_one_init_writes():
    assert GITHUB.read_text(encoding="utf-8") == ci_file("github")
    assert GITLAB.read_text(encoding="utf-8") == ci_file("gitlab")


def _ok(steps: list[tuple[str, int, str]]) -> None:
    assert [(name, code) for name, code, _ in steps if code != 0] == [], steps


def test_github_workflow_plans_applies_the_reviewed_plan_and_reports_drift(workspace):
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    jobs = workflow["jobs"]
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["apply"]["if"] == "github.event_name == 'push'"
    assert jobs["drift"]["if"] == ("github.event_name == 'schedule' || github.event_name "
                                   "== 'workflow_dispatch'")
    repo, url = workspace["repo"], workspace["url"]

    # 1. a pull request onboards four shared mailboxes: plan, comment, artifact
    _branch_with_mailboxes(repo, "onboard")
    pr = GitHubRunner(workflow, workspace, "pull_request")
    steps = pr.run("plan")
    _ok(steps)
    assert "Plan: 4 to add, 1 to change, 0 to remove." in steps[2][2]
    body = json.loads((repo / "comment.json").read_text(encoding="utf-8"))["body"]
    assert body.startswith("<!-- mailprov:plan target=prod -->\n### mailprov plan · "
                           "<code>prod</code>\n")
    assert "**Plan\\: 4 to add\\, 1 to change\\, 0 to remove\\.**" in body
    assert ("saved in the CI artifact mailprov\\-plan of "
            "[this run](https://github.com/acme/maestro-mail/actions/runs/4242).") in body
    assert "- [ ] <code>COMPTA</code>: needs a password" in body
    assert pr.summary.startswith("<!-- mailprov:plan target=prod -->\n")
    stored = sorted(p.name for p in (workspace["artifacts"] / "mailprov-plan").iterdir())
    assert stored == ["exit-code", "prod.plan.html", "prod.plan.json"]
    saved = json.loads((workspace["artifacts"] / "mailprov-plan" / "prod.plan.json")
                       .read_text(encoding="utf-8"))
    assert saved["signature"].startswith("hmac-sha256:")
    assert steps[-2] == ("Post or update the pull-request comment", 0,
                         "Not posting: no GH_TOKEN or no comment.json.\n")
    assert all(u["mail_override"] == 0 for u in users(url).values())  # plan wrote nothing

    # 2. merged: the reviewed plan is applied, and maestro* then matches the files
    _merge(repo, "onboard")
    steps = GitHubRunner(workflow, workspace, "push").run("apply")
    _ok(steps)
    assert "Apply complete: 4 added, 1 changed, 0 removed (history #1)" in steps[2][2]
    assert "No drift. maestro* matches the configuration." in steps[3][2]
    assert users(url)["COMPTA"]["smtp_port"] == 587

    # 3. someone changes COMPTA by hand in maestro*: the nightly job reports it
    update_user(url, "COMPTA", smtp_port=2525)
    night = GitHubRunner(workflow, workspace, "schedule")
    steps = night.run("drift")
    assert [(name, code) for name, code, _ in steps] == [
        ("Install mailprov", 0), ("Drift check", 0),
        ("Open, update or close the drift issue", 0), ("Fail when maestro* drifted", 2)]
    drift = (repo / "drift.md").read_text(encoding="utf-8")
    assert drift.startswith("<!-- mailprov:drift target=prod -->\n")
    assert re.search(r"\| <code>COMPTA</code> \| Port \| <code>2525</code> \| \*\*<code>587"
                     r"</code>\*\* \| apply \\#1\\, .* UTC\\, by .*\\, commit [0-9a-f]{10} \|",
                     drift)
    assert night.summary == drift

    # 4. the next pull request's plan puts COMPTA back; after its merge, no drift
    _branch_with_mailboxes(repo, "restore", " (restored)")
    steps = GitHubRunner(workflow, workspace, "pull_request").run("plan")
    _ok(steps)
    assert "Plan: 0 to add, 1 to change, 0 to remove." in steps[2][2]
    _merge(repo, "restore")
    _ok(GitHubRunner(workflow, workspace, "push").run("apply"))
    steps = GitHubRunner(workflow, workspace, "schedule").run("drift")
    _ok(steps)
    assert "No drift" in (repo / "drift.md").read_text(encoding="utf-8")


def test_github_plan_job_comments_even_when_no_plan_can_be_saved(workspace):
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    repo = workspace["repo"]
    git(repo, "checkout", "-q", "-b", "typo", "main")
    (repo / "users" / "shared-mailboxes.yaml").write_text(
        "users:\n  COMPTAA:\n    smtp: {username: compta@acme.ca}\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "typo")
    steps = GitHubRunner(workflow, workspace, "pull_request").run("plan")
    assert [(name, code) for name, code, _ in steps][-1] == ("Fail when the plan failed", 1)
    body = json.loads((repo / "comment.json").read_text(encoding="utf-8"))["body"]
    assert "❌ **This plan cannot be applied\\: 1 user in the files does not exist in " \
           "maestro\\*\\.**" in body
    assert "no user 'COMPTAA' in target 'prod'; did you mean COMPTA?" in body.replace("\\", "")


# --- GitLab CI ---------------------------------------------------------------------------


def _gitlab_job(pipeline: dict[str, Any], name: str, ws: dict[str, Any], source: str
                ) -> subprocess.CompletedProcess[str]:
    """One job as the GitLab runner runs it: before_script and script in one shell
    (`set -eo pipefail`), the pipeline's variables and the predefined ones."""
    job = pipeline[name]
    repo: Path = ws["repo"]
    lines = [*pipeline["default"]["before_script"], *job["script"]]
    env = {**ws["env"], **{k: str(v) for k, v in pipeline["variables"].items()},
           "CI": "true", "CI_PIPELINE_SOURCE": source, "CI_DEFAULT_BRANCH": "main",
           "CI_COMMIT_BRANCH": "main" if source != "merge_request_event" else "",
           "CI_COMMIT_SHA": git(repo, "rev-parse", "HEAD").strip(),
           "CI_JOB_URL": "https://gitlab.example.com/acme/maestro-mail/-/jobs/99",
           "CI_API_V4_URL": "https://gitlab.example.com/api/v4", "CI_PROJECT_ID": "12",
           "CI_MERGE_REQUEST_IID": "3", "MAILPROV_DB_PASSWORD": "unused-by-sqlite",
           "MAILPROV_PLAN_KEY": PLAN_KEY}
    script = "set -eo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def _rule(pipeline: dict[str, Any], name: str) -> str:
    return str(pipeline[name]["rules"][0]["if"])


def test_gitlab_pipeline_plans_applies_the_reviewed_plan_and_reports_drift(workspace):
    pipeline = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert pipeline["stages"] == ["validate", "plan", "apply", "drift"]
    assert _rule(pipeline, "plan") == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert _rule(pipeline, "apply") == ('$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && '
                                        '$CI_PIPELINE_SOURCE == "push"')
    assert _rule(pipeline, "drift") == '$CI_PIPELINE_SOURCE == "schedule"'
    repo, url, store = workspace["repo"], workspace["url"], workspace["artifacts"]

    def merge_request(branch: str, comment: str = "") -> str:
        _branch_with_mailboxes(repo, branch, comment)
        for job in ("validate", "plan"):
            _fresh_checkout(repo)
            result = _gitlab_job(pipeline, job, workspace, "merge_request_event")
            assert result.returncode == 0, result.stdout + result.stderr
        for path in pipeline["plan"]["artifacts"]["paths"]:  # kept by GitLab
            shutil.copytree(repo / path, store / path, dirs_exist_ok=True)
        return result.stdout

    def merge_and_apply(branch: str) -> str:
        _merge(repo, branch)
        _fresh_checkout(repo)
        # what the token-guarded lines download: the merge request's `plan` artifacts
        shutil.copytree(store / "plan", repo / "plan")
        result = _gitlab_job(pipeline, "apply", workspace, "push")
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    out = merge_request("onboard")
    assert "Plan: 4 to add, 1 to change, 0 to remove." in out
    note = json.loads((store / "plan" / "note.json").read_text(encoding="utf-8"))["body"]
    assert note.startswith("<!-- mailprov:plan target=prod -->\n")
    assert ("saved in the CI artifact plan of [this run]"
            "(https://gitlab.example.com/acme/maestro-mail/-/jobs/99/artifacts/browse).") in note
    assert sorted(p.name for p in (store / "plan").iterdir()) == [
        "note.json", "prod.plan.html", "prod.plan.json"]

    out = merge_and_apply("onboard")
    assert "Apply complete: 4 added, 1 changed, 0 removed (history #1)" in out
    assert "No drift. maestro* matches the configuration." in out

    update_user(url, "PAIE", from_address="pirate@evil.example")
    _fresh_checkout(repo)
    result = _gitlab_job(pipeline, "drift", workspace, "schedule")
    assert result.returncode == 2, result.stdout + result.stderr
    drift = (repo / "drift.md").read_text(encoding="utf-8")
    assert drift.startswith("<!-- mailprov:drift target=prod -->\n")
    assert "| <code>PAIE</code> | From address | <code>pirate\\@evil\\.example</code> | " \
           "**<code>paie\\@acme\\.ca</code>** | apply \\#1" in drift

    out = merge_request("restore", " (restored)")
    assert "Plan: 0 to add, 1 to change, 0 to remove." in out
    merge_and_apply("restore")
    _fresh_checkout(repo)
    result = _gitlab_job(pipeline, "drift", workspace, "schedule")
    assert result.returncode == 0, result.stdout + result.stderr
    assert users(url)["PAIE"]["from_address"] == "paie@acme.ca"

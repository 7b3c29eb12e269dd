"""The fleet CI examples run for real: every job of the GitHub Actions matrix and of the
GitLab `parallel:matrix` is run as its runner would run it (matrix values, artifacts
copied between jobs), on a fleet of SQLite targets; then the summary job gathers the
shards' JSON into one table and fails with the worst exit code."""

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
from dbhelpers import update_user
from fleet_support import codes, make_fleet

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions-fleet.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci-fleet.yml"
BIN = str(Path(sys.executable).parent)
PLAN_KEY = "fleet-ci-plan-key"
NAMES = [f"client-{i:02d}" for i in range(7)]


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Any]:
    repo = tmp_path / "repo"
    repo.mkdir()
    urls = make_fleet(repo, NAMES)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAILPROV_", "GITHUB_", "CI_", "GH_"))}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return {"repo": repo, "urls": urls, "env": env, "store": tmp_path / "artifacts",
            "tmp": tmp_path}


def _bash(script: str, cwd: Path, env: dict[str, str], *flags: str
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "--noprofile", "--norc", *flags, "-c", script], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def _clean(repo: Path) -> None:
    """A job starts from a fresh checkout: no result of another job."""
    shutil.rmtree(repo / "fleet", ignore_errors=True)
    (repo / "summary.md").unlink(missing_ok=True)


# --- GitHub Actions ------------------------------------------------------------------


class GitHub:
    def __init__(self, ws: dict[str, Any], event: str) -> None:
        self.workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
        self.ws, self.event = ws, event

    def expression(self, text: str, shard: int | None) -> str:
        def value(match: re.Match[str]) -> str:
            expr = match.group(1).strip()
            if expr.startswith("secrets."):
                return {"MAILPROV_PLAN_KEY": PLAN_KEY}.get(expr.removeprefix("secrets."), "")
            if expr == "matrix.shard":
                assert shard is not None
                return str(shard)
            if expr == "github.event_name == 'pull_request' && 'plan' || 'drift'":
                return "plan" if self.event == "pull_request" else "drift"
            raise AssertionError(f"unknown expression {expr!r}")

        return re.sub(r"\$\{\{(.*?)\}\}", value, str(text))

    def run(self, job_name: str, shard: int | None = None) -> list[tuple[str, int, str]]:
        job = self.workflow["jobs"][job_name]
        repo: Path = self.ws["repo"]
        _clean(repo)
        summary = self.ws["tmp"] / "step-summary.md"
        summary.write_text("", encoding="utf-8")
        env = {**self.ws["env"], **{k: str(v) for k, v in self.workflow["env"].items()},
               "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_EVENT_NAME": self.event,
               "CI": "true"}
        env.update({k: self.expression(v, shard) for k, v in (job.get("env") or {}).items()})
        done = []
        for step in job["steps"]:
            assert "if" not in step
            if "uses" in step:
                self.action(step, shard)
                continue
            assert "${{" not in step["run"], "expressions go through env:"
            result = _bash(step["run"], repo, env, "-eo", "pipefail")
            done.append((step["name"], result.returncode, result.stdout + result.stderr))
            if result.returncode:
                break
        self.summary = summary.read_text(encoding="utf-8")
        return done

    def action(self, step: dict[str, Any], shard: int | None) -> None:
        uses, given = step["uses"], step.get("with") or {}
        repo, store = self.ws["repo"], self.ws["store"]
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            return
        if uses.startswith("actions/upload-artifact@"):
            name = self.expression(given["name"], shard)
            shutil.copytree(repo / given["path"], store / name, dirs_exist_ok=True)
            return
        if uses.startswith("actions/download-artifact@"):
            assert given["merge-multiple"] is True
            prefix = given["pattern"].removesuffix("*")
            for folder in sorted(store.glob(prefix + "*")):
                shutil.copytree(folder, repo / given["path"], dirs_exist_ok=True)
            return
        raise AssertionError(f"no emulation for {uses}")


def test_github_matrix_plans_every_shard_and_gathers_one_summary(workspace):
    gh = GitHub(workspace, "pull_request")
    jobs = gh.workflow["jobs"]
    assert jobs["shard"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert gh.workflow["env"]["SHARDS"] == "3"
    assert jobs["summary"]["needs"] == "shard" and jobs["summary"]["if"] == "always()"
    gone = "client-03"
    Path(workspace["urls"][gone].removeprefix("sqlite:///")).unlink()

    seen: list[str] = []
    for shard in (1, 2, 3):
        steps = gh.run("shard", shard)
        assert [(name, code) for name, code, _ in steps] == [
            ("Install mailprov", 0), ("Plan or check this shard", 0)], steps
        stored = workspace["store"] / f"mailprov-fleet-{shard}"
        data = json.loads((stored / f"shard-{shard}.json").read_text(encoding="utf-8"))
        assert data["command"] == "plan" and data["shard"] == f"{shard}/3"
        seen += [t["target"] for t in data["targets"]]
        plans = json.loads((stored / f"plans-{shard}.json").read_text(encoding="utf-8"))
        assert all(p["signature"].startswith("hmac-sha256:") for p in plans["plans"])
    assert sorted(seen) == NAMES  # every target in exactly one shard

    steps = gh.run("summary")
    assert [(name, code) for name, code, _ in steps] == [
        ("Install mailprov", 0), ("One summary for the fleet", 1)]
    assert gh.summary.startswith("### Fleet summary\\: plan on 7 targets\n")
    for name in NAMES:
        assert f"| <code>{name.replace('-', chr(92) + '-')}</code> |" in gh.summary
    assert "- Failed \\(1\\)\\: client\\-03\\." in gh.summary
    assert "**Exit code 1\\:" in gh.summary

    # the targets' files applied from each shard's saved plans: every target matches
    Path(workspace["urls"][gone].removeprefix("sqlite:///")).write_bytes(
        (workspace["repo"] / "base.sqlite").read_bytes())
    for shard in (1, 2, 3):
        plans = workspace["store"] / f"mailprov-fleet-{shard}" / f"plans-{shard}.json"
        env = {**workspace["env"], "MAILPROV_PLAN_KEY": PLAN_KEY}
        result = _bash(f"mailprov apply {plans} || true", workspace["repo"], env)
        assert "Fleet summary: apply on" in result.stdout, result.stderr
    # the nightly drift check: one target changed by hand
    assert _bash("mailprov apply --auto-approve -t client-03", workspace["repo"],
                 workspace["env"]).returncode == 0
    update_user(workspace["urls"]["client-05"], codes(5)[1], smtp_port=2525)
    night = GitHub(workspace, "schedule")
    shutil.rmtree(workspace["store"])
    for shard in (1, 2, 3):
        assert [code for _n, code, _o in night.run("shard", shard)] == [0, 0]
    steps = night.run("summary")
    assert steps[-1][:2] == ("One summary for the fleet", 2)
    assert night.summary.startswith("### Fleet summary\\: drift on 7 targets\n")
    assert "- Drifted \\(1\\)\\: client\\-05\\." in night.summary


def test_github_shard_job_fails_when_mailprov_cannot_start(workspace):
    (workspace["repo"] / "mailprov.yaml").write_text("version: 1\ntargets: [oops]\n",
                                                     encoding="utf-8")
    steps = GitHub(workspace, "pull_request").run("shard", 2)
    name, code, out = steps[-1]
    assert (name, code) == ("Plan or check this shard", 1)
    assert "mailprov plan, shard 2/3: exit 1" in out
    steps = GitHub(workspace, "pull_request").run("summary")
    assert steps[-1][:2] == ("One summary for the fleet", 1)
    assert steps[-1][2] == ("Error: cannot read fleet/shard-*.json: No such file or "
                            "directory\n")


# --- GitLab CI ---------------------------------------------------------------------------


def _gitlab(pipeline: dict[str, Any], name: str, ws: dict[str, Any], source: str,
            extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    job = pipeline[name]
    variables: dict[str, str] = {}
    for rule in job["rules"]:
        if rule["if"] == f'$CI_PIPELINE_SOURCE == "{source}"':
            variables = {k: str(v) for k, v in (rule.get("variables") or {}).items()}
            break
    else:
        raise AssertionError(f"{name} does not run on {source}")
    env = {**ws["env"], **{k: str(v) for k, v in pipeline["variables"].items()},
           "CI": "true", "CI_PIPELINE_SOURCE": source, "MAILPROV_PLAN_KEY": PLAN_KEY,
           **variables, **extra}
    lines = [*pipeline["default"]["before_script"], *job["script"]]
    # the runner stops at the first line that fails, as `set -e` does
    return _bash("set -eo pipefail\n" + "\n".join(lines) + "\n", ws["repo"], env)


def test_gitlab_parallel_matrix_plans_every_shard_and_gathers_one_summary(workspace):
    pipeline = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert pipeline["stages"] == ["fleet", "summary"]
    shards = pipeline["fleet"]["parallel"]["matrix"][0]["SHARD"]
    assert shards == ["1/3", "2/3", "3/3"]
    assert pipeline["fleet"]["artifacts"]["when"] == "always"
    repo, store = workspace["repo"], workspace["store"]

    for source, command in (("merge_request_event", "plan"), ("schedule", "drift")):
        shutil.rmtree(store, ignore_errors=True)
        for shard in shards:
            _clean(repo)
            result = _gitlab(pipeline, "fleet", workspace, source, {"SHARD": shard})
            assert result.returncode == 0, result.stdout + result.stderr
            assert f"mailprov {command}, shard {shard}, exit " in result.stdout
            shutil.copytree(repo / "fleet", store / "fleet", dirs_exist_ok=True)
        _clean(repo)
        shutil.copytree(store / "fleet", repo / "fleet")  # earlier stages' artifacts
        result = _gitlab(pipeline, "fleet summary", workspace, source, {})
        lines = result.stdout.splitlines()
        assert f"Fleet summary: {command} on 7 targets" in lines
        assert [line.split()[0] for line in lines if line.startswith("  client-")] == NAMES
        if command == "plan":
            assert result.returncode == 0, result.stdout + result.stderr
            assert "With changes (7): " + ", ".join(NAMES) + "." in lines
            saved = sorted(p.name for p in (store / "fleet").iterdir())
            assert saved == ["plans-1.json", "plans-2.json", "plans-3.json", "shard-1.json",
                             "shard-2.json", "shard-3.json"]
        else:
            assert result.returncode == 2  # nothing applied yet: every target differs
            assert "Drifted (7): " + ", ".join(NAMES) + "." in lines

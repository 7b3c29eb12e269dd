"""The real `pre-commit` tool runs mailprov's hook on a throwaway repository, offline:
once with the hook definition of this repository (`.pre-commit-hooks.yaml`, installed by
pre-commit into its own environment from a commit of this source tree), once with the
`repo: local` configuration that `mailprov init` writes. A valid file passes; a bad one
fails with mailprov's message."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VALID_USERS = "users:\n  COMPTA:\n    smtp: {username: compta@acme.ca, port: 587}\n"
BAD_USERS = "users:\n  COMPTA:\n    smtp: {username: compta@acme.ca, port: 587, pasword: x}\n"
ROOT_FILE = ("version: 1\ntargets:\n  prod: {url: 'sqlite:///m.db'}\n"
             "general:\n  smtp: {server: smtp.acme.ca}\ninclude: [users/*.yaml]\n")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env["PRE_COMMIT_HOME"] = str(home)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _config_repo(path: Path, pre_commit_config: str) -> Path:
    (path / "users").mkdir(parents=True)
    (path / "mailprov.yaml").write_text(ROOT_FILE, encoding="utf-8")
    (path / "users" / "compta.yaml").write_text(VALID_USERS, encoding="utf-8")
    (path / ".pre-commit-config.yaml").write_text(pre_commit_config, encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@acme.ca")
    git(path, "config", "user.name", "T")
    git(path, "add", "-A")
    return path


def _run_hooks(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def _check(repo: Path, env: dict[str, str]) -> None:
    passed = _run_hooks(repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.fullmatch(r"mailprov validate\.+Passed", passed.stdout.splitlines()[-1])
    (repo / "users" / "compta.yaml").write_text(BAD_USERS, encoding="utf-8")
    git(repo, "add", "-A")
    failed = _run_hooks(repo, env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "- hook id: mailprov-validate\n- exit code: 1\n" in failed.stdout
    assert "users/compta.yaml:3:49: users.COMPTA.smtp.pasword:" in failed.stdout
    assert "Error: 1 problem in the configuration; nothing was changed." in failed.stdout


def test_the_published_hook_definition_runs_offline(tmp_path):
    # a commit of this source tree as it is now (with uncommitted changes), as a remote
    source = tmp_path / "mailprov-src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "build",
        "*.db"))
    git(source, "init", "-q", "-b", "main")
    git(source, "config", "user.email", "t@acme.ca")
    git(source, "config", "user.name", "T")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "snapshot")
    rev = git(source, "rev-parse", "HEAD")
    repo = _config_repo(tmp_path / "team", (
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n"
        "      - id: mailprov-validate\n"))
    _check(repo, _env(tmp_path / "pre-commit-home"))


def test_the_hook_init_writes_runs_with_the_installed_mailprov(tmp_path):
    config = (ROOT / "examples" / "ci" / "pre-commit-config.yml").read_text(encoding="utf-8")
    repo = _config_repo(tmp_path / "team", config)
    _check(repo, _env(tmp_path / "pre-commit-home"))

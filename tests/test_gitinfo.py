"""The commit recorded in the history is exactly what `git rev-parse HEAD` says."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mailprov.config.gitinfo import _from_files, git_commit


def git(folder: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(folder), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def make_repo(folder: Path) -> Path:
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    (folder / "conf").mkdir()
    (folder / "conf" / "mailprov.yaml").write_text("version: 1\n")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "one")
    return folder


def test_reads_loose_and_packed_refs_from_a_subfolder(tmp_path):
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    assert _from_files(repo / "conf") == head
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert _from_files(repo / "conf") == head == git_commit(str(repo / "conf"))


def test_detached_head_and_worktrees(tmp_path):
    repo = make_repo(tmp_path / "repo")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "conf" / "mailprov.yaml").write_text("version: 1\nprune: false\n")
    git(repo, "commit", "-q", "-am", "two")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), first)  # detached at `first`
    assert git_commit(str(tmp_path / "wt" / "conf")) == first
    git(tmp_path / "wt", "checkout", "-q", "-b", "other")
    assert _from_files(tmp_path / "wt") == first == git(tmp_path / "wt", "rev-parse", "HEAD")


def test_outside_a_work_tree_or_before_the_first_commit(tmp_path):
    assert git_commit(str(tmp_path)) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert git_commit(str(empty)) is None

"""The git commit a configuration comes from, recorded in the apply history.

Read straight from the repository's files (a few hundred microseconds), with
`git rev-parse` as the fallback for layouts this reader does not know.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?\Z")


def _git_dir(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # worktree or submodule: "gitdir: PATH"
            text = dot_git.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir:"):
                return (candidate / text[len("gitdir:"):].strip()).resolve()
            return None
    return None


def _from_files(folder: Path) -> str | None:
    git_dir = _git_dir(folder)
    if git_dir is None:
        return None
    head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    if _SHA.match(head):
        return head
    if not head.startswith("ref: "):
        raise ValueError("unknown HEAD")
    ref = head[len("ref: "):]
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    for base in (git_dir, common):
        loose = base / ref
        if loose.is_file():
            sha = loose.read_text(encoding="utf-8").strip()
            if _SHA.match(sha):
                return sha
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.match(sha):
                return sha
    return None  # a branch with no commit yet


def git_commit(folder: str, *, mark_dirty: bool = True) -> str | None:
    """The HEAD commit when `folder` is inside a git work tree, else None; with
    `+dirty` appended, as `git describe --dirty` does, when tracked files have
    uncommitted changes (what was applied is then not exactly that commit)."""
    commit = _head(folder)
    if commit and mark_dirty and _dirty(folder):
        return commit + "+dirty"
    return commit


def _dirty(folder: str) -> bool:
    try:
        out = subprocess.run(["git", "-C", folder, "status", "--porcelain",
                              "--untracked-files=no"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def _head(folder: str) -> str | None:
    try:
        return _from_files(Path(folder).resolve())
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    try:
        out = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and _SHA.match(commit) else None

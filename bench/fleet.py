"""The fleet figure: many SQLite targets planned by one `mailprov plan --all-targets`
process, against one `mailprov plan -t NAME` process per target on the same files.

Both sides are cold processes, started the way a user (or a CI job) starts them:
what the fleet saves is the start-up, the loading of the files and the compiled
schema that every separate process pays again. Peak memory is that of the fleet
process, beside one single-target process. Only the standard library is imported
here; `run.py` turns the numbers into figures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FLEET_TARGETS = 200
FLEET_USERS = 50

# The measured process is started by a small `python -S` that reports the peak RSS of
# its waited-for child (ru_maxrss of RUSAGE_CHILDREN): this process's own peak, which
# Linux carries across fork and exec, never counts.
LAUNCHER = ("import resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(0 if code in (0, 2) else code)\n")


@dataclass
class Fleet:
    folder: Path
    config: Path
    names: list[str]


def prepare_fleet(folder: Path, targets: int = FLEET_TARGETS, users: int = FLEET_USERS
                  ) -> Fleet:
    """`targets` SQLite files (copies of one sandbox of `users` users: each file its
    own database) and one mailprov.yaml naming them all, with an override per user."""
    from mailprov import api
    from mailprov.db.sandbox import sample_users

    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.sqlite"
    api.sandbox(f"sqlite:///{base}", users=users)
    names = [f"client-{index:03d}" for index in range(targets)]
    lines = ["version: 1", "general:", "  client: smtp",
             "  smtp: {server: smtp.example.com, port: 587, ssl: true}", "targets:"]
    for name in names:
        shutil.copyfile(base, folder / f"{name}.db")
        lines.append(f"  {name}: {{url: 'sqlite:///{name}.db'}}")
    lines.append("users:")
    for user in sample_users(users):
        address = f"{user.code.lower()}@example.com"
        lines.append(f"  {user.code}: {{smtp: {{username: {address}, from: {address}}}}}")
    config = folder / "mailprov.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Fleet(folder, config, names)


def _mailprov() -> str:
    script = Path(sys.executable).parent / "mailprov"
    if not script.exists():
        raise SystemExit(f"no mailprov script next to {sys.executable}: install mailprov "
                         "in this environment (pip install -e .)")
    return str(script)


def _launch(fleet: Fleet, argv: list[str]) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one cold `mailprov` process."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, _mailprov(), *argv],
                         cwd=fleet.folder, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"mailprov {' '.join(argv[:3])} ... failed ({out.returncode}): "
                         f"{out.stderr.strip()[-500:]}")
    return seconds, int(out.stdout.strip().splitlines()[-1]) / 1024


def fleet_once(fleet: Fleet) -> tuple[float, float]:
    """One `mailprov plan --all-targets` process: (seconds, peak MB)."""
    return _launch(fleet, ["plan", "--all-targets", "--format", "json"])


def separate_once(fleet: Fleet) -> tuple[float, float]:
    """One `mailprov plan -t NAME` process per target, one after the other: (total
    seconds, the largest peak MB of them)."""
    total, peak = 0.0, 0.0
    for name in fleet.names:
        seconds, mb = _launch(fleet, ["plan", "-t", name, "--format", "json"])
        total += seconds
        peak = max(peak, mb)
    return total, peak


def check(fleet: Fleet) -> None:
    """Both sides plan the same: every target, every user changed, nothing failed."""
    out = subprocess.run([_mailprov(), "plan", "--all-targets", "--format", "json"],
                         cwd=fleet.folder, capture_output=True, text=True, check=False)
    data = json.loads(out.stdout)
    counts = {t["target"]: t["counts"] for t in data["targets"]}
    if out.returncode != 0 or sorted(counts) != sorted(fleet.names):
        raise SystemExit(f"the fleet plan failed: exit {out.returncode}, {out.stderr[-300:]}")


def measure(fleet: Fleet, repeat: int) -> dict[str, list[float]]:
    """The fleet process `repeat` times, the separate processes once (their sum over
    all targets already averages the noise of one process), after an untimed process
    of each kind (page cache, bytecode)."""
    fleet_once(fleet)
    _launch(fleet, ["plan", "-t", fleet.names[0], "--format", "json"])
    found: dict[str, list[float]] = {"fleet": [], "separate": [], "fleet_mb": [],
                                     "single_mb": []}
    for _round in range(repeat):
        seconds, mb = fleet_once(fleet)
        found["fleet"].append(seconds)
        found["fleet_mb"].append(mb)
    seconds, mb = separate_once(fleet)
    found["separate"].append(seconds)
    found["single_mb"].append(mb)
    return found

"""Running `mailprov` in the tests: in-process through click's CliRunner (with the real
keyring backend the test installed), or as a real child process without a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from mailprov.cli import cli

REPO = Path(__file__).resolve().parent.parent


def mailprov(*args: str, input: str | None = None) -> Result:
    """`mailprov ARGS` in this process; stdin is `input` (not a terminal)."""
    return CliRunner().invoke(cli, list(args), input=input)


def mailprov_process(*args: str, cwd: Path, env: dict[str, str] | None = None,
                     stdin: int | None = subprocess.DEVNULL
                     ) -> subprocess.CompletedProcess[str]:
    """`python -m mailprov ARGS` as a child process in a new session: it has no
    controlling terminal (no /dev/tty), as under cron, CI or `ssh host cmd`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROV_")}
    environment.update(env or {})
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [environment.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "mailprov", *args], cwd=cwd, env=environment,
                          stdin=stdin, capture_output=True, text=True, timeout=60,
                          start_new_session=True, check=False)

"""The command line's basics: version, help of every command, `validate` output, --debug."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import mailprov
from mailprov.cli import cli

VALID = """\
version: 1
targets:
  test:
    url: sqlite:///maestro-test.db
general:
  client: outlook
  smtp:
    server: smtp.example.com
    port: 587
    ssl: true
users:
  COMPTA:
    smtp:
      username: comptabilite@example.com
      from: comptabilite@example.com
  OLD:
    smtp: false
"""


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, (*prefix, name)))
    return paths


COMMANDS = _command_paths(cli)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DEBUG", raising=False)
    return CliRunner()


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"mailprov, version {mailprov.__version__}\n"


def test_the_contract_commands_exist() -> None:
    for name in ("validate", "plan", "apply", "import", "explain", "sandbox", "schema",
                 "history"):
        assert (name,) in COMMANDS


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_main_help_has_examples(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli, args, prog_name="mailprov")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: mailprov [OPTIONS] COMMAND [ARGS]...")
    assert "\n  Examples:\n    mailprov validate\n" in result.stdout
    for (name, *_rest) in COMMANDS:
        assert f"\n  {name} " in result.stdout


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_help_exits_0_with_an_example_section(runner: CliRunner,
                                                            path: tuple[str, ...]) -> None:
    result = runner.invoke(cli, [*path, "--help"], prog_name="mailprov")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: mailprov {' '.join(path)} ")
    lines = result.stdout.splitlines()
    headings = [line.strip() for line in lines if line.strip() in ("Example:", "Examples:")]
    assert headings, f"`mailprov {' '.join(path)} --help` has no Example section"
    # The section shows at least one real invocation of this very command.
    start = next(i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:"))
    assert lines[start + 1].strip().startswith(f"mailprov {path[0]}")


def test_validate_success_message(runner: CliRunner) -> None:
    Path("mailprov.yaml").write_text(VALID, encoding="utf-8")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert result.stdout == ("Valid: 1 file(s), 2 user(s) (1 with an SMTP override), "
                             "1 target(s).\n")
    assert result.stderr == ""


def test_validate_counts_several_files(runner: CliRunner) -> None:
    Path("mailprov.yaml").write_text(VALID + "include: [more/*.yaml]\n", encoding="utf-8")
    Path("more").mkdir()
    Path("more/a.yaml").write_text("users:\n  A:\n    smtp: {from: a@example.com}\n",
                                   encoding="utf-8")
    Path("b.yaml").write_text(
        "version: 1\nusers:\n  B:\n    smtp: {port: 2525, from: b@example.com}\n",
        encoding="utf-8")
    result = runner.invoke(cli, ["validate", "-c", "mailprov.yaml", "--config", "b.yaml"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("Valid: 3 file(s), 4 user(s) (3 with an SMTP override), "
                             "1 target(s).\n")


def test_validate_prints_warnings_and_exits_0(runner: CliRunner) -> None:
    Path("mailprov.yaml").write_text(VALID.replace("smtp.example.com", "smtp.office365.com")
                                     .replace("587", "465"), encoding="utf-8")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert result.stderr == (
        "mailprov.yaml:8:5: general.smtp: warning: port 465 with `ssl: true`: maestro* (.NET) "
        "speaks STARTTLS only and hangs until timeout on an implicit-TLS port; use port 587\n"
        "mailprov.yaml:8:5: general.smtp: warning: smtp.office365.com: sending with a password "
        "(SMTP AUTH) stops working when Microsoft turns basic authentication off by default "
        "for existing Exchange Online tenants, at the end of December 2026: maestro* then gets "
        "`550 5.7.30` (basic authentication is not supported for client submission) or `535 "
        "5.7.139` (SMTP AUTH is disabled for the tenant). Move to Office 365 – Modern "
        "Authentication (`office365:` instead of `smtp:`, maestro* 3.05; `mailprov migrate "
        "office365` rewrites the files), or send through a relay\n")
    assert result.stdout.startswith("Valid: 1 file(s)")


def test_validate_without_a_file(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml: file not found: check the path, or create it (default name: "
        "mailprov.yaml)\nError: 1 problem in the configuration; nothing was changed.\n")
    assert result.stdout == ""


def test_validate_refuses_a_folder_as_config(runner: CliRunner) -> None:
    Path("conf").mkdir()
    result = runner.invoke(cli, ["validate", "-c", "conf"])
    assert result.exit_code == 2
    assert "'conf' is a directory" in result.stderr
    assert "Traceback" not in result.output


BROKEN = "version: 1\ngeneral:\n  smtp:\n    port: 0\n"
BROKEN_LINES = ("mailprov.yaml:4:11: general.smtp.port: port 0 is out of range: use 1 to 65535\n"
                "Error: 1 problem in the configuration; nothing was changed.\n")


def test_config_error_shows_no_traceback_by_default(runner: CliRunner) -> None:
    Path("mailprov.yaml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stderr == BROKEN_LINES
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback_then_the_same_errors(runner: CliRunner) -> None:
    Path("mailprov.yaml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(cli, ["--debug", "validate"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "mailprov.errors.ConfigError: mailprov.yaml:4:11: general.smtp.port" in result.stderr
    assert result.stderr.endswith(BROKEN_LINES)


def test_debug_from_the_environment(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("mailprov.yaml").write_text(BROKEN, encoding="utf-8")
    monkeypatch.setenv("MAILPROV_DEBUG", "1")
    result = runner.invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert result.stderr.endswith(BROKEN_LINES)


def test_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["valdiate"])
    assert result.exit_code == 2
    assert "No such command 'valdiate'" in result.stderr
    assert "Did you mean 'validate'?" in result.stderr

"""Every file in tests/invalid/ is refused by `mailprov validate` with exactly the expected errors.

Each case is a YAML file with a `.expected` file beside it holding the exact standard error of
`mailprov validate -c tests/invalid/NAME.yaml` run from the repository root. Cases made of several
files live in a subfolder; only the file with a `.expected` beside it is named with `-c`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailprov.cli import cli

REPO = Path(__file__).resolve().parent.parent
INVALID = REPO / "tests" / "invalid"
CASES = sorted(path.with_suffix(".yaml") for path in INVALID.rglob("*.expected"))
SUMMARY_END = " in the configuration; nothing was changed.\n"
PLACE = re.compile(r"(?P<file>[^:]+\.yaml)(?::(?P<line>\d+):(?P<column>\d+))?: ")


def _case_id(path: Path) -> str:
    return path.relative_to(INVALID).with_suffix("").as_posix()


def test_there_are_enough_cases_and_each_has_its_yaml() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert case.is_file(), f"{case.with_suffix('.expected')} has no YAML file beside it"


def test_every_top_level_yaml_file_is_a_case() -> None:
    """A YAML file dropped in tests/invalid/ without its .expected would never be checked."""
    orphans = [p.name for p in INVALID.glob("*.yaml") if not p.with_suffix(".expected").exists()]
    assert orphans == []


def test_every_subfolder_holds_a_case() -> None:
    folders = [p for p in INVALID.iterdir() if p.is_dir()]
    assert folders, "multi-file cases live in subfolders"
    for folder in folders:
        assert any(folder.rglob("*.expected")), f"{folder.name}/ has no .expected file"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_invalid_file_is_refused_with_the_expected_errors(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("MAILPROV_DEBUG", raising=False)
    relative = case.relative_to(REPO).as_posix()
    expected = case.with_suffix(".expected").read_text(encoding="utf-8")

    result = CliRunner().invoke(cli, ["validate", "-c", relative])

    assert result.stderr == expected
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert isinstance(result.exception, SystemExit)
    # The contract of the output: every problem names this case's files, then one summary line.
    *problems, summary = expected.splitlines(keepends=True)
    assert problems, "an invalid file must report at least one problem"
    folder = relative.rsplit("/", 1)[0] + "/"
    assert all(line.startswith(folder) for line in problems)
    count = len(problems)
    assert summary == f"Error: {count} problem{'s' if count != 1 else ''}{SUMMARY_END}"
    places = []
    for line in problems:
        match = PLACE.match(line)
        assert match, f"no FILE[:LINE:COLUMN] at the start of {line!r}"
        places.append((match["file"], int(match["line"] or 0), int(match["column"] or 0)))
    assert places == sorted(places), "problems are printed sorted by file and position"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_problem_of_an_invalid_file_has_a_code_for_scripts(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`validate --format json` never falls back to the generic `error`: each problem names
    its family (docs/configuration.md, Errors and warnings)."""
    import json

    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["validate", "--format", "json", "-c",
                                      case.relative_to(REPO).as_posix()])
    problems = json.loads(result.stdout)["problems"]
    assert problems
    assert [p["code"] for p in problems if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+",
                                                             p["code"])] == []

"""Configuration files come from pull requests: every file of tests/corpus/ is hostile input.

For each one, `mailprov validate -c FILE` and `mailprov plan -c FILE -t SANDBOX` must
refuse it (exit 1) with exactly one clear error block that names the file (and its
line:column where there is one), never a traceback, in under 2 s, without running
anything, reading outside the configuration folder, writing a file there or changing
a byte of the database. The few corpus files that are really valid, or that only the
database can refuse (look-alike user codes, mapping files), are asserted as such.

The big and binary cases are written at test time by tests/corpus/make_big.py into
a temporary copy of the corpus; peak memory is checked in a subprocess for them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mailprov import api
from mailprov.cli import cli

CORPUS = Path(__file__).resolve().parent / "corpus"
_spec = importlib.util.spec_from_file_location("corpus_make_big", CORPUS / "make_big.py")
assert _spec is not None and _spec.loader is not None
make_big = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_big)

PWNED = "pwned-by-corpus"  # what the python-tag cases would create if their code ran
SECRET = "Hunter2-do-not-print"  # the password some cases hold: never printed
OUTSIDE_MARKER = "OUTSIDE-MARKER"  # in a file beside the configuration folder: never read
NEVER_SHOWN = ("Traceback", "This is a bug", "Error: unexpected", "root:x:", SECRET, OUTSIDE_MARKER)
SUMMARY = "Error: {n} problem{s} in the configuration; nothing was changed."
NO_CHANGES = "No changes. maestro* matches the configuration."
# CPU seconds per hostile file: the biggest (3,000 errors, 10 MB lines) take 0.5-2.5 s on
# today's CI machines when read in linear time; a quadratic pass would take minutes. The
# bound is there to catch that, not to time a busy machine.
MAX_SECONDS = 4.0
MAX_RSS_GROWTH_MB = 200


@dataclass(frozen=True)
class Expect:
    """What validate and plan say about one corpus file.

    `where` is the LINE:COL of the (first) problem, "" when the problem has no place
    in a file (unreadable, empty...), None when validate accepts the file.
    """

    where: str | None = None
    says: str = ""
    file: str | None = None  # the file the problem is in, when not the case itself
    problems: int = 1
    at_plan: bool = False  # valid offline; refused by plan (needs the database)
    by_name: bool = False  # plan with `-t maestro --db URL`, so the target's mapping is used
    warning: str | None = None
    beside_plan: bool = False  # plan shows the plan of the other users, the problem beside it


def bad(where: str, says: str, **kw: object) -> Expect:
    return Expect(where=where, says=says, **kw)  # type: ignore[arg-type]


def at_plan(says: str, where: str | None = None, **kw: object) -> Expect:
    return Expect(where=where, says=says, at_plan=True, **kw)  # type: ignore[arg-type]


def unknown_user(says: str) -> Expect:
    """A user code only the database can refuse: an error beside the plan of the rest."""
    return Expect(where="7:3", says=says, at_plan=True, beside_plan=True)


def valid(warning: str | None = None) -> Expect:
    return Expect(warning=warning)


YAML11 = "is read as a boolean by YAML 1.1: write true or false"
ALIASES = "aliases are not allowed in mailprov files"
TOO_DEEP = "nesting deeper than 64 levels is not allowed"
NOT_UTF8 = "the file is not valid UTF-8 text: save it as UTF-8"
TAG = "unsupported YAML tag tag:yaml.org,2002:"
OUTSIDE = "is outside the folder of the configuration (.): includes may not climb out of it"
URL_PASSWORD = "targets.prod.url: the URL contains a password: remove it"
LINK_OUT = "is a symbolic link to a file outside its folder"

CASES: dict[str, Expect] = {
    # --- malformed YAML
    "yaml-unclosed-double-quote.yaml": bad("6:1", "found unexpected end of stream (while "
                                           "scanning a quoted scalar that starts at line 4"),
    "yaml-unclosed-single-quote.yaml": bad("6:1", "found unexpected end of stream (while "
                                           "scanning a quoted scalar that starts at line 5"),
    "yaml-unclosed-flow-sequence.yaml": bad("3:8", "did not find expected ',' or ']'"),
    "yaml-unclosed-flow-mapping.yaml": bad("3:1", "did not find expected ',' or '}'"),
    "yaml-bad-indentation.yaml": bad("5:4", "invalid YAML: did not find expected key"),
    "yaml-tab-indentation.yaml": bad("3:1", "tab characters cannot indent YAML; use spaces"),
    "yaml-mapping-in-plain-scalar.yaml": bad("4:17", "mapping values are not allowed"),
    "yaml-two-documents.yaml": bad("2:1", "expected a single document in the stream"),
    "yaml-list-root.yaml": bad("1:1", "the file must be a mapping of keys (version, general, "
                                      "users, ...), not a list"),
    "yaml-scalar-root.yaml": bad("1:1", "not a single value"),
    "yaml-null-root.yaml": bad("1:1", "not nothing (null)"),
    "yaml-empty.yaml": bad("", "the file is empty: start with `version: 1`"),
    "yaml-comments-only.yaml": bad("", "the file is empty: start with `version: 1`"),
    "yaml-complex-key.yaml": bad("3:5", "keys must be text"),
    "yaml-number-key.yaml": bad("3:3", "keys must be text: write '587' in quotes"),
    "yaml-tab-separator.yaml": valid(),
    "big-implicit-key.yaml": bad("3:2003", "mapping values are not allowed in this context"),
    # --- aliases, merge keys, nesting
    "alias-simple.yaml": bad("4:13", ALIASES),
    # every anchor repeated by an alias is said once (never expanded), beside the unknown keys
    "alias-billion-laughs.yaml": bad("2:1", "lol0: unknown key 'lol0' (allowed: ", problems=18),
    "alias-recursive.yaml": bad("2:8", ALIASES),
    "merge-key.yaml": bad("12:7", "merge keys (<<) are not allowed in mailprov files"),
    "deep-block-mapping-70.yaml": bad("66:66", TOO_DEEP),
    "deep-block-mapping-900.yaml": bad("66:66", TOO_DEEP),
    "deep-block-sequence-10000.yaml": bad("3:129", TOO_DEEP),
    "deep-flow-sequence-10000.yaml": bad("2:1007", TOO_DEEP),
    "deep-flow-mapping-10000.yaml": bad("2:260", TOO_DEEP),
    # --- sizes
    "big-scalar-10mb.yaml": bad("4:13", "general.smtp.server: '" + "x" * 57 + "...' is too "
                                        "long (10485760 characters, at most 255)"),
    "big-key-10mb.yaml": bad("3:5", "...: '" + "K" * 57 + "...' is too long (10485760 "
                                    "characters, at most 255)"),
    "big-file-33mb.yaml": bad("", "file is larger than 32 MB; split it with `include:`"),
    "many-errors-3000.yaml": bad("9:13", "users.U0.smtp.port: port 0 is out of range: use 1 "
                                         "to 65535", problems=3000),
    # --- encodings and bytes
    "binary-random.yaml": bad("1:2", NOT_UTF8),
    "non-utf8-latin1.yaml": bad("4:22", NOT_UTF8),
    "utf8-overlong.yaml": bad("2:17", NOT_UTF8),
    "utf8-surrogate.yaml": bad("2:17", NOT_UTF8),
    "utf16-bom.yaml": bad("1:1", NOT_UTF8),
    "utf16le-no-bom.yaml": bad("1:2", "the file contains a NUL byte: is it a binary file?"),
    "utf8-bom.yaml": valid(),
    "nul-byte.yaml": bad("2:21", "the file contains a NUL byte: is it a binary file?"),
    "control-char-raw.yaml": bad("2:17", "invalid character U+001B: control characters are "
                                         "not allowed in mailprov files"),
    "control-chars-only.yaml": bad("1:1", "invalid character U+001E"),
    "duplicate-key.yaml": bad("4:3", "duplicate key 'client' (first defined at line 3, "
                                     "column 3): keep one"),
    "duplicate-user-code.yaml": bad("10:3", "duplicate key 'COMPTA' (first defined at line "
                                            "7, column 3)"),
    # --- YAML 1.1 traps
    "yaml11-ssl-yes.yaml": bad("6:10", f"'yes' {YAML11}"),
    "yaml11-prune-off.yaml": bad("2:8", f"'off' {YAML11}"),
    "yaml11-client-no.yaml": bad("3:11", f"'no' {YAML11}"),
    "yaml11-user-code-yes.yaml": bad("7:3", f"'yes' {YAML11}"),
    "yaml11-user-code-on.yaml": bad("7:3", f"'ON' {YAML11}"),
    "yaml11-user-code-tilde.yaml": bad("7:3", "keys must be text: write '~' in quotes"),
    "yaml11-port-octal.yaml": bad("5:11", "'0465' has a leading zero and is read as octal "
                                          "(309) by YAML 1.1"),
    "yaml11-port-base60.yaml": bad("5:11", "'1:30' is read as a base-60 number by YAML 1.1"),
    "yaml11-port-exponent.yaml": bad("5:11", "general.smtp.port: expected a whole number, "
                                             "got '1e3'"),
    "yaml11-port-hex.yaml": bad("5:11", "'0x1F' is not a plain decimal number"),
    "yaml11-port-inf.yaml": bad("5:11", "'.inf' is not a finite number"),
    "yaml11-port-tilde.yaml": bad("5:11", "general.smtp.port: expected a whole number, got "
                                          "nothing (null)"),
    "yaml11-percent-nan.yaml": bad("3:23", "'.nan' is not a finite number"),
    # --- tags: nothing is constructed, nothing runs
    "tag-python-object-apply.yaml": bad("2:10", TAG + "python/object/apply:os.system: "
                                                      "remove the tag"),
    "tag-python-object-new.yaml": bad("2:8", TAG + "python/object/new:subprocess.Popen"),
    "tag-python-name.yaml": bad("2:17", TAG + "python/name:os.system"),
    "tag-python-module.yaml": bad("2:17", TAG + "python/module:os"),
    "tag-binary.yaml": bad("2:17", TAG + "binary"),
    "tag-set.yaml": bad("2:10", TAG + "set"),
    "tag-local-include.yaml": bad("2:8", "unsupported YAML tag !include: remove the tag"),
    # --- a wrong type in every field of the schema
    "type-version-text.yaml": bad("1:10", "version: must be 1, got '1'"),
    "type-version-2.yaml": bad("1:10", "version: must be 1, got 2"),
    "type-include-string.yaml": bad("2:10", "include: expected a list, got '_inc/users.yaml'"),
    "type-include-item-number.yaml": bad("2:11", "include[0]: expected text, got 1"),
    "type-targets-list.yaml": bad("2:10", "targets: expected a mapping, got a list"),
    "type-target-string.yaml": bad("3:9", "targets.prod: expected a mapping, got "
                                          "'sqlite:///maestro.db'"),
    "type-url-number.yaml": bad("4:10", "targets.prod.url: expected text, got 5432"),
    "type-edition-enum.yaml": bad("5:14", "targets.prod.edition: 'enterprise' is not one of: "
                                          "standard, cloud"),
    "type-mapping-number.yaml": bad("5:14", "targets.prod.mapping: expected text, got 42"),
    "type-default-target-list.yaml": bad("2:17", "default_target: expected text, got a list"),
    "type-general-list.yaml": bad("2:10", "general: expected a mapping, got a list"),
    "type-client-number.yaml": bad("3:11", "general.client: 3 is not one of: other, outlook, "
                                           "lotus_notes, smtp"),
    "type-smtp-string.yaml": bad("3:9", "general.smtp: expected a mapping, got "
                                        "'smtp.example.com'"),
    "type-server-number.yaml": bad("4:13", "general.smtp.server: expected text, got 42"),
    "type-port-text.yaml": bad("5:11", "general.smtp.port: expected a whole number, got '587'"),
    "type-port-float.yaml": bad("5:11", "general.smtp.port: expected a whole number, got "
                                        "587.5"),
    "type-ssl-text.yaml": bad("6:10", "general.smtp.ssl: expected true or false, got 'true'"),
    "type-users-list.yaml": bad("2:8", "users: expected a mapping, got a list"),
    "type-user-entry-string.yaml": bad("3:11", "users.COMPTA: expected a mapping, got "
                                               "'compta@example.com'"),
    "type-user-smtp-true.yaml": bad("8:11", "users.COMPTA.smtp: `smtp: true` is not allowed"),
    "type-user-smtp-list.yaml": bad("8:11", "users.COMPTA.smtp: expected a mapping, got a list"),
    "type-username-number.yaml": bad("9:17", "users.COMPTA.smtp.username: expected text, got "
                                             "1234"),
    "type-from-list.yaml": bad("9:13", "users.COMPTA.smtp.from: expected text, got a list"),
    "type-user-port-text.yaml": bad("9:13", "users.COMPTA.smtp.port: expected a whole number, "
                                            "got 'submission'"),
    "type-user-server-list.yaml": bad("9:15", "users.COMPTA.smtp.server: expected text, got a "
                                              "list"),
    "type-prune-text.yaml": bad("2:8", "prune: expected true or false, got 'yes'"),
    "type-safety-list.yaml": bad("2:9", "safety: expected a mapping, got a list"),
    "type-safety-percent-text.yaml": bad("3:23", "safety.max_change_percent: expected a "
                                                 "number, got 'thirty'"),
    "type-safety-min-existing-negative.yaml": bad("3:17", "safety.min_existing: must be at "
                                                          "least 0, got -1"),
    "type-safety-max-changes-float.yaml": bad("3:16", "safety.max_changes: expected a whole "
                                                      "number, got 2.5"),
    "unknown-key-typo.yaml": bad("2:1", "genral: unknown key 'genral'; did you mean "
                                        "'general'?"),
    # --- secrets
    "secret-password-key.yaml": bad("10:7", "users.COMPTA.smtp.password: 'password' looks "
                                            "like a secret"),
    "url-password.yaml": bad("4:10", URL_PASSWORD),
    "url-password-in-query.yaml": bad("4:10", URL_PASSWORD),
    # --- control characters, header injection, terminal escapes
    "inject-from-crlf-bcc.yaml": bad("9:13", "users.COMPTA.smtp.from: 'a@b.ca\\r\\nBcc: "
                                             "x@y.ca' is not an e-mail address"),
    "inject-username-crlf-bcc.yaml": bad("9:17", "users.COMPTA.smtp.username: 'a@b.ca\\r\\n"
                                                 "Bcc: x@y.ca' looks like an e-mail address "
                                                 "but is not one"),
    "inject-username-plain-crlf.yaml": bad("9:17", "users.COMPTA.smtp.username: 'compta\\r\\n"
                                                   "RCPT TO:<x@y.ca>' looks like an e-mail "
                                                   "address but is not one"),
    "inject-user-code-crlf.yaml": bad("7:3", 'users."COMPTA\\r\\nBcc: x@y.ca": user code '
                                             "'COMPTA\\r\\nBcc: x@y.ca' contains control "
                                             "characters: remove them"),
    "inject-user-code-nul-escape.yaml": bad("7:3", 'users."COMPTA\\x00": user code '
                                                   "'COMPTA\\x00' contains control characters"),
    "inject-from-rlo.yaml": bad("9:13", "'compta\\u202e@example.com' is not an e-mail address: "
                                        "The email address contains unsafe characters: "
                                        "RIGHT-TO-LEFT OVERRIDE."),
    "inject-server-crlf.yaml": bad("4:13", "general.smtp.server: 'smtp.example.com\\r\\nRCPT "
                                           "TO:<x@y.ca>' is not a host name"),
    "inject-key-terminal-escape.yaml": bad("3:3", "unknown key '\\x1b[2J\\x1b[1;1Hall "
                                                  "good\\r' (allowed: client, smtp)"),
    "inject-default-target-escape.yaml": bad("2:17", "target '\\x1b]0;pwned\\x07\\u202eprod' "
                                                     "is not defined under `targets`"),
    # valid YAML and schema: only the database knows these codes do not exist
    "inject-user-code-rlo.yaml": unknown_user("users.\"COMPTA\\u202e\": no user "
                                              "'COMPTA\\u202e' in target"),
    "lookalike-cyrillic-compta.yaml": unknown_user("users.\u0421OMPTA: no user '\u0421OMPTA' "
                                                   "in target"),
    "lookalike-fullwidth-compta.yaml": unknown_user(
        "users.\uff23\uff2f\uff2d\uff30\uff34\uff21: no user"),
    # --- includes
    "include-cycle.yaml": bad("1:11", "include[0]: include cycle: include-cycle.yaml -> "
                                      "_inc/cycle-b.yaml -> include-cycle.yaml",
                              file="_inc/cycle-b.yaml"),
    "include-self.yaml": bad("2:11", "include cycle: include-self.yaml -> include-self.yaml"),
    "include-parent-folder.yaml": bad("2:11", f"'../outside.yaml' {OUTSIDE}"),
    "include-absolute.yaml": bad("2:11", "includes must be relative to this file's folder, "
                                         "not absolute paths"),
    "include-climbing-glob.yaml": bad("2:11", f"'../../../../../../../../**/*.yaml' {OUTSIDE}"),
    "include-symlink-outside.yaml": bad("2:11", f"'_links/passwd.yaml' {OUTSIDE}"),
    "include-symlink-loop-glob.yaml": bad("2:11", "'**' would follow _loop/again, a symbolic "
                                                  "link to a folder"),
    "include-glob-nothing.yaml": valid(warning="include-glob-nothing.yaml:3:11: include[0]: "
                                               "warning: '_inc/none-*.yaml' matches no file: "
                                               "check the pattern, or remove it"),
    "include-missing-file.yaml": bad("2:11", "included file '_inc/does-not-exist.yaml' not "
                                             "found"),
    "include-folder.yaml": bad("", "is a folder, not a file", file="_inc"),
    "include-hostile-file.yaml": bad("1:1", "a: unknown key 'a'", file="_inc/laughs.yaml",
                                     problems=3),
    "root-symlink-passwd.yaml": bad("", f"{LINK_OUT} (/etc/passwd)"),
    "root-symlink-dev-zero.yaml": bad("", f"{LINK_OUT} (/dev/zero)"),
    "root-symlink-loop.yaml": bad("", "file not found"),
    # --- mapping files: read by plan only
    "mapping-missing-table.yaml": at_plan("table 'USAGER' does not exist in the database "
                                          "(mapping file _inc/mapping-missing-table.yaml)",
                                          by_name=True),
    "mapping-missing-column.yaml": at_plan("column 'ADRESSE_DE' does not exist in table "
                                           "'app_user' (mapping file "
                                           "_inc/mapping-missing-column.yaml)", by_name=True),
    "mapping-missing-general-column.yaml": at_plan("column 'LOGICIEL_COURRIEL' does not exist "
                                                   "in table 'general_config'", by_name=True),
    "mapping-file-missing.yaml": at_plan("_inc/no-such-mapping.yaml: cannot read the mapping "
                                         "file: No such file or directory", by_name=True),
    "mapping-dev-zero.yaml": bad("5:14", "the mapping file must be given relative to this "
                                 "file's folder, not as an absolute path"),
    "mapping-hostile-yaml.yaml": at_plan(TAG + "python/object/apply:os.system", where="2:8",
                                         file="_inc/mapping-python-tag.yaml", by_name=True),
}

# the cases whose peak memory is measured in a subprocess
BIGGEST = ("big-scalar-10mb.yaml", "big-key-10mb.yaml", "big-file-33mb.yaml",
           "deep-flow-sequence-10000.yaml", "deep-block-mapping-900.yaml",
           "alias-billion-laughs.yaml", "many-errors-3000.yaml")


@dataclass(frozen=True)
class Workspace:
    folder: Path  # a copy of the corpus plus the generated files: the configuration folder
    url: str  # the SQLite sandbox
    db_file: Path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "config"
    shutil.copytree(CORPUS, folder, symlinks=True,
                    ignore=shutil.ignore_patterns("make_big.py", "__pycache__"))
    make_big.generate(folder)
    (base / "outside.yaml").write_text(f"users:\n  {OUTSIDE_MARKER}:\n    smtp: false\n",
                                       encoding="utf-8")
    (base / "db").mkdir()
    db_file = base / "db" / "maestro.db"
    url = f"sqlite:///{db_file}"
    assert api.sandbox(url, users=25) == 25
    return Workspace(folder, url, db_file)


def database_state(ws: Workspace) -> tuple[str, list[str], list[str]]:
    """The database file's bytes (hashed), its folder (no journal left behind), every row."""
    digest = hashlib.sha256(ws.db_file.read_bytes()).hexdigest()
    with sqlite3.connect(f"file:{ws.db_file}?mode=ro", uri=True) as conn:
        dump = list(conn.iterdump())
    conn.close()
    return digest, sorted(os.listdir(ws.db_file.parent)), dump


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry of the configuration folder (links not followed), with size and mtime."""
    state = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        state[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return state


def run(args: list[str]) -> tuple[Result, float]:
    """The command's result, and the CPU time it took: what a hostile file costs, not how
    busy the machine's other processes keep it."""
    start = time.process_time()
    result = CliRunner().invoke(cli, args)
    return result, time.process_time() - start


def plan_args(name: str, ws: Workspace, expect: Expect) -> list[str]:
    if expect.by_name:
        return ["plan", "-c", name, "-t", "maestro", "--db", ws.url]
    return ["plan", "-c", name, "-t", ws.url]


def assert_clean(result: Result, seconds: float) -> None:
    """No traceback or bug report, nothing invisible or secret in the output, fast."""
    assert seconds < MAX_SECONDS, f"took {seconds:.2f} s"
    text = result.stdout + result.stderr
    for word in NEVER_SHOWN:
        assert word not in text
    for line in text.splitlines():
        assert line.isprintable(), f"raw control or bidi character in {line[:200]!r}"
    assert len(text) < 1_000_000, "the output must stay bounded"


def assert_problem_block(result: Result, name: str, expect: Expect, stdout: str = "") -> None:
    """Exit 1; stderr is the problem lines, then one summary line; nothing on stdout (or
    the plan that is shown beside the problems)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == stdout
    lines = result.stderr.splitlines()
    n = expect.problems
    assert lines[-1] == SUMMARY.format(n=n, s="s" if n != 1 else "")
    assert [line for line in lines if line.startswith("Error:")] == [lines[-1]]
    problems = lines[:-1]
    assert len(problems) == n
    file = expect.file or name
    place = f"{file}:{expect.where}: " if expect.where else f"{file}: "
    assert problems[0].startswith(place), problems[0]
    assert expect.says in problems[0]
    assert all(line.startswith(f"{file}:") for line in problems)


def assert_error_block(result: Result, says: str) -> None:
    """Exit 1; one `Error: ...` block on stderr naming the problem; nothing on stdout."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("Error:") == 1
    assert says in result.stderr, result.stderr


def test_corpus_is_complete_and_small() -> None:
    committed = {p.name for p in CORPUS.glob("*.yaml")}
    generated = set(make_big.GENERATED)
    assert not committed & generated
    assert committed | generated == set(CASES), "every corpus file has an expectation"
    assert len(CASES) >= 60
    for path in CORPUS.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 16 * 1024, f"{path} is too big to commit: generate it"


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file(name: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    expect = CASES[name]
    monkeypatch.chdir(workspace.folder)
    db_before = database_state(workspace)
    files_before = folder_state(workspace.folder)

    validated, seconds = run(["validate", "-c", name])
    assert_clean(validated, seconds)
    if expect.where is not None and not expect.at_plan:
        assert_problem_block(validated, name, expect)
    else:
        assert validated.exit_code == 0, validated.output
        assert validated.stdout.startswith("Valid: 1 file(s)")

    planned, seconds = run(plan_args(name, workspace, expect))
    assert_clean(planned, seconds)
    if expect.beside_plan:
        assert planned.stdout.endswith("Plan: 0 to add, 1 to change, 0 to remove.\n")
        assert_problem_block(planned, name, expect, stdout=planned.stdout)
    elif expect.at_plan and expect.where is not None:
        assert_problem_block(planned, name, expect)  # a hostile mapping file
    elif expect.at_plan:
        assert_error_block(planned, expect.says)
    elif expect.where is not None:
        assert_problem_block(planned, name, expect)
    else:
        assert planned.exit_code == 0, planned.output
        assert NO_CHANGES in planned.stdout

    if expect.warning is not None:
        assert validated.stderr == planned.stderr == expect.warning + "\n"
    elif expect.where is None and not expect.at_plan:
        assert validated.stderr == planned.stderr == ""

    assert not (workspace.folder / PWNED).exists(), "code from the file ran"
    assert folder_state(workspace.folder) == files_before, "a file was written or changed"
    assert database_state(workspace) == db_before, "the database changed"


MEMORY_PROBE = """
import json, resource, sys
from click.testing import CliRunner
from mailprov.cli import cli
runner = CliRunner()
runner.invoke(cli, ["validate", "-c", "utf8-bom.yaml"])  # warm up: imports, schema, caches
runner.invoke(cli, ["plan", "-c", "utf8-bom.yaml", "-t", sys.argv[2]])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
codes = [runner.invoke(cli, ["validate", "-c", sys.argv[1]]).exit_code,
         runner.invoke(cli, ["plan", "-c", sys.argv[1], "-t", sys.argv[2]]).exit_code]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"codes": codes, "growth_kb": after - before}))
"""


@pytest.mark.parametrize("name", BIGGEST)
def test_memory_stays_bounded(name: str, workspace: Workspace) -> None:
    """Peak RSS (a high-water mark, so one fresh process per case) grows by < 200 MB."""
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, name, workspace.url],
                         cwd=workspace.folder, capture_output=True, text=True, timeout=60,
                         check=True)
    report = json.loads(out.stdout)
    assert report["codes"] == [1, 1]
    assert report["growth_kb"] < MAX_RSS_GROWTH_MB * 1024, report


def test_make_big_writes_every_generated_case(tmp_path: Path) -> None:
    made = make_big.generate(tmp_path)
    assert sorted(made) == sorted(make_big.GENERATED)
    for name in made:
        assert (tmp_path / name).is_symlink() or (tmp_path / name).is_file()
    assert (tmp_path / "big-file-33mb.yaml").stat().st_size > 32 * 1024 * 1024
    assert os.readlink(tmp_path / "_loop" / "again") == "."

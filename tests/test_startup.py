"""Start-up budget: what `mailprov --version`, `validate` and `plan` (SQLite) import.

Start-up is most of what a small company waits for, and it is set by imports. Each
command runs in a fresh interpreter, which then lists the modules it holds; what a bare
interpreter already holds is set aside. Third-party packages must be on the
command's allow list, and the modules each command has no use for (other databases'
dialects, PyYAML for a plainly written file, email-validator for ordinary addresses,
asyncio, TLS) must stay out. No time is measured: bench/run.py does that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dbhelpers import smtp_user, write_config

from mailprov import api
from mailprov.db.sandbox import sample_users

RUN = """
import json, sys
out_path = sys.argv[2]
sys.argv = ["mailprov", *json.loads(sys.argv[1])]
from mailprov.cli import main
try:
    main()
except SystemExit:
    pass
with open(out_path, "w", encoding="utf-8") as out:
    json.dump(sorted(sys.modules), out)
"""

# Third-party packages (top-level names) each command may import.
# msgspec: the model's value types (with typing_extensions, which it imports); the
# foundations every command imports (mailprov.errors) do without it.
VALUES = {"msgspec", "typing_extensions"}
ALLOWED = {
    "--version": {"click"},
    "validate": {"click"} | VALUES,
    # on a SQLite file, read with the standard sqlite3 module (mailprov.db.sqlitefile)
    "plan": {"click"} | VALUES,
}
# Modules each command must not import (a name denies the module and its submodules).
NEVER = {"yaml", "email_validator", "jsonschema", "jinja2", "cryptography", "keyring",
         "psycopg", "pymysql", "smtplib", "mailprov.config.yamlstrict", "mailprov.apply",
         "mailprov.render.templating", "sqlalchemy.dialects.mysql",
         "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.mssql",
         "sqlalchemy.dialects.oracle", "mailprov.db.backends.mysql",
         "mailprov.db.backends.postgresql", "mailprov.db.backends.mssql"}
DENIED = {
    "--version": NEVER | {"mailprov.api", "mailprov.config", "mailprov.db", "sqlalchemy",
                          "asyncio", "ssl", "sqlite3", "json"},
    "validate": NEVER | {"mailprov.db", "mailprov.plan.planner", "mailprov.render",
                         "sqlalchemy", "asyncio", "ssl", "sqlite3", "importlib.metadata",
                         "tempfile", "zipfile",
                         # OpenSSL's hashes, json and csv cost milliseconds each: a file
                         # without a CSV user list is validated without them
                         "hashlib", "json", "csv", "mailprov.config.csvusers",
                         "traceback"},
    # SQLAlchemy (and with it asyncio, which SQLAlchemy 2.1 imports) is half of a small
    # company's plan: a SQLite file is read without it
    "plan": NEVER | {"sqlalchemy", "asyncio", "mailprov.db.read", "mailprov.db.database",
                     "mailprov.db.backends"},
}


def modules_of(argv: list[str], folder: Path) -> set[str]:
    out = folder / "modules.json"
    subprocess.run([sys.executable, "-c", RUN, json.dumps(argv), str(out)], cwd=folder,
                   check=True, capture_output=True, timeout=60)
    return set(json.loads(out.read_text(encoding="utf-8")))


def baseline(folder: Path) -> set[str]:
    out = folder / "bare.json"
    subprocess.run([sys.executable, "-c", "import json, sys; json.dump(sorted(sys.modules), "
                    f"open({str(out)!r}, 'w'))"], check=True, timeout=60)
    return set(json.loads(out.read_text(encoding="utf-8")))


def third_party(modules: set[str]) -> set[str]:
    tops = {name.split(".")[0] for name in modules}
    return {top for top in tops if top not in sys.stdlib_module_names
            and not top.startswith("_") and top not in ("mailprov", "cython_runtime")}


def denied(modules: set[str], names: set[str]) -> set[str]:
    return {m for m in modules if any(m == n or m.startswith(n + ".") for n in names)}


@pytest.fixture
def company(tmp_path: Path, sqlite_url: str) -> Path:
    """A 50-user company: sandbox database and a plainly written configuration."""
    api.sandbox(sqlite_url, users=50)
    codes = [user.code for user in sample_users(50)]
    write_config(tmp_path, sqlite_url, users={code: smtp_user(code) for code in codes})
    return tmp_path


@pytest.mark.parametrize("command", ["--version", "validate", "plan"])
def test_a_command_imports_only_what_it_uses(company: Path, command: str) -> None:
    bare = baseline(company)
    modules = modules_of([command], company) - bare
    assert "mailprov.cli" in modules  # the command did run in that interpreter
    assert third_party(modules) <= ALLOWED[command], third_party(modules) - ALLOWED[command]
    assert denied(modules, DENIED[command]) == set()


def test_plan_on_sqlite_reads_the_file_with_the_standard_module(company: Path) -> None:
    modules = modules_of(["plan"], company)
    assert {"mailprov.db.sqlitefile", "sqlite3"} <= modules
    assert denied(modules, {"sqlalchemy", "mailprov.db.backends"}) == set()


def test_apply_on_sqlite_loads_the_sqlite_backend_only(company: Path) -> None:
    modules = modules_of(["apply", "--auto-approve"], company)
    assert "mailprov.db.backends.sqlite" in modules
    assert "sqlalchemy.dialects.sqlite" in modules
    assert {m for m in modules if m.startswith("mailprov.db.backends.")} == {
        "mailprov.db.backends.base", "mailprov.db.backends.sqlite"}


def test_validate_of_international_addresses_still_needs_no_email_validator(
        tmp_path: Path) -> None:
    (tmp_path / "mailprov.yaml").write_text(
        "version: 1\ngeneral: {client: smtp, smtp: {server: smtp.example.com, port: 587}}\n"
        "users:\n  COMPTA: {smtp: {username: frédéric@exemple.ca, from: 会计@example.cn}}\n",
        encoding="utf-8")
    modules = modules_of(["validate"], tmp_path)
    assert "mailprov.config.semantic" in modules
    assert denied(modules, {"email_validator", "yaml"}) == set()


@pytest.mark.parametrize("argv", [["office365", "status"], ["import", "-o", "imported.yaml"],
                                  ["explain", "NOBODY"]])
def test_read_only_commands_read_a_sqlite_file_without_sqlalchemy(company: Path, argv) -> None:
    """What reads the live state and nothing else (no history, no lock) goes through the
    standard sqlite3 module too (mailprov.api.read_target); an unknown user is an error
    only once the users are read."""
    modules = modules_of(argv, company)
    assert "mailprov.db.sqlitefile" in modules
    assert denied(modules, {"sqlalchemy"}) == set()

"""A password set with `mailprov password set` appears nowhere else: not in any command's
output, not in a file mailprov writes, not in a log record, not in the history.

Users get distinctive random passwords through `password set` (on standard input and at
the prompt). Then every command mailprov has is run, in every format, on success and on
failure, with and without --debug: validate, plan (text, JSON, markdown, HTML, saved),
show, ci comment and summary, apply, drift, import (to stdout and to a file), init
--from-db, explain, history (and --show of every row), password status (text, JSON),
password clear, key status, test-send against a real SMTP server (success, --check,
--all, --debug transcripts, JSON, a hostile server that echoes the password it was sent,
--ask-password with a wrong password) and the errors users meet (a wrong key, a
mismatch, a user without an override, an unknown user). Everything they print, every file
they write, every log record at DEBUG level (SQLAlchemy's statements, parameters and
fetched rows included), every warning and the mailprov_history rows are searched for the
passwords and for their stored (encrypted) form. The only place the stored form may be is
the password column itself; the secret key may appear only in `key export`'s output.
"""

from __future__ import annotations

import json
import logging
import secrets as random_tokens
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from dbhelpers import TABLES, engine_for, sandbox, smtp_user, update_user, write_config
from keyring_backend import MemoryKeyring
from smtpserver import ACCOUNTS, ECHO_LOGIN, NAME, SmtpLab
from sqlalchemy import select

from mailprov.cli import cli
from mailprov.passwords.keys import generate_key

LEAK_LOGIN = "leak@example.test"
PASSWORD = f"smtp-{random_tokens.token_hex(10)}-é"
ECHO_PASSWORD = f"echo-{random_tokens.token_hex(10)}"
TYPED_WRONG = f"typed-{random_tokens.token_hex(10)}"
TO = "leak-check@example.test"
SERVER_LOG = "mail.log"  # the lab server's own log (aiosmtpd): what it received, by design


class Records(logging.Handler):
    """Every log record of the process, formatted with its traceback if any."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(SERVER_LOG):
            return
        self.texts.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    names = ("", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.dialects", "mailprov",
             "keyring")
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    root.addHandler(handler)
    for logger, _ in saved:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level in saved:
            logger.setLevel(level)


class Everything:
    """Runs commands and keeps all they show."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.key_exports: list[str] = []
        self.runner = CliRunner()

    def run(self, *args: str, exit_code: int | None = 0, input: str | None = None) -> Result:
        result = self.runner.invoke(cli, list(args), input=input)
        shown = [result.stdout, result.stderr, result.output]
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            shown.append("".join(traceback.format_exception(*result.exc_info)))
        if args[:2] == ("key", "export"):
            self.key_exports += shown
        else:
            self.texts += shown
        if exit_code is not None:
            assert result.exit_code == exit_code, (args, result.output)
        assert "Traceback" not in result.stderr or "--debug" in args, (args, result.stderr)
        return result

    def both(self, *args: str, exit_code: int = 1, input: str | None = None) -> None:
        """A failing command, plain and with --debug (which shows the traceback)."""
        self.run(*args, exit_code=exit_code, input=input)
        result = self.run("--debug", *args, exit_code=exit_code, input=input)
        assert result.stderr.startswith("Traceback") or "Error:" in result.stderr


def quietly_read(url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The stored values and the history rows, read by the test with logging off (the
    test's own reads are not mailprov's output)."""
    logging.disable(logging.CRITICAL)
    try:
        with engine_for(url) as engine, engine.connect() as conn:
            users = TABLES.users
            stored = {code: value for code, value in conn.execute(
                select(users.c.code, users.c.smtp_password)) if value is not None}
            history = [dict(row) for row in conn.execute(select(TABLES.history)).mappings()]
    finally:
        logging.disable(logging.NOTSET)
    return stored, history


def test_a_set_password_appears_nowhere(db_url: str, tmp_path: Path, smtp_lab: SmtpLab,
                                        memory_keyring: MemoryKeyring, all_logs: Records,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_SECRET_KEY", "MAILPROV_DB_URL", "MAILPROV_PLAN_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(ACCOUNTS, LEAK_LOGIN, PASSWORD)  # the lab server accepts it
    codes = sandbox(db_url, users=12)
    third, fourth, fifth = codes[2], codes[3], codes[4]
    out = Everything()
    port = smtp_lab.starttls.port

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # COMPTA and COORD send through the lab server, with `.test` logins that no file
        # may hold (so the files leave them alone); two more users have overrides from files
        write_config(tmp_path, db_url, users={third: smtp_user(third),
                                              fourth: smtp_user(fourth)})
        out.run("apply", "--auto-approve")
        for code, login in (("COMPTA", LEAK_LOGIN), ("COORD", ECHO_LOGIN)):
            update_user(db_url, code, mail_override=True, smtp_username=login,
                        from_address=login, smtp_server=NAME, smtp_port=port, smtp_ssl=True)
        out.run("key", "init")
        out.run("key", "status")
        out.run("key", "init", "--plan")
        exported = out.run("key", "export").stdout.strip()

        # the passwords, one on standard input, one at the prompt, one more for the third
        out.run("password", "set", "COMPTA", "--stdin", input=PASSWORD + "\n")
        out.run("password", "set", "COORD", input=f"{ECHO_PASSWORD}\n{ECHO_PASSWORD}\n")
        out.run("password", "set", third, "--stdin", input=PASSWORD + "\n")
        out.run("password", "set", fourth, input=f"{PASSWORD}\n{PASSWORD}\n")
        stored, _ = quietly_read(db_url)
        assert set(stored) == {"COMPTA", "COORD", third, fourth}
        secrets = [PASSWORD, ECHO_PASSWORD, TYPED_WRONG, *stored.values()]

        # plans that name the users whose passwords a change affects
        write_config(tmp_path, db_url, users={
            third: {"smtp": False}, fourth: smtp_user(fourth, username="new@example.com"),
            fifth: smtp_user(fifth)})
        out.run("validate")
        out.run("validate", "--format", "json")
        for fmt in ("text", "json", "markdown", "html"):
            out.run("plan", "--format", fmt)
        out.run("plan", "--detailed-exitcode", exit_code=2)
        out.run("ci", "comment", "--json")
        notes = json.loads(out.run("plan", "--format", "json").stdout)["password_notes"]
        assert [n["code"] for n in notes] == [
            code for _user, code in sorted([(third, "password-stays"),
                                            (fourth, "password-for-old-login"),
                                            (fifth, "needs-password")])]
        out.run("plan", "--out", "next.plan.json")
        for fmt in ("text", "json", "markdown", "html"):
            out.run("show", "next.plan.json", "--format", fmt)
        out.run("ci", "comment", "next.plan.json", "--json")
        out.run("ci", "comment", "--gitlab", "next.plan.json")
        out.run("ci", "summary", "next.plan.json")
        out.run("apply", "next.plan.json")
        for fmt in ("text", "json", "markdown", "html"):
            out.run("drift", "--format", fmt, exit_code=None)
        out.run("plan")
        out.run("import", exit_code=1)  # the lab's `.test` logins are no valid config...
        out.run("import", "--allow-invalid")  # ... and are written commented out
        out.run("import", "--allow-invalid", "-o", "live.yaml")
        for code in ("COMPTA", "COORD", third, fourth, fifth):
            out.run("explain", code)
            out.run("explain", code, "--format", "json")
        out.run("history")
        out.run("history", "--limit", "3")
        out.run("history", "--format", "json")
        for row in quietly_read(db_url)[1]:
            out.run("history", "--show", str(row["id"]))
        out.run("init", "repo", "--from-db", db_url, exit_code=1)  # the `.test` logins
        for fmt in ("text", "json"):
            out.run("password", "status", "--format", fmt)

        # test-send: success, check, debug transcripts, JSON, a hostile server, --all
        cafile = ("--cafile", smtp_lab.cafile)
        assert "message accepted" in out.run("test-send", "COMPTA", "--to", TO, *cafile).stdout
        out.run("test-send", "COMPTA", "--to", TO, "--debug", *cafile)
        out.run("--debug", "test-send", "COMPTA", "--check", "--format", "json", *cafile)
        out.run("test-send", "COMPTA", "--check", "--tls", "none", "--debug", *cafile,
                exit_code=1)
        result = out.run("test-send", "COORD", "--to", TO, "--debug", *cafile, exit_code=1)
        assert "rejected *** (***)" in result.stdout  # the echo server quoted it: masked
        out.run("test-send", "COORD", "--check", "--format", "json", "--debug", *cafile,
                exit_code=1)
        out.run("test-send", "--all", "--check", "--debug", *cafile, exit_code=1)
        out.run("test-send", "--all", "--to", TO, "--format", "json", "--debug", *cafile,
                exit_code=1)
        out.run("test-send", "COMPTA", "--to", TO, "--ask-password", "--debug", *cafile,
                input=TYPED_WRONG + "\n", exit_code=1)

        # errors users meet
        out.both("password", "set", "COMPTA", input=f"{PASSWORD}\n{PASSWORD}x\n")
        out.both("password", "set", codes[6], "--stdin", input=PASSWORD + "\n")
        out.both("password", "set", "NOBODY", "--stdin", input=PASSWORD + "\n")
        out.both("test-send", codes[6], "--to", TO)
        monkeypatch.setenv("MAILPROV_SECRET_KEY", generate_key())  # the wrong key
        out.both("test-send", "COMPTA", "--to", TO, *cafile)
        out.both("test-send", "COMPTA", "--check")
        out.run("test-send", "--all", "--check", "--format", "json", *cafile, exit_code=1)
        out.run("password", "status")
        out.run("key", "status")
        out.both("key", "import", input=PASSWORD + "\n")
        out.both("key", "import", input=stored["COMPTA"] + "\n")
        monkeypatch.setenv("MAILPROV_SECRET_KEY", PASSWORD)  # a password pasted as a key
        out.both("test-send", "COMPTA", "--check")
        out.both("password", "set", "COMPTA", "--stdin", input=PASSWORD + "\n")
        monkeypatch.delenv("MAILPROV_SECRET_KEY")
        out.run("password", "clear", third)
        out.run("history")

    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("maestro")]
    assert {p.name for p in files} >= {"next.plan.json", "live.yaml", "mailprov.yaml"}
    _, history = quietly_read(db_url)
    assert [row["summary"] for row in history if row["summary"].startswith("password")] == [
        "password set for COMPTA", "password set for COORD", f"password set for {third}",
        f"password set for {fourth}", f"password cleared for {third}"]
    everything = "\n".join([
        *out.texts, *(p.read_text(encoding="utf-8", errors="replace") for p in files),
        *all_logs.texts, repr(history),
        *(f"{w.category.__name__}: {w.message}" for w in caught)])
    assert "SELECT" in everything and "Row (" in everything  # statements and rows were logged
    assert "password set for COMPTA" in everything and "STARTTLS" in everything
    for secret in secrets:
        assert secret not in everything, f"{secret[:10]}... leaked"
    assert exported == memory_keyring.secrets[("mailprov", "secret-key")]
    assert exported not in everything  # the key: only in `key export`'s own output
    assert json.dumps(PASSWORD)[1:-1] not in everything  # nor its JSON-escaped form

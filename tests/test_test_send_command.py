"""`mailprov test-send` against real SMTP servers on 127.0.0.1 (tests/smtpserver.py): the
user's settings and stored password come from a real database, the password is decrypted
by the real codec, and the servers verify what they are sent."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import mailprov, mailprov_process
from dbhelpers import passwords, sandbox, update_user, write_config
from keyring_backend import MemoryKeyring
from smtpserver import ACCOUNTS, NAME, SmtpLab

from mailprov.passwords.keys import generate_key

COMPTA = "compta@example.test"
TO = "it@example.test"
TIME = r"\s+\d+\.\d ms"
BAD_CREDENTIALS = (
    "Advice: localhost rejected the login {login} or its password. Check the login (often the "
    "full e-mail address) and have the user enter the password again in maestro* (Préférences "
    "> Courriel > Gestion de mon compte) or with `mailprov password set`.")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_SECRET_KEY", "MAILPROV_DB_URL", "MAILPROV_PLAN_KEY"):
        monkeypatch.delenv(name, raising=False)


def point_at(url: str, code: str, login: str, port: int, *, ssl: bool = True) -> None:
    """Give `code` an override on the lab server, as maestro* stores one (the test's own
    `.test` addresses cannot be written through a configuration file)."""
    update_user(url, code, mail_override=True, smtp_username=login, from_address=login,
                smtp_server=NAME, smtp_port=port, smtp_ssl=ssl)


def target(url: str, folder: Path) -> list[str]:
    codes = sandbox(url, users=25)
    write_config(folder, url, general={"client": "outlook"})
    assert mailprov("key", "init").exit_code == 0
    return codes


def set_password(code: str, password: str) -> None:
    result = mailprov("password", "set", code, "--stdin", input=password + "\n")
    assert result.exit_code == 0, result.output


def test_sends_with_the_stored_password(db_url: str, tmp_path: Path, smtp_lab: SmtpLab,
                                        memory_keyring: MemoryKeyring) -> None:
    target(db_url, tmp_path)
    port = smtp_lab.starttls.port
    point_at(db_url, "COMPTA", COMPTA, port)
    set_password("COMPTA", ACCOUNTS[COMPTA])

    result = mailprov("test-send", "COMPTA", "--to", TO, "--cafile", smtp_lab.cafile)
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"COMPTA (Comptabilité): localhost:{port} STARTTLS: message accepted"
    patterns = [
        rf"  ok      resolve  {TIME}  127\.0\.0\.1",
        rf"  ok      connect  {TIME}  127\.0\.0\.1:{port}",
        rf"  ok      greeting {TIME}  220 localhost Python SMTP .+",
        rf"  ok      ehlo     {TIME}  250 localhost \| .*STARTTLS.*",
        rf"  ok      starttls {TIME}  TLSv1\.[23], .+",
        rf"  ok      ehlo     {TIME}  TLS \| 250 localhost \| .*AUTH LOGIN PLAIN.*",
        rf"  ok      auth     {TIME}  LOGIN {COMPTA} \| 235 2\.7\.0 Authentication successful",
        rf"  ok      mail     {TIME}  {COMPTA} \| 250 OK",
        rf"  ok      rcpt     {TIME}  {TO} \| 250 OK",
        rf"  ok      data     {TIME}  \d+ bytes \| 250 2\.0\.0 OK queued",
        rf"  ok      quit     {TIME}  221 Bye",
        r"Message-ID: <[^>]+@example\.test>",
    ]
    assert len(lines) == 1 + len(patterns), result.stdout
    for line, pattern in zip(lines[1:], patterns, strict=True):
        assert re.fullmatch(pattern, line), (pattern, line)

    message_id = lines[-1].removeprefix("Message-ID: ")
    [received] = smtp_lab.starttls.mailbox.by_message_id(message_id)
    assert (received.login, received.mail_from, received.rcpt_tos) == (COMPTA, COMPTA, [TO])
    message = received.message
    assert message["From"] == COMPTA and message["To"] == TO
    assert message["Subject"] == ("Test d'envoi maestro* – COMPTA (Comptabilité) / maestro* "
                                  "test message")
    assert message["Date"] and message["X-Mailer"] == "mailprov test-send"
    body = message.get_content()
    assert "  maestro* database: db" in body.splitlines()
    assert ACCOUNTS[COMPTA] not in received.content.decode()


def test_a_wrong_password_gets_the_535_advice(sqlite_url: str, tmp_path: Path,
                                              smtp_lab: SmtpLab,
                                              memory_keyring: MemoryKeyring) -> None:
    target(sqlite_url, tmp_path)
    point_at(sqlite_url, "COMPTA", COMPTA, smtp_lab.starttls.port)
    set_password("COMPTA", "not-the-password")
    result = mailprov("test-send", "COMPTA", "--to", TO, "--cafile", smtp_lab.cafile)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (f"COMPTA (Comptabilité): localhost:{smtp_lab.starttls.port} STARTTLS: "
                        "failed at auth")
    assert re.fullmatch(rf"  failed  auth     {TIME}  535 5\.7\.8 Authentication credentials "
                        r"invalid", lines[7])
    assert lines[-2:] == ["Error: 535 5.7.8 Authentication credentials invalid",
                          BAD_CREDENTIALS.format(login=COMPTA)]


def test_check_connects_and_logs_in_without_sending(sqlite_url: str, tmp_path: Path,
                                                    smtp_lab: SmtpLab,
                                                    memory_keyring: MemoryKeyring) -> None:
    target(sqlite_url, tmp_path)
    login = "jtremblay@example.test"
    point_at(sqlite_url, "COORD", login, smtp_lab.starttls.port)
    set_password("COORD", ACCOUNTS[login])
    count = len(smtp_lab.starttls.mailbox.from_login(login))
    result = mailprov("test-send", "COORD", "--check", "--cafile", smtp_lab.cafile)
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == (f"COORD (Coordination de chantier): localhost:{smtp_lab.starttls.port} "
                        "STARTTLS: connection and login OK")
    assert [line.split()[1] for line in lines[1:]] == [
        "resolve", "connect", "greeting", "ehlo", "starttls", "ehlo", "auth", "quit"]
    assert len(smtp_lab.starttls.mailbox.from_login(login)) == count

    # --tls tries another mode than maestro*'s, and says so
    point_at(sqlite_url, "COORD", login, smtp_lab.implicit.port)
    result = mailprov("test-send", "COORD", "--check", "--tls", "implicit", "--cafile",
                      smtp_lab.cafile, "--format", "json")
    assert result.exit_code == 0
    [report] = json.loads(result.stdout)["results"]
    assert (report["tls"], report["authenticated"], report["sent"]) == ("implicit", True, False)
    assert [n["code"] for n in report["notices"]] == ["tls-override"]
    # without the test CA, the certificate is refused as maestro*'s workstations would
    result = mailprov("test-send", "COORD", "--check", "--tls", "implicit")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-2:] == [
        "Advice: The certificate of localhost is not signed by an authority this machine "
        "trusts (self-signed, or a private CA). Install that CA in the trust store of "
        "maestro*'s workstations, and test again with --cafile FILE (the CA certificate, PEM).",
        "Note: This check used implicit where maestro* uses starttls: maestro* itself would "
        "not connect this way."]


def test_ask_password_uses_what_is_typed_and_stores_nothing(sqlite_url: str, tmp_path: Path,
                                                            smtp_lab: SmtpLab,
                                                            memory_keyring: MemoryKeyring
                                                            ) -> None:
    target(sqlite_url, tmp_path)
    point_at(sqlite_url, "COMPTA", COMPTA, smtp_lab.starttls.port)
    set_password("COMPTA", "stored-but-wrong")
    before = passwords(sqlite_url)
    result = mailprov("test-send", "COMPTA", "--to", TO, "--cafile", smtp_lab.cafile,
                      "--ask-password", "--debug", input=ACCOUNTS[COMPTA] + "\n")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"SMTP password of COMPTA (login {COMPTA}; not stored): "
    assert lines[1].endswith("STARTTLS: message accepted")
    transcript = lines[lines.index("SMTP transcript (passwords masked):") + 1:]
    assert any(line.endswith(" C: AUTH LOGIN") for line in transcript)
    assert sum(line.endswith(" C: ***") for line in transcript) == 2  # login, password
    assert ACCOUNTS[COMPTA] not in result.output
    assert passwords(sqlite_url) == before


def test_all_checks_every_smtp_user_concurrently(sqlite_url: str, tmp_path: Path,
                                                 smtp_lab: SmtpLab,
                                                 memory_keyring: MemoryKeyring) -> None:
    codes = target(sqlite_url, tmp_path)[:20]
    broken = codes[7]
    for index, code in enumerate(codes):
        login = f"user{index:02d}@example.test"
        point_at(sqlite_url, code, login, smtp_lab.starttls.port)
        set_password(code, "wrong" if code == broken else ACCOUNTS[login])
    recipient = "all-20@example.test"

    result = mailprov("test-send", "--all", "--to", recipient, "--cafile", smtp_lab.cafile,
                      "--parallel", "8")
    assert (result.exit_code, result.stderr) == (1, "")  # no progress bar: not a terminal
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"USER +SERVER +TLS +RESULT +TIME", lines[0])
    rows = {line.split()[0]: line for line in lines[1:21]}
    assert list(rows) == sorted(codes)
    for code, line in rows.items():
        outcome = ("failed at auth: bad-credentials" if code == broken
                   else "message accepted")
        assert re.fullmatch(rf"{code} +localhost:{smtp_lab.starttls.port} +STARTTLS +"
                            rf"{outcome} +\d+ ms", line), line
    assert lines[21:] == [
        "", f"{broken} ({sandbox_name(sqlite_url, broken)}): localhost:"
        f"{smtp_lab.starttls.port} STARTTLS: failed at auth",
        "Error: 535 5.7.8 Authentication credentials invalid",
        BAD_CREDENTIALS.format(login="user07@example.test"), "",
        "20 users checked: 19 passed, 1 failed."]
    received = [r for r in smtp_lab.starttls.mailbox.received if r.rcpt_tos == [recipient]]
    assert sorted(r.login for r in received) == sorted(
        f"user{i:02d}@example.test" for i in range(20) if i != 7)

    result = mailprov("test-send", "--all", "--check", "--cafile", smtp_lab.cafile, "--format",
                      "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["target"], data["ok"]) == ("db", False)
    assert [r["user"]["code"] for r in data["results"]] == sorted(codes)
    assert [r["ok"] for r in data["results"]] == [c != broken for c in sorted(codes)]
    failed = next(r for r in data["results"] if not r["ok"])
    assert (failed["failure"]["reason"], failed["failure"]["code"]) == ("bad-credentials", 535)
    assert all(r["authenticated"] and not r["sent"] for r in data["results"] if r["ok"])
    for login, password in ACCOUNTS.items():
        assert password not in result.stdout, login


def sandbox_name(url: str, code: str) -> str:
    from dbhelpers import users

    return str(users(url)[code]["name"])


def test_the_progress_bar_is_drawn_on_a_terminal_only(sqlite_url: str, tmp_path: Path,
                                                      smtp_lab: SmtpLab,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", key)
    codes = sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, general={"client": "outlook"})
    for index, code in enumerate(codes[:3]):
        login = f"user{index:02d}@example.test"
        point_at(sqlite_url, code, login, smtp_lab.starttls.port)
        set_password(code, ACCOUNTS[login])
    args = ("test-send", "--all", "--check", "--cafile", smtp_lab.cafile)
    env = {"MAILPROV_SECRET_KEY": key}
    piped = mailprov_process(*args, cwd=tmp_path, env=env)
    assert (piped.returncode, piped.stderr) == (0, "")
    assert piped.stdout.endswith("3 users checked: 3 passed, 0 failed.\n")

    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROV_")}
    environment.update(env, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    process = subprocess.Popen([sys.executable, "-m", "mailprov", *args], cwd=tmp_path,
                               env=environment, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=terminal, text=True)
    os.close(terminal)
    stdout, _ = process.communicate(timeout=60)
    drawn = b""
    while select.select([controller], [], [], 0.5)[0]:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    assert process.returncode == 0
    assert stdout.endswith("3 users checked: 3 passed, 0 failed.\n")  # the table: stdout
    assert b"Checking" in drawn and b"3/3" in drawn  # the bar: the terminal only


def test_a_wrong_key_is_a_clear_error(sqlite_url: str, tmp_path: Path,
                                      memory_keyring: MemoryKeyring,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target(sqlite_url, tmp_path)
    point_at(sqlite_url, "COMPTA", COMPTA, 25)
    set_password("COMPTA", "pw")
    monkeypatch.setenv("MAILPROV_SECRET_KEY", generate_key())
    for args in (["test-send", "COMPTA", "--check"],
                 ["test-send", "COMPTA", "--to", "it@example.com"]):
        result = mailprov(*args)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            "Error: the stored password of COMPTA was encrypted with another key: import the "
            "right key with `mailprov key import`, or set the password again\n")
    result = mailprov("password", "set", "COMPTA", "--stdin", input="again\n")
    assert result.exit_code == 0  # setting it again, with the key in use, is the fix


def test_users_that_cannot_be_tested_are_told_why(sqlite_url: str, tmp_path: Path,
                                                  memory_keyring: MemoryKeyring) -> None:
    codes = target(sqlite_url, tmp_path)
    cases = [
        (["test-send", codes[6], "--to", TO],
         f"Error: {codes[6]} does not send through SMTP on target 'db': it follows the general "
         "default, outlook (the Outlook profile of the Windows user), which mailprov cannot "
         "test. Give the user an `smtp` section under `users:` (bi-mode) and run `mailprov "
         "apply` to make it send through SMTP\n"),
        (["test-send", "COMPTA"], "Error: no recipient: give --to ADDRESS to send the test "
         "message, or --check to connect and log in without sending\n"),
        (["test-send", "COMPTA", "--to", "it@example.test\r\nRSET"],
         "Error: --to 'it@example.test\\r\\nRSET' is not an e-mail address: The part after the "
         "@-sign contains invalid characters: U+000A, U+000D.\n"),
        (["test-send", "COMPTA", "--all", "--check"],
         "Error: name one USER, or give --all (not both)\n"),
        (["test-send", "--all", "--check", "--ask-password"],
         "Error: --ask-password is for one user; with --all the stored passwords are used\n"),
        (["test-send", "--all", "--check"], "Error: no user sends through SMTP with settings of "
         "their own on target 'db': nothing to test. Give users an `smtp` section under "
         "`users:` and run `mailprov apply`\n"),
        (["test-send", "COMPTA", "--check", "--cafile", "missing.pem"],
         "Error: cannot read the CA file missing.pem: No such file or directory; give a CA "
         "certificate in PEM format\n"),
    ]
    for args, stderr in cases:
        result = mailprov(*args)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", stderr), args
    update_user(sqlite_url, "COMPTA", mail_override=False)
    write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": {
        "server": "smtp.example.com", "port": 587, "ssl": True}})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    result = mailprov("test-send", "COMPTA", "--check")
    assert result.stderr == (
        "Error: COMPTA has no SMTP section of its own on target 'db': it follows the general "
        "SMTP account (smtp.example.com:587), which gives maestro* no login or From address "
        "for this user, so there is nothing to send with. Give the user an `smtp` section "
        "(username and from) under `users:` and run `mailprov apply`, then test again\n")


def test_incomplete_settings_are_reported_beside_the_others(sqlite_url: str, tmp_path: Path,
                                                            smtp_lab: SmtpLab,
                                                            memory_keyring: MemoryKeyring
                                                            ) -> None:
    codes = target(sqlite_url, tmp_path)
    point_at(sqlite_url, "COMPTA", COMPTA, smtp_lab.starttls.port)
    set_password("COMPTA", ACCOUNTS[COMPTA])
    update_user(sqlite_url, codes[5], mail_override=True, smtp_username="x@example.test",
                from_address="x@example.test", smtp_server=None, smtp_port=None, smtp_ssl=None)
    message = (f"neither the SMTP section of {codes[5]} nor the general SMTP account on "
               "target 'db' has a server and a port, so maestro* cannot send: set `server` and "
               "`port` (under `general.smtp`, or in the user's `smtp` section) and run "
               "`mailprov apply`")
    result = mailprov("test-send", codes[5], "--check")
    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")
    result = mailprov("test-send", "--all", "--check", "--cafile", smtp_lab.cafile,
                      "--format", "json")
    assert result.exit_code == 1
    results = {r["user"]["code"]: r for r in json.loads(result.stdout)["results"]}
    assert sorted(results) == sorted(["COMPTA", codes[5]])
    assert results["COMPTA"]["ok"] is True
    assert results[codes[5]]["failure"] == {
        "step": "settings", "reason": "incomplete-settings", "code": None, "enhanced": None,
        "text": message, "exception": None}

"""Connections: passwords in URLs, bounded waits, SQLite files opened read-only, refused
logins and `mailprov login`.

The servers that misbehave are real TCP servers started here (tests/fakeservers.py) and
spoken to by the real drivers; the lock and statement timeouts are hit on the real
PostgreSQL and MariaDB servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import SMTP, engine_for, sandbox, write_config
from fakeservers import mysql_greeting_then_stall, postgres_refusing_login, silent, tcp_server
from keyring_backend import KEYRING_FILE_ENV
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from mailprov import api
from mailprov.cli import cli
from mailprov.config.urls import redact

TESTS = Path(__file__).resolve().parent
NOT_ENCODED = (
    "Error: the password in the database URL {scheme}://someone:...@... is not percent-encoded "
    "(a raw @, :, /, ?, #, % or space in it makes the URL ambiguous): encode it with "
    "urllib.parse.quote(password, safe=''), or leave it out of the URL and use `mailprov "
    "login TARGET` or MAILPROV_DB_PASSWORD\n")


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_DB_PASSWORD", "MAILPROV_DB_TIMEOUT",
                 "MAILPROV_DB_CONNECT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    return lambda *args, **kw: runner.invoke(cli, list(args), **kw)


# --- passwords that are not percent-encoded ---------------------------------------------------

@pytest.mark.parametrize("raw", ["Ab@Pw1234x", "Ab:Pw1234x", "Ab/Pw1234x", "Ab?Pw1234x",
                                 "Ab Pw1234x", "Ab#Pw1234x", "Ab%Pw1234x"])
def test_a_password_that_is_not_percent_encoded_is_refused_unseen(run, raw, monkeypatch):
    url = f"mysql://someone:{raw}@db.invalid/maestro"
    attempts = [("import", "-t", url), ("explain", "COMPTA", "-t", url), ("history", "-t", url),
                ("sandbox", url), ("import", "--db", url), ("login", url)]
    for args in attempts:
        started = time.monotonic()
        result = run(*args)
        assert time.monotonic() - started < 2  # refused before any DNS lookup or connection
        assert (result.exit_code, result.stdout) == (1, ""), args
        assert result.stderr == NOT_ENCODED.format(scheme="mysql"), args
    monkeypatch.setenv("MAILPROV_DB_URL", url.replace("mysql:", "postgresql:"))
    result = run("import")
    assert result.stderr == NOT_ENCODED.format(scheme="postgresql")
    assert "Pw1234x" not in result.output


def test_a_percent_encoded_password_is_accepted(run, postgres_url):
    from urllib.parse import quote

    sandbox(postgres_url, users=3)
    encoded = postgres_url.replace("postgres@", f"postgres:{quote('Ab@Pw/1 2?:#%', safe='')}@")
    result = run("import", "-t", encoded)
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert f"    url: {postgres_url}\n" in result.stdout


def test_a_file_url_with_a_raw_password_is_an_error(run, tmp_path):
    write_config(tmp_path, "postgresql://someone:Ab/Pw1234x@db.example.com/maestro")
    result = run("validate")
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml:4:10: targets.db.url: the URL contains a password: remove it; the "
        "database password comes from `mailprov login db` or MAILPROV_DB_PASSWORD\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")
    assert "Pw1234x" not in result.output


# --- bounded waits ------------------------------------------------------------------------------

@pytest.mark.parametrize("server", [silent, mysql_greeting_then_stall],
                         ids=["silent", "greeting-then-stall"])
def test_a_mysql_server_that_never_answers_is_given_up_on(run, monkeypatch, server):
    monkeypatch.setenv("MAILPROV_DB_TIMEOUT", "1")
    with tcp_server(server) as port:
        url = f"mysql+pymysql://root@127.0.0.1:{port}/maestro"
        started = time.monotonic()
        result = run("import", "-t", url)
        elapsed = time.monotonic() - started
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: connecting to {url} failed: the server did not answer "
                             "within 1 s (the read timeout, MAILPROV_DB_TIMEOUT)\n")
    assert elapsed < 4


def test_a_postgresql_server_that_never_answers_is_given_up_on(run, monkeypatch):
    monkeypatch.setenv("MAILPROV_DB_CONNECT_TIMEOUT", "1")  # libpq waits 2 s at least
    with tcp_server(silent) as port:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/maestro"
        started = time.monotonic()
        result = run("explain", "COMPTA", "-t", url)
        elapsed = time.monotonic() - started
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"Error: connecting to {url} failed: could not connect within 2 s "
                             "(the connect timeout, MAILPROV_DB_CONNECT_TIMEOUT)\n")
    assert elapsed < 5


def hold_lock(url: str, statement: str, ready: threading.Event, done: threading.Event) -> None:
    """Another session holding a lock on app_user until `done`."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(statement))  # inside the transaction SQLAlchemy began
            else:
                conn.exec_driver_sql(statement)
            ready.set()
            done.wait(30)
            if engine.dialect.name != "postgresql":
                conn.exec_driver_sql("UNLOCK TABLES")
            conn.rollback()
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend,statement,limit", [
    pytest.param("postgres", "LOCK TABLE app_user IN ACCESS EXCLUSIVE MODE",
                 "the statement did not finish within 1 s (the statement timeout, "
                 "MAILPROV_DB_TIMEOUT)", marks=pytest.mark.postgres, id="postgres"),
    pytest.param("mariadb", "LOCK TABLES app_user WRITE",
                 "the server did not answer within 1 s (the read timeout, MAILPROV_DB_TIMEOUT)",
                 marks=pytest.mark.mariadb, id="mariadb"),
])
def test_a_read_that_waits_too_long_is_given_up_on(run, monkeypatch, temporary_database,
                                                   backend, statement, limit):
    with temporary_database(backend) as url:
        sandbox(url, users=5)
        ready, done = threading.Event(), threading.Event()
        locker = threading.Thread(target=hold_lock, args=(url, statement, ready, done))
        locker.start()
        try:
            assert ready.wait(10)
            monkeypatch.setenv("MAILPROV_DB_TIMEOUT", "1")
            started = time.monotonic()
            result = run("import", "-t", url)
            elapsed = time.monotonic() - started
        finally:
            done.set()
            locker.join(30)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == f"Error: reading {redact(url)} failed: {limit}\n"
        assert elapsed < 4


def test_sessions_that_wait_for_locks_get_the_lock_timeout_on_top(postgres_url, monkeypatch):
    monkeypatch.setenv("MAILPROV_DB_TIMEOUT", "1.5")
    sandbox(postgres_url, users=3)
    target = api.resolve_target(None, postgres_url)
    with api.open_database(target, read_only=True) as db, db.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1500ms"
    with api.open_database(target, lock_timeout=5) as db, db.connect() as conn:
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "6500ms"


@pytest.mark.parametrize("value", ["abc", "0", "-3", "nan", "100000"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_refused(run, sqlite_url, monkeypatch,
                                                              value):
    sandbox(sqlite_url, users=3)
    monkeypatch.setenv("MAILPROV_DB_CONNECT_TIMEOUT", value)
    result = run("import", "-t", sqlite_url)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: MAILPROV_DB_CONNECT_TIMEOUT must be a number of seconds above 0 and at most "
        f"86400 (for example 10), not '{value}'\n")


# --- SQLite: read-only, and never created by reading ---------------------------------------------

def test_reading_a_missing_sqlite_file_neither_creates_it_nor_blames_a_table(run, tmp_path):
    missing = tmp_path / "does-not-exist.db"
    url = "sqlite:///does-not-exist.db"
    message = (f"Error: the SQLite database {{url}} does not exist (no file {missing}): check the "
               "path (in a configuration file it is relative to the file's folder), or create "
               "a test database with `mailprov sandbox URL`\n")
    for args in (("import", "-t", url), ("explain", "COMPTA", "-t", url), ("history", "-t", url)):
        result = run(*args)
        assert (result.exit_code, result.stdout) == (1, ""), args
        assert result.stderr == message.format(url=f"sqlite:///{missing}"), args  # resolved
    write_config(tmp_path, url, general={"client": "smtp", "smtp": SMTP})
    for args in (("plan",), ("apply", "--auto-approve")):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.stderr == message.format(url=f"sqlite:///{missing}"), args
    assert not missing.exists()

    # sandbox creates it; then every command reads it
    assert run("sandbox", url, "--users", "5").exit_code == 0
    assert run("plan").exit_code == 0
    assert run("apply", "--auto-approve").exit_code == 0
    assert run("history", "-t", url).stdout.startswith("#1  ")


def test_reading_commands_open_sqlite_read_only(sqlite_url):
    sandbox(sqlite_url, users=3)
    target = api.resolve_target(None, sqlite_url)
    with api.open_database(target, read_only=True) as db, db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM app_user").scalar() == 3
        with pytest.raises(OperationalError, match="attempt to write a readonly database"):
            conn.exec_driver_sql("CREATE TABLE scratch (a INTEGER)")
    with api.open_database(target) as db, db.connect() as conn:  # apply's engine writes
        conn.exec_driver_sql("CREATE TABLE scratch (a INTEGER)")


# --- refused logins --------------------------------------------------------------------------

def test_a_refused_mariadb_login_says_how_to_give_the_password(run, mariadb_url, tmp_path,
                                                               monkeypatch):
    user = f"mp_{uuid.uuid4().hex[:8]}"
    with engine_for(mariadb_url) as engine, engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'Pw-42'")
        conn.exec_driver_sql(f"GRANT ALL ON *.* TO '{user}'@'127.0.0.1'")
    try:
        sandbox(mariadb_url, users=3)
        url = mariadb_url.replace("root@", f"{user}@")
        write_config(tmp_path, url)
        result = run("import")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            f"Error: connecting to {url} failed: (1045, \"Access denied for user "
            f"'{user}'@'127.0.0.1' (using password: NO)\"); give the database password with "
            "`mailprov login db` (stored in the OS keyring) or in MAILPROV_DB_PASSWORD\n")
        result = run("import", "-t", url)
        assert result.stderr.endswith(
            f"; give the database password with `mailprov login '{url}'` (stored in the OS "
            "keyring) or in MAILPROV_DB_PASSWORD\n")
        monkeypatch.setenv("MAILPROV_DB_PASSWORD", "Pw-42")
        result = run("import")
        assert (result.exit_code, result.stderr) == (0, ""), result.output
    finally:
        with engine_for(mariadb_url) as engine, engine.begin() as conn:
            conn.exec_driver_sql(f"DROP USER '{user}'@'127.0.0.1'")


def test_a_refused_postgresql_login_says_how_to_give_the_password(run, tmp_path):
    with tcp_server(postgres_refusing_login("mailprov")) as port:
        url = f"postgresql+psycopg://mailprov@127.0.0.1:{port}/maestro"
        write_config(tmp_path, url, name="prod.yaml")
        result = run("import", "-c", "prod.yaml")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: connecting to {url} failed: connection failed: connection to server at "
        f"\"127.0.0.1\", port {port} failed: FATAL: password authentication failed for user "
        "\"mailprov\"; give the database password with `mailprov login db` (stored in the OS "
        "keyring) or in MAILPROV_DB_PASSWORD\n")


# --- mailprov login --------------------------------------------------------------------------

def test_login_on_a_sqlite_target_has_nothing_to_store(run, tmp_path, memory_keyring):
    write_config(tmp_path, "sqlite:///maestro.db")
    result = run("login", "db", input="pw\npw\n")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == ("Error: target 'db' is a SQLite database, which has no password: "
                             "there is nothing to store\n")
    assert memory_keyring.secrets == {}


def mailprov(args: list[str], cwd: Path, keyring_file: Path, **kwargs: object
             ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(TESTS),
           "PYTHON_KEYRING_BACKEND": "keyring_backend.FileKeyring",
           KEYRING_FILE_ENV: str(keyring_file)}
    return subprocess.Popen([sys.executable, "-m", "mailprov", *args], cwd=cwd, env=env,
                            **kwargs)  # type: ignore[call-overload]


def test_login_without_a_terminal_fails_with_one_line(tmp_path):
    write_config(tmp_path, "postgresql://mailprov@db.example.com/maestro")
    keyring_file = tmp_path / "keyring.json"
    proc = mailprov(["login", "db"], tmp_path, keyring_file, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate(b"secret\nsecret\n", timeout=60)
    assert (proc.returncode, stdout) == (1, b"")
    assert stderr.decode() == (
        "Error: mailprov login asks for the password on a terminal, and standard input is not "
        "one: run it in a terminal, or give the password in MAILPROV_DB_PASSWORD\n")
    assert not keyring_file.exists()


def test_login_on_a_terminal_stores_the_password(tmp_path):
    import pty

    write_config(tmp_path, "postgresql://mailprov@db.example.com/maestro")
    keyring_file = tmp_path / "keyring.json"
    master, slave = pty.openpty()
    proc = mailprov(["login", "db"], tmp_path, keyring_file, pass_fds=(slave,),
                    preexec_fn=lambda: os.login_tty(slave))
    os.close(slave)
    seen = b""
    try:
        for prompt in (b"Database password for 'db': ", b"Repeat for confirmation: "):
            while prompt not in seen:
                seen += os.read(master, 1024)
            os.write(master, b"S3cret-pty\n")
        assert proc.wait(timeout=60) == 0
        while b"keyring." not in seen:
            seen += os.read(master, 1024)
    finally:
        os.close(master)
    assert b"S3cret-pty" not in seen  # hidden input
    assert seen.decode().endswith("Stored the password of 'db' in the OS keyring.\r\n")
    assert json.loads(keyring_file.read_text()) == {"mailprov": {"target:db": "S3cret-pty"}}


@pytest.mark.parametrize("args", [
    ("drift", "-t", "sqlite:///nx.db"),
    ("history", "-t", "sqlite:///nx.db", "--show", "1"),
    ("init", "repo", "--from-db", "sqlite:///nx.db"),
    ("plan", "-t", "sqlite:///nx.db"),
])
def test_no_reading_command_creates_a_missing_sqlite_file(run, tmp_path, args):
    write_config(tmp_path, "sqlite:///nx.db", general={"client": "smtp", "smtp": SMTP})
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "does not exist (no file " in result.stderr
    assert not (tmp_path / "nx.db").exists()


def test_login_without_a_usable_keyring_says_so_before_asking(run, tmp_path):
    import keyring
    from keyring.backends import fail

    write_config(tmp_path, "postgresql://mailprov@db.example.com/maestro")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        result = run("login", "db", input="secret\nsecret\n")
    finally:
        keyring.set_keyring(previous)
    assert result.exit_code == 1
    assert "password" not in result.stdout.lower()  # never prompted
    assert result.stderr.startswith("Error: ")
    assert "MAILPROV_DB_PASSWORD" in result.stderr

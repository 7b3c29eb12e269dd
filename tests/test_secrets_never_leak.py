"""No secret ever leaves mailprov: not in output, files, errors, tracebacks, logs or history.

The secrets are distinctive random tokens: a database password given through the keyring
(`mailprov login` and ``set_db_password``), another one through MAILPROV_DB_PASSWORD, a third
one inside command-line URLs, and users' SMTP passwords written straight into their
smtp_password rows. Then every output mailprov can produce is collected: every command in
every format, saved plans, imported files, errors from dead ports, unknown hosts and
rejected passwords (with and without --debug), Python logging at DEBUG level (SQLAlchemy's
engine and pool included: statements, parameters and fetched rows), warnings, and the
mailprov_history rows. None of the tokens may appear anywhere.
"""

from __future__ import annotations

import io
import logging
import secrets as random_tokens
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, Table, create_engine, select, update
from sqlalchemy.engine import make_url

from mailprov import api
from mailprov.cli import cli
from mailprov.keystore import ENV_DB_PASSWORD as ENV_PASSWORD
from mailprov.keystore import set_db_password


def token(kind: str) -> str:
    return f"{kind}-{random_tokens.token_hex(12)}"


KEYRING_PW = token("keyringpw")
ENV_PW = token("envpw")
CLI_PW = token("clipw")
SMTP_PW = {("pg", "COMPTA"): token("smtppw"), ("pg", "MVACHON"): token("smtppw"),
           ("lite", "COMPTA"): token("smtppw"), ("lite", "MVACHON"): token("smtppw")}
ALL_SECRETS = (KEYRING_PW, ENV_PW, CLI_PW, *SMTP_PW.values())

DEAD_PG = "postgresql+psycopg://postgres@127.0.0.1:1/maestro"
NO_HOST_PG = "postgresql+psycopg://postgres@nohost.invalid:5432/maestro"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/mysql"  # real server; root has no password


def with_password(url: str, password: str) -> str:
    return make_url(url).set(password=password).render_as_string(hide_password=False)


class Collector:
    """Runs CLI commands and keeps everything they produced."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.texts: list[str] = []
        self.runner = CliRunner()

    def run(self, args: list[str], exit_code: int, stdin: str | None = None) -> Result:
        result = self.runner.invoke(cli, args, input=stdin)
        self.texts += [result.stdout, result.stderr, result.output]
        if result.exc_info is not None and not isinstance(result.exception, SystemExit):
            self.texts.append("".join(traceback.format_exception(*result.exc_info)))
        assert result.exit_code == exit_code, (args, result.output)
        return result

    def fails(self, args: list[str], message_start: str) -> Result:
        """A database failure: exit 1, one `Error:` line, a traceback only with --debug."""
        result = self.run(args, 1)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith(message_start), errors[0]
        assert ("Traceback (most recent call last)" in result.stderr) == ("--debug" in args)
        return result

    def keep_file(self, path: Path) -> None:
        self.texts.append(path.read_text(encoding="utf-8"))


def put_smtp_passwords(url: str, db: str) -> None:
    """As if users had typed them in maestro*: the test's own writes are not logged."""
    engine = create_engine(url)
    logging.disable(logging.CRITICAL)
    try:
        with engine.begin() as conn:
            users = Table("app_user", MetaData(), autoload_with=conn)
            for (where, code), value in SMTP_PW.items():
                if where == db:
                    conn.execute(update(users).where(users.c.code == code)
                                 .values(smtp_password=value))
    finally:
        engine.dispose()
        logging.disable(logging.NOTSET)


def history_rows(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            history = Table("mailprov_history", MetaData(), autoload_with=conn)
            return [dict(r._mapping) for r in conn.execute(select(history)
                                                           .order_by(history.c.id))]
    finally:
        engine.dispose()


def write_config(path: Path, targets: dict[str, str], users: dict[str, str]) -> str:
    path.write_text(yaml.safe_dump({
        "version": 1,
        "targets": {name: {"url": url} for name, url in targets.items()},
        "default_target": "pg",
        "general": {"client": "outlook",
                    "smtp": {"server": "smtp.example.com", "port": 587, "ssl": True}},
        "users": {code: {"smtp": {"username": login, "from": "compta@example.com"}}
                  for code, login in users.items()},
    }, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def debug_logs() -> Any:
    """Everything logged at DEBUG level anywhere, SQLAlchemy's engine and pool included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    names = ("sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.dialects")
    saved = [(root, root.level)] + [(logging.getLogger(n), logging.getLogger(n).level)
                                    for n in names]
    root.addHandler(handler)
    for logger, _ in saved:
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for logger, level in saved:
            logger.setLevel(level)


def test_no_secret_anywhere(postgres_url, sqlite_url, tmp_path, monkeypatch, memory_keyring,
                            debug_logs):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    out = Collector(tmp_path)
    pg_cli_url = with_password(postgres_url, CLI_PW)
    redacted_pg = make_url(postgres_url).render_as_string(hide_password=False)
    config = write_config(tmp_path / "mailprov.yaml",
                          {"pg": postgres_url, "lite": sqlite_url, "pgdead": DEAD_PG,
                           "pgnohost": NO_HOST_PG, "maria": MARIADB},
                          {"COMPTA": "compta@example.com", "MVACHON": "mvachon@example.com"})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        # Sandboxes, one of them through a URL that carries a password.
        result = out.run(["sandbox", pg_cli_url, "--users", "12", "--model", "1"], 0)
        assert result.stdout == f"Created a standard sandbox with 12 users in {redacted_pg}.\n"
        out.run(["sandbox", sqlite_url, "--users", "12", "--model", "1"], 0)
        put_smtp_passwords(postgres_url, "pg")
        put_smtp_passwords(sqlite_url, "lite")

        # --- database passwords from the keyring ----------------------------------------
        # CliRunner's stdin is no terminal: `mailprov login` would refuse it (test_login.py
        # runs it on a real pseudo-terminal)
        monkeypatch.setattr("mailprov.cli.secrets._stdin_is_terminal", lambda: True)
        result = out.run(["login", "pg", "-c", config], 0, stdin=f"{KEYRING_PW}\n{KEYRING_PW}\n")
        assert result.stdout.endswith("Stored the password of 'pg' in the OS keyring.\n")
        assert memory_keyring.secrets == {("mailprov", "target:pg"): KEYRING_PW}
        for name in ("maria", "pgdead", "pgnohost"):
            set_db_password(name, KEYRING_PW)
        with api.open_database(api.resolve_target(api.load_config([config]), "pg")) as db:
            assert db.url.password == KEYRING_PW  # the keyring password really is used

        out.run(["validate", "-c", config], 0)
        for target in ("pg", "lite"):
            for fmt in ("text", "json", "markdown"):
                out.run(["plan", "-c", config, "-t", target, "--format", fmt], 0)
            out.run(["plan", "-c", config, "-t", target, "--detailed-exitcode"], 2)
            out.run(["plan", "-c", config, "-t", target, "--out", f"{target}.plan.json"], 0)
            out.keep_file(tmp_path / f"{target}.plan.json")
        assert yaml.safe_load((tmp_path / "pg.plan.json").read_text())["target_url"] == \
            redacted_pg
        out.run(["apply", "pg.plan.json"], 0)
        out.run(["apply", "-c", config, "-t", "lite", "--auto-approve"], 0)
        out.run(["apply", "-c", config, "-t", "lite"], 0, stdin="yes\n")
        for target in ("pg", "lite"):
            out.run(["plan", "-c", config, "-t", target], 0)
            out.run(["history", "-c", config, "-t", target], 0)
            out.run(["rollback", "1", "-c", config, "-t", target, "--format", "markdown"], 0)
            out.run(["rollback", "1", "-c", config, "-t", target, "--out",
                     f"{target}.rollback.json"], 0)
            out.keep_file(tmp_path / f"{target}.rollback.json")
            out.run(["import", "-c", config, "-t", target], 0)
            out.run(["import", "-c", config, "-t", target, "-o", f"{target}.import.yaml"], 0)
            out.keep_file(tmp_path / f"{target}.import.yaml")
            for user in ("MVACHON", "COORD"):
                out.run(["explain", user, "-c", config, "-t", target], 0)
            result = out.run(["explain", "COMPTA", "-c", config, "-t", target], 0)
            assert "  password:   entered\n" in result.stdout

        # --- failing databases, password from the keyring, then from the environment ------
        def failures() -> None:
            for debug in ([], ["--debug"]):
                out.fails([*debug, "plan", "-c", config, "-t", "pgdead"],
                          f"Error: connecting to {DEAD_PG} failed: connection failed: ")
                out.fails([*debug, "plan", "-c", config, "-t", "pgnohost"],
                          f"Error: connecting to {NO_HOST_PG} failed: failed to resolve host ")
                out.fails([*debug, "plan", "-c", config, "-t", "maria"],
                          f"Error: connecting to {MARIADB} failed: (1045, \"Access denied for user "
                          "'root'@'127.0.0.1' (using password: YES)\")")
                out.fails([*debug, "history", "-c", config, "-t", "maria"], "Error: ")
                out.fails([*debug, "explain", "COMPTA", "-c", config, "-t", "pgdead"], "Error: ")
                out.fails([*debug, "import", "-c", config, "-t", "pgnohost"], "Error: ")
                out.fails([*debug, "apply", "pg.plan.json", "--db", DEAD_PG], "Error: ")

        failures()
        monkeypatch.setenv(ENV_PASSWORD, ENV_PW)
        with api.open_database(api.resolve_target(api.load_config([config]), "pg")) as db:
            assert db.url.password == ENV_PW  # the environment wins over the keyring
        failures()
        out.run(["plan", "-c", config, "-t", "pg", "--format", "json"], 0)
        out.run(["history", "-c", config, "-t", "pg"], 0)

        # --- passwords inside command-line URLs ------------------------------------------
        monkeypatch.delenv(ENV_PASSWORD)
        second = write_config(tmp_path / "second.yaml", {"pg": postgres_url},
                              {"COMPTA": "compta2@example.com"})
        third = write_config(tmp_path / "third.yaml", {"pg": postgres_url},
                             {"COMPTA": "compta3@example.com"})
        result = out.run(["plan", "-c", second, "-t", pg_cli_url, "--out", "url.plan.json"], 0)
        out.keep_file(tmp_path / "url.plan.json")
        for fmt in ("json", "markdown"):
            out.run(["plan", "-c", second, "-t", pg_cli_url, "--format", fmt], 0)
        out.run(["apply", "url.plan.json"], 0)
        out.run(["apply", "-c", third, "-t", "pg", "--db", pg_cli_url, "--auto-approve"], 0)
        monkeypatch.setenv("MAILPROV_DB_URL", pg_cli_url)
        out.run(["plan", "-c", third, "-t", "pg", "--format", "json"], 0)
        out.run(["history", "-t", "pg"], 0)
        monkeypatch.delenv("MAILPROV_DB_URL")
        out.run(["history", "-t", pg_cli_url], 0)
        out.run(["import", "-t", pg_cli_url], 0)
        out.run(["explain", "COMPTA", "-t", pg_cli_url], 0)
        dead_cli = with_password(DEAD_PG, CLI_PW)
        for debug in ([], ["--debug"]):
            for url in (dead_cli, with_password(NO_HOST_PG, CLI_PW),
                        with_password(MARIADB, CLI_PW),
                        "mysql+pymysql://root@127.0.0.1:1/maestro?passwd=" + CLI_PW,
                        "postgresql+psycopg://postgres@127.0.0.1:1/maestro?password=" + CLI_PW):
                out.fails([*debug, "plan", "-c", config, "-t", url], "Error: ")
                out.fails([*debug, "history", "-t", url], "Error: ")
            out.fails([*debug, "apply", "url.plan.json", "--db", dead_cli], "Error: ")
            out.fails([*debug, "apply", "-c", third, "--db", dead_cli, "--auto-approve"],
                      "Error: ")
            out.fails([*debug, "sandbox", dead_cli], "Error: ")
        out.run(["plan", "-c", config, "-t", "postgresql://postgres:" + CLI_PW + "@[::1"], 1)
        result = out.run(["--debug", "history", "-t",
                          f"postgresql://postgres:{CLI_PW}@127.0.0.1:notaport/db"], 1)
        assert result.stderr.endswith(
            "Error: 'postgresql://postgres@127.0.0.1:notaport/db' is not a database URL: write "
            "it like postgresql://user@host/db or sqlite:///file.db\n")

        # --- a password written into a file is refused, and not repeated -------------------
        for n, url in enumerate((pg_cli_url, f"{postgres_url}?sslmode=disable&password={CLI_PW}",
                                 f"mysql+pymysql://root@127.0.0.1/maestro?passwd={CLI_PW}")):
            leaky = write_config(tmp_path / f"leaky{n}.yaml", {"pg": url}, {})
            for command in (["validate"], ["plan"]):
                result = out.run([*command, "-c", leaky], 1)
                assert "targets.pg.url: the URL contains a password: remove it; the database " \
                       "password comes from `mailprov login pg` or MAILPROV_DB_PASSWORD" \
                       in result.stderr

    pg_history, lite_history = history_rows(postgres_url), history_rows(sqlite_url)
    assert [row["target"] for row in pg_history] == ["pg", redacted_pg, "pg"]
    assert [row["target"] for row in lite_history] == ["lite"]
    history = repr(pg_history + lite_history)
    logs = debug_logs.getvalue()
    assert "SELECT" in logs and "app_user" in logs  # statements were really logged
    assert "Row (" in logs  # and so were the rows fetched
    everything = "\n".join([*out.texts, history, logs,
                            *(f"{w.category.__name__}: {w.message}" for w in caught)])
    assert redacted_pg in everything
    for secret in ALL_SECRETS:
        assert secret not in everything, f"secret {secret[:8]}... leaked"

"""Shared fixtures: real databases, a real keyring backend and real SMTP servers.

Nothing here is mocked and nothing skips. A test that asks for PostgreSQL or MariaDB gets a
fresh, uniquely named database on the local server and fails, with instructions, if that server
does not answer. Every database is dropped after the test, and the drop is checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import keyring
import pytest
from keyring_backend import MemoryKeyring
from smtpserver import smtp_lab  # noqa: F401  (the SMTP servers fixture, for every test file)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from mailprov import i18n

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL_PREFIX = "postgresql+psycopg://postgres@127.0.0.1:5432/"
MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/mysql"
MARIADB_URL_PREFIX = "mysql+pymysql://root@127.0.0.1:3306/"

START_SERVERS_HINT = "bash .ci/run starts both database servers before running the tests"


def unique_database_name() -> str:
    return f"mailprov_test_{uuid.uuid4().hex[:10]}"


@contextmanager
def admin_connection(url: str, server: str) -> Iterator[Connection]:
    """An AUTOCOMMIT connection to a server's admin database; fails the test if unreachable."""
    engine: Engine = create_engine(
        url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 10}
    )
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:
            # Fail, never skip; "from None" keeps the report to this one message.
            raise pytest.fail.Exception(
                f"{server} is not reachable at {engine.url.render_as_string()}: {exc.orig}\n"
                f"({START_SERVERS_HINT})",
                pytrace=False,
            ) from None
        with connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database, yield its URL, then drop it and check it is gone."""
    name = unique_database_name()
    with admin_connection(POSTGRES_ADMIN_URL, "PostgreSQL") as admin:
        quoted = admin.dialect.identifier_preparer.quote(name)
        admin.execute(text(f"CREATE DATABASE {quoted}"))
    try:
        yield POSTGRES_URL_PREFIX + name
    finally:
        with admin_connection(POSTGRES_ADMIN_URL, "PostgreSQL") as admin:
            # Connections the test left open (undisposed engines) would block DROP DATABASE.
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            admin.execute(text(f"DROP DATABASE {quoted}"))
            left = admin.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar_one()
            assert left == 0, f"PostgreSQL database {name} still exists after DROP DATABASE"


@contextmanager
def temporary_mariadb_database() -> Iterator[str]:
    """Create a fresh MariaDB database, yield its URL, then drop it and check it is gone."""
    name = unique_database_name()
    with admin_connection(MARIADB_ADMIN_URL, "MariaDB") as admin:
        quoted = admin.dialect.identifier_preparer.quote(name)
        admin.execute(text(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4"))
    try:
        yield f"{MARIADB_URL_PREFIX}{name}?charset=utf8mb4"
    finally:
        with admin_connection(MARIADB_ADMIN_URL, "MariaDB") as admin:
            admin.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
            left = admin.execute(
                text("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :n"),
                {"n": name},
            ).scalar_one()
            assert left == 0, f"MariaDB database {name} still exists after DROP DATABASE"


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts in English, whatever the machine's LANG: tests that want French
    ask for it (i18n.set_language, MAILPROV_LANG), and do not leak it to the next test."""
    monkeypatch.setenv(i18n.ENV_LANG, "en")
    i18n.set_language("en")
    yield
    i18n.set_language("en")


TEMPORARY_DATABASES: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "postgres": temporary_postgres_database,
    "mariadb": temporary_mariadb_database,
}


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a not yet existing SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path}/maestro.db"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """URL of a fresh, empty MariaDB database (utf8mb4), dropped after the test."""
    with temporary_mariadb_database() as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The test runs once per backend; select with e.g. ``-m "not mariadb"``."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def temporary_database() -> Callable[[str], AbstractContextManager[str]]:
    """For tests needing several databases or control over their lifetime.

    ``with temporary_database("postgres") as url:`` creates a database, and drops it (and
    checks it is gone) when the block ends. Backends: "postgres", "mariadb".
    """

    def open_database(backend: str) -> AbstractContextManager[str]:
        return TEMPORARY_DATABASES[backend]()

    return open_database


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory keyring installed as keyring's backend for this test only."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)

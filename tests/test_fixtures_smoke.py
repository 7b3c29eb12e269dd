"""The shared fixtures in conftest.py and keyring_backend.py do what they promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.errors import PasswordDeleteError
from keyring_backend import FileKeyring, MemoryKeyring
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url

TESTS_DIR = Path(__file__).resolve().parent


def test_db_url_round_trip(db_url):
    metadata = MetaData()
    senders = Table(
        "senders",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("address", String(320), nullable=False),
    )
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            connection.execute(
                senders.insert(),
                [{"address": "noreply@example.org"}, {"address": "zoë@exämple.org"}],
            )
        with engine.connect() as connection:
            rows = connection.execute(select(senders.c.address).order_by(senders.c.id)).all()
    finally:
        engine.dispose()
    assert [row.address for row in rows] == ["noreply@example.org", "zoë@exämple.org"]


def test_db_url_database_starts_empty(db_url):
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_server_urls_name_unique_test_databases(postgres_url, mariadb_url):
    pg, maria = make_url(postgres_url), make_url(mariadb_url)
    assert pg.drivername == "postgresql+psycopg"
    assert maria.drivername == "mysql+pymysql"
    assert maria.query == {"charset": "utf8mb4"}
    assert pg.database.startswith("mailprov_test_")
    assert maria.database.startswith("mailprov_test_")
    assert pg.database != maria.database


def test_sqlite_url_points_into_tmp_path(sqlite_url, tmp_path):
    assert sqlite_url == f"sqlite:///{tmp_path}/maestro.db"
    assert make_url(sqlite_url).database == str(tmp_path / "maestro.db")


ADMIN_DATABASE = {"postgres": "postgres", "mariadb": "mysql"}
EXISTS_QUERY = {
    "postgres": "SELECT count(*) FROM pg_database WHERE datname = :n",
    "mariadb": "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :n",
}


def database_count(url: str, backend: str) -> int:
    """How many databases named like the one in ``url`` exist, asked via the admin database."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database=ADMIN_DATABASE[backend]))
    try:
        with admin.connect() as connection:
            return connection.execute(
                text(EXISTS_QUERY[backend]), {"n": parsed.database}
            ).scalar_one()
    finally:
        admin.dispose()


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_temporary_database_is_dropped_despite_open_connections(temporary_database, backend):
    with temporary_database(backend) as url:
        assert database_count(url, backend) == 1
        # An engine left undisposed keeps an idle pooled connection to the database open.
        lingering = create_engine(url)
        with lingering.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t (x) VALUES (1)"))
    try:
        assert database_count(url, backend) == 0
    finally:
        lingering.dispose()


def test_memory_keyring_round_trip(memory_keyring):
    assert keyring.get_keyring() is memory_keyring
    assert keyring.get_password("mailprov", "smtp-user") is None
    keyring.set_password("mailprov", "smtp-user", "s3cret")
    assert keyring.get_password("mailprov", "smtp-user") == "s3cret"
    assert memory_keyring.secrets == {("mailprov", "smtp-user"): "s3cret"}
    keyring.delete_password("mailprov", "smtp-user")
    assert keyring.get_password("mailprov", "smtp-user") is None
    with pytest.raises(PasswordDeleteError):
        keyring.delete_password("mailprov", "smtp-user")


def test_memory_keyring_is_restored_and_fresh_per_test(memory_keyring):
    assert memory_keyring.secrets == {}
    assert isinstance(keyring.get_keyring(), MemoryKeyring)


def test_memory_keyring_is_gone_after_its_test():
    # Passes whatever the order; when run after the tests above (file order) it proves the
    # fixture put the previous backend back.
    assert not isinstance(keyring.get_keyring(), MemoryKeyring)


def run_python(code: str, **env: str) -> str:
    """Run ``python -c code`` with tests/ on PYTHONPATH and ``env`` added; return stdout."""
    full_env = {key: value for key, value in os.environ.items() if key != "PYTHON_KEYRING_BACKEND"}
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_file_keyring_is_shared_between_processes(tmp_path):
    keyring_file = tmp_path / "keyring.json"
    env = {
        "PYTHON_KEYRING_BACKEND": "keyring_backend.FileKeyring",
        "MAILPROV_TEST_KEYRING_FILE": str(keyring_file),
    }
    run_python(
        "import keyring, keyring_backend\n"
        "assert isinstance(keyring.get_keyring(), keyring_backend.FileKeyring)\n"
        "keyring.set_password('mailprov', 'smtp-user', 's3cret')\n"
        "keyring.set_password('mailprov', 'other', 'x')\n",
        **env,
    )
    assert json.loads(keyring_file.read_text(encoding="utf-8")) == {
        "mailprov": {"other": "x", "smtp-user": "s3cret"}
    }
    out = run_python(
        "import keyring\n"
        "print(keyring.get_password('mailprov', 'smtp-user'))\n"
        "keyring.delete_password('mailprov', 'smtp-user')\n"
        "print(keyring.get_password('mailprov', 'smtp-user'))\n",
        **env,
    )
    assert out.splitlines() == ["s3cret", "None"]
    assert json.loads(keyring_file.read_text(encoding="utf-8")) == {"mailprov": {"other": "x"}}


def test_file_keyring_without_its_env_variable_fails_clearly(monkeypatch):
    monkeypatch.delenv("MAILPROV_TEST_KEYRING_FILE", raising=False)
    with pytest.raises(RuntimeError, match="MAILPROV_TEST_KEYRING_FILE"):
        FileKeyring().get_password("mailprov", "smtp-user")


def test_memory_keyring_loads_from_env_in_a_subprocess():
    out = run_python(
        "import keyring\n"
        "keyring.set_password('mailprov', 'u', 'p')\n"
        "print(type(keyring.get_keyring()).__name__, keyring.get_password('mailprov', 'u'))\n",
        PYTHON_KEYRING_BACKEND="keyring_backend.MemoryKeyring",
    )
    assert out.split() == ["MemoryKeyring", "p"]


def test_test_backends_are_never_chosen_automatically():
    # Importing keyring_backend registers both classes with keyring; their negative priority
    # must keep auto-detection (no PYTHON_KEYRING_BACKEND) from picking them.
    out = run_python(
        "import keyring, keyring_backend\nprint(type(keyring.get_keyring()).__module__)\n",
    )
    assert out.strip() != "keyring_backend"

"""`mssql+pyodbc` targets: the SQL the database layer emits compiles for SQL Server.

No SQL Server and no pyodbc here. The layer's own functions run against SQLAlchemy's mock
engine for the `mssql+pyodbc` dialect, which hands each statement to a recorder instead of a
database; the recorded statements are compiled with `sqlalchemy.dialects.mssql.dialect()`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from msgspec.structs import replace
from sqlalchemy import create_mock_engine, select
from sqlalchemy.dialects import mssql
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateTable

from mailprov import api
from mailprov.config.mapping_file import load_mapping
from mailprov.db.backends import backend_for
from mailprov.db.connect import parse_url, redact
from mailprov.db.history import HistoryEntry, record_history
from mailprov.db.read import password_is_set, read_general, read_users
from mailprov.db.tables import build_tables
from mailprov.db.write import write_changes
from mailprov.errors import TargetError
from mailprov.model import REFERENCE
from mailprov.plan.format import Change, Plan, SafetyReport

EXAMPLE_MAPPING = Path(__file__).resolve().parent.parent / "examples" / "mapping.yaml"
URL = "mssql+pyodbc://mailprov@sqlhost/maestro?driver=ODBC+Driver+18+for+SQL+Server"
SELECT_GENERAL = ("SELECT general_config.edition, general_config.mail_client, "
                  "general_config.smtp_server, general_config.smtp_port, "
                  "general_config.smtp_ssl FROM general_config")
SELECT_USERS = ("SELECT app_user.name, app_user.user_no, app_user.code, "
                "app_user.mail_override, app_user.smtp_username, app_user.from_address, "
                "app_user.smtp_server, app_user.smtp_port, app_user.smtp_ssl, "
                # whether a password is stored, and when: never the password
                "CASE WHEN (app_user.smtp_password IS NULL) THEN 0 ELSE 1 END AS anon_1, "
                "app_user.password_set_at FROM app_user")
MSSQL = backend_for("mssql")
CHANGES = (
    Change("general", "update", {"client": "outlook", "smtp": {"port": 25}},
           {"client": "smtp", "smtp": {"port": 587}}, ("client", "smtp.port")),
    Change("user.COMPTA", "create", None,
           {"username": "c", "from": "c@example.com", "server": "s", "port": 587, "ssl": True},
           ("username", "from", "server", "port", "ssl"), number=1),
    Change("user.COORD", "update", {"port": 25}, {"port": 587}, ("port",), number=2),
    Change("user.PAIE", "delete", {"port": 25}, None,
           ("username", "from", "server", "port", "ssl"), number=4),
)


class Captured(Exception):
    """Stops a layer function at its first statement (no database answers here)."""


def recorded(fn, *args, stop: bool = True, **kwargs) -> list:
    """The statement objects `fn(connection, *args)` sends to an `mssql+pyodbc` engine."""
    seen = []

    def executor(statement, *multiparams, **params):
        seen.append(statement)
        if stop:
            raise Captured
        rows = multiparams[0] if multiparams and isinstance(multiparams[0], list) else [None]
        return SimpleNamespace(rowcount=len(rows))  # as many rows as asked: the check passes

    engine = create_mock_engine(URL, executor)
    assert engine.dialect.name == "mssql"
    with contextlib.suppress(Captured):
        fn(engine, *args, **kwargs)
    return seen


def emitted(fn, *args, stop: bool = True, **kwargs) -> list[str]:
    """Those statements compiled for SQL Server, one line each."""
    return [" ".join(str(s.compile(dialect=mssql.dialect())).split())
            for s in recorded(fn, *args, stop=stop, **kwargs)]


def test_reads_compile_for_sql_server():
    tables = build_tables(REFERENCE)
    assert emitted(read_general, tables, MSSQL) == [
        f"{SELECT_GENERAL} WHERE general_config.id = :key"]
    # apply locks the general row: SQL Server has no FOR UPDATE, so an update-lock hint
    assert emitted(read_general, tables, MSSQL, for_update=True) == [
        f"{SELECT_GENERAL} WITH (UPDLOCK, ROWLOCK) WHERE general_config.id = :key"]
    # the model version, read first when the mapping does not declare it (no row returned)
    assert emitted(read_users, tables, MSSQL) == ["SELECT * FROM app_user WHERE 0 = 1"]
    declared = build_tables(replace(REFERENCE, model_version=1))
    assert emitted(read_users, declared, MSSQL) == [SELECT_USERS]
    assert emitted(read_users, declared, MSSQL, ["COMPTA", "COORD"]) == [
        f"{SELECT_USERS} WHERE app_user.code IN (__[POSTCOMPILE_code_1])"]
    # version 2: the mode, the Office 365 account and when the user authenticated too
    version2 = build_tables(replace(REFERENCE, model_version=2))
    assert emitted(read_users, version2, MSSQL) == [SELECT_USERS.replace(
        "app_user.smtp_ssl, ", "app_user.smtp_ssl, app_user.mail_mode, app_user.o365_email, "
        "app_user.o365_authenticated_at, ")]
    assert emitted(password_is_set, tables, MSSQL, "COMPTA") == [
        "SELECT CASE WHEN (app_user.smtp_password IS NULL) THEN 0 ELSE 1 END AS anon_1 "
        "FROM app_user WHERE app_user.code = :code_1"]
    history = tables.history
    query = select(history).order_by(history.c.id.desc()).limit(20)
    assert " ".join(str(query.compile(dialect=mssql.dialect())).split()).startswith(
        "SELECT TOP __[POSTCOMPILE_param_1] mailprov_history.id, ")


def test_writes_compile_for_sql_server_and_touch_only_the_changed_columns():
    tables = build_tables(REFERENCE)
    assert emitted(write_changes, tables, MSSQL, CHANGES, stop=False) == [
        "UPDATE general_config SET mail_client=:mail_client, smtp_port=:smtp_port "
        "WHERE general_config.id = :id_1",
        # creations and removals write the same columns: one executemany for both
        "UPDATE app_user SET mail_override=:v_override, smtp_username=:v_username, "
        "from_address=:v_from, smtp_server=:v_server, smtp_port=:v_port, smtp_ssl=:v_ssl "
        "WHERE app_user.user_no = :k_number",
        "UPDATE app_user SET smtp_port=:v_port WHERE app_user.user_no = :k_number",
    ]
    plan = Plan("prod", URL, "standard", CHANGES, "sha256:0", "sha256:1", 0,
                SafetyReport(0, 0, 30.0, 10, None))
    entry = HistoryEntry("prod", "admin", "host", "sha256:1", None)
    assert emitted(record_history, tables, MSSQL, plan, entry) == [
        "INSERT INTO mailprov_history (applied_at, target, os_user, host, config_digest, "
        "base_digest, git_commit, summary, changes) OUTPUT inserted.id VALUES (:applied_at, "
        ":target, :os_user, :host, :config_digest, :base_digest, :git_commit, :summary, "
        ":changes)"]


def test_a_mapped_installation_compiles_with_its_schema_and_names():
    tables = build_tables(load_mapping(EXAMPLE_MAPPING))
    assert emitted(read_general, tables, MSSQL, for_update=True) == [
        "SELECT dbo.[CONFIG_GENERALE].[EDITION], dbo.[CONFIG_GENERALE].[LOGICIEL_COURRIEL], "
        "dbo.[CONFIG_GENERALE].[SMTP_SERVEUR], dbo.[CONFIG_GENERALE].[SMTP_PORT], "
        "dbo.[CONFIG_GENERALE].[SMTP_SSL] FROM dbo.[CONFIG_GENERALE] WITH (UPDLOCK, ROWLOCK) "
        "WHERE dbo.[CONFIG_GENERALE].[NO_CONFIG] = :key"]
    statements = emitted(write_changes, tables, MSSQL, CHANGES, stop=False)
    assert statements == [
        "UPDATE dbo.[CONFIG_GENERALE] SET [LOGICIEL_COURRIEL]=:LOGICIEL_COURRIEL, "
        "[SMTP_PORT]=:SMTP_PORT WHERE dbo.[CONFIG_GENERALE].[NO_CONFIG] = :NO_CONFIG_1",
        "UPDATE dbo.[USAGER] SET [COURRIEL_SPECIFIQUE]=:v_override, [SMTP_USAGER]=:v_username, "
        "[ADRESSE_DE]=:v_from, [SMTP_SERVEUR]=:v_server, [SMTP_PORT]=:v_port, "
        "[SMTP_SSL]=:v_ssl WHERE dbo.[USAGER].[NO_USAGER] = :k_number",
        "UPDATE dbo.[USAGER] SET [SMTP_PORT]=:v_port WHERE dbo.[USAGER].[NO_USAGER] = :k_number",
    ]
    assert not any("MOT_DE_PASSE" in s or "MDP" in s for s in statements)
    read = emitted(read_users, build_tables(replace(load_mapping(EXAMPLE_MAPPING),
                                                    model_version=1)), MSSQL)[0]
    # the password column only in the test of whether one is stored, never selected
    assert read.endswith(", CASE WHEN (dbo.[USAGER].[SMTP_MOT_DE_PASSE] IS NULL) THEN 0 "
                         "ELSE 1 END AS anon_1, dbo.[USAGER].[SMTP_MDP_DATE] FROM dbo.[USAGER]")
    assert read.count("MOT_DE_PASSE") == 1


def test_the_sandbox_tables_compile_for_sql_server():
    tables = build_tables(REFERENCE)
    ddl = {t.name: " ".join(str(CreateTable(t).compile(dialect=mssql.dialect())).split())
           for t in (tables.general, tables.users, tables.history)}
    assert "smtp_ssl BIT NOT NULL DEFAULT 0" in ddl["general_config"]
    assert "mail_override BIT NOT NULL DEFAULT 0" in ddl["app_user"]
    assert "UNIQUE (code)" in ddl["app_user"]
    assert "id INTEGER NOT NULL IDENTITY" in ddl["mailprov_history"]


def test_mssql_pyodbc_urls_parse_redact_and_need_the_driver():
    url = parse_url(URL)
    assert url.drivername == "mssql+pyodbc"
    assert url.query == {"driver": "ODBC Driver 18 for SQL Server"}
    assert redact("mssql+pyodbc://sa:Secret-1@sqlhost/maestro?driver=X") == (
        "mssql+pyodbc://sa@sqlhost/maestro?driver=X")
    target = api.resolve_target(None, URL)
    assert target.url == URL
    with pytest.raises(TargetError) as caught:
        api.open_database(target)
    assert caught.value.message.startswith("the database driver 'pyodbc' is not installed (")
    assert caught.value.message.endswith("): install the pyodbc driver")


def test_a_sql_server_lock_timeout_is_a_lock_error():
    orig = Exception("HYT00", "[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]"
                     "[SQL Server]Lock request time out period exceeded. (1222) "
                     "(SQLExecDirectW)")
    assert MSSQL.is_lock_error(OperationalError("SELECT 1", {}, orig))
    other = Exception("42S02", "[42S02] Invalid object name 'app_user'. (208)")
    assert not MSSQL.is_lock_error(OperationalError("SELECT 1", {}, other))


def test_history_values_for_sql_server_are_plain_types():
    # DATETIME columns get naive UTC datetimes: no timezone SQL Server's DATETIME would refuse
    tables = build_tables(REFERENCE)
    plan = Plan("prod", URL, "standard", CHANGES, "sha256:0", "sha256:1", 0,
                SafetyReport(0, 0, 30.0, 10, None))
    entry = HistoryEntry("prod", "admin", "h", None, None)
    seen = recorded(record_history, tables, MSSQL, plan, entry)
    params = seen[0].compile(dialect=mssql.dialect()).params
    assert isinstance(params["applied_at"], datetime)
    assert params["applied_at"].tzinfo is None
    assert params["summary"] == "1 to add, 2 to change, 1 to remove"

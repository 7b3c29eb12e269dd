"""The SQLite file reader (mailprov.db.sqlitefile) and the SQLAlchemy reader
(mailprov.db.read) agree: same live state, to the types of the stored values, on every
model version, on a mapped installation and on whatever a hostile row holds. Where the
file reader does not take a case it says so (None) and `plan` reads through SQLAlchemy,
whose errors name the problem."""

from __future__ import annotations

import sqlite3
import string
import time
from datetime import datetime
from pathlib import Path

import pytest
from dbhelpers import (
    MAPPING_FILE,
    SMTP,
    mapped_installation,
    plan_file,
    set_passwords,
    smtp_user,
    write_config,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace
from sqlalchemy.engine import make_url
from test_office365 import MAPPING_305, _installation_305

from mailprov import api
from mailprov.config.mapping_file import load_mapping
from mailprov.config.urls import plain_sqlite_path, redact
from mailprov.db.database import open_database, read_live
from mailprov.db.sandbox import sample_users
from mailprov.db.sqlitefile import read_live_file
from mailprov.errors import DatabaseError, MappingError
from mailprov.model import REFERENCE, DbMapping, LiveState


def through_sqlalchemy(url: str, mapping: DbMapping) -> LiveState:
    with open_database("db", url, mapping, read_only=True) as db:
        return read_live(db)


def agree(url: str, mapping: DbMapping = REFERENCE) -> LiveState:
    """Both readers' live states, which must be equal, to the types of stored values."""
    fast = read_live_file(url, mapping)
    assert fast is not None, "the file reader left an ordinary database to SQLAlchemy"
    slow = through_sqlalchemy(url, mapping)
    assert fast == slow
    assert _typed(fast) == _typed(slow)
    return fast


def _typed(live: LiveState) -> object:
    """What equality does not see: True == 1 == 1.0, but a digest of the rows does."""
    return ([(type(v).__name__, v) for row in live.stored_rows.values() for v in row],
            [(type(v).__name__, v) for user in live.users.values()
             for v in (user.password_set_at, user.o365_authenticated_at, user.number)],
            type(live.general.port).__name__)


def test_a_sandbox_with_overrides_passwords_and_no_code(sqlite_url, tmp_path):
    api.sandbox(sqlite_url, users=30, model=1)
    first, second, third = [user.code for user in sample_users(30)][:3]
    config = write_config(tmp_path, sqlite_url, users={c: smtp_user(c) for c in
                                                      (first, second, third)})
    target = api.resolve_target(api.load_config([config]), None)
    api.apply(api.plan(api.load_config([config]), target), target, force=True)
    set_passwords(sqlite_url, [first, third])
    live = agree(sqlite_url)
    assert live.users[first].password_set and live.users[first].override is not None
    assert isinstance(live.users[first].password_set_at, datetime)
    assert live.database_id is not None and live.model_version == 1


def test_rows_without_a_code_are_named_alike(hostile_db):
    path = hostile_db / "codeless.db"
    with sqlite3.connect(hostile_db / "base.db") as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO app_user (user_no, code, name, mail_override) VALUES "
                     "(900, NULL, 'Sans code', 1), (7, 'COMPTA', 'Compta', 0)")
    conn.close()
    live = agree(f"sqlite:///{path}")
    assert list(live.users) == ["COMPTA"] and sorted(live.stored_rows) == [7, 900]
    assert [(w.code, w.address) for w in live.warnings] == [("users-without-code", "database")]
    assert "user number 900 " in live.warnings[0].message


def test_a_date_that_is_not_one_is_read_as_unknown_alike(sqlite_url):
    api.sandbox(sqlite_url, users=5, model=1)
    first = sample_users(5)[0].code
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE app_user SET password_set_at = 'hier', smtp_password = 'x' "
                     "WHERE code = ?", (first,))
    live = agree(sqlite_url)
    assert live.users[first].password_set and live.users[first].password_set_at is None
    assert live.warnings == (("unreadable-date", f"user.{first}",
                              f"user {first} (app_user.password_set_at) holds 'hier', which is "
                              "not a date: mailprov reads it as unknown; correct or clear it "
                              "in maestro*", "password_set_at"),)
    assert live.unknown(first, "password_set_at") and not live.unknown(first, "name")


def test_a_305_sandbox_with_office365_users(sqlite_url):
    api.sandbox(sqlite_url, users=40, model=2)
    live = agree(sqlite_url)
    assert live.model_version == 2
    assert any(user.office365 is not None for user in live.users.values())


@pytest.mark.parametrize("mapping_text, make", [(MAPPING_FILE, mapped_installation),
                                                 (MAPPING_305, _installation_305)],
                         ids=["mapped-3.04", "mapped-3.05"])
def test_a_mapped_installation(sqlite_url, tmp_path, mapping_text, make):
    make(sqlite_url)
    (tmp_path / "mapping.yaml").write_text(mapping_text, encoding="utf-8")
    mapping = load_mapping(tmp_path / "mapping.yaml")
    live = agree(sqlite_url, mapping)
    assert live.users and live.model_declared_in == ("" if "model_version" not in mapping_text
                                                     else str(tmp_path / "mapping.yaml"))


def test_a_plan_of_the_file_is_the_plan_of_its_sqlalchemy_read(sqlite_url, tmp_path):
    api.sandbox(sqlite_url, users=20, model=2)
    config = write_config(tmp_path, sqlite_url, general={"client": "smtp", "smtp": SMTP},
                          users={"COMPTA": smtp_user("COMPTA", port=2525)})
    plan, target = plan_file(config)
    loaded = api.load_config([config])
    slow = api.compute_plan(loaded, target, through_sqlalchemy(target.url, target.mapping()),
                            target.mapping().to_json())
    assert plan.to_json() == slow.to_json()
    assert plan.changes and plan.base_digest == slow.base_digest


def test_a_saved_plan_made_from_the_file_applies_through_sqlalchemy(sqlite_url, tmp_path):
    api.sandbox(sqlite_url, users=20)
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    plan, target = plan_file(config)
    result = api.apply(plan, target)  # the base digest and identity are checked again
    assert result.history_id is not None and plan.summary["create"] == 1


# --- what the file reader leaves to SQLAlchemy -----------------------------------------------


@pytest.mark.parametrize("url", [
    "sqlite://", "sqlite:///:memory:", "sqlite:///{folder}/maestro.db?mode=ro",
    "sqlite:///file:{folder}/maestro.db?uri=true", "sqlite:///{folder}/maestro%2Edb",
    "sqlite:///{folder}/missing.db", "postgresql://localhost/maestro",
])
def test_other_urls_are_left_to_sqlalchemy(sqlite_url, tmp_path, url):
    api.sandbox(sqlite_url, users=3)
    assert read_live_file(url.format(folder=tmp_path), REFERENCE) is None


@pytest.mark.parametrize("sql", [
    "ALTER TABLE app_user DROP COLUMN smtp_port",
    "ALTER TABLE general_config DROP COLUMN smtp_ssl",
    "DROP TABLE app_user",
    "DELETE FROM general_config",
    "ALTER TABLE app_user ADD COLUMN mail_mode TEXT",  # some of 3.05's columns only
])
def test_a_schema_or_row_it_cannot_read_is_left_to_sqlalchemy(sqlite_url, tmp_path, sql):
    api.sandbox(sqlite_url, users=5, model=1)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute(sql)
    assert read_live_file(sqlite_url, REFERENCE) is None


def test_errors_are_the_sqlalchemy_readers(sqlite_url, tmp_path, monkeypatch):
    api.sandbox(sqlite_url, users=5)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("ALTER TABLE app_user DROP COLUMN smtp_port")
    config = write_config(tmp_path, sqlite_url, users={})
    with pytest.raises(MappingError, match="column 'smtp_port' does not exist in table "
                                           "'app_user'"):
        plan_file(config)


def test_a_mapping_with_a_schema_is_left_to_sqlalchemy(sqlite_url):
    api.sandbox(sqlite_url, users=3)
    assert read_live_file(sqlite_url, replace(REFERENCE, schema="main")) is None


def test_a_file_kept_busy_is_one_error_after_the_lock_timeout(sqlite_url):
    api.sandbox(sqlite_url, users=3)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        start = time.monotonic()
        with pytest.raises(DatabaseError) as raised:
            read_live_file(sqlite_url, REFERENCE, lock_timeout=0.2)
        assert time.monotonic() - start < 5
    finally:
        holder.close()
    assert str(raised.value) == f"reading {sqlite_url} failed: database is locked"


def test_a_relative_path_is_the_working_folders(sqlite_url, tmp_path, monkeypatch):
    api.sandbox(sqlite_url, users=3)
    monkeypatch.chdir(tmp_path)
    assert read_live_file("sqlite:///maestro.db", REFERENCE) == read_live_file(sqlite_url,
                                                                              REFERENCE)


# --- hostile rows: both readers give the same answer, or the file reader steps aside ---------

VALUES = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.booleans(),
                   st.text(max_size=20), st.floats(allow_nan=False), st.binary(max_size=8),
                   st.sampled_from(["2026-11-30 10:00:00.000000", "2026-11-30T10:00:00+05:00",
                                    "2026-11-30", "1", "0", "587", "smtp", "office365"]))
COLUMNS = ["code", "name", "mail_override", "smtp_username", "from_address", "smtp_server",
           "smtp_port", "smtp_ssl", "smtp_password", "password_set_at", "mail_mode",
           "o365_email", "o365_authenticated_at"]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """The reference tables of model version 2 without types or constraints: SQLite then
    keeps whatever a row is given, as a damaged or hand-edited installation may."""
    folder = tmp_path_factory.mktemp("hostile")
    with sqlite3.connect(folder / "base.db") as conn:
        conn.execute("CREATE TABLE general_config (id, edition, mail_client, smtp_server, "
                     "smtp_port, smtp_ssl)")
        conn.execute("INSERT INTO general_config VALUES (1, 'standard', 'outlook', NULL, "
                     "NULL, 0)")
        conn.execute(f"CREATE TABLE app_user (user_no, {', '.join(COLUMNS)})")
    conn.close()
    return folder


@settings(max_examples=80, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({c: VALUES for c in COLUMNS}), max_size=4),
       general=st.fixed_dictionaries({c: VALUES for c in ("mail_client", "smtp_server",
                                                          "smtp_port", "smtp_ssl")}))
def test_hostile_rows_read_alike(hostile_db, rows, general):
    path = hostile_db / "case.db"
    path.unlink(missing_ok=True)
    with sqlite3.connect(hostile_db / "base.db") as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE general_config SET " + ", ".join(f"{c} = ?" for c in general),
                     list(general.values()))
        for number, row in enumerate(rows, start=1):
            conn.execute(f"INSERT INTO app_user (user_no, {', '.join(row)}) VALUES "
                         f"({number}, {', '.join('?' * len(row))})", list(row.values()))
    conn.close()
    url = f"sqlite:///{path}"
    fast = _outcome(lambda: read_live_file(url, REFERENCE))
    if fast is None:
        return  # left to the SQLAlchemy reader
    slow = _outcome(lambda: through_sqlalchemy(url, REFERENCE))
    assert fast == slow
    if isinstance(fast, LiveState):
        assert _typed(fast) == _typed(slow)


def _outcome(read):
    try:
        return read()
    except Exception as exc:  # both readers must fail alike
        return (type(exc).__name__, str(exc))


# --- which URLs are plain ----------------------------------------------------------------


@pytest.mark.parametrize("char", [*string.printable.strip(), " ", "é", "€"])
def test_a_plain_sqlite_url_is_one_sqlalchemy_writes_back_as_it_is(char):
    url = f"sqlite:////srv/erp/a{char}b.db"
    path = plain_sqlite_path(url)
    parsed = make_url(url)
    if path is not None:
        assert path == parsed.database
        assert parsed.render_as_string(hide_password=False) == url
        assert redact(url) == url
    else:
        assert redact(url) == parsed.render_as_string(hide_password=False)


def test_a_missing_column_named_like_a_lock_is_left_to_sqlalchemy(sqlite_url, tmp_path):
    """The busy test reads SQLite's error code, not the words of its message."""
    api.sandbox(sqlite_url, users=3, model=1)
    (tmp_path / "mapping.yaml").write_text(
        "version: 1\nusers:\n  columns: {password_set_at: pw_locked_at}\n", encoding="utf-8")
    mapping = load_mapping(tmp_path / "mapping.yaml")
    assert read_live_file(sqlite_url, mapping) is None
    config = write_config(tmp_path, sqlite_url, users={}, mapping="mapping.yaml")
    with pytest.raises(MappingError, match="column 'pw_locked_at' does not exist"):
        plan_file(config)


def test_a_file_made_anew_in_its_place_is_read_again(tmp_path):
    """The model version is kept per file for the process: a new file at the same path
    (another inode) is another database."""
    old, new = tmp_path / "maestro.db", tmp_path / "next.db"
    api.sandbox(f"sqlite:///{old}", users=3, model=1)
    assert read_live_file(f"sqlite:///{old}", REFERENCE).model_version == 1
    api.sandbox(f"sqlite:///{new}", users=3, model=2)
    new.replace(old)
    live = agree(f"sqlite:///{old}")
    assert live.model_version == 2


@pytest.mark.parametrize("stored, read", [
    (1700000000, None), (3.5, None), ("2026-13-01", None),
    ("2026-11-30T08:37:00+05:00", datetime(2026, 11, 30, 3, 37)),
    ("2026-11-30", datetime(2026, 11, 30)),
])
def test_dates_are_naive_utc_or_unknown(sqlite_url, stored, read):
    api.sandbox(sqlite_url, users=3, model=1)
    first = sample_users(3)[0].code
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE app_user SET password_set_at = ?, smtp_password = 'x' "
                     "WHERE code = ?", (stored, first))
    conn.close()
    live = agree(sqlite_url)
    assert live.users[first].password_set_at == read
    assert [w.code for w in live.warnings] == ([] if read else ["unreadable-date"])


def test_a_wrong_timeout_setting_is_refused_here_too(sqlite_url, monkeypatch):
    """MAILPROV_DB_*TIMEOUT are checked whatever the database: a plan of a SQLite file says
    so as one through SQLAlchemy does."""
    from mailprov.errors import TargetError

    api.sandbox(sqlite_url, users=3)
    monkeypatch.setenv("MAILPROV_DB_TIMEOUT", "soon")
    with pytest.raises(TargetError, match="MAILPROV_DB_TIMEOUT must be a number of seconds"):
        read_live_file(sqlite_url, REFERENCE)


@settings(max_examples=300, deadline=None)
@given(version=st.sampled_from([1, 2]), override=st.sampled_from([None, 0, 1, True, False]),
       values=st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers(0, 2),
                                 st.booleans()), min_size=5, max_size=5),
       mode=st.sampled_from([None, "smtp", "office365", "weird", 1]),
       email=st.one_of(st.none(), st.text(max_size=5)))
def test_apply_reads_a_row_s_state_as_plan_does(version, override, values, mode, email):
    """apply's re-check compares each change's `before` with livestate.row_state of the
    row; plan wrote `before` from user_from_row(...).state(): both read alike, whatever
    the row holds."""
    from mailprov.db.livestate import row_state, user_from_row

    state = (7, "COMPTA", override, *values, *((mode, email) if version >= 2 else ()))
    dates = (None,) if version >= 2 else ()
    user = user_from_row((None, *state, *dates, False, None), REFERENCE, version)
    assert row_state(state, REFERENCE, version) == user.state()

"""Apply's fast paths: statements compiled once and run with plain tuples, a one-statement
re-read of the changed users, and one engine per URL. Each must give exactly what the
general SQLAlchemy path gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbhelpers import TABLES, sandbox, update_user
from sqlalchemy import bindparam, create_mock_engine, text, update

from mailprov import api
from mailprov.config.mapping_file import load_mapping
from mailprov.db.connect import engine_for, parse_url
from mailprov.db.driver import compile_statement
from mailprov.db.read import read_row_states
from mailprov.db.tables import build_tables
from mailprov.model import GeneralSettings, MailSettings
from mailprov.plan.digest import digest_rows, managed_rows

EXAMPLE_MAPPING = Path(__file__).resolve().parent.parent / "examples" / "mapping.yaml"


def mock(url: str):
    """A connection-like object with the real dialect of `url` (compiling needs no server)."""
    return create_mock_engine(url, lambda *a, **k: None)


def port_update(tables=TABLES):
    return (update(tables.users).where(tables.ucol("code") == bindparam("k_code"))
            .values({tables.ucol("port"): bindparam("v_port")}))


def test_positional_rows_are_reordered_to_the_compiled_order():
    # SET comes before WHERE in the SQL; callers give the code first
    statement = compile_statement(mock("sqlite://"), port_update(), ["k_code", "v_port"])
    assert statement.sql == "UPDATE app_user SET smtp_port=? WHERE app_user.code = ?"
    assert statement.rows([("COMPTA", 25), ("PAIE", 587)]) == [(25, "COMPTA"), (587, "PAIE")]
    in_order = compile_statement(mock("sqlite://"), port_update(), ["v_port", "k_code"])
    rows = [(25, "COMPTA")]
    assert in_order.rows(rows) == rows


def test_named_drivers_get_dicts():
    statement = compile_statement(mock("postgresql+psycopg://"), port_update(),
                                  ["k_code", "v_port"])
    assert "%(v_port)s" in statement.sql and "%(k_code)s" in statement.sql
    assert statement.rows([("COMPTA", 25)]) == [{"k_code": "COMPTA", "v_port": 25}]


def test_the_names_must_be_the_statement_binds():
    with pytest.raises(ValueError, match=r"statement binds \['k_code', 'v_port'\], "
                                         r"caller gives \['k_code'\]"):
        compile_statement(mock("sqlite://"), port_update(), ["k_code"])


def test_compiled_statements_are_kept_per_dialect_and_mapping():
    mapped = build_tables(load_mapping(EXAMPLE_MAPPING))
    assert mapped.key != TABLES.key
    built = []

    def statement(tables):
        def build():
            built.append(tables.key)
            return port_update(tables)
        return build

    sqlite = mock("sqlite://")
    first = compile_statement(sqlite, statement(TABLES), ["k_code", "v_port"],
                              key=("test port", TABLES.key))
    again = compile_statement(sqlite, statement(TABLES), ["k_code", "v_port"],
                              key=("test port", TABLES.key))
    other = compile_statement(sqlite, statement(mapped), ["k_code", "v_port"],
                              key=("test port", mapped.key))
    postgres = compile_statement(mock("postgresql+psycopg://"), statement(TABLES),
                                 ["k_code", "v_port"], key=("test port", TABLES.key))
    assert again is first
    assert built == [TABLES.key, mapped.key, TABLES.key]  # the second call built nothing
    assert other.sql == 'UPDATE dbo."USAGER" SET "SMTP_PORT"=? WHERE dbo."USAGER"."CODE_USAGER" = ?'
    assert first.sql == "UPDATE app_user SET smtp_port=? WHERE app_user.code = ?"
    assert postgres.sql != first.sql


def test_the_digest_sees_every_field_and_not_the_order_of_rows():
    general = GeneralSettings("standard", "outlook", "s", 587, True)
    rows = [(1, "COMPTA", 1, "c@x.ca", "c@x.ca", "s", 587, 1), (2, "COORD", 0, *[None] * 5)]
    digest = digest_rows(general, rows)
    assert digest == digest_rows(general, list(reversed(rows)))
    for i in range(8):  # any stored column of a row, and its number
        changed = list(rows[0])
        changed[i] = 99 if isinstance(changed[i], int) else "other"
        assert digest_rows(general, [tuple(changed), rows[1]]) != digest, i
    assert digest_rows(general, rows[:1]) != digest  # a managed user deleted
    assert digest_rows(GeneralSettings("standard", "smtp", "s", 587, True), rows) != digest


def test_apply_re_reads_exactly_the_rows_plan_read(db_url):
    """The base digest compares the rows plan read with those apply re-reads: they must be
    the same values of the same types, whatever the stored values."""
    codes = sandbox(db_url, users=30)
    update_user(db_url, codes[0], mail_override=True, smtp_username="é-compta",
                from_address="compta@exemple.ca", smtp_server="relais", smtp_port=2525,
                smtp_ssl=None)
    update_user(db_url, codes[1], mail_override=True, smtp_username=None, from_address=None,
                smtp_server="s", smtp_port=25, smtp_ssl=False)
    update_user(db_url, codes[2], mail_override=False, smtp_username="leftover")
    if db_url.startswith("sqlite"):
        with engine_for(parse_url(db_url)).begin() as conn:
            conn.execute(text("UPDATE app_user SET mail_override = 2, smtp_ssl = 2 "
                              "WHERE code = :code"), {"code": codes[3]})
    with api.open_database(api.resolve_target(None, db_url)) as db:
        live = api.read_live(db)
        with db.engine.connect() as conn:
            number = {code: live.users[code].number for code in codes}
            wanted = [*(number[c] for c in codes[:5]), number[codes[-1]], 999_999]
            states = read_row_states(conn, db.tables, db.backend, wanted)
            every = read_row_states(conn, db.tables, db.backend, None)
            conn.rollback()
    assert sorted(states) == managed_rows(live, wanted)
    assert sorted(every) == sorted(live.stored_rows.values()) and len(every) == 30
    by_code = {row[1]: row for row in states}
    assert by_code[codes[0]][3:] == ("é-compta", "compta@exemple.ca", "relais", 2525, None)
    assert live.users[codes[0]].override == MailSettings(
        "é-compta", "compta@exemple.ca", "relais", 2525, None)
    assert live.users[codes[2]].override is None  # off: its leftover values are not used
    if db_url.startswith("sqlite"):  # an odd stored boolean is read as maestro* reads it
        assert live.users[codes[3]].override is not None
        assert live.users[codes[3]].override.ssl is True


def test_one_engine_per_url_and_none_shared_in_memory(tmp_path):
    url = parse_url(f"sqlite:///{tmp_path / 'maestro.db'}")
    assert engine_for(url) is engine_for(url)
    assert engine_for(url, lock_timeout=1.0) is not engine_for(url)
    memory = parse_url("sqlite://")
    assert engine_for(memory) is not engine_for(memory)


def test_a_relative_sqlite_url_is_the_working_folders_file(tmp_path, monkeypatch):
    """The process keeps one engine per URL: `sqlite:///maestro.db` typed in two folders
    names two files, and each command reads its own."""
    counts = {}
    for folder, users in (("a", 3), ("b", 5)):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        api.sandbox("sqlite:///maestro.db", users=users)
    for folder, users in (("a", 3), ("b", 5), ("a", 3)):
        monkeypatch.chdir(tmp_path / folder)
        with api.open_database(api.ResolvedTarget("t", "sqlite:///maestro.db"),
                               read_only=True) as db:
            counts[folder] = len(api.read_live(db).users)
        assert counts[folder] == users, folder


def test_postgresql_arrays_go_in_binary_with_psycopg_only():
    """psycopg's text format quotes every element of an array; `%(name)b` sends them as
    they are. psycopg2 (a `postgresql+psycopg2://` URL) knows no `%b`."""
    from mailprov.db.backends.postgresql import binary_arrays

    statement = compile_statement(mock("postgresql+psycopg://"), port_update(),
                                  ["k_code", "v_port"])
    binary = binary_arrays(mock("postgresql+psycopg://"), statement)
    assert "%(v_port)b" in binary.sql and "%(k_code)b" in binary.sql and "s" not in (
        binary.sql.split("%(v_port)")[1][0])
    assert binary.rows([("COMPTA", 25)]) == statement.rows([("COMPTA", 25)])
    other = compile_statement(mock("postgresql+psycopg2://"), port_update(),
                              ["k_code", "v_port"])
    assert binary_arrays(mock("postgresql+psycopg2://"), other) == other

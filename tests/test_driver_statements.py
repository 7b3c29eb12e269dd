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
from mailprov.db.read import read_row_states, read_users
from mailprov.db.tables import build_tables
from mailprov.model import MailSettings
from mailprov.plan.digest import row_state_from_columns, user_state

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


@pytest.mark.parametrize("row", [
    (1, "compta", "compta@example.com", "smtp.example.com", 587, 1),
    (1, None, None, None, None, None),
    (1, "c", "c@example.com", "s", 465, 0),
    (2, "c", "c@example.com", "s", 25, 2),  # odd stored booleans read as maestro* reads them
    (0, "left", "over@example.com", "s", 25, 1),  # override off: the values do not count
    (None, None, None, None, None, None),
])
def test_state_from_a_row_is_the_state_of_its_model(row):
    override, username, from_address, server, port, ssl = row
    model = None
    if override:
        model = MailSettings(username, from_address, server, port,
                             None if ssl is None else bool(ssl))
    assert row_state_from_columns("COMPTA", *row) == ["COMPTA", user_state(model)]


def test_the_one_statement_re_read_agrees_with_the_general_read(db_url):
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
    with api.open_database(api.resolve_target(None, db_url)) as db, db.engine.connect() as conn:
        users = read_users(conn, db.tables, db.backend)
        number = {code: users[code].number for code in codes}
        wanted = [*(number[c] for c in codes[:5]), number[codes[-1]], 999_999]
        states = read_row_states(conn, db.tables, db.backend, wanted)
        every = read_row_states(conn, db.tables, db.backend, None)
        conn.rollback()
    fast = {state[0]: state[1] for state in states.values()}
    general = {code: user_state(user.override) for code, user in users.items()
               if user.number in wanted}
    assert fast == general
    assert set(states) == set(wanted) - {999_999}
    assert {n: every[n] for n in states} == states and len(every) == 30
    assert fast[codes[0]] == ["é-compta", "compta@exemple.ca", "relais", 2525, None]
    assert fast[codes[1]] == [None, None, "s", 25, False]
    assert fast[codes[2]] is None
    if db_url.startswith("sqlite"):
        assert fast[codes[3]] is not None and fast[codes[3]][-1] is True


def test_one_engine_per_url_and_none_shared_in_memory(tmp_path):
    url = parse_url(f"sqlite:///{tmp_path / 'maestro.db'}")
    assert engine_for(url) is engine_for(url)
    assert engine_for(url, lock_timeout=1.0) is not engine_for(url)
    memory = parse_url("sqlite://")
    assert engine_for(memory) is not engine_for(memory)

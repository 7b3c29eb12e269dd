"""Values that could hide are shown quoted: a space at either end, an empty text, a control
character. In text and Markdown plans, `explain` and "did you mean" hints; error messages
quote every rejected value (tests/test_config_errors.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbhelpers import TABLES, TARGET, engine_for, sandbox, write_config
from sqlalchemy import update

from mailprov import api
from mailprov.errors import UnknownUserError
from mailprov.live.explain import Explanation
from mailprov.plan.format import Change, Plan, SafetyReport
from mailprov.render.explain import render_explanation
from mailprov.render.markdown import render_markdown
from mailprov.render.text import render_text
from mailprov.render.values import show

INHERITING = {"smtp": {"username": "compta@example.com", "from": "compta@example.com"}}


@pytest.mark.parametrize(("value", "shown"), [
    ("COMPTA", "COMPTA"), ("COMPTA ", "'COMPTA '"), (" COMPTA", "' COMPTA'"), ("", "''"),
    ("françois@exemple.ca", "françois@exemple.ca"), ("a b", "a b"),
    ("a\x1b[31mb", "'a\\x1b[31mb'"), ("x\u202e", "'x\\u202e'"), ("x\u00a0", "'x\\xa0'"),
    ("it's ", '"it\'s "'), (None, "(none)"), (True, "true"), (587, "587"),
])
def test_show_quotes_what_could_hide(value: object, shown: str) -> None:
    assert show(value) == shown


def test_quoted_and_visible() -> None:
    from mailprov.errors import quoted, visible

    assert quoted("smtp") == "'smtp'"
    assert quoted("x" * 100, limit=60) == "'" + "x" * 57 + "...'"
    assert visible("COMPTA") == "COMPTA"
    assert visible("COMPTA ") == "'COMPTA '"


def _plan(change: Change) -> Plan:
    return Plan(target="prod", target_url="sqlite:///m.db", edition="standard",
                changes=(change,), base_digest="sha256:a", config_digest="sha256:b",
                unmanaged_overrides=0, safety=SafetyReport(1, 1, 30.0, 10, None, ()))


SPACED = Change("user.COMPTA ", "update",
                {"username": "compta", "from": None, "server": "s", "port": 1, "ssl": False},
                {"username": "compta ", "from": None, "server": "s", "port": 1, "ssl": False},
                ("username",))


def test_text_plan_shows_trailing_spaces() -> None:
    assert render_text(_plan(SPACED)).splitlines()[4:6] == [
        "  ~ user.'COMPTA '  (update)", "      username  compta -> 'compta '"]


def test_markdown_plan_shows_trailing_spaces() -> None:
    text = render_markdown(_plan(SPACED))
    assert ("| <code>\\'COMPTA \\'</code> | <code>compta</code> → "
            "**<code>\\'compta \\'</code>** |\n") in text


def test_did_you_mean_shows_a_code_with_a_trailing_space(sqlite_url: str,
                                                         tmp_path: Path) -> None:
    sandbox(sqlite_url, users=5)
    with engine_for(sqlite_url) as engine, engine.begin() as conn:  # as maestro*'s CHAR would
        conn.execute(update(TABLES.users).where(TABLES.users.c.code == "COMPTA")
                     .values(code="COMPTA "))
    with pytest.raises(UnknownUserError) as info:
        api.explain("COMPTAA", api.ResolvedTarget(TARGET, sqlite_url))
    assert str(info.value) == "no user 'COMPTAA' in target 'db'; did you mean 'COMPTA '?"
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": INHERITING})
    loaded = api.load_config([config])
    plan = api.plan(loaded, api.resolve_target(loaded, None))
    assert [(p.dotted_path, p.message) for p in plan.errors] == [
        ("users.COMPTA", "no user 'COMPTA' in target 'db'; did you mean 'COMPTA '? mailprov "
                         "configures existing maestro* users; it never creates them")]


def test_explain_shows_trailing_spaces() -> None:
    info = Explanation("COMPTA ", "Comptabilité", "standard", "override",
                       "the user's own SMTP section", "smtp.example.com", 587, True, "compta ",
                       None, False)
    assert render_explanation(info, "prod") == (
        "'COMPTA ' (Comptabilité) on target 'prod', edition standard\n"
        "  sends with: per-user SMTP override\n"
        "  because:    the user's own SMTP section\n"
        "  server:     smtp.example.com\n"
        "  port:       587\n"
        "  ssl:        true\n"
        "  login:      'compta '\n"
        "  from:       (none)\n"
        "  password:   not entered\n")

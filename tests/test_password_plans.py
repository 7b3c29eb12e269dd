"""Plans name the users their changes leave without a usable SMTP password, in every format,
from what the users query says (whether a password is stored, and when), never the value."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from cli_support import mailprov
from dbhelpers import (
    StatementLog,
    passwords,
    sandbox,
    smtp_user,
    untemplated,
    update_user,
    write_config,
)
from keyring_backend import MemoryKeyring
from markupsafe import escape


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_SECRET_KEY", "MAILPROV_DB_URL", "MAILPROV_PLAN_KEY"):
        monkeypatch.delenv(name, raising=False)


def markdown_text(text: str) -> str:
    """`text` as the comment writes it: Markdown's punctuation escaped (a message is text,
    never markup)."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>()#+-.!|:;@,~=&\"'$%^?/" else c for c in text)


def scenario(url: str, folder: Path) -> tuple[list[str], dict[str, str]]:
    """Three users with overrides and passwords, then a configuration that changes one
    login, removes one override, and gives two users an override: one with no password,
    one with a password left from before."""
    codes = sandbox(url, users=10)
    third, fourth, fifth = codes[2], codes[3], codes[4]
    write_config(folder, url, users={"COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD"),
                                     third: smtp_user(third)})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    assert mailprov("key", "init").exit_code == 0
    for code in ("COMPTA", "COORD", third):
        assert mailprov("password", "set", code, "--stdin", input=f"pw-{code}\n").exit_code == 0
    update_user(url, fifth, smtp_password="left-from-before",
                password_set_at=datetime(2024, 3, 4, 5, 6, 7))
    write_config(folder, url, users={
        "COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD", username="coord2@example.com"),
        third: {"smtp": False}, fourth: smtp_user(fourth), fifth: smtp_user(fifth)})
    today = f"{passwords(url)['COORD'][1]:%Y-%m-%d}"
    f3, f4, f5 = (c.lower() for c in (third, fourth, fifth))
    messages = {
        "COORD": ("password-for-old-login",
                  f"needs a password again: the stored one (set on {today}) was entered for "
                  "the old login coord@example.com, not coord2@example.com; set it with "
                  "`mailprov password set COORD`"),
        third: ("password-stays",
                f"its stored SMTP password (set on {today}) stays in the row when the section "
                "is removed (plan and apply never touch passwords); remove it with `mailprov "
                f"password clear {third}`"),
        fourth: ("needs-password",
                 f"needs a password: none is stored for the login {f4}@example.com; set it "
                 f"with `mailprov password set {fourth}` (or the user types it in maestro*, "
                 "Préférences > Courriel)"),
        fifth: ("password-for-old-login",
                "check its password: the one stored (set on 2024-03-04) dates from before, not "
                f"from the login {f5}@example.com; if it is not that login's password, set it "
                f"with `mailprov password set {fifth}`"),
    }
    assert f3
    return codes, {code: messages[code] for code in sorted(messages)}


def test_plans_name_the_users_left_without_a_usable_password(db_url: str, tmp_path: Path,
                                                              memory_keyring: MemoryKeyring
                                                              ) -> None:
    _codes, notes = scenario(db_url, tmp_path)
    expected_json = [{"address": f"user.{code}", "code": code_, "message": message}
                     for code, (code_, message) in notes.items()]

    with StatementLog() as log:
        result = mailprov("plan", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format_version"] == "1.4"
    assert untemplated(data["password_notes"]) == expected_json
    # one users query; the password column appears only as "is one stored", never selected
    # (and the model version, read once per database and process: a SELECT * with no row)
    users_queries = [s for s in log.matching(r'FROM "?app_user\b') if not s.startswith("SELECT *")]
    assert len(users_queries) == 1, users_queries
    # as SQLAlchemy writes it, or the SQLite file reader (mailprov.db.sqlitefile)
    stored_test = r'CASE WHEN \(?"?app_user"?\."?smtp_password"? IS NULL\)? THEN 0 ELSE 1 END'
    without_test = [re.sub(stored_test, "", s) for s in log.statements]
    assert not any("smtp_password" in s for s in without_test)
    assert re.search(r'"?app_user"?\."?password_set_at\b', users_queries[0])

    text = mailprov("plan").stdout
    tail = text[text.index("No existing override"):]
    assert tail == "\n".join([
        "No existing override is left alone: the files list every user that has one.",
        *(f"Password: {user}: {message}" for user, (_code, message) in notes.items()),
        "Plan: 2 to add, 1 to change, 1 to remove.", ""])

    markdown = mailprov("plan", "--format", "markdown").stdout
    # the comment's follow-up checklist: one box per note, the user and what to do
    checklist = [line for line in markdown.splitlines() if line.startswith("- [ ] ")]
    assert checklist == [f"- [ ] <code>{user}</code>: {markdown_text(message)}"
                         for user, (_code, message) in notes.items()]
    assert "#### 🔑 Follow-up: passwords" in markdown
    page = mailprov("plan", "--format", "html").stdout  # the approvers' page lists them too
    for user, (_code, message) in notes.items():
        assert (f'<li><span class="box">☐</span> <span class="code">{user}</span>: '
                f"{escape(message)}</li>") in page

    # a saved plan keeps them, and `show` renders them as plan did
    assert mailprov("plan", "--out", "next.plan.json").exit_code == 0
    saved = json.loads((tmp_path / "next.plan.json").read_text(encoding="utf-8"))
    assert untemplated(saved["password_notes"]) == expected_json
    shown = mailprov("show", "next.plan.json")
    assert shown.stdout == text
    assert mailprov("show", "next.plan.json", "--format", "markdown").stdout == markdown

    # apply never writes a password; afterwards the plan has nothing to say
    before = passwords(db_url)
    assert mailprov("apply", "next.plan.json").exit_code == 0
    assert passwords(db_url) == before
    data = json.loads(mailprov("plan", "--format", "json").stdout)
    assert (data["changes"], data["password_notes"]) == ([], [])
    everything = text + markdown + json.dumps(saved)
    for value, _when in before.values():
        if value is not None:
            assert value not in everything


def test_a_user_without_a_login_needs_no_password(sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={codes[2]: {"smtp": {"from": "relay@example.com"}},
                                              "COMPTA": smtp_user("COMPTA", port=2525)})
    data = json.loads(mailprov("plan", "--format", "json").stdout)
    assert [c["address"] for c in data["changes"]] == sorted(
        ["general", f"user.{codes[2]}", "user.COMPTA"])
    assert untemplated(data["password_notes"]) == [{
        "address": "user.COMPTA", "code": "needs-password",
        "message": "needs a password: none is stored for the login compta@example.com; set "
                   "it with `mailprov password set COMPTA` (or the user types it in maestro*, "
                   "Préférences > Courriel)"}]


def test_a_saved_plan_with_broken_notes_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert mailprov("plan", "--out", "p.json").exit_code == 0
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    for notes in ({"user.COMPTA": "x"}, [{"address": "user.COMPTA", "code": 3}]):
        data["password_notes"] = notes
        (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
        result = mailprov("show", "bad.json")
        assert result.exit_code == 1
        assert result.stderr == ("Error: bad.json: not a valid mailprov plan; nothing was "
                                 "changed:\n  password_notes: must be a list of {code, "
                                 "address, message} objects\n")
    data["password_notes"] = []
    data["mapping"] = {"version": 1, "password_codec": "no such/codec"}
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    assert mailprov("show", "bad.json").stderr == (
        "Error: bad.json: not a valid mailprov plan; nothing was changed:\n"
        "  mapping.password_codec: \"no such/codec\" is not the name of a password codec\n")
    del data["password_notes"]  # plans saved before the notes existed are still read
    data["mapping"] = None
    (tmp_path / "old.json").write_text(json.dumps(data), encoding="utf-8")
    assert mailprov("show", "old.json").exit_code == 0


def test_a_command_a_message_suggests_pastes_as_one_argument(sqlite_url: str,
                                                             tmp_path: Path) -> None:
    import sqlite3

    codes = sandbox(sqlite_url, users=3)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE app_user SET code = 'J DOE$' WHERE code = ?", (codes[0],))
    write_config(tmp_path, sqlite_url, users={
        "J DOE$": {"smtp": {"username": "jdoe@example.com"}}})
    result = mailprov("plan", "--format", "json")
    assert result.exit_code == 0, result.output
    (note,) = json.loads(result.stdout)["password_notes"]
    assert "`mailprov password set 'J DOE$'`" in note["message"]
    assert mailprov("apply", "--auto-approve").exit_code == 0
    explained = mailprov("explain", "J DOE$")
    assert "`mailprov password set 'J DOE$'`" in explained.stdout
    status = mailprov("password", "status")
    assert "`mailprov password set 'J DOE$'`" in status.stdout

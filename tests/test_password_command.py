"""`mailprov password set|clear|status` end to end, on SQLite, PostgreSQL and MariaDB.

The keyring is real (MemoryKeyring), the codec is the real fernet codec, the databases are
real, and what was stored is read back beside mailprov with plain SQLAlchemy and decrypted
with the key, so the tests check what was written rather than what mailprov says.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import mailprov, mailprov_process
from cryptography.fernet import Fernet
from dbhelpers import (
    MAPPING_FILE,
    TABLES,
    dump,
    engine_for,
    mapped_installation,
    passwords,
    plan_and_apply,
    sandbox,
    smtp_user,
    update_user,
    write_config,
)
from keyring_backend import MemoryKeyring
from passwords_support import site_packages
from sqlalchemy import Table, select

from mailprov import api
from mailprov.errors import MailprovError
from mailprov.passwords.keys import generate_key

PASSWORD = "Compta-pw-é 2024!"
SET_AT = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_SECRET_KEY", "MAILPROV_DB_URL", "MAILPROV_DB_PASSWORD",
                 "MAILPROV_PLAN_KEY"):
        monkeypatch.delenv(name, raising=False)


def setup_target(url: str, folder: Path, users_: dict | None = None) -> list[str]:
    """A sandbox of 10 users, COMPTA and COORD with overrides, and a secret key."""
    codes = sandbox(url, users=10)
    write_config(folder, url, users=users_ or {"COMPTA": smtp_user("COMPTA"),
                                               "COORD": smtp_user("COORD")})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    result = mailprov("key", "init")
    assert result.exit_code == 0, result.output
    return codes


def decrypt(memory_keyring: MemoryKeyring, stored: str) -> str:
    key = memory_keyring.secrets[("mailprov", "secret-key")]
    return Fernet(key.encode()).decrypt(stored.encode()).decode()


def read_table(url: str, table: Table) -> list[dict]:
    with engine_for(url) as engine, engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c[0])).mappings()]


def history_rows(url: str) -> list[dict]:
    with engine_for(url) as engine, engine.connect() as conn:
        rows = conn.execute(select(TABLES.history).order_by(TABLES.history.c.id)).mappings()
        return [dict(row) for row in rows]


def test_set_through_stdin_then_through_the_prompt(db_url: str, tmp_path: Path,
                                                   memory_keyring: MemoryKeyring) -> None:
    setup_target(db_url, tmp_path)
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)

    result = mailprov("password", "set", "COMPTA", "--stdin", input=f"{PASSWORD}\nnext line\n")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == ("Stored the SMTP password of COMPTA (login compta@example.com) on "
                             "target 'db' with the password codec fernet (history #2).\n")
    stored, when = passwords(db_url)["COMPTA"]
    assert stored is not None and stored.startswith("gAAAAA")
    assert decrypt(memory_keyring, stored) == PASSWORD  # one line, its line ending removed
    assert before <= when <= datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)

    result = mailprov("password", "set", "COORD", input="coord-pw\ncoord-pw\n")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "SMTP password of COORD (login coord@example.com): \n"
        "Repeat it: \n"
        "Stored the SMTP password of COORD (login coord@example.com) on target 'db' with the "
        "password codec fernet (history #3).\n")
    assert decrypt(memory_keyring, passwords(db_url)["COORD"][0]) == "coord-pw"
    assert {code: value for code, (value, _) in passwords(db_url).items()
            if value is not None} == {"COMPTA": stored, "COORD": passwords(db_url)["COORD"][0]}

    # the history says who set whose password, in the layout of applies, never the password
    rows = history_rows(db_url)
    assert [row["summary"] for row in rows] == [
        "2 to add, 1 to change, 0 to remove", "password set for COMPTA",
        "password set for COORD"]
    for row, code in ((rows[1], "COMPTA"), (rows[2], "COORD")):
        assert json.loads(row["changes"]) == {"create": {}, "update": {}, "delete": {},
                                              "password": {f"user.{code}": "set"}}
        assert row["target"] == "db"
        assert row["config_digest"] is None and row["git_commit"] is None
        assert row["base_digest"].startswith("sha256:")
    assert rows[1]["applied_at"] == passwords(db_url)["COMPTA"][1]  # one moment, both places
    history = mailprov("history")
    assert history.exit_code == 0
    lines = history.stdout.splitlines()
    assert [line.split("  ")[-1] for line in lines] == [
        "password set for COORD", "password set for COMPTA",
        "2 to add, 1 to change, 0 to remove"]
    assert PASSWORD not in history.output and stored not in history.output


def test_refusals_change_nothing(sqlite_url: str, tmp_path: Path,
                                 memory_keyring: MemoryKeyring) -> None:
    codes = setup_target(sqlite_url, tmp_path)
    update_user(sqlite_url, codes[2], mail_override=True, smtp_username=None,
                from_address="relay@example.com", smtp_server="relay.example.com",
                smtp_port=25, smtp_ssl=False)
    before = dump(sqlite_url)
    cases = [
        (["COMPTA"], "one\ntwo\n", "SMTP password of COMPTA (login compta@example.com): \n"
         "Repeat it: \n", "Error: the two passwords do not match; nothing was changed\n"),
        (["COMPTA"], "\n", "SMTP password of COMPTA (login compta@example.com): \n",
         "Error: the password is empty; nothing was changed\n"),
        (["COMPTA", "--stdin"], "\n", "", "Error: the password is empty; nothing was changed\n"),
        (["COMPTA", "--stdin"], "", "", "Error: nothing on standard input: --stdin reads the "
         "password from one line\n"),
        (["COMPTA"], "only-once\n", "SMTP password of COMPTA (login compta@example.com): \n"
         "Repeat it: \n\n", "Error: no password was entered (the input ended); nothing was "
         "changed\n"),
        ([codes[5], "--stdin"], "pw\n", "",
         f"Error: {codes[5]} has no SMTP override on target 'db': maestro* sends its mail with "
         "the general default (outlook), with no SMTP login of its own, so there is no SMTP "
         "password to set. Give the user an `smtp` section (username and from) under `users:` "
         "in the configuration and run `mailprov apply`, then set the password\n"),
        ([codes[2], "--stdin"], "pw\n", "",
         f"Error: the SMTP override of {codes[2]} on target 'db' has no login (username): "
         "maestro* sends without authentication, so there is no SMTP password to set. Add "
         "`username` to the user's `smtp` section and run `mailprov apply` first\n"),
        (["COMPTAA"], "pw\npw\n", "",
         "Error: no user 'COMPTAA' in target 'db'; did you mean COMPTA?\n"),
    ]
    for args, stdin, stdout, stderr in cases:
        result = mailprov("password", "set", *args, input=stdin)
        assert (result.exit_code, result.stdout, result.stderr) == (1, stdout, stderr), args
    # without a key, nothing is asked: the refusal comes first
    del memory_keyring.secrets[("mailprov", "secret-key")]
    result = mailprov("password", "set", "COMPTA", input="pw\npw\n")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: no secret key to encrypt SMTP passwords on this machine: run `mailprov key "
        "init` to create one (or `mailprov key import` with the key exported where the "
        "passwords were set), or set MAILPROV_SECRET_KEY in CI\n")
    assert dump(sqlite_url) == before


def test_without_a_terminal_one_clear_line(sqlite_url: str, tmp_path: Path) -> None:
    sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    before = dump(sqlite_url)
    env = {"MAILPROV_SECRET_KEY": generate_key()}
    result = mailprov_process("password", "set", "COMPTA", cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: no terminal to type the password on (it would be echoed): run `mailprov "
        "password set COMPTA` in a terminal, or give the password on standard input with "
        "--stdin\n")
    assert dump(sqlite_url) == before
    # --stdin needs no terminal
    result = mailprov_process("password", "set", "COMPTA", "--stdin", cwd=tmp_path, env=env,
                              stdin=_pipe("piped-pw\n"))
    assert (result.returncode, result.stderr) == (0, "")
    key = env["MAILPROV_SECRET_KEY"].encode()
    assert Fernet(key).decrypt(passwords(sqlite_url)["COMPTA"][0].encode()) == b"piped-pw"


def _pipe(text: str) -> int:
    """A file descriptor that reads `text` (a pipe, as `echo pw | mailprov ...` gives)."""
    read, write = os.pipe()
    os.write(write, text.encode())
    os.close(write)
    return read


def test_clear(db_url: str, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    setup_target(db_url, tmp_path)
    assert mailprov("password", "set", "COMPTA", "--stdin", input="pw\n").exit_code == 0
    result = mailprov("password", "clear", "COMPTA")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "Cleared the stored SMTP password of COMPTA on target 'db' " \
                            "(history #3).\n"
    assert passwords(db_url)["COMPTA"] == (None, None)
    row = history_rows(db_url)[-1]
    assert row["summary"] == "password cleared for COMPTA"
    assert json.loads(row["changes"]) == {"create": {}, "update": {}, "delete": {},
                                          "password": {"user.COMPTA": "cleared"}}
    result = mailprov("password", "clear", "COMPTA")
    assert result.stdout == "COMPTA has no stored SMTP password on target 'db': nothing to " \
                            "clear.\n"
    assert len(history_rows(db_url)) == 3


def test_a_login_changed_while_typing_is_refused(sqlite_url: str, tmp_path: Path,
                                                 memory_keyring: MemoryKeyring) -> None:
    setup_target(sqlite_url, tmp_path)
    target = api.resolve_target(api.load_config(["mailprov.yaml"]), None)
    config = write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user(
        "COMPTA", username="new-compta@example.com"), "COORD": smtp_user("COORD")},
        name="other.yaml")

    def typed_while_an_apply_runs(who: api.PasswordUser) -> str:
        assert (who.code, who.login, who.codec) == ("COMPTA", "compta@example.com", "fernet")
        plan_and_apply(config)
        return "pw"

    with pytest.raises(MailprovError) as refused:
        api.set_password("COMPTA", target, typed_while_an_apply_runs)
    assert str(refused.value) == (
        "the SMTP login of COMPTA changed from compta@example.com to new-compta@example.com "
        "while the password was typed (an apply ran meanwhile); nothing was changed: run "
        "`mailprov password set COMPTA` again if the password is for new-compta@example.com")
    assert passwords(sqlite_url)["COMPTA"] == (None, None)


def test_status_names_set_missing_stale_and_orphaned(db_url: str, tmp_path: Path,
                                                     memory_keyring: MemoryKeyring) -> None:
    codes = setup_target(db_url, tmp_path)
    third, fourth = codes[2], codes[3]
    listed = {"COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD"),
              third: smtp_user(third)}
    write_config(tmp_path, db_url, users=listed)
    assert mailprov("apply", "--auto-approve").exit_code == 0
    for code in ("COMPTA", "COORD", third):
        assert mailprov("password", "set", code, "--stdin", input=f"pw-{code}\n").exit_code == 0
    result = mailprov("password", "status")
    assert result.exit_code == 0
    assert "stale" not in result.stdout and "orphaned" not in result.stdout

    # COORD's login changes, the third user's override goes (its password stays), and a
    # fourth user gets an override and no password yet
    write_config(tmp_path, db_url, users={
        "COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD", username="coord2@example.com"),
        third: {"smtp": False}, fourth: smtp_user(fourth)})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    stored = passwords(db_url)
    change = history_rows(db_url)[-1]

    def at(moment: datetime) -> str:
        return f"{moment:%Y-%m-%d %H:%M:%S}"

    result = mailprov("password", "status")
    assert (result.exit_code, result.stderr) == (0, "")
    fingerprint = api.key_status().secret_key.fingerprint
    rows = sorted([
        ("COMPTA", "compta@example.com", "set", at(stored["COMPTA"][1]), ""),
        ("COORD", "coord2@example.com", "set", at(stored["COORD"][1]),
         f"stale: set before the login changed from coord@example.com to coord2@example.com "
         f"on {at(change['applied_at'])} (history #{change['id']}); set it again"),
        (fourth, f"{fourth.lower()}@example.com", "not set", "-",
         f"needs a password: `mailprov password set {fourth}`"),
        (third, "-", "set", at(stored[third][1]), "orphaned: no SMTP login of its own any "
         f"more; remove it with `mailprov password clear {third}`"),
    ])
    header = ("USER", "LOGIN", "PASSWORD", "SET AT", "NOTE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    table = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
             for r in [header, *rows]]
    assert result.stdout == "\n".join([
        f"SMTP passwords on target 'db' (password codec fernet: Fernet (AES-128-CBC + "
        f"HMAC-SHA256), key {fingerprint} from the OS keyring).", "",
        *(line.rstrip() for line in table), "",
        "3 SMTP users: 2 with a password (1 stale), 1 without. 1 orphaned password."]) + "\n"

    data = json.loads(mailprov("password", "status", "--format", "json").stdout)
    assert data["summary"] == {"smtp_users": 3, "set": 2, "not_set": 1, "stale": 1,
                               "orphaned": 1, "office365_users": 0,
                               "office365_authenticated": 0, "office365_unknown": 0}
    by_code = {u["code"]: u for u in data["users"]}
    assert sorted(by_code) == sorted(["COMPTA", "COORD", third, fourth])
    assert by_code["COORD"] == {
        "code": "COORD", "name": "Coordination de chantier", "smtp": True,
        "login": "coord2@example.com", "password_set": True,
        "set_at": stored["COORD"][1].isoformat(timespec="seconds"), "stale": True,
        "login_changed": {"history_id": change["id"],
                          "at": change["applied_at"].isoformat(timespec="seconds"),
                          "before": "coord@example.com", "after": "coord2@example.com"},
        "orphaned": False}
    assert (by_code[third]["orphaned"], by_code[third]["smtp"], by_code[third]["login"]) == (
        True, False, None)
    assert (by_code[fourth]["password_set"], by_code[fourth]["set_at"]) == (False, None)
    assert by_code["COMPTA"]["stale"] is False and by_code["COMPTA"]["login_changed"] is None
    text = result.output + json.dumps(data)
    for value, _when in stored.values():
        if value is not None:
            assert value not in text
    assert memory_keyring.secrets[("mailprov", "secret-key")] not in text
    assert "pw-" not in text

    # setting it again makes it current
    assert mailprov("password", "set", "COORD", "--stdin", input="pw2\n").exit_code == 0
    data = json.loads(mailprov("password", "status", "--format", "json").stdout)
    assert data["summary"]["stale"] == 0


def test_a_login_changed_and_changed_back_is_not_stale(sqlite_url: str, tmp_path: Path,
                                                       memory_keyring: MemoryKeyring) -> None:
    setup_target(sqlite_url, tmp_path)
    assert mailprov("password", "set", "COORD", "--stdin", input="pw\n").exit_code == 0
    for login in ("other@example.com", "coord@example.com"):
        write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA"),
                                                  "COORD": smtp_user("COORD", username=login)})
        assert mailprov("apply", "--auto-approve").exit_code == 0
    status = api.password_status(api.resolve_target(api.load_config(["mailprov.yaml"])))
    assert [(s.code, s.stale) for s in status.users] == [("COMPTA", False), ("COORD", False)]


def test_a_password_maestro_set_is_compared_by_time(sqlite_url: str, tmp_path: Path,
                                                    memory_keyring: MemoryKeyring) -> None:
    setup_target(sqlite_url, tmp_path)
    update_user(sqlite_url, "COORD", smtp_password="typed-in-maestro",
                password_set_at=datetime(2020, 1, 1, 8, 0))
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA"),
                                              "COORD": smtp_user("COORD",
                                                                 username="x@example.com")})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    status = api.password_status(api.resolve_target(api.load_config(["mailprov.yaml"])))
    coord = next(s for s in status.users if s.code == "COORD")
    assert coord.stale and coord.login_change is not None
    assert (coord.login_change.before, coord.login_change.after) == ("coord@example.com",
                                                                      "x@example.com")
    # set after the apply: current
    update_user(sqlite_url, "COORD", password_set_at=datetime.now(UTC).replace(tzinfo=None)
                + timedelta(minutes=1))
    status = api.password_status(api.resolve_target(api.load_config(["mailprov.yaml"])))
    assert not next(s for s in status.users if s.code == "COORD").stale


def test_the_mapping_names_the_codec(sqlite_url: str, tmp_path: Path,
                                     memory_keyring: MemoryKeyring,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    setup_target(sqlite_url, tmp_path)
    (tmp_path / "mapping.yaml").write_text("version: 1\npassword_codec: example-aesgcm\n",
                                           encoding="utf-8")
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA"),
                                              "COORD": smtp_user("COORD")},
                 mapping="mapping.yaml")
    result = mailprov("password", "set", "COMPTA", "--stdin", input="pw\n")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no password codec named example-aesgcm. Installed codecs: fernet. Install the "
        "package that provides example-aesgcm (it declares it in the entry-point group "
        "mailprov.password_codecs), or correct the codec name in the mapping file.\n")
    monkeypatch.setenv("EXAMPLE_CODEC_KEY", generate_key())
    with site_packages(tmp_path / "site") as site:
        site.install_example_codec()
        result = mailprov("password", "set", "COMPTA", "--stdin", input=PASSWORD + "\n")
        assert result.stdout == (
            "Stored the SMTP password of COMPTA (login compta@example.com) on target 'db' "
            "with the password codec example-aesgcm (history #2).\n")
        stored = passwords(sqlite_url)["COMPTA"][0]
        assert stored is not None and stored.startswith("aesgcm1:")
        from mailprov.passwords.codec import get_codec

        assert get_codec("example-aesgcm").decode(stored) == PASSWORD
        status = json.loads(mailprov("password", "status", "--format", "json").stdout)
        assert status["codec"] == "example-aesgcm"
    (tmp_path / "mapping.yaml").write_text("version: 1\npassword_codec: 'not a name'\n",
                                           encoding="utf-8")
    result = mailprov("password", "status")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "mapping.yaml:2:17: password_codec: must be the name of a password codec: letters, "
        "digits, '.', '_' or '-' (for example fernet, or the name a codec package declares "
        "in the entry-point group mailprov.password_codecs)\n")


def test_a_mapped_installation_stores_in_its_own_columns(sqlite_url: str, tmp_path: Path,
                                                          memory_keyring: MemoryKeyring) -> None:
    _general, people = mapped_installation(sqlite_url)
    (tmp_path / "mapping.yaml").write_text(MAPPING_FILE, encoding="utf-8")
    write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                 users={"COMPTA": smtp_user("COMPTA"), "COORD": smtp_user("COORD")})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    assert mailprov("key", "init").exit_code == 0
    result = mailprov("password", "set", "COORD", "--stdin", input=PASSWORD + "\n")
    assert result.stdout == ("Stored the SMTP password of COORD (login coord@example.com) on "
                             "target 'db' with the password codec fernet (history #2).\n")
    rows = {r["CODE_USAGER"]: r for r in read_table(sqlite_url, people)}
    assert decrypt(memory_keyring, rows["COORD"]["SMTP_MOT_DE_PASSE"]) == PASSWORD
    assert isinstance(rows["COORD"]["SMTP_MDP_DATE"], datetime)
    assert rows["COMPTA"]["SMTP_MOT_DE_PASSE"] == "pw-COMPTA"  # set by maestro*, untouched
    status = json.loads(mailprov("password", "status", "--format", "json").stdout)
    assert [(u["code"], u["password_set"], u["orphaned"]) for u in status["users"]] == [
        ("COMPTA", True, False), ("COORD", True, False), ("JTREMBLAY", True, True)]
    assert mailprov("password", "clear", "JTREMBLAY").exit_code == 0
    rows = {r["CODE_USAGER"]: r for r in read_table(sqlite_url, people)}
    assert (rows["JTREMBLAY"]["SMTP_MOT_DE_PASSE"], rows["JTREMBLAY"]["SMTP_MDP_DATE"]) == (
        None, None)


def test_in_maestro_cloud_every_user_logs_in_with_their_code(sqlite_url: str, tmp_path: Path,
                                                            memory_keyring: MemoryKeyring
                                                            ) -> None:
    codes = sandbox(sqlite_url, users=4, edition="cloud")
    write_config(tmp_path, sqlite_url, edition="cloud", general={
        "client": "smtp", "smtp": {"server": "smtp.example.com", "port": 587, "ssl": True}})
    assert mailprov("apply", "--auto-approve").exit_code == 0
    assert mailprov("key", "init").exit_code == 0
    result = mailprov("password", "set", codes[1], "--stdin", input="pw\n")
    assert result.stdout == (f"Stored the SMTP password of {codes[1]} (login {codes[1]}) on "
                             "target 'db' with the password codec fernet (history #2).\n")
    status = json.loads(mailprov("password", "status", "--format", "json").stdout)
    assert [(u["code"], u["login"], u["password_set"]) for u in status["users"]] == sorted(
        (code, code, code == codes[1]) for code in codes)
    assert status["summary"] == {"smtp_users": 4, "set": 1, "not_set": 3, "stale": 0,
                                 "orphaned": 0, "office365_users": 0,
                                 "office365_authenticated": 0, "office365_unknown": 0}


def test_an_office365_user_has_no_smtp_password_to_set(sqlite_url: str, tmp_path: Path,
                                                        memory_keyring: MemoryKeyring) -> None:
    """maestro* 3.05: a user who sends with Office 365 – Modern Authentication is refused
    as such, not as a user 'with no SMTP login' who follows the general default."""
    api.sandbox(sqlite_url, users=12, model=2)
    live = api.read_target(api.ResolvedTarget("db", sqlite_url))
    code = sorted(c for c, user in live.users.items() if user.office365 is not None)[0]
    write_config(tmp_path, sqlite_url, users={})
    assert mailprov("key", "init").exit_code == 0
    before = dump(sqlite_url)
    result = mailprov("password", "set", code, "--stdin", input="pw\n")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {code} sends with Office 365 – Modern Authentication on target 'db': "
        "maestro* uses the user's own Office 365 sign-in, so there is no SMTP password to "
        "set (`mailprov office365 status` shows whether they have signed in)\n")
    assert dump(sqlite_url) == before


def test_the_french_prompts_space_their_colon(sqlite_url: str, tmp_path: Path,
                                              memory_keyring: MemoryKeyring) -> None:
    """click ends a prompt with ': '; in French the colon takes a no-break space before it,
    as every other French message does."""
    setup_target(sqlite_url, tmp_path)
    result = mailprov("--lang", "fr", "password", "set", "COMPTA", input="one\ntwo\n")
    assert result.exit_code == 1
    first, second = result.stdout.splitlines()[:2]
    assert first.endswith("\u00a0: ") and second == "Répétez-le\u00a0: "

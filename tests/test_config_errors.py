"""Configuration errors: every problem of every file at once, rejected values quoted, users
that inherit the live general row, spaces that cannot hide, and server names.

Files are real files in a temporary working folder; plans run against real SQLite
databases. Every assertion is on the whole message a user sees.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import (
    TARGET,
    general_row,
    sandbox,
    update_general,
    write_config,
)

from mailprov import api
from mailprov.cli import cli
from mailprov.errors import ConfigError

OCTAL_0465 = ("'0465' has a leading zero and is read as octal (309) by YAML 1.1: write a plain "
              "decimal number (587), or put it in quotes if you meant the text")
ALIAS = ("this value has an anchor (&name) that an alias (*name) repeats; aliases are not "
         "allowed in mailprov files: write the value out in full")
MERGE = "merge keys (<<) are not allowed in mailprov files: write the keys out in full"
NO_AT = "An email address must have an @-sign."


def boolean(word: str) -> str:
    return (f"'{word}' is read as a boolean by YAML 1.1: write true or false, or put it in "
            "quotes if you meant the text")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return name


def problems(*names: str) -> list[tuple[str, int, int, str, str]]:
    with pytest.raises(ConfigError) as info:
        api.load_config(list(names))
    return [(p.file, p.line, p.column, p.dotted_path, p.message) for p in info.value.problems]


# --- 1. every problem at once -------------------------------------------------------------------


def test_yaml_traps_do_not_hide_the_other_problems_of_their_file(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        general:
          client: smpt
          smtp:
            server: smtp.example.com
            port: 0465
            ssl: yes
        users:
          1234:
            smtp: false
          COMPTA:
            smtp:
              from: nobody
              port: 25
              port: 26
          COORD:
            smtp: &coord
              username: coord@example.com
          PAIE:
            smtp: *coord
          RH:
            smtp:
              <<: {username: rh}
              usernme: rh
        """)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 3, 11, "general.client",
         "'smpt' is not one of: other, outlook, lotus_notes, smtp, office365; did you mean "
         "'smtp'?"),
        ("mailprov.yaml", 6, 11, "general.smtp.port", OCTAL_0465),
        ("mailprov.yaml", 7, 10, "general.smtp.ssl", boolean("yes")),
        ("mailprov.yaml", 9, 3, "users", "keys must be text: write '1234' in quotes"),
        ("mailprov.yaml", 13, 13, "users.COMPTA.smtp.from",
         f"'nobody' is not an e-mail address: {NO_AT}"),
        ("mailprov.yaml", 15, 7, "users.COMPTA.smtp.port",
         "duplicate key 'port' (first defined at line 14, column 7): keep one"),
        ("mailprov.yaml", 17, 11, "users.COORD.smtp", ALIAS),
        ("mailprov.yaml", 23, 7, "users.RH.smtp", MERGE),
        ("mailprov.yaml", 24, 7, "users.RH.smtp.usernme",
         "unknown key 'usernme'; did you mean 'username'?"),
    ]


def test_a_type_error_in_a_user_does_not_hide_its_other_problems(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        users:
          COMPTA:
            smtp:
              port: "x"
              from: not-an-email
              password: hunter2
        """)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 5, 13, "users.COMPTA.smtp.port", "expected a whole number, got 'x'"),
        ("mailprov.yaml", 6, 13, "users.COMPTA.smtp.from",
         f"'not-an-email' is not an e-mail address: {NO_AT}"),
        ("mailprov.yaml", 7, 7, "users.COMPTA.smtp.password",
         "'password' looks like a secret: passwords never go in mailprov files: each user types "
         "their own SMTP password in maestro* (Préférences > Courriel), and the database "
         "password comes from `mailprov login TARGET` or the MAILPROV_DB_PASSWORD environment "
         "variable; remove this key"),
    ]


def test_a_refused_value_brings_no_follow_up_errors(folder: Path) -> None:
    """The value is there, only unusable: no "missing", "not defined" or "add it" about it."""
    write(folder, "mailprov.yaml", """\
        version: 0001
        targets:
          prod:
            url: yes
        default_target: prod
        general:
          client: smtp
          smtp:
            server: smtp.example.com
            port: 0465
        users:
          COMPTA:
            smtp: on
          COORD:
            smtp:
              port: 0465
              from: nobody
        """)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 1, 10, "version", "'0001' has a leading zero and is read as octal (1) "
                                            "by YAML 1.1: write a plain decimal number (587), or "
                                            "put it in quotes if you meant the text"),
        ("mailprov.yaml", 4, 10, "targets.prod.url", boolean("yes")),
        ("mailprov.yaml", 10, 11, "general.smtp.port", OCTAL_0465),
        ("mailprov.yaml", 13, 11, "users.COMPTA.smtp", boolean("on")),
        ("mailprov.yaml", 16, 13, "users.COORD.smtp.port", OCTAL_0465),
        ("mailprov.yaml", 17, 13, "users.COORD.smtp.from",
         f"'nobody' is not an e-mail address: {NO_AT}"),
    ]


def test_schema_errors_do_not_bring_follow_up_errors_either(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        targets:
          prod:
            url: 5
        default_target: prod
        general:
          client: smtp
          smtp:
            server: smtp.example.com
            port: "587"
        """)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 4, 10, "targets.prod.url", "expected text, got 5"),
        ("mailprov.yaml", 10, 11, "general.smtp.port", "expected a whole number, got '587'"),
    ]


def test_problems_inside_a_duplicate_entry_are_reported_too(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        users:
          COMPTA:
            smtp: false
          COMPTA:
            smtp:
              ssl: on
        """)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 5, 3, "users.COMPTA",
         "duplicate key 'COMPTA' (first defined at line 3, column 3): keep one"),
        ("mailprov.yaml", 7, 12, "users.COMPTA.smtp.ssl", boolean("on")),
    ]


def test_every_file_reports_every_problem_and_an_unreadable_file_one(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        include: [users/*.yaml]
        general:
          smtp:
            ssl: Yes
            prot: 587
        """)
    write(folder, "users/a.yaml", """\
        users:
          A:
            smtp:
              port: 0
              from: a
              ssl: NO
        """)
    write(folder, "users/b.yaml", "users:\n  B:\n    smtp:\n     port: 1\n      ssl: true\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 5, 10, "general.smtp.ssl", boolean("Yes")),
        ("mailprov.yaml", 6, 5, "general.smtp.prot",
         "unknown key 'prot'; did you mean 'port'?"),
        ("users/a.yaml", 4, 13, "users.A.smtp.port", "port 0 is out of range: use 1 to 65535"),
        ("users/a.yaml", 5, 13, "users.A.smtp.from",
         "'a' is too short (1 characters, at least 3)"),
        ("users/a.yaml", 6, 12, "users.A.smtp.ssl", boolean("NO")),
        ("users/b.yaml", 5, 10, "", "invalid YAML: mapping values are not allowed in this "
                                    "context"),
    ]


def test_aliases_are_reported_once_per_repeated_value_without_expanding_them(
        folder: Path) -> None:
    lines = ["version: 1", 'lol0: &lol0 "lol"']
    for level in range(1, 10):
        lines.append(f"lol{level}: &lol{level} [{', '.join([f'*lol{level - 1}'] * 10)}]")
    lines.append("users: *lol9")
    (folder / "mailprov.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    found = problems("mailprov.yaml")
    assert time.perf_counter() - started < 1
    anchors = [("mailprov.yaml", line, 7, f"lol{line - 2}", ALIAS) for line in range(2, 12)]
    unknown = [("mailprov.yaml", line, 1, f"lol{line - 2}",
                f"unknown key 'lol{line - 2}' (allowed: all_users, default_target, defaults, "
                "general, include, policy, profiles, prune, safety, selections, targets, users, "
                "users_from, vars, version)") for line in range(2, 12)]
    assert found == sorted(anchors + unknown, key=lambda p: (p[1], p[2]))


# --- 2. a rejected value is quoted --------------------------------------------------------------


SMTP = "general:\n  smtp:\n    server: smtp.example.com\n    port: 587\n"


@pytest.mark.parametrize(("entry", "column", "path", "message"), [
    ("from: comptabilite", 13, "from", f"'comptabilite' is not an e-mail address: {NO_AT}"),
    ("from: 'compta@example.com '", 13, "from",
     "'compta@example.com ' is not an e-mail address: The part after the @-sign contains "
     "invalid characters: SPACE."),
    ("username: compta@exa mple.com", 17, "username",
     "'compta@exa mple.com' looks like an e-mail address but is not one: The part after the "
     "@-sign contains invalid characters: SPACE."),
    ('username: "compta\\r\\nBcc"', 17, "username",
     "'compta\\r\\nBcc' contains control characters: remove them"),
    ("from: ab", 13, "from", "'ab' is too short (2 characters, at least 3)"),
    ("username: " + "u" * 300, 17, "username",
     "'" + "u" * 57 + "...' is too long (300 characters, at most 255)"),
    ("from: françois", 13, "from", f"'françois' is not an e-mail address: {NO_AT}"),
])
def test_a_rejected_user_value_is_quoted(folder: Path, entry: str, column: int, path: str,
                                         message: str) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + f"users:\n  COMPTA:\n    smtp:\n      {entry}\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 9, column, f"users.COMPTA.smtp.{path}", message)]


def test_a_rejected_name_is_quoted(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        targets:
          bad name:
            url: sqlite:///x.db
        users:
          "A\\x07":
            smtp: false
          %s:
            smtp: false
        general:
          client: "smtpé"
        """ % ("X" * 300))
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 3, 3, 'targets."bad name"',
         "target name 'bad name' is not allowed: use letters, digits, '_', '.' or '-' (at most "
         "64, starting with a letter or digit)"),
        ("mailprov.yaml", 6, 3, 'users."A\\x07"',
         "user code 'A\\x07' contains control characters: remove them"),
        ("mailprov.yaml", 8, 3, "users." + "X" * 300,
         "'" + "X" * 57 + "...' is too long (300 characters, at most 255)"),
        ("mailprov.yaml", 11, 11, "general.client",
         "'smtpé' is not one of: other, outlook, lotus_notes, smtp, office365; did you mean "
         "'smtp'?"),
    ]


# --- 3. users that inherit the live general row -------------------------------------------------


INHERITING = {"smtp": {"username": "compta@example.com", "from": "compta@example.com"}}


def test_validate_accepts_users_that_inherit_a_general_row_the_files_leave_alone(
        folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        users:
          COMPTA:
            smtp:
              username: compta@example.com
          COORD:
            smtp:
              server: relay.example.com
              from: coord@example.com
          PAIE:
            smtp:
              server: relay.example.com
              port: 2525
              from: paie@example.com
        """)
    config = api.load_config("mailprov.yaml")
    assert config.warnings == ()
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout == (
        "Valid: 1 file(s), 3 user(s) (3 with an SMTP override), 0 target(s).\n"
        "Note: 2 users inherit the SMTP server or port from the target's general "
        "configuration, which the files do not set: `mailprov plan` checks that it has them.\n")


def test_validate_says_nothing_more_when_general_smtp_gives_what_users_inherit(
        folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + "users:\n  COMPTA:\n    smtp:\n      username: compta@example.com\n")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.stdout == ("Valid: 1 file(s), 1 user(s) (1 with an SMTP override), "
                             "0 target(s).\n")


def test_plan_takes_the_live_general_values_the_files_do_not_set(sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=5)
    update_general(sqlite_url, smtp_server="smtp.live.example.com", smtp_port=2525,
                   smtp_ssl=True)
    config = write_config(tmp_path, sqlite_url, general={},
                          users={codes[0]: INHERITING,
                                 codes[1]: {"smtp": {"port": 587, "ssl": False,
                                                     "from": "b@example.com"}}})
    loaded = api.load_config([config])
    plan = api.plan(loaded, api.resolve_target(loaded, None))
    assert [(c.address, c.action, c.after) for c in plan.changes] == [
        (f"user.{codes[0]}", "create",
         {"username": "compta@example.com", "from": "compta@example.com",
          "server": "smtp.live.example.com", "port": 2525, "ssl": True}),
        (f"user.{codes[1]}", "create",
         {"username": None, "from": "b@example.com", "server": "smtp.live.example.com",
          "port": 587, "ssl": False}),
    ]
    assert general_row(sqlite_url)["smtp_server"] == "smtp.live.example.com"


def test_plan_refuses_users_that_resolve_no_server_or_port(sqlite_url: str,
                                                           tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=5)
    update_general(sqlite_url, smtp_server="smtp.live.example.com", smtp_port=None)
    config = write_config(tmp_path, sqlite_url, general={"client": "outlook"},
                          users={codes[0]: INHERITING,
                                 codes[1]: {"smtp": {"port": 587, "from": "b@example.com"}},
                                 codes[2]: {"smtp": {"server": "relay.example.com",
                                                     "from": "c@example.com"}}})
    loaded = api.load_config([config])
    with pytest.raises(ConfigError) as info:
        api.plan(loaded, api.resolve_target(loaded, None))
    name = str(config)
    assert str(info.value) == (
        f"{name}:11:7: users.{codes[0]}.smtp: no SMTP port: neither this user nor general.smtp "
        f"sets it, and the general configuration of target '{TARGET}' has none: set it here "
        "or in general.smtp\n"
        f"{name}:19:7: users.{codes[2]}.smtp: no SMTP port: neither this user nor general.smtp "
        f"sets it, and the general configuration of target '{TARGET}' has none: set it here "
        "or in general.smtp\n"
        "2 errors found.")


def test_plan_names_both_missing_values(sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=3)
    config = write_config(tmp_path, sqlite_url, general={}, users={codes[0]: INHERITING})
    loaded = api.load_config([config])
    with pytest.raises(ConfigError) as info:
        api.plan(loaded, api.resolve_target(loaded, None))
    assert [(p.dotted_path, p.message) for p in info.value.problems] == [
        (f"users.{codes[0]}.smtp",
         "no SMTP server and port: neither this user nor general.smtp sets them, and the "
         f"general configuration of target '{TARGET}' has none: set them here or in "
         "general.smtp")]


# --- 5. server names ----------------------------------------------------------------------------


@pytest.mark.parametrize("server", [
    "smtp.example.com", "SMTP.Example.COM", "localhost", "mail-relay", "smtp.example.com.",
    "relay_01.corp.example", "smtp.exemple.québec", "smtp.exemple.xn--qubec-csa",
    "192.0.2.10", "2001:db8::1", "::1", "a" * 63 + ".example.com",
])
def test_accepted_server_names(server: str) -> None:
    from mailprov.config.servers import server_error

    assert server_error(server) is None


PORT_UNDER = "and the port under `port:`"


@pytest.mark.parametrize(("server", "message"), [
    ("smtp://smtp.example.com:587", "'smtp://smtp.example.com:587' is a URL: write the server "
                                    f"alone (smtp.example.com) {PORT_UNDER} (587)"),
    ("smtps://smtp.example.com", "'smtps://smtp.example.com' is a URL: write the server alone "
                                 "(smtp.example.com)"),
    ("smtp.example.com:587", "'smtp.example.com:587' includes a port: write the server alone "
                             f"(smtp.example.com) {PORT_UNDER} (587)"),
    ("192.0.2.10:25", f"'192.0.2.10:25' includes a port: write the server alone (192.0.2.10) "
                      f"{PORT_UNDER} (25)"),
    ("[2001:db8::1]:587", "'[2001:db8::1]:587' includes a port: write the server alone "
                          f"(2001:db8::1) {PORT_UNDER} (587)"),
    ("[2001:db8::1]", "'[2001:db8::1]': write an IPv6 address without brackets (2001:db8::1)"),
    ("smtp.example.com/x", "'smtp.example.com/x' has a path: write the server alone "
                           "(smtp.example.com)"),
    ("999.1.2.3", "'999.1.2.3' is not an IP address: an IPv4 address is four numbers from 0 "
                  "to 255 separated by dots, such as 192.0.2.10"),
    ("10.20.30", "'10.20.30' is not an IP address: an IPv4 address is four numbers from 0 to "
                 "255 separated by dots, such as 192.0.2.10"),
    ("smtp..example.com", "'smtp..example.com' is not a host name: it has an empty part "
                          "between dots"),
    ("-smtp.example.com", "'-smtp.example.com' is not a host name: a part between dots starts "
                          "or ends with '-'"),
    ("compta@example.com", "'compta@example.com' is not a host name: '@' is not allowed (a "
                           "host name has letters, digits, '-', '_' and dots)"),
    ("a" * 64 + ".example.com", "'" + "a" * 57 + "...' is not a host name: a part between "
                                "dots is longer than 63 characters"),
    ("smtp.☃.com", "'smtp.☃.com' is not a host name: Codepoint U+2603 at position 1 of '☃' "
                   "not allowed"),
    ("fe80::1::2", "'fe80::1::2' is not an IP address: an IPv6 address is written as in "
                   "2001:db8::1"),
])
def test_refused_server_names(server: str, message: str) -> None:
    from mailprov.config.servers import server_error

    assert server_error(server) == message


def test_server_names_are_checked_in_general_and_in_users(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        general:
          smtp:
            server: smtp://smtp.example.com:587
        users:
          COMPTA:
            smtp:
              server: relay.example.com:2525
          COORD:
            smtp:
              server: relay.example.com:2525
        """)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 4, 13, "general.smtp.server",
         "'smtp://smtp.example.com:587' is a URL: write the server alone (smtp.example.com) "
         f"{PORT_UNDER} (587)"),
        ("mailprov.yaml", 8, 15, "users.COMPTA.smtp.server",
         "'relay.example.com:2525' includes a port: write the server alone (relay.example.com) "
         f"{PORT_UNDER} (2525)"),
        ("mailprov.yaml", 11, 15, "users.COORD.smtp.server",
         "'relay.example.com:2525' includes a port: write the server alone (relay.example.com) "
         f"{PORT_UNDER} (2525)"),
    ]


# --- codes for scripts: every problem has its family's code, and its path ---------------------


def json_problems(*args: str) -> list[tuple[str, str, int, int, str]]:
    import json

    result = CliRunner().invoke(cli, ["validate", "--format", "json", *args])
    assert result.exit_code == 1, result.output
    return [(p["code"], p["path"], p["line"], p["column"], p["severity"])
            for p in json.loads(result.stdout)["problems"]]


def test_validate_json_gives_each_yaml_trap_its_code_and_the_path_of_its_value(
        folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        general:
          client: outlok
          smtp:
            server: smtp.example.com
            port: 0465
            ssl: yes
            time: 1:30
        users:
          1234: {smtp: false}
          COMPTA:
            smtp:
              port: 25
              port: 26
              from: nobody
          COORD:
            smtp: &coord {username: coord@example.com}
          PAIE:
            smtp: *coord
            token: x
          RH: {smtp: {<<: {port: 25}}, profile: staf}
        """)
    assert json_problems() == [
        ("schema-enum", "general.client", 3, 11, "error"),
        ("yaml-number", "general.smtp.port", 6, 11, "error"),
        ("yaml-boolean", "general.smtp.ssl", 7, 10, "error"),
        ("schema-unknown-key", "general.smtp.time", 8, 5, "error"),
        ("yaml-number", "general.smtp.time", 8, 11, "error"),
        ("yaml-key-not-text", "users", 10, 3, "error"),
        ("yaml-duplicate-key", "users.COMPTA.smtp.port", 14, 7, "error"),
        ("address-invalid", "users.COMPTA.smtp.from", 15, 13, "error"),
        ("yaml-alias", "users.COORD.smtp", 17, 11, "error"),
        ("secret-key", "users.PAIE.token", 20, 5, "error"),
        ("yaml-alias", "users.RH.smtp", 21, 15, "error"),
        ("unknown-profile", "users.RH.profile", 21, 41, "error"),
    ]


def test_validate_json_codes_of_files_includes_lists_and_rules(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        targets:
          prod: {url: "postgresql://u:secret@db/maestro"}
        default_target: test
        include: [users/*.yaml, missing.yaml, /etc/mailprov.yaml]
        users_from: people.csv
        general:
          client: smtp
          smtp: {server: "smtp.example.com:587"}
        """)
    write(folder, "users/a.yaml", """\
        users:
          A: {smtp: {port: 70000, username: "{{ vars.nothing }}@x.ca"}}
          B: {smtp: {usernme: b}}
        """)
    (folder / "people.csv").write_text("code;port;#name\nC;abc;\nC;;\n", encoding="utf-8")
    assert json_problems("--var", "site=Québec") == [
        ("var-unused", "", 0, 0, "error"),
        ("url-password", "targets.prod.url", 3, 15, "error"),
        ("unknown-target", "default_target", 4, 17, "error"),
        ("include-not-found", "include[1]", 5, 25, "error"),
        ("include-path", "include[2]", 5, 39, "error"),
        ("smtp-incomplete", "general.client", 8, 11, "error"),
        ("server-invalid", "general.smtp.server", 9, 18, "error"),
        ("csv-value", "users.C.smtp.port", 2, 2, "error"),
        ("csv-duplicate-user", "users.C", 3, 1, "error"),
        ("schema-range", "users.A.smtp.port", 2, 20, "error"),
        ("template-unknown-name", "users.A.smtp.username", 2, 37, "error"),
        ("schema-unknown-key", "users.B.smtp.usernme", 3, 14, "error"),
    ]


def test_validate_json_codes_of_unreadable_files(folder: Path) -> None:
    (folder / "bad.yaml").write_bytes(b"version: 1\nname: caf\xe9\n")
    write(folder, "tabs.yaml", "version: 1\ngeneral:\n\tclient: smtp\n")
    write(folder, "empty.yaml", "# nothing\n")
    assert json_problems("-c", "bad.yaml", "-c", "tabs.yaml", "-c", "empty.yaml",
                         "-c", "nowhere.yaml") == [
        ("yaml-encoding", "", 2, 10, "error"),
        ("yaml-syntax", "", 0, 0, "error"),
        ("file-not-found", "", 0, 0, "error"),
        ("yaml-syntax", "", 3, 1, "error"),
    ]


@pytest.mark.parametrize("layout", ["block", "flow"])
def test_a_number_too_long_for_python_is_one_problem_at_its_place(folder: Path,
                                                                  layout: str) -> None:
    """Python refuses to read a number of more than 4,300 digits (ValueError): a file
    holding one gets one problem at the number, not an unexpected error."""
    digits = "1" + "0" * 5000
    if layout == "block":
        text = ("version: 1\ngeneral:\n  smtp:\n    server: smtp.example.com\n"
                f"    port: {digits}\n")
        place = "5:11"
    else:
        text = f"version: 1\ngeneral:\n  smtp: {{server: smtp.example.com, port: {digits}}}\n"
        place = "3:42"
    write(folder, "mailprov.yaml", text)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"mailprov.yaml:{place}: general.smtp.port: a number of 5001 digits: no setting "
        "takes one that long\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")
    assert json_problems()[0][:2] == ("yaml-number", "general.smtp.port")

"""Configuration rules through the library API: mailprov.api.load_config.

Each test writes real files in a temporary folder (the working folder, so file names in problems
are short and relative) and checks the problems' file, line, column, path and message, or the
Config that comes back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mailprov import api
from mailprov.errors import ConfigError, Problem
from mailprov.model import (
    Config,
    DesiredGeneral,
    DesiredOverride,
    DesiredUser,
    Safety,
    SmtpServer,
    Source,
    Target,
)

SMTP = """\
general:
  smtp:
    server: smtp.example.com
    port: 587
"""
HOW = ("passwords never go in mailprov files: each user types their own SMTP password in "
       "maestro* (Préférences > Courriel), and the database password comes from `mailprov login "
       "TARGET` or the MAILPROV_DB_PASSWORD environment variable; remove this key")
OFFICE = ("sending with a password (SMTP AUTH) stops working when Microsoft turns basic "
          "authentication off by default for existing Exchange Online tenants, at the end of "
          "December 2026: maestro* then gets `550 5.7.30` (basic authentication is not "
          "supported for client submission) or `535 5.7.139` (SMTP AUTH is disabled for the "
          "tenant). Move to Office 365 – Modern Authentication (`office365:` instead of "
          "`smtp:`, maestro* 3.05; `mailprov migrate office365` rewrites the files), or send "
          "through a relay")
PORT_465 = ("port 465 with `ssl: true`: maestro* (.NET) speaks STARTTLS only and hangs until "
            "timeout on an implicit-TLS port; use port 587")
PORT_25 = ("port 25 with `ssl: true`: most servers offer STARTTLS for submission on port 587, "
           "and many networks block port 25; use 587")


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
    for problem in info.value.problems:
        assert isinstance(problem, Problem)
        assert problem.severity == "error"
    return [(p.file, p.line, p.column, p.dotted_path, p.message) for p in info.value.problems]


def warnings_of(config: Config) -> list[tuple[str, int, int, str, str]]:
    for warning in config.warnings:
        assert warning.severity == "warning"
    return [(w.file, w.line, w.column, w.dotted_path, w.message) for w in config.warnings]


# --- general and per-user SMTP ------------------------------------------------------------------


def test_smtp_client_needs_server_and_port(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  client: smtp\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 3, 11, "general.client",
         "`client: smtp` needs general.smtp.server and general.smtp.port: add them"),
    ]


@pytest.mark.parametrize(("given", "missing"), [("server: smtp.example.com", "port"),
                                                ("port: 587", "server")])
def test_smtp_client_needs_the_missing_one(folder: Path, given: str, missing: str) -> None:
    write(folder, "mailprov.yaml",
          f"version: 1\ngeneral:\n  client: smtp\n  smtp:\n    {given}\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 3, 11, "general.client",
         f"`client: smtp` needs general.smtp.{missing}: add it"),
    ]


def test_smtp_client_satisfied_by_a_server_in_another_file(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  client: smtp\n")
    write(folder, "smtp.yaml", "version: 1\n" + SMTP)
    config = api.load_config(["mailprov.yaml", "smtp.yaml"])
    assert config.general == DesiredGeneral("smtp", SmtpServer("smtp.example.com", 587, None))
    assert config.origin("general.client") == "mailprov.yaml"
    assert config.origin("general.smtp.port") == "smtp.yaml"


def test_override_inherits_server_and_port_from_general(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP + textwrap.dedent("""\
        users:
          COMPTA:
            smtp:
              username: compta@example.com
        """))
    config = api.load_config("mailprov.yaml")
    assert config.users["COMPTA"].override == DesiredOverride("compta@example.com")
    assert config.warnings == ()


def test_override_with_its_own_server_and_port_needs_no_general(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        users:
          COMPTA:
            smtp:
              username: compta@example.com
              server: smtp.example.com
              port: 2525
        """)
    config = api.load_config("mailprov.yaml")
    assert config.users["COMPTA"].override == DesiredOverride(
        "compta@example.com", server="smtp.example.com", port=2525)


def test_override_that_inherits_a_general_row_the_files_leave_alone(folder: Path) -> None:
    """Keys left out are not managed: the server and port come from the live general row,
    which only a plan can check (tests/test_config_errors.py)."""
    write(folder, "mailprov.yaml", """\
        version: 1
        users:
          COMPTA:
            smtp:
              username: compta@example.com
          COORD:
            smtp:
              from: coord@example.com
              server: smtp.example.com
          PAIE:
            smtp: false
        """)
    config = api.load_config("mailprov.yaml")
    assert config.users["COMPTA"].override == DesiredOverride("compta@example.com")
    assert config.users["COORD"].override == DesiredOverride(
        from_address="coord@example.com", server="smtp.example.com")
    assert config.warnings == ()


def test_an_override_without_a_from_address_is_an_error(folder: Path) -> None:
    """`smtp: {}` or a login that is no address used to validate with no From at all."""
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP + "users:\n  COMPTA:\n    smtp: {}\n"
          "  PAIE:\n    smtp: {username: paie}\n"
          "  COORD:\n    smtp: {username: coord@example.com}\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 7, 3, "users.COMPTA", "no From address: set `from`, or a `username` "
         "that is an e-mail address (`from` defaults to it)"),
        ("mailprov.yaml", 9, 3, "users.PAIE", "no From address: the login 'paie' is not an "
         "e-mail address, so `from` cannot default to it; set `from`"),
    ]


# --- e-mail addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["comptabilite@example.com", "françois@exemple.ca",
                                     "a.b+c@sub.example.co.uk", "ÉQUIPE@example.com"])
def test_valid_from_addresses(folder: Path, address: str) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + f"users:\n  COMPTA:\n    smtp:\n      from: \"{address}\"\n")
    assert api.load_config("mailprov.yaml").users["COMPTA"].override.from_address == address


@pytest.mark.parametrize(("written", "shown", "reason"), [
    ("comptabilite", "'comptabilite'", "An email address must have an @-sign."),
    ("compta@", "'compta@'", "There must be something after the @-sign."),
    ("@example.com", "'@example.com'", "There must be something before the @-sign."),
    ("compta@example", "'compta@example'",
     "The part after the @-sign is not valid. It should have a period."),
    ("a b@example.com", "'a b@example.com'",
     "The email address contains invalid characters before the @-sign: SPACE."),
    ("a@b.ca\\r\\nBcc: x@y.ca", "'a@b.ca\\r\\nBcc: x@y.ca'",
     "The part after the @-sign contains invalid characters: ':', '@', SPACE, U+000A, U+000D."),
    ("compta@example.com>", "'compta@example.com>'",
     "The part after the @-sign contains invalid characters: '>'."),
])
def test_invalid_from_addresses(folder: Path, written: str, shown: str, reason: str) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + f"users:\n  COMPTA:\n    smtp:\n      from: \"{written}\"\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 9, 13, "users.COMPTA.smtp.from",
         f"{shown} is not an e-mail address: {reason}"),
    ]


def test_username_may_be_a_plain_login(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + "users:\n  COMPTA:\n    smtp:\n      username: DOMAINE\\compta\n"
          + "      from: compta@example.com\n")
    assert api.load_config("mailprov.yaml").users["COMPTA"].override.username == \
        "DOMAINE\\compta"


def test_username_that_looks_like_an_address_must_be_one(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + "users:\n  COMPTA:\n    smtp:\n      username: compta@exa mple.com\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 9, 17, "users.COMPTA.smtp.username",
         "'compta@exa mple.com' looks like an e-mail address but is not one: The part after "
         "the @-sign contains invalid characters: SPACE."),
    ]


def test_username_with_a_line_break_is_refused(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP
          + "users:\n  COMPTA:\n    smtp:\n      username: \"compta\\r\\nBcc\"\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 9, 17, "users.COMPTA.smtp.username",
         "'compta\\r\\nBcc' contains control characters: remove them"),
    ]


# --- maestro*CLOUD ------------------------------------------------------------------------------


CLOUD = """\
version: 1
targets:
  cloud:
    url: sqlite:///cloud.db
    edition: cloud
"""


def test_valid_cloud_configuration(folder: Path) -> None:
    write(folder, "mailprov.yaml", CLOUD + "general:\n  client: smtp\n  smtp:\n"
          "    server: smtp.example.com\n    port: 587\nusers:\n  compta@example.com:\n"
          "    smtp:\n      username: comptabilite@example.com\n")
    config = api.load_config("mailprov.yaml")
    assert config.targets["cloud"].edition == "cloud"
    assert config.users["compta@example.com"].override == DesiredOverride(
        "comptabilite@example.com")


def test_cloud_with_client_left_unmanaged_is_accepted(folder: Path) -> None:
    write(folder, "mailprov.yaml", CLOUD + SMTP)
    assert api.load_config("mailprov.yaml").general.client is None


@pytest.mark.parametrize("client", ["outlook", "other", "lotus_notes"])
def test_cloud_needs_the_smtp_client(folder: Path, client: str) -> None:
    write(folder, "mailprov.yaml", CLOUD + f"general:\n  client: {client}\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 7, 11, "general.client",
         "target 'cloud' is maestro*CLOUD, which has no desktop mail program (no Outlook "
         "mode): set `client: smtp` (or `client: office365` from maestro* 3.05 on)"),
    ]


def test_cloud_user_codes_are_addresses_and_from_is_forbidden(folder: Path) -> None:
    write(folder, "mailprov.yaml", CLOUD + SMTP + textwrap.dedent("""\
        users:
          COMPTA:
            smtp: {}
          coord@example.com:
            smtp:
              from: coordination@example.com
        """))
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 11, 3, "users.COMPTA",
         "target 'cloud' is maestro*CLOUD, where user codes are e-mail addresses; 'COMPTA' "
         "is not one"),
        ("mailprov.yaml", 15, 7, 'users."coord@example.com".smtp.from',
         "target 'cloud' is maestro*CLOUD: the From address is the user code and cannot be set; "
         "remove `from`"),
    ]


def test_cloud_rules_do_not_apply_to_a_standard_target(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ntargets:\n  prod:\n    url: sqlite:///p.db\n"
          "    edition: standard\n" + SMTP + "users:\n  COMPTA:\n    smtp:\n"
          "      from: compta@example.com\n")
    assert api.load_config("mailprov.yaml").users["COMPTA"].override.from_address == \
        "compta@example.com"


# --- targets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "postgresql://mailprov:hunter2@db.example.com/maestro",
    "mysql+pymysql://root:s%40cret@127.0.0.1:3306/maestro",
    "mssql+pyodbc://sa:x@server/maestro?driver=ODBC+Driver+18",
])
def test_url_with_a_password_is_refused(folder: Path, url: str) -> None:
    write(folder, "mailprov.yaml", f"version: 1\ntargets:\n  prod:\n    url: \"{url}\"\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 4, 10, "targets.prod.url",
         "the URL contains a password: remove it; the database password comes from "
         "`mailprov login prod` or MAILPROV_DB_PASSWORD"),
    ]


def test_the_password_never_appears_in_the_problem(folder: Path) -> None:
    write(folder, "mailprov.yaml",
          "version: 1\ntargets:\n  prod:\n    url: postgresql://u:Sekr3tValue@h/db\n")
    with pytest.raises(ConfigError) as info:
        api.load_config("mailprov.yaml")
    assert "Sekr3tValue" not in str(info.value)


def test_default_target_must_be_defined(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ntargets:\n  prod:\n    url: sqlite:///p.db\n"
          "  test:\n    url: sqlite:///t.db\ndefault_target: tset\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 7, 17, "default_target",
         "target 'tset' is not defined under `targets` (defined: prod, test)"),
    ]


def test_default_target_without_any_target(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ndefault_target: prod\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 2, 17, "default_target",
         "target 'prod' is not defined under `targets` (no target is defined)"),
    ]


def test_default_target_defined_in_an_included_file(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ndefault_target: prod\ninclude: [targets.yaml]\n")
    write(folder, "targets.yaml", "targets:\n  prod:\n    url: sqlite:///p.db\n")
    assert api.load_config("mailprov.yaml").default_target == "prod"


def test_relative_sqlite_url_is_anchored_to_the_file_folder(folder: Path) -> None:
    write(folder, "conf/mailprov.yaml", """\
        version: 1
        targets:
          rel:
            url: sqlite:///maestro.db
          sub:
            url: sqlite+pysqlite:///data/../data/m.db
          absolute:
            url: sqlite:////var/lib/maestro.db
          memory:
            url: "sqlite:///:memory:"
          pg:
            url: postgresql://mailprov@db.example.com/maestro
          mapped:
            url: sqlite:///x.db
            mapping: mappings/./prod.yaml
        include: [more/targets.yaml]
        """)
    write(folder, "conf/more/targets.yaml", "targets:\n  nested:\n    url: sqlite:///n.db\n")
    conf = str(folder / "conf")
    targets = api.load_config("conf/mailprov.yaml").targets
    assert targets["rel"].url == f"sqlite:///{conf}/maestro.db"
    assert targets["sub"].url == f"sqlite+pysqlite:///{conf}/data/m.db"  # normalised
    assert targets["absolute"].url == "sqlite:////var/lib/maestro.db"
    assert targets["memory"].url == "sqlite:///:memory:"
    assert targets["pg"].url == "postgresql://mailprov@db.example.com/maestro"
    assert targets["mapped"].mapping == str(folder / "conf" / "mappings" / "prod.yaml")
    assert targets["nested"].url == f"sqlite:///{conf}/more/n.db"
    assert targets["nested"].source == Source("conf/more/targets.yaml")


def test_anchored_sqlite_url_does_not_depend_on_the_working_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder, "conf/mailprov.yaml", "version: 1\ntargets:\n  t:\n    url: sqlite:///m.db\n")
    first = api.load_config("conf/mailprov.yaml").targets["t"].url
    monkeypatch.chdir(folder / "conf")
    assert api.load_config("mailprov.yaml").targets["t"].url == first


# --- warnings -----------------------------------------------------------------------------------


def test_port_465_with_ssl_is_a_warning(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  smtp:\n    server: smtp.example.com\n"
          "    port: 465\n    ssl: true\n")
    config = api.load_config("mailprov.yaml")
    assert warnings_of(config) == [("mailprov.yaml", 4, 5, "general.smtp", PORT_465)]
    assert config.warnings[0].format() == f"mailprov.yaml:4:5: general.smtp: warning: {PORT_465}"


def test_port_25_with_ssl_is_a_warning(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  smtp:\n    server: smtp.example.com\n"
          "    port: 25\n    ssl: true\n")
    assert warnings_of(api.load_config("mailprov.yaml")) == [
        ("mailprov.yaml", 4, 5, "general.smtp", PORT_25)]


@pytest.mark.parametrize("port", [465, 25])
def test_those_ports_without_ssl_are_not_warned(folder: Path, port: int) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  smtp:\n    server: smtp.example.com\n"
          f"    port: {port}\n    ssl: false\n")
    assert api.load_config("mailprov.yaml").warnings == ()


@pytest.mark.parametrize("server", ["smtp.office365.com", "SMTP.Office365.com",
                                    "smtp-mail.outlook.com"])
def test_microsoft_365_servers_are_warned(folder: Path, server: str) -> None:
    write(folder, "mailprov.yaml", f"version: 1\ngeneral:\n  smtp:\n    server: {server}\n"
          "    port: 587\n    ssl: true\n")
    assert warnings_of(api.load_config("mailprov.yaml")) == [
        ("mailprov.yaml", 4, 5, "general.smtp", f"{server}: {OFFICE}")]


def test_user_overrides_are_warned_for_their_own_values_once_per_trap(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        general:
          smtp:
            server: smtp.office365.com
            port: 587
            ssl: true
        include: [users.yaml]
        """)
    write(folder, "users.yaml", """\
        users:
          A:
            smtp:
              port: 465
              username: a@example.com
          B:
            smtp:
              port: 465
              username: b@example.com
          C:
            smtp:
              port: 465
              ssl: false
              username: c@example.com
          D:
            smtp:
              username: d@example.com
          E:
            smtp:
              server: relay.example.com
              port: 25
              from: e@example.com
        """)
    config = api.load_config("mailprov.yaml")
    assert warnings_of(config) == [
        ("mailprov.yaml", 4, 5, "general.smtp", f"smtp.office365.com: {OFFICE}"),
        # A and B inherit ssl: true; C turns it off; D only changes its login. The Microsoft
        # warning is not repeated for users that merely inherit the general server.
        ("users.yaml", 4, 7, "users.A.smtp", PORT_465 + " (and 1 other user)"),
        ("users.yaml", 20, 7, "users.E.smtp", PORT_25),
    ]


def test_a_glob_that_matches_nothing_is_a_warning(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ninclude:\n  - users/*.yaml\n")
    assert warnings_of(api.load_config("mailprov.yaml")) == [
        ("mailprov.yaml", 3, 5, "include[0]",
         "'users/*.yaml' matches no file: check the pattern, or remove it")]


def test_warnings_do_not_hide_errors(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  client: smtp\n  smtp:\n"
          "    server: smtp.office365.com\n")
    with pytest.raises(ConfigError) as info:
        api.load_config("mailprov.yaml")
    assert [p.severity for p in info.value.problems] == ["error"]


# --- several files and includes -----------------------------------------------------------------


def test_several_files_are_merged(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral:\n  client: outlook\n")
    write(folder, "smtp.yaml", "version: 1\n" + SMTP + "prune: true\n")
    write(folder, "compta.yaml",
          "version: 1\nusers:\n  COMPTA:\n    smtp:\n      username: c@example.com\n")
    config = api.load_config(["mailprov.yaml", "smtp.yaml", "compta.yaml"])
    assert config.files == ("mailprov.yaml", "smtp.yaml", "compta.yaml")
    assert config.general == DesiredGeneral("outlook",
                                            SmtpServer("smtp.example.com", 587, None))
    assert config.prune is True
    assert config.users["COMPTA"].source == Source("compta.yaml")


def test_every_file_named_on_the_command_line_needs_a_version(folder: Path) -> None:
    """Every file named with -c is a root and needs `version: 1`; included files do not."""
    write(folder, "a.yaml", "version: 1\n")
    write(folder, "b.yaml", "prune: false\n")
    assert problems("a.yaml", "b.yaml") == [
        ("b.yaml", 1, 1, "", "missing `version: 1` at the top of the file")]


def test_glob_include_relative_to_the_including_file(folder: Path) -> None:
    write(folder, "conf/mailprov.yaml", "version: 1\n" + SMTP + "include:\n  - users/*.yaml\n")
    write(folder, "conf/users/b-coord.yaml", "users:\n  COORD:\n    smtp: {from: a@x.ca}\n")
    write(folder, "conf/users/a-compta.yaml", "users:\n  COMPTA:\n    smtp: {from: a@x.ca}\n"
          "include: [deeper/*.yaml]\n")
    write(folder, "conf/users/deeper/paie.yaml", "users:\n  PAIE:\n    smtp: false\n")
    write(folder, "conf/users/notes.txt", "not yaml")
    write(folder, "users/elsewhere.yaml", "users:\n  NOPE:\n    smtp: {from: a@x.ca}\n")
    config = api.load_config("conf/mailprov.yaml")
    assert config.files == ("conf/mailprov.yaml", "conf/users/a-compta.yaml",
                            "conf/users/deeper/paie.yaml", "conf/users/b-coord.yaml")
    assert sorted(config.users) == ["COMPTA", "COORD", "PAIE"]
    assert config.users["PAIE"] == DesiredUser("PAIE", None, Source("conf/users/deeper/paie.yaml"))


def test_a_file_both_named_and_included_is_read_once(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP + "include: [users/*.yaml]\n")
    write(folder, "users/compta.yaml", "users:\n  COMPTA:\n    smtp: {from: a@x.ca}\n")
    config = api.load_config(["mailprov.yaml", "users/compta.yaml"])
    assert config.files == ("mailprov.yaml", "users/compta.yaml")


def test_same_user_in_two_files_names_both_places(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n" + SMTP + "include: [users/*.yaml]\n")
    write(folder, "users/accounting.yaml",
          "# accounting\nusers:\n  COMPTA:\n    smtp: {from: a@x.ca}\n")
    write(folder, "users/site.yaml", "users:\n  COORD:\n    smtp: {from: a@x.ca}\n  COMPTA:\n"
          "    smtp:\n      port: 2525\n")
    assert problems("mailprov.yaml") == [
        ("users/site.yaml", 4, 3, "users.COMPTA",
         "user 'COMPTA' is defined twice: here and at users/accounting.yaml:3:3; keep one"),
    ]


def test_same_user_in_two_command_line_files(folder: Path) -> None:
    write(folder, "a.yaml", "version: 1\n" + SMTP + "users:\n  COMPTA:\n    smtp: {from: a@x.ca}\n")
    write(folder, "b.yaml", "version: 1\nusers:\n  COMPTA:\n    smtp: false\n")
    assert problems("a.yaml", "b.yaml") == [
        ("b.yaml", 3, 3, "users.COMPTA",
         "user 'COMPTA' is defined twice: here and at a.yaml:7:3; keep one"),
    ]


def test_same_setting_with_the_same_value_in_two_files_is_fine(folder: Path) -> None:
    write(folder, "a.yaml", "version: 1\n" + SMTP)
    write(folder, "b.yaml", "version: 1\n" + SMTP)
    assert api.load_config(["a.yaml", "b.yaml"]).general.smtp.port == 587


def test_settings_conflicting_across_files(folder: Path) -> None:
    write(folder, "a.yaml", "version: 1\nprune: false\n" + SMTP + "safety:\n  max_changes: 5\n")
    write(folder, "b.yaml", "version: 1\nprune: true\ngeneral:\n  smtp:\n    port: 25\n"
          "    server: smtp.example.com\nsafety:\n  max_changes: 50\n")
    assert problems("a.yaml", "b.yaml") == [
        ("b.yaml", 2, 1, "prune", "also set to a different value at a.yaml:2:1: keep one"),
        ("b.yaml", 5, 5, "general.smtp.port",
         "also set to a different value at a.yaml:6:5: keep one"),
        ("b.yaml", 8, 3, "safety.max_changes",
         "also set to a different value at a.yaml:8:3: keep one"),
    ]


def test_same_target_in_two_files(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ntargets:\n  prod:\n    url: sqlite:///a.db\n"
          "include: [t.yaml]\n")
    write(folder, "t.yaml", "targets:\n  prod:\n    url: sqlite:///a.db\n")
    assert problems("mailprov.yaml") == [
        ("t.yaml", 2, 3, "targets.prod",
         "target 'prod' is defined twice: here and at mailprov.yaml:3:3; keep one")]


def test_include_that_climbs_out_of_the_folder(folder: Path) -> None:
    write(folder, "outside.yaml", "users:\n  X:\n    smtp: false\n")
    write(folder, "conf/mailprov.yaml", "version: 1\ninclude:\n  - ../outside.yaml\n"
          "  - ./../conf/../*.yaml\n")
    assert problems("conf/mailprov.yaml") == [
        ("conf/mailprov.yaml", 3, 5, "include[0]",
         "'../outside.yaml' is outside the folder of the configuration (conf): includes may "
         "not climb out of it"),
        ("conf/mailprov.yaml", 4, 5, "include[1]",
         "'./../conf/../*.yaml' is outside the folder of the configuration (conf): includes "
         "may not climb out of it"),
    ]


def test_include_through_a_symlink_that_leaves_the_folder(folder: Path) -> None:
    write(folder, "secret/users.yaml", "users:\n  X:\n    smtp: false\n")
    write(folder, "conf/mailprov.yaml", "version: 1\ninclude: [link/users.yaml]\n")
    (folder / "conf" / "link").symlink_to(folder / "secret", target_is_directory=True)
    [(file, line, column, path, message)] = problems("conf/mailprov.yaml")
    assert (file, line, column, path) == ("conf/mailprov.yaml", 2, 11, "include[0]")
    assert "is outside the folder of the configuration" in message


def test_include_cycle(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ninclude: [a.yaml]\n")
    write(folder, "a.yaml", "include: [b.yaml]\n")
    write(folder, "b.yaml", "users: {}\ninclude:\n  - a.yaml\n")
    assert problems("mailprov.yaml") == [
        ("b.yaml", 3, 5, "include[0]", "include cycle: a.yaml -> b.yaml -> a.yaml")]


def test_a_diamond_is_not_a_cycle(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ninclude: [a.yaml, b.yaml]\n")
    write(folder, "a.yaml", "include: [common.yaml]\n")
    write(folder, "b.yaml", "include: [common.yaml]\n")
    write(folder, "common.yaml", "users:\n  X:\n    smtp: false\n")
    config = api.load_config("mailprov.yaml")
    assert config.files == ("mailprov.yaml", "a.yaml", "common.yaml", "b.yaml")
    assert list(config.users) == ["X"]


@pytest.mark.parametrize(("pattern", "message"), [
    ("missing.yaml", "included file 'missing.yaml' not found"),
    ("/etc/mailprov.yaml", "includes must be relative to this file's folder, not absolute paths"),
])
def test_bad_includes(folder: Path, pattern: str, message: str) -> None:
    write(folder, "mailprov.yaml", f"version: 1\ninclude:\n  - {pattern}\n")
    assert problems("mailprov.yaml") == [("mailprov.yaml", 3, 5, "include[0]", message)]


def test_errors_in_several_files_are_reported_together_sorted(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ninclude: [users/*.yaml]\ngeneral:\n"
          "  client: smpt\n")
    write(folder, "users/b.yaml", "users:\n  B:\n    smtp:\n      pasword: x\n")
    write(folder, "users/a.yaml", "users:\n  A:\n    smtp:\n      port: 0\n")
    write(folder, "users/c.yaml", "users: [\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 4, 11, "general.client",
         "'smpt' is not one of: other, outlook, lotus_notes, smtp, office365; did you "
         "mean 'smtp'?"),
        ("users/a.yaml", 4, 13, "users.A.smtp.port", "port 0 is out of range: use 1 to 65535"),
        # A misspelt secret key is not recognised as one, but is refused all the same.
        ("users/b.yaml", 4, 7, "users.B.smtp.pasword",
         "unknown key 'pasword' (allowed: from, port, provider, server, ssl, username)"),
        ("users/c.yaml", 2, 1, "",
         "invalid YAML: did not find expected node content (while parsing a flow node)"),
    ]


def test_missing_file_and_folder(folder: Path) -> None:
    (folder / "conf").mkdir()
    assert problems("nope.yaml", "conf") == [
        ("conf", 0, 0, "", "is a folder, not a file"),
        ("nope.yaml", 0, 0, "",
         "file not found: check the path, or create it (default name: mailprov.yaml)"),
    ]


def test_default_file_name(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n")
    assert api.load_config().files == ("mailprov.yaml",)
    assert api.load_config([]).files == ("mailprov.yaml",)


# --- problems -----------------------------------------------------------------------------------


def test_config_error_carries_structured_sorted_problems(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\nusers:\n  B:\n    smtp:\n      port: 0\n"
          "  A:\n    smtp:\n      token: x\ngeneral:\n  clinet: smtp\n")
    with pytest.raises(ConfigError) as info:
        api.load_config("mailprov.yaml")
    error = info.value
    assert error.exit_code == 1
    assert error.problems == (
        Problem("mailprov.yaml", 5, 13, ("users", "B", "smtp", "port"),
                "port 0 is out of range: use 1 to 65535", code="schema-range"),
        Problem("mailprov.yaml", 8, 7, ("users", "A", "smtp", "token"),
                "'token' looks like a secret: " + HOW, code="secret-key"),
        Problem("mailprov.yaml", 10, 3, ("general", "clinet"),
                "unknown key 'clinet'; did you mean 'client'?", code="schema-unknown-key"),
    )
    assert str(error).splitlines()[-1] == "3 errors found."
    assert str(error).splitlines()[0] == (
        "mailprov.yaml:5:13: users.B.smtp.port: port 0 is out of range: use 1 to 65535")


@pytest.mark.parametrize("key", ["password", "passwd", "smtp_pwd", "mot_de_passe", "motDePasse",
                                 "api-token", "client_secret", "mdp", "SMTP_PASS",
                                 "credentials", "passphrase"])
def test_secret_like_keys_anywhere(folder: Path, key: str) -> None:
    write(folder, "mailprov.yaml", f"version: 1\ngeneral:\n  smtp:\n    {key}: x\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 4, 5, f"general.smtp.{key}", f"'{key}' looks like a secret: " + HOW)]


def test_secret_value_is_never_echoed(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\nusers:\n  A:\n    smtp:\n"
          "      password: Sekr3tValue\n")
    with pytest.raises(ConfigError) as info:
        api.load_config("mailprov.yaml")
    assert "Sekr3tValue" not in str(info.value)


def test_wrongly_typed_sections_are_reported_not_crashed_on(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\ngeneral: smtp\nusers: [A]\ntargets: 3\n"
          "safety: []\nprune: 1\n")
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 2, 10, "general", "expected a mapping, got 'smtp'"),
        ("mailprov.yaml", 3, 8, "users", "expected a mapping, got a list"),
        ("mailprov.yaml", 4, 10, "targets", "expected a mapping, got 3"),
        ("mailprov.yaml", 5, 9, "safety", "expected a mapping, got a list"),
        ("mailprov.yaml", 6, 8, "prune", "expected true or false, got 1"),
    ]


def test_deep_block_nesting_in_a_config_is_refused_cleanly(folder: Path) -> None:
    """Indentation alone nests block mappings: 900 levels once crashed with RecursionError."""
    lines = "".join(" " * (6 + i) + "a:\n" for i in range(900))
    write(folder, "mailprov.yaml", "version: 1\nusers:\n  X:\n    smtp:\n" + lines)
    assert problems("mailprov.yaml") == [
        ("mailprov.yaml", 66, 68, "", "nesting deeper than 64 levels is not allowed")]


# --- the Config of a valid file -----------------------------------------------------------------


def test_config_contents_of_a_valid_file(folder: Path) -> None:
    write(folder, "mailprov.yaml", """\
        version: 1
        targets:
          prod:
            url: postgresql://mailprov@db.example.com/maestro
            edition: standard
          test:
            url: sqlite:///maestro-test.db
        default_target: test
        general:
          client: outlook
          smtp:
            server: smtp.example.com
            port: 587
            ssl: true
        users:
          COMPTA:
            smtp:
              username: comptabilite@example.com
              from: comptabilite@example.com
          JTREMBLAY:
            smtp:
              username: jtremblay@example.com
              from: comptabilite@example.com
              port: 2525
              ssl: false
          OLD:
            smtp: false
        prune: true
        safety:
          max_change_percent: 12.5
          min_existing: 4
          max_changes: 20
        """)
    config = api.load_config("mailprov.yaml")
    source = Source("mailprov.yaml")
    assert config.files == ("mailprov.yaml",)
    assert config.targets == {
        "prod": Target("prod", "postgresql://mailprov@db.example.com/maestro", "standard", None,
                       source),
        "test": Target("test", f"sqlite:///{folder}/maestro-test.db", None, None, source),
    }
    assert config.default_target == "test"
    assert config.general == DesiredGeneral("outlook", SmtpServer("smtp.example.com", 587, True))
    assert config.users == {
        "COMPTA": DesiredUser("COMPTA", DesiredOverride("comptabilite@example.com",
                                                        "comptabilite@example.com"), source),
        "JTREMBLAY": DesiredUser("JTREMBLAY", DesiredOverride(
            "jtremblay@example.com", "comptabilite@example.com", None, 2525, False), source),
        "OLD": DesiredUser("OLD", None, source),
    }
    assert list(config.users) == ["COMPTA", "JTREMBLAY", "OLD"]
    assert config.prune is True
    assert config.safety == Safety(12.5, 4, 20)
    assert config.warnings == ()
    assert config.digest.startswith("sha256:")
    assert len(config.digest) == len("sha256:") + 64


def test_unmanaged_settings_stay_none_and_defaults_apply(folder: Path) -> None:
    write(folder, "mailprov.yaml", "version: 1\n")
    config = api.load_config("mailprov.yaml")
    assert config.general == DesiredGeneral(None, SmtpServer(None, None, None))
    assert config.users == {}
    assert config.targets == {}
    assert config.default_target is None
    assert config.prune is False
    assert config.safety == Safety(30.0, 10, None)


# --- digest -------------------------------------------------------------------------------------


def _tree(folder: Path) -> None:
    write(folder, "conf/mailprov.yaml", "version: 1\n" + SMTP + "include: [users/*.yaml]\n")
    write(folder, "conf/users/a.yaml", "users:\n  A:\n    smtp: {from: a@x.ca}\n")
    write(folder, "conf/users/b.yaml", "users:\n  B:\n    smtp: false\n")


def test_digest_is_stable_across_loads_and_processes(folder: Path) -> None:
    _tree(folder)
    digest = api.load_config("conf/mailprov.yaml").digest
    assert api.load_config("conf/mailprov.yaml").digest == digest
    script = "from mailprov import api; print(api.load_config('conf/mailprov.yaml').digest)"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert other.stdout.strip() == digest


def test_digest_does_not_depend_on_where_the_folder_is(folder: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(folder)
    digest = api.load_config("conf/mailprov.yaml").digest
    shutil.copytree(folder / "conf", folder / "copy" / "elsewhere")
    assert api.load_config("copy/elsewhere/mailprov.yaml").digest == digest
    monkeypatch.chdir(folder / "conf")
    assert api.load_config("mailprov.yaml").digest == digest


@pytest.mark.parametrize(("name", "text"), [
    ("conf/users/a.yaml", "users:\n  A:\n    smtp: {port: 2525, from: a@example.com}\n"),
    ("conf/users/b.yaml", "users:\n  B:\n    smtp: false\n# a comment\n"),
    ("conf/users/c.yaml", "users:\n  C:\n    smtp: false\n"),
    ("conf/mailprov.yaml", "version: 1\n" + SMTP.replace("587", "2525")
     + "include: [users/*.yaml]\n"),
])
def test_digest_changes_when_any_file_changes(folder: Path, name: str, text: str) -> None:
    _tree(folder)
    before = api.load_config("conf/mailprov.yaml").digest
    write(folder, name, text)
    assert api.load_config("conf/mailprov.yaml").digest != before


def test_digest_changes_when_a_file_is_renamed(folder: Path) -> None:
    _tree(folder)
    before = api.load_config("conf/mailprov.yaml").digest
    (folder / "conf/users/b.yaml").rename(folder / "conf/users/z.yaml")
    assert api.load_config("conf/mailprov.yaml").digest != before


@pytest.mark.parametrize("mapping, message", [
    ("../outside.yaml", "'../outside.yaml' is outside the folder of the configuration: keep "
                        "mapping files beside it"),
    ("/etc/passwd", "the mapping file must be given relative to this file's folder, not as an "
                    "absolute path"),
])
def test_mapping_files_stay_inside_the_configuration_folder(folder: Path, mapping: str,
                                                            message: str) -> None:
    (folder / "outside.yaml").write_text("version: 1\n")
    write(folder, "conf/mailprov.yaml", f"""\
        version: 1
        targets:
          prod:
            url: sqlite:///x.db
            mapping: {mapping}
        """)
    with pytest.raises(ConfigError) as caught:
        api.load_config("conf/mailprov.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column, problem.dotted_path, problem.message) == (
        "conf/mailprov.yaml", 5, 14, "targets.prod.mapping", message)

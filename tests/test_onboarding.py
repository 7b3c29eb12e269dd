"""Bulk onboarding end to end: profiles, defaults, templates, CSV user lists, selections and
provider presets, planned and applied on real databases through the real loader and planner."""

from __future__ import annotations

import json
import shutil
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import TARGET, sandbox, users

from mailprov import api
from mailprov.cli import cli
from mailprov.db.sandbox import sample_users
from mailprov.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "onboarding"
OFFICE = ("smtp.office365.com", 587, 1)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def head(url: str, general: str = "") -> str:
    return f"version: 1\ntargets:\n  {TARGET}:\n    url: {url}\n" + general


def override_of(row: dict) -> tuple:
    return (row["mail_override"], row["smtp_username"], row["from_address"], row["smtp_server"],
            row["smtp_port"], row["smtp_ssl"])


def problems(error: ConfigError) -> list[str]:
    return [p.format() for p in error.problems]


# --- the example: 50 people and two shared mailboxes -----------------------------------------


def test_the_onboarding_example_is_short_and_covers_the_company() -> None:
    yaml_lines = (EXAMPLE / "mailprov.yaml").read_text(encoding="utf-8").splitlines()
    assert len(yaml_lines) < 30
    rows = (EXAMPLE / "people.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "code;profile;#name"
    people = [row.split(";")[0] for row in rows[1:]]
    # the sandbox of 56 users: the six shared mailboxes of the sample, then 50 people
    assert people == [u.code for u in sample_users(56)[6:]]
    assert len(people) == 50


def test_the_onboarding_example_plans_and_applies_on_a_sandbox(tmp_path: Path) -> None:
    folder = tmp_path / "onboarding"
    shutil.copytree(EXAMPLE, folder)
    url = f"sqlite:///{folder}/maestro-sandbox.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["sandbox", url, "--users", "56", "--model", "1"])
    assert result.exit_code == 0, result.output
    config = api.load_config([folder / "mailprov.yaml"])
    target = api.resolve_target(config, None)
    plan = api.plan(config, target)
    assert plan.summary == {"create": 52, "update": 1, "delete": 0}
    assert plan.changes[0].address == "general"
    assert plan.changes[0].after == {"client": "outlook", "smtp": {
        "server": "smtp.office365.com", "port": 587, "ssl": True}}
    result = api.apply(plan, target)
    assert result.history_id is not None
    rows = users(url)
    assert override_of(rows["COMPTA"]) == (1, "comptabilite@acme-construction.ca",
                                           "comptabilite@acme-construction.ca", *OFFICE)
    assert override_of(rows["COORD"]) == (1, "coordination@acme-construction.ca",
                                          "coordination@acme-construction.ca", *OFFICE)
    for person in sample_users(56)[6:]:
        address = f"{person.code.lower()}@acme-construction.ca"
        assert override_of(rows[person.code]) == (1, address, address, *OFFICE), person.code
    for shared in ("RECEPTION", "PAIE", "ACHATS", "ESTIMATION"):
        assert rows[shared]["mail_override"] == 0
    assert not api.plan(api.load_config([folder / "mailprov.yaml"]), target).changes_present


# --- 200 users from a CSV, two profiles, on every database ---------------------------------------


def test_two_hundred_users_from_a_csv_with_two_profiles(db_url: str, tmp_path: Path) -> None:
    codes = sandbox(db_url, users=200)
    shared = set(codes[:6])
    lines = ["\ufeffcode;profile;port;#Département"]
    for index, code in enumerate(codes):
        profile = "compta-shared" if code in shared else "staff"
        port = "2525" if index % 10 == 3 else ""
        lines.append(f"{code};{profile};{port};Chantiers")
    (tmp_path / "people.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    path = write(tmp_path, "mailprov.yaml", head(db_url) + textwrap.dedent("""\
        vars:
          domain: acme-construction.ca
        general:
          client: smtp
          smtp: {server: smtp.acme-construction.ca, port: 587, ssl: true}
        defaults:
          smtp: {ssl: true}
        profiles:
          staff:
            smtp:
              username: "{{ user.code | lower }}@{{ vars.domain }}"
          compta-shared:
            smtp:
              username: "{{ user.code | lower }}@{{ vars.domain }}"
              from: "comptabilite@{{ vars.domain }}"
        users_from: people.csv
        """))
    config = api.load_config([path])
    assert len(config.users) == 200
    target = api.resolve_target(config, None)
    plan = api.plan(config, target)
    assert plan.summary == {"create": 200, "update": 1, "delete": 0}
    api.apply(plan, target)
    rows = users(db_url)
    for index, code in enumerate(codes):
        login = f"{code.lower()}@acme-construction.ca"
        sender = "comptabilite@acme-construction.ca" if code in shared else login
        port = 2525 if index % 10 == 3 else 587
        assert override_of(rows[code]) == (1, login, sender, "smtp.acme-construction.ca", port,
                                           1), code
    again = api.plan(api.load_config([path]), target)
    assert not again.changes_present


# --- precedence, presets, selections, --var -------------------------------------------------


def test_precedence_user_then_profiles_in_order_then_defaults_then_general(
        sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=8)
    a, b, c = codes[6], codes[7], codes[0]
    path = write(tmp_path, "mailprov.yaml", head(sqlite_url) + textwrap.dedent(f"""\
        general:
          smtp: {{provider: office365, port: 2587}}
        defaults:
          smtp: {{port: 1025, from: defaults@example.com}}
        profiles:
          first:
            smtp: {{username: first@example.com, port: 1026}}
          second:
            smtp: {{username: second@example.com, from: second@example.com, ssl: false}}
          gmail:
            smtp: {{provider: gmail}}
        users:
          {a}: {{profile: [first, second], smtp: {{port: 1027}}}}
          {b}: {{profile: [second, first]}}
          {c}: {{profile: gmail, smtp: {{username: c@gmail.com, port: 2525}}}}
        """))
    config = api.load_config([path])
    plan = api.plan(config, api.resolve_target(config, None))
    after = {change.user_code: change.after for change in plan.changes if change.user_code}
    assert after[a] == {"username": "first@example.com", "from": "second@example.com",
                        "server": "smtp.office365.com", "port": 1027, "ssl": False}
    assert after[b] == {"username": "second@example.com", "from": "second@example.com",
                        "server": "smtp.office365.com", "port": 1026, "ssl": False}
    # a provider fills its own section's server/port/ssl; keys written beside it win, and
    # it beats the defaults below (gmail's 587 is not the defaults' 1025)
    assert after[c] == {"username": "c@gmail.com", "from": "defaults@example.com",
                        "server": "smtp.gmail.com", "port": 2525, "ssl": True}
    assert plan.changes[0].after["smtp"] == {"server": "smtp.office365.com", "port": 2587,
                                             "ssl": True}
    sources = {change.user_code: change.to_json(plan.locator)["sources"]
               for change in plan.changes if change.user_code}
    assert sources[a] == {
        "username": {"source": "profile", "file": str(path), "line": 11, "column": 22,
                     "path": "profiles.first.smtp.username", "profile": "first"},
        "from": {"source": "profile", "file": str(path), "line": 13, "column": 48,
                 "path": "profiles.second.smtp.from", "profile": "second"},
        "server": {"source": "general", "file": str(path), "line": 6, "column": 20,
                   "path": "general.smtp.provider", "preset": "office365"},
        "port": {"source": "user", "file": str(path), "line": 17, "column": 53,
                 "path": f"users.{a}.smtp.port"},
        "ssl": {"source": "profile", "file": str(path), "line": 13, "column": 73,
                "path": "profiles.second.smtp.ssl", "profile": "second"},
    }
    assert sources[c]["server"] == {"source": "preset", "file": str(path), "line": 15,
                                    "column": 22, "path": "profiles.gmail.smtp.provider",
                                    "preset": "gmail"}
    assert sources[c]["from"]["source"] == "default"


def test_selections_expand_from_the_live_users_and_the_plan_counts_them(
        sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=20)
    path = write(tmp_path, "mailprov.yaml", head(sqlite_url) + textwrap.dedent("""\
        general:
          smtp: {server: smtp.example.com, port: 587, ssl: true}
        profiles:
          staff:
            smtp: {username: "{{ user.code | lower }}@example.com"}
        selections:
          - match: ["COMPTA*", "COORD"]
            smtp: {username: "{{ user.code | lower }}@example.com", from: compta@example.com}
        all_users: {profile: staff}
        users:
          PAIE: {smtp: false}
        """))
    config = api.load_config([path])
    plan = api.plan(config, api.resolve_target(config, None))
    created = {c.user_code: c.after for c in plan.changes if c.action == "create"}
    assert set(created) == set(codes) - {"PAIE"}
    assert created["COMPTA"]["from"] == "compta@example.com"
    assert created["COORD"]["from"] == "compta@example.com"
    assert created[codes[-1]]["from"] == f"{codes[-1].lower()}@example.com"
    report = plan.to_json()["selections"]
    assert report == [
        {"selection": "match", "match": ["COMPTA*", "COORD"], "file": str(path), "line": 11,
         "matched": 2},
        {"selection": "all_users", "file": str(path), "line": 13, "matched": 17},
    ]
    from mailprov.render.markdown import render_markdown
    from mailprov.render.text import render_text

    text = render_text(plan)
    assert f"Selection COMPTA*, COORD ({path}:11) matched 2 users." in text
    assert f"all_users ({path}:13) matched 17 users not listed in the files." in text
    import re

    shown = [re.sub(r"\\(.)", r"\1", line)  # what Markdown shows of its escaped text
             for line in render_markdown(plan).splitlines() if "matched" in line]
    assert shown == [f"Selection COMPTA*, COORD ({path}:11) matched 2 users.",
                     f"all_users ({path}:13) matched 17 users not listed in the files."]


def test_vars_from_the_command_line_override_the_files(sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=7)
    write(tmp_path, "mailprov.yaml", head(sqlite_url) + textwrap.dedent(f"""\
        vars: {{domain: example.com}}
        general:
          smtp: {{server: smtp.example.com, port: 587}}
        users:
          {codes[6]}: {{smtp: {{username: "{{{{ user.code | lower }}}}@{{{{ vars.domain }}}}"}}}}
        """))
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "-c", str(tmp_path / "mailprov.yaml"), "--format",
                                 "json", "--var", "domain=acme.ca"])
    assert result.exit_code == 0, result.output
    change = json.loads(result.stdout)["changes"][-1]
    assert change["after"]["username"] == f"{codes[6].lower()}@acme.ca"
    assert change["sources"]["username"]["template"] == \
        "{{ user.code | lower }}@{{ vars.domain }}"
    result = runner.invoke(cli, ["validate", "-c", str(tmp_path / "mailprov.yaml"),
                                 "--var", "smtp_password=x"])
    assert result.exit_code == 1
    assert result.stderr.startswith("--var: variable 'smtp_password' looks like a secret")


def test_a_var_that_nothing_reads_is_an_error_not_a_silent_no_op(sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=3)
    write(tmp_path, "mailprov.yaml", head(sqlite_url) + textwrap.dedent(f"""\
        vars: {{domain: example.com}}
        general:
          smtp: {{server: smtp.example.com, port: 587}}
        users:
          {codes[0]}: {{smtp: {{username: "{{{{ user.code | lower }}}}@{{{{ vars.site }}}}.ca"}}}}
        """))
    config = str(tmp_path / "mailprov.yaml")
    runner = CliRunner()
    typo = runner.invoke(cli, ["plan", "-c", config, "--var", "domian=acme.ca",
                               "--var", "site=acme"])
    assert (typo.exit_code, typo.stdout) == (1, "")
    assert typo.stderr.splitlines()[0] == (
        "--var: domian: no file declares it under `vars:` and no template reads "
        "`vars.domian`, so it would change nothing; did you mean 'domain'?")
    # declared under vars: (even if unread), or read by a template: both accepted
    for assignment in ("domain=acme.ca", "site=acme"):
        result = runner.invoke(cli, ["validate", "-c", config, "--var", assignment,
                                     "--var", "site=x"])
        assert result.exit_code == 0, result.output


# --- errors: where they are, and whom they are about ---------------------------------------------


def test_a_rendered_value_gets_the_literal_rules_at_its_template_line(
        sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=8)
    path = write(tmp_path, "mailprov.yaml", head(sqlite_url) + textwrap.dedent(f"""\
        general:
          smtp: {{server: smtp.example.com, port: 587}}
        profiles:
          staff:
            smtp:
              username: "{{{{ user.code | lower }}}}{{% if user.number > 6 %}} x{{% endif %}}@example.com"
        users:
          {codes[5]}: {{profile: staff}}
          {codes[6]}: {{profile: staff}}
          {codes[7]}: {{profile: staff}}
        """))  # noqa: E501
    config = api.load_config([path])  # right for the stand-in user (number 1)
    with pytest.raises(ConfigError) as info:
        api.plan(config, api.resolve_target(config, None))
    template = "{{ user.code | lower }}{% if user.number > 6 %} x{% endif %}@example.com"
    assert problems(info.value) == [
        f"{path}:10:17: profiles.staff.smtp.username: '{code.lower()} x@example.com' looks like "
        "an e-mail address but is not one: The email address contains invalid characters "
        f"before the @-sign: SPACE. (rendered for user {code} from {template})"
        for code in sorted(codes[6:8])]


def test_csv_problems_are_at_file_row_and_cell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.csv").write_text(
        "code;profile;port;from\nJDOE;staff;0;\nMROY;staf;;\nLPAGE;staff;;nobody\n",
        encoding="utf-8")
    path = write(tmp_path, "mailprov.yaml", """\
        version: 1
        general:
          smtp: {server: smtp.example.com, port: 587}
        profiles:
          staff:
            smtp: {username: "{{ user.code | lower }}@example.com"}
        users_from: people.csv
        """)
    with pytest.raises(ConfigError) as info:
        api.load_config([path])
    assert problems(info.value) == [
        "people.csv:2:3: users.JDOE.smtp.port: port 0 is out of range: use 1 to 65535",
        "people.csv:3:2: users.MROY.profile: unknown profile 'staf'; did you mean 'staff'? "
        "(profiles: staff)",
        "people.csv:4:4: users.LPAGE.smtp.from: 'nobody' is not an e-mail address: An email "
        "address must have an @-sign.",
    ]


def test_an_override_that_cannot_send_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "mailprov.yaml", """\
        version: 1
        general:
          smtp: {provider: gmail}
        users:
          JDOE: {smtp: {from: jdoe@example.com}}
          MROY: {smtp: {username: mroy}}
          LPAGE: {smtp: {username: lpage@gmail.com}}
          RELAY: {smtp: {server: relay.example.com, port: 25, from: relay@example.com}}
        """)
    with pytest.raises(ConfigError) as info:
        api.load_config([path])
    assert problems(info.value) == [
        f"{path}:5:3: users.JDOE: no SMTP login: smtp.gmail.com (Gmail) accepts mail only "
        "from a signed-in account; set `username` to the mailbox's address (`from` defaults "
        "to it)",
        f"{path}:6:3: users.MROY: no From address: the login 'mroy' is not an e-mail "
        "address, so `from` cannot default to it; set `from`",
    ]


def test_provider_traps_are_warned_once_per_place(tmp_path: Path) -> None:
    path = write(tmp_path, "mailprov.yaml", """\
        version: 1
        general:
          smtp: {provider: office365}
        profiles:
          gmail:
            smtp: {provider: gmail}
        users:
          A: {profile: gmail, smtp: {username: a@gmail.com}}
          B: {profile: gmail, smtp: {username: b@gmail.com}}
          C: {smtp: {provider: office365, username: c@example.com}}
        """)
    config = api.load_config([path])
    codes = [(w.code, w.dotted_path, w.line) for w in config.warnings]
    assert codes.count(("office365-basic-auth-retirement", "general.smtp", 3)) == 1
    assert [c for c in codes if c[0] == "office365-basic-auth-retirement"] == [
        ("office365-basic-auth-retirement", "general.smtp", 3),
        ("office365-basic-auth-retirement", "users.C.smtp", 10),
    ]
    assert ("app-password-required", "profiles.gmail.smtp", 6) in codes
    assert len([c for c in codes if c[0] == "app-password-required"]) == 1


# --- hostile templates through the loader and the planner ---------------------------------------


HOSTILE = [
    ("{{ ''.__class__.__mro__ }}",
     "`__class__` is not allowed in templates: names starting with `_` reach Python internals"),
    ("{{ cycler.__init__ }}",
     "`__init__` is not allowed in templates: names starting with `_` reach Python internals"),
    ("{% for i in range(1000000000) %}x{% endfor %}@example.com",
     "`{% for %}` is not allowed in templates: a templated value is an expression, e.g. "
     "{{ user.code | lower }}@{{ vars.domain }}; templates allow {{ ... }}, {% if %} / "
     "{% elif %} / {% else %} / {% endif %}, {# ... #}"),
    ("{{ 'x' * 100000000 }}@example.com",
     "the value would be 100000000 characters long; a template may build at most 1000 "
     "characters"),
    ("{% include '/etc/passwd' %}",
     "`{% include %}` is not allowed in templates: a template cannot read other files; "
     "write the value itself"),
]


@pytest.mark.parametrize(("template", "message"), HOSTILE)
def test_hostile_templates_fail_cleanly_at_their_line(tmp_path: Path, template: str,
                                                      message: str) -> None:
    path = write(tmp_path, "mailprov.yaml", "version: 1\nprofiles:\n  staff:\n    smtp:\n"
                 f"      username: {json.dumps(template)}\nusers:\n  JDOE: {{profile: staff}}\n")
    started = time.perf_counter()
    result = CliRunner().invoke(cli, ["validate", "-c", str(path)])
    assert time.perf_counter() - started < 1
    assert result.exit_code == 1
    assert result.stderr == (f"{path}:5:17: profiles.staff.smtp.username: {message}\n"
                             "Error: 1 problem in the configuration; nothing was changed.\n")


def test_a_template_that_fails_for_one_live_user_names_it_at_plan_time(
        sqlite_url: str, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=8)
    victim = codes[7]
    path = write(tmp_path, "mailprov.yaml", head(sqlite_url) + textwrap.dedent(f"""\
        general:
          smtp: {{server: smtp.example.com, port: 587}}
        profiles:
          staff:
            smtp:
              username: "{{% if user.code == '{victim}' %}}{{{{ 'x' * 100000000 }}}}{{% else %}}{{{{ user.code | lower }}}}@example.com{{% endif %}}"
        all_users: {{profile: staff}}
        """))  # noqa: E501
    config = api.load_config([path])  # fine for the stand-in user
    started = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        api.plan(config, api.resolve_target(config, None))
    assert time.perf_counter() - started < 1
    assert problems(info.value) == [
        f"{path}:10:17: profiles.staff.smtp.username: the value would be 100000000 characters "
        f"long; a template may build at most 1000 characters (user {victim})"]


# --- editing the files -------------------------------------------------------------------------


HAND_WRITTEN = """\
# Acme's mail settings -- reviewed in PRs
version: 1   # always 1
vars:
  domain: 'acme.ca'     # quoted on purpose

profiles:
  staff:
    smtp: {username: "{{ user.code | lower }}@{{ vars.domain }}"}

users:
  # the accounting mailbox
  COMPTA:
    smtp:
      username:   comptabilite@acme.ca    # odd spacing kept
      from: "comptabilite@acme.ca"
  JDOE: {profile: staff}   # Jane

  # trailing comment of the users section
prune: false
"""


def test_users_add_keeps_every_byte_outside_the_added_lines(tmp_path: Path,
                                                            monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mailprov.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    result = CliRunner().invoke(cli, ["users", "add", "MROY", "yes", "--profile", "staff",
                                      "--set", "port=2525"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("Added 2 user(s) to mailprov.yaml: MROY, yes. Review with "
                             "`mailprov plan`.\n")
    after = Path("mailprov.yaml").read_bytes()
    added = (b'  MROY: {profile: staff, smtp: {port: 2525}}\n'
             b'  "yes": {profile: staff, smtp: {port: 2525}}\n')
    marker = b"  JDOE: {profile: staff}   # Jane\n"
    before = HAND_WRITTEN.encode()
    assert after == before.replace(marker, marker + added)
    config = api.load_config("mailprov.yaml")
    assert config.users["yes"].profiles == ("staff",)
    assert config.users["MROY"].override.port == 2525


def test_users_add_refuses_an_edit_that_would_not_validate(tmp_path: Path,
                                                           monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mailprov.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "MROY", "--profile", "staf"])
    assert result.exit_code == 1
    assert result.stderr == (
        "mailprov.yaml:17:19: users.MROY.profile: unknown profile 'staf'; did you mean 'staff'? "
        "(profiles: staff)\n"
        "Error: 1 problem in the configuration; nothing was changed.\n")
    result = runner.invoke(cli, ["users", "add", "JDOE", "--profile", "staff"])
    assert result.exit_code == 1
    assert result.stderr == ("Error: JDOE is already listed in mailprov.yaml (line 16): edit its "
                             "entry there, or remove it first\n")
    assert Path("mailprov.yaml").read_text(encoding="utf-8") == HAND_WRITTEN
    assert [p.name for p in tmp_path.iterdir()] == ["mailprov.yaml"]  # no temporary left


def test_users_remove_and_import(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mailprov.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "remove", "COMPTA"])
    assert result.exit_code == 0, result.output
    text = Path("mailprov.yaml").read_text(encoding="utf-8")
    assert text == HAND_WRITTEN.replace(
        "  COMPTA:\n    smtp:\n      username:   comptabilite@acme.ca    # odd spacing kept\n"
        '      from: "comptabilite@acme.ca"\n', "")
    result = runner.invoke(cli, ["users", "remove", "JDOE", "--disable"])
    assert result.exit_code == 0, result.output
    assert "  JDOE: {smtp: false}\n\n  # trailing comment" in \
        Path("mailprov.yaml").read_text(encoding="utf-8")
    Path("people.csv").write_text("code,profile,port\nJDOE,staff,\nLPAGE,staff,2525\n"
                                  "MROY,staff,\n", encoding="utf-8")
    result = runner.invoke(cli, ["users", "import", "people.csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("Added 2 user(s) to mailprov.yaml; 1 already listed, left as "
                             "they are.\n")
    text = Path("mailprov.yaml").read_text(encoding="utf-8")
    assert "  JDOE: {smtp: false}\n  LPAGE: {profile: staff, smtp: {port: 2525}}\n" \
           "  MROY: {profile: staff}\n\n  # trailing comment" in text


def test_users_import_reports_every_bad_row_at_its_cell_and_changes_nothing(
        tmp_path: Path, monkeypatch) -> None:
    """A row that cannot be read does not hide the others: the port that is not a number,
    the profile that does not exist, the From address that is not one, all at once, each
    at its row and cell of the CSV file, and the YAML file keeps every byte."""
    monkeypatch.chdir(tmp_path)
    Path("mailprov.yaml").write_bytes(HAND_WRITTEN.encode("utf-8"))
    Path("people.csv").write_text("code;profile;port;from\nLPAGE;staff;abc;\n"
                                  "MROY;staf;;\nNEW;staff;;\nPAIE;;2525;paie\n",
                                  encoding="utf-8")
    result = CliRunner().invoke(cli, ["users", "import", "people.csv"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "people.csv:2:3: users.LPAGE.smtp.port: the port must be a whole number (e.g. 587), "
        "got 'abc'\n"
        "people.csv:3:2: users.MROY.profile: unknown profile 'staf'; did you mean 'staff'? "
        "(profiles: staff)\n"
        "people.csv:5:4: users.PAIE.smtp.from: 'paie' is not an e-mail address: An email "
        "address must have an @-sign.\n"
        "Error: 3 problems in the configuration; nothing was changed.\n")
    assert Path("mailprov.yaml").read_bytes() == HAND_WRITTEN.encode("utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mailprov.yaml", "people.csv"]
    with pytest.raises(ConfigError) as caught:
        api.import_users("people.csv")
    assert [(p.line, p.column, p.code) for p in caught.value.problems] == [
        (2, 3, "csv-value"), (3, 2, "unknown-profile"), (5, 4, "address-invalid")]


def test_explain_says_where_each_value_comes_from(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "onboarding"
    shutil.copytree(EXAMPLE, folder)
    monkeypatch.chdir(folder)
    url = f"sqlite:///{folder}/maestro-sandbox.db"
    sandbox(url, users=56)
    config = api.load_config(["mailprov.yaml"])
    info = api.explain("MBOUCHER", api.resolve_target(config, None), config)
    from mailprov.render.explain import render_explanation

    text = render_explanation(info, "sandbox")
    assert text.splitlines()[3:] == [
        "  in the files: its row of a CSV user list, people.csv:2 (profiles: staff)",
        "    login   mboucher@acme-construction.ca <- profile staff, template "
        "{{ user.code | lower }}@{{ vars.domain }} (mailprov.yaml:17:17)",
        "    from    mboucher@acme-construction.ca <- the login (`from` defaults to it)",
        "    server  smtp.office365.com           <- inherited from general.smtp (preset "
        "office365) (mailprov.yaml:13:15)",
        "    port    587                          <- inherited from general.smtp (preset "
        "office365) (mailprov.yaml:13:15)",
        "    ssl     true                         <- inherited from general.smtp (preset "
        "office365) (mailprov.yaml:13:15)",
        "    apply would enable this user's SMTP section",
    ]


def test_a_profile_no_user_takes_is_checked_and_an_unquoted_template_is_explained(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(
        "version: 1\nvars: {domain: x.ca}\nprofiles:\n  staff:\n    smtp:\n"
        '      username: "{{ vars.domian }}"\nusers:\n  A: {profile: staf}\n', encoding="utf-8")
    Path("b.yaml").write_text(
        "version: 1\nprofiles:\n  staff:\n    smtp:\n      username: {{ user.code }}@x.ca\n",
        encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", "-c", "a.yaml"])
    assert result.stderr == (
        "a.yaml:6:17: profiles.staff.smtp.username: unknown variable `vars.domian`: did you "
        "mean `vars.domain`? Otherwise add `domian` under `vars:` or pass --var domian=VALUE "
        "(defined: domain)\n"
        "a.yaml:8:16: users.A.profile: unknown profile 'staf'; did you mean 'staff'? "
        "(profiles: staff)\n"
        "Error: 2 problems in the configuration; nothing was changed.\n")
    result = runner.invoke(cli, ["validate", "-c", "b.yaml"])
    assert result.stderr == (
        "b.yaml:5:32: invalid YAML: a template must be in quotes, or YAML reads its braces: "
        'write `username: "{{ user.code | lower }}@{{ vars.domain }}"`\n'
        "Error: 1 problem in the configuration; nothing was changed.\n")

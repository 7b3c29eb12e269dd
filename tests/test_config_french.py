"""Configuration errors in French, and the French names of mail clients (issue 16).

French messages keep their place (`file:line:column: path:`), quote values in « »
with no-break spaces inside and put a no-break space before `:`; English messages stay
as they were, byte for byte. `client: autre` is `client: other` everywhere after loading.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import sandbox, write_config

from mailprov import api, i18n
from mailprov.cli import cli
from mailprov.errors import ConfigError, Problem, in_quotes, printable, quoted, visible
from mailprov.model import CLIENT_ALIASES, CLIENTS, canonical_client

NBSP = "\u00a0"


def write(folder: Path, body: str) -> Path:
    path = folder / "mailprov.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def errors_of(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        api.load_config([path])
    return caught.value.message


BAD = """\
    version: 1
    general:
      client: courriel
      smtp:
        port: 070
    users:
      COMPTA:
        smtp: {server: smtp.acme.ca, port: 99999}
    """


def test_a_config_error_in_french_keeps_its_place_and_french_typography(tmp_path):
    path = write(tmp_path, BAD)
    i18n.set_language("fr")
    assert errors_of(path).split("\n") == [
        f"{path}:3:11: general.client: «{NBSP}courriel{NBSP}» ne fait pas partie de{NBSP}: "
        "other, outlook, lotus_notes, smtp, office365; alias français" + NBSP + ": autre "
        "(= other), autre_logiciel (= other), autre_logiciel_de_courriel (= other), "
        "smtp_autre (= smtp)",
        f"{path}:5:11: general.smtp.port: «{NBSP}070{NBSP}» commence par un zéro et est lu "
        f"comme un nombre octal (56) par YAML 1.1{NBSP}: écrivez un simple nombre décimal "
        "(587), ou mettez-le entre guillemets si vous vouliez le texte",
        f"{path}:8:40: users.COMPTA.smtp.port: le port 99999 est hors limites{NBSP}: utilisez "
        "1 à 65535",
        "3 erreurs trouvées.",
    ]


def test_the_same_errors_in_english_are_unchanged(tmp_path):
    path = write(tmp_path, BAD)
    assert errors_of(path).split("\n") == [
        f"{path}:3:11: general.client: 'courriel' is not one of: other, outlook, lotus_notes, "
        "smtp, office365; French aliases: autre (= other), autre_logiciel (= other), "
        "autre_logiciel_de_courriel (= other), smtp_autre (= smtp)",
        f"{path}:5:11: general.smtp.port: '070' has a leading zero and is read as octal (56) by "
        "YAML 1.1: write a plain decimal number (587), or put it in quotes if you meant the text",
        f"{path}:8:40: users.COMPTA.smtp.port: port 99999 is out of range: use 1 to 65535",
        "3 errors found.",
    ]


def test_one_error_and_a_warning_in_french(tmp_path):
    path = write(tmp_path, """\
        version: 1
        general: {client: outlook, smtp: {server: smtp.acme.ca, port: 70000}}
        """)
    i18n.set_language("fr")
    assert errors_of(path).split("\n") == [
        f"{path}:2:63: general.smtp.port: le port 70000 est hors limites{NBSP}: utilisez 1 à "
        "65535",
        "1 erreur trouvée."]
    warning = Problem("a.yaml", 2, 11, ("include", 0), "attention", severity="warning")
    assert warning.format() == f"a.yaml:2:11: include[0]: avertissement{NBSP}: attention"
    i18n.set_language("en")
    assert warning.format() == "a.yaml:2:11: include[0]: warning: attention"


def test_quoting_in_each_language():
    assert (quoted("COMPTA "), quoted(""), quoted("a\x1bb"), visible("a b")) == (
        "'COMPTA '", "''", "'a\\x1bb'", "a b")
    assert in_quotes("prod") == "'prod'"
    i18n.set_language("fr")
    assert quoted("COMPTA ") == f"«{NBSP}COMPTA {NBSP}»"
    assert quoted("") == f"«{NBSP}{NBSP}»"
    # what could hide still shows: control characters and the value's own no-break spaces
    assert quoted("a\x1bb\u00a0") == f"«{NBSP}a\\x1bb\\xa0{NBSP}»"
    assert quoted("x" * 100, 10) == f"«{NBSP}xxxxxxx...{NBSP}»"
    assert visible("COMPTA") == "COMPTA"
    assert in_quotes("prod") == f"«{NBSP}prod{NBSP}»"
    # French typography survives the terminal filter; escape codes do not
    assert printable(f"a{NBSP}: \x1b") == f"a{NBSP}: \\x1b"


def test_english_keeps_escaping_no_break_spaces_it_prints():
    assert printable(f"a{NBSP}b") == "a\\xa0b"


# --- French names of the mail clients ------------------------------------------------------


def test_every_alias_names_a_known_client():
    assert set(CLIENT_ALIASES.values()) <= set(CLIENTS)
    assert not set(CLIENT_ALIASES) & set(CLIENTS)
    assert [canonical_client(v) for v in ("autre", "smtp_autre", "outlook", 3)] == [
        "other", "smtp", "outlook", 3]


@pytest.mark.parametrize("alias", sorted(CLIENT_ALIASES))
def test_an_alias_is_read_as_its_canonical_client(tmp_path, alias):
    path = write(tmp_path, f"""\
        version: 1
        general:
          client: {alias}
          smtp: {{server: smtp.acme.ca, port: 587, ssl: true}}
        """)
    assert api.load_config([path]).general.client == CLIENT_ALIASES[alias]


def test_an_alias_and_its_client_in_two_files_are_one_value(tmp_path):
    (tmp_path / "more.yaml").write_text("general: {client: other}\n", encoding="utf-8")
    path = write(tmp_path, """\
        version: 1
        include: [more.yaml]
        general: {client: autre}
        """)
    assert api.load_config([path]).general.client == "other"


def test_a_target_may_use_an_alias_too(tmp_path):
    path = write(tmp_path, """\
        version: 1
        general: {client: outlook, smtp: {server: smtp.acme.ca, port: 587}}
        targets:
          cloud: {url: "sqlite:///c.db", general: {client: smtp_autre}}
        """)
    assert api.load_config([path]).scopes["cloud"].general.client == "smtp"


def test_a_word_close_to_an_alias_is_told_which(tmp_path):
    path = write(tmp_path, "version: 1\ngeneral: {client: logiciel_de_courriel}\n")
    assert errors_of(path).split("\n")[0] == (
        f"{path}:2:19: general.client: 'logiciel_de_courriel' is not one of: other, outlook, "
        "lotus_notes, smtp, office365; French aliases: autre (= other), autre_logiciel "
        "(= other), autre_logiciel_de_courriel (= other), smtp_autre (= smtp); did you mean "
        "'autre_logiciel_de_courriel'?")


def _plan_json(folder: Path, url: str, client: str) -> dict[str, object]:
    write_config(folder, url, general={"client": client,
                                       "smtp": {"server": "smtp.acme.ca", "port": 587}})
    result = CliRunner().invoke(cli, ["plan", "--format", "json"])
    assert result.exit_code in (0, 2), result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_an_alias_plans_exactly_as_its_client(sqlite_url, tmp_path, monkeypatch):
    sandbox(sqlite_url, users=3)
    monkeypatch.chdir(tmp_path)
    canonical = _plan_json(tmp_path, sqlite_url, "other")
    aliased = _plan_json(tmp_path, sqlite_url, "autre")
    assert "other" in json.dumps(canonical) and "autre" not in json.dumps(aliased)
    differ = {key for key in canonical if canonical[key] != aliased.get(key)}
    assert differ <= {"config_digest"}, differ
    assert set(aliased) == set(canonical)

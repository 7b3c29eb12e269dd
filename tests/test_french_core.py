"""En français: the refusals, advice and database errors of the core speak French, with
their values filled in, while what a plan stores stays English (the same JSON bytes in
both languages)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import sandbox, smtp_user, update_user, write_config
from sqlalchemy.engine import make_url

from mailprov import api, i18n
from mailprov.cli import cli
from mailprov.db.connect import database_error
from mailprov.db.timeouts import Timeouts
from mailprov.errors import StalePlanError
from mailprov.i18n import Joined, Plural, shown, stored
from mailprov.smtp.advice import Symptom, diagnose

NBSP = "\u00a0"


@pytest.fixture
def french() -> Iterator[None]:
    i18n.set_language("fr")
    try:
        yield
    finally:
        i18n.set_language("en")


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_PLAN_KEY", "MAILPROV_LANG"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_a_stale_saved_plan_is_refused_in_french(run, sqlite_url, tmp_path: Path) -> None:
    codes = sandbox(sqlite_url, users=5)
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])})
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0], port=2525)})
    assert run("plan", "--out", "p.json").exit_code == 0
    update_user(sqlite_url, codes[0], smtp_username="changed-by-hand@example.com")
    saved = api.read_saved_plan(tmp_path / "p.json")
    i18n.set_language("fr")
    try:
        with pytest.raises(StalePlanError) as refused:
            api.apply_saved(saved, db_url=sqlite_url)
    finally:
        i18n.set_language("en")
    assert refused.value.message == (
        f"le plan enregistré pour la cible «{NBSP}db{NBSP}» est périmé{NBSP}: la base de "
        f"données a changé depuis le plan{NBSP}: user.{codes[0]}. Rien n'a été modifié; "
        "relancez `mailprov plan`.")
    # and in English, word for word as before
    with pytest.raises(StalePlanError) as english:
        api.apply_saved(saved, db_url=sqlite_url)
    assert english.value.message.startswith("the saved plan for target 'db' is stale: ")


def test_test_send_advice_in_french_fills_its_values(french) -> None:
    symptom = Symptom(step="auth", kind="reply", server="smtp.acme.ca", port=587,
                      tls="starttls", code=535, enhanced="5.7.8", username="paie@acme.ca")
    reason, advice = diagnose(symptom)
    assert reason == "bad-credentials"  # the code scripts read never changes
    assert advice == (
        "smtp.acme.ca a refusé le nom d'usager paie@acme.ca ou son mot de passe. Vérifiez "
        "le nom d'usager (souvent l'adresse courriel complète) et faites saisir de nouveau "
        "le mot de passe par l'usager dans maestro* (Préférences > Courriel > Gestion de mon "
        "compte) ou avec `mailprov password set`.")
    timeout = Symptom(step="greeting", kind="timeout", server="smtp.acme.ca", port=465,
                      tls="starttls", timeout=30.0)
    assert f"port 587 avec «{NBSP}Utiliser l'encodage SSL{NBSP}» coché." in diagnose(timeout)[1]


class _Timeout(Exception):
    pass


def test_a_connection_error_in_french_names_the_limit_and_the_url(french) -> None:
    url = make_url("postgresql+psycopg://paie:s3cret@db.acme.ca/maestro")
    error = database_error(_Timeout("connection timeout expired"), url, "connecting to",
                           timeouts=Timeouts(connect=2.0))
    assert error.message == (
        f"échec de la connexion à postgresql+psycopg://paie@db.acme.ca/maestro{NBSP}: "
        f"connexion impossible en 2{NBSP}s (le délai de connexion, "
        "MAILPROV_DB_CONNECT_TIMEOUT)")
    refused = database_error(_Timeout("password authentication failed for user paie"), url,
                             "reading", target="prod")
    assert refused.message.startswith("échec de la lecture de postgresql+psycopg://paie@db.acme.ca/")
    assert refused.message.endswith("; donnez le mot de passe de la base de données avec "
                                    "`mailprov login prod` (enregistré dans le trousseau du "
                                    "système) ou dans MAILPROV_DB_PASSWORD")
    assert "s3cret" not in refused.message


def test_stored_texts_are_english_inside_and_french_when_shown(french) -> None:
    reason = stored("it removes or changes {counted} existing overrides (limit {limit})",
                    counted=3, limit=2)
    warning = stored("apply will refuse this plan without --force: {reasons}",
                     reasons=Joined("; ", [reason]))
    assert json.dumps(warning) == ('"apply will refuse this plan without --force: it removes '
                                   'or changes 3 existing overrides (limit 2)"')
    assert str(warning) == warning == json.loads(json.dumps(warning))
    assert f"{warning}" == shown(warning) == (
        f"apply refusera ce plan sans --force{NBSP}: il retire ou modifie 3 configurations "
        "spécifiques existantes (limite 2)")
    one = Plural.ngettext("the plan breaks the policy: {count} violation",
                          "the plan breaks the policy: {count} violations", 1).format(count=1)
    assert (one, shown(one)) == ("the plan breaks the policy: 1 violation",
                                 f"le plan enfreint la politique{NBSP}: 1 infraction")
    assert shown("plain text from a saved file") == "plain text from a saved file"


def test_a_plan_json_is_the_same_bytes_in_french(run, sqlite_url, tmp_path: Path,
                                                 monkeypatch) -> None:
    codes = sandbox(sqlite_url, users=5)
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])})
    assert run("apply", "--auto-approve").exit_code == 0
    write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0], port=2525),
                                              codes[1]: smtp_user(codes[1])},
                 safety={"max_changes": 0})
    assert run("plan", "--out", "en.json").exit_code == 0
    monkeypatch.setenv("MAILPROV_LANG", "fr")
    i18n.set_language("fr")
    try:
        assert run("plan", "--out", "fr.json").exit_code == 0
    finally:
        i18n.set_language("en")
    english = (tmp_path / "en.json").read_text(encoding="utf-8")
    assert "apply will refuse this plan without --force" in english
    assert (tmp_path / "fr.json").read_text(encoding="utf-8") == english


def test_a_configuration_warning_is_french_on_screen_and_english_in_the_saved_plan(
        run, sqlite_url, tmp_path: Path, monkeypatch) -> None:
    codes = sandbox(sqlite_url, users=5)
    users = {code: smtp_user(code, server="smtp.acme.ca", port=465, ssl=True)
             for code in codes[:3]}
    write_config(tmp_path, sqlite_url, users=users)
    english_run = run("plan", "--out", "en.json")
    assert english_run.exit_code == 0, english_run.output
    monkeypatch.setenv("MAILPROV_LANG", "fr")
    i18n.set_language("fr")
    try:
        french_run = run("plan", "--out", "fr.json")
    finally:
        i18n.set_language("en")
    english = (tmp_path / "en.json").read_text(encoding="utf-8")
    assert "port 465 with `ssl: true`" in english and "(and 2 other users)" in english
    assert (tmp_path / "fr.json").read_text(encoding="utf-8") == english
    assert "port 465 avec `ssl: true`" in french_run.output
    assert "port 465 with" not in french_run.output

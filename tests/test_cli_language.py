"""The command line in French (`--lang fr`, MAILPROV_LANG): help and messages translated,
what scripts read (JSON, the plan summary line, exit codes) the same in every language.

Tests whose name starts with `test_with_the_french_catalog_` check actual French text:
they need mailprov/locale/fr/LC_MESSAGES/mailprov.mo, compiled from the catalog the lead
merges (docs/translating.md). The others hold with or without a catalog.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from dbhelpers import dump, sandbox, smtp_user, users, write_config

from mailprov import i18n
from mailprov.cli import cli

SUMMARY_LINE = re.compile(r"^(Plan: ([0-9]+) to add, ([0-9]+) to change, ([0-9]+) to remove\."
                          r"|No changes\. maestro\* matches the configuration\.)$")


@pytest.fixture
def run(tmp_path, monkeypatch):
    """`mailprov ARGS` in tmp_path, with no language asked of the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_DB_URL", "MAILPROV_DB_PASSWORD", "MAILPROV_LANG", "LANGUAGE",
                 "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input)

    return invoke


@pytest.fixture
def company(tmp_path, sqlite_url):
    """A sandbox with one apply recorded, a user changed by hand since (drift), and files
    that want one more change (a plan with changes)."""
    sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    runner = CliRunner()
    assert runner.invoke(cli, ["apply", "--auto-approve"], catch_exceptions=False).exit_code == 0
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA", port=2525),
                                              "COORD": smtp_user("COORD")})
    return sqlite_url


def test_lang_takes_french_or_english_only(run):
    result = run("--lang", "de", "validate")
    assert result.exit_code == 2
    assert "--lang" in result.stderr


def test_a_run_leaves_the_language_as_it_found_it(run, company):
    before = i18n.language()
    assert run("--lang", "fr", "plan").exit_code == 0
    assert i18n.language() == before == "en"


@pytest.mark.parametrize("answer", ["oui", "yes"])
def test_the_french_prompt_accepts_oui_as_well_as_yes(run, company, answer):
    result = run("--lang", "fr", "apply", input=answer + "\n")
    assert result.exit_code == 0, result.output
    assert users(company)["COORD"]["mail_override"] == 1


def test_the_english_prompt_accepts_yes_only(run, company):
    before = dump(company)
    declined = run("--lang", "en", "apply", input="oui\n")
    assert declined.exit_code == 1
    assert "the answer was not 'yes'" in declined.stderr
    assert dump(company) == before
    assert run("apply", input="yes\n").exit_code == 0
    assert users(company)["COORD"]["mail_override"] == 1


def test_the_french_prompt_refuses_anything_else(run, company):
    before = dump(company)
    for answer in ("non\n", "o\n", "OUI\n", "oui merci\n", ""):
        assert run("--lang", "fr", "apply", input=answer).exit_code == 1, answer
    assert dump(company) == before


JSON_COMMANDS = [
    ("validate", "--format", "json"),
    ("plan", "--format", "json"),
    ("drift", "--format", "json"),
    ("explain", "COMPTA", "--format", "json"),
    ("history", "--format", "json"),
    ("history", "--show", "1", "--format", "json"),
    ("password", "status", "--format", "json"),
    ("office365", "status", "--format", "json"),
    ("schema",),
    # errors of a JSON run are in English too
    ("explain", "NOBODY", "--format", "json"),
    ("history", "--show", "99", "--format", "json"),
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=" ".join)
def test_json_output_is_the_same_in_every_language(run, company, args):
    english = run("--lang", "en", *args)
    french = run("--lang", "fr", *args)
    assert (french.exit_code, french.stdout_bytes, french.stderr_bytes) == (
        english.exit_code, english.stdout_bytes, english.stderr_bytes)
    if english.exit_code == 0 and args[0] != "schema":
        json.loads(english.stdout)


def test_a_saved_plan_shows_the_same_json_in_every_language(run, company):
    assert run("plan", "--out", "p.json").exit_code == 0
    english = run("--lang", "en", "show", "p.json", "--format", "json")
    french = run("--lang", "fr", "show", "p.json", "--format", "json")
    assert english.exit_code == french.exit_code == 0
    assert (french.stdout_bytes, french.stderr_bytes) == (english.stdout_bytes,
                                                           english.stderr_bytes)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_plan_summary_line_and_exit_code_are_the_same_in_every_language(run, company,
                                                                             lang):
    result = run("--lang", lang, "plan", "--detailed-exitcode")
    assert result.exit_code == 2
    last = result.stdout.rstrip("\n").split("\n")[-1]
    assert SUMMARY_LINE.match(last), last
    assert last == "Plan: 1 to add, 1 to change, 0 to remove."
    # drift's last line too (docs/exit-codes.md): the company has a user changed by hand
    result = run("--lang", lang, "drift")
    assert result.exit_code == 2
    assert re.fullmatch(r"Drift: [0-9]+ row\(s\), [0-9]+ field\(s\) differ; [0-9]+ listed "
                        r"user\(s\) missing\.", result.stdout.rstrip("\n").split("\n")[-1])


def test_mailprov_lang_chooses_the_language_and_lang_overrides_it(run, company,
                                                                  monkeypatch):
    monkeypatch.setenv("MAILPROV_LANG", "fr")
    assert run("--lang", "en", "apply", input="oui\n").exit_code == 1
    assert run("apply", input="oui\n").exit_code == 0  # MAILPROV_LANG=fr: oui approves


def test_every_help_text_is_extracted_for_translation():
    """click would take a docstring as help, which Babel does not extract: every help of
    every command and option is an explicit help=N_(...), so it is in the catalog."""
    from pathlib import Path

    import click
    from babel.messages.extract import extract_from_dir

    folder = Path(__file__).resolve().parent.parent / "mailprov" / "cli"
    extracted = {message for _file, _line, message, _comments, _context
                 in extract_from_dir(str(folder), [("**.py", "python")])
                 if isinstance(message, str)}

    def walk(command):
        yield command
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                yield from walk(sub)

    helps = [(c.name, c.help) for c in walk(cli)] + [
        (f"{c.name} {p.name}", p.help) for c in walk(cli) for p in c.params
        if isinstance(p, click.Option) and p.name != "help"]
    assert [name for name, text in helps if not text] == []
    assert [name for name, text in helps if text not in extracted] == []


# --- with the French catalog (compiled from the catalog the lead merges) -------------------


def test_with_the_french_catalog_the_help_of_plan_is_in_french(run):
    english = run("--lang", "en", "plan", "--help")
    french = run("--lang", "fr", "plan", "--help")
    assert english.exit_code == french.exit_code == 0
    assert "Show what apply would change in the maestro* database." in english.stdout
    assert "Montrer ce qu'apply changerait dans la base de données maestro*." in french.stdout
    assert "Exemples\u00a0:" in french.stdout
    assert "Enregistrer le plan (JSON)" in french.stdout  # an option's help
    assert french.stdout != english.stdout


def test_with_the_french_catalog_mailprov_lang_translates_the_help(run, monkeypatch):
    monkeypatch.setenv("MAILPROV_LANG", "fr")
    result = run("--help")
    assert "Langue des messages et de l'aide" in result.stdout
    assert "Montrer ce qu'apply changerait" in result.stdout  # the commands' short help


def test_with_the_french_catalog_every_command_and_option_has_french_help(run):
    """Each command's help, and each option's that has one, reads differently in French:
    none was left unmarked or untranslated."""
    import click

    def walk(command, path):
        yield command, path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])

    untranslated = []
    for command, path in walk(cli, []):
        ctx = click.Context(command, info_name=" ".join(["mailprov", *path]))
        i18n.set_language("en")
        english = [command.get_short_help_str(), command.get_help(ctx)] + [
            (p.get_help_record(ctx) or ("", ""))[1] for p in command.params
            if isinstance(p, click.Option) and p.help and p.name != "help"]
        i18n.set_language("fr")
        try:
            french = [command.get_short_help_str(), command.get_help(ctx)] + [
                (p.get_help_record(ctx) or ("", ""))[1] for p in command.params
                if isinstance(p, click.Option) and p.help and p.name != "help"]
        finally:
            i18n.set_language(None)
        untranslated += [f"{' '.join(path)}: {e[:60]}" for e, f in zip(english, french,
                                                                        strict=True)
                         if e == f and e]
    assert untranslated == []


def test_with_the_french_catalog_messages_are_in_french(run, company):
    result = run("--lang", "fr", "validate")
    assert result.exit_code == 0
    assert result.stdout.startswith("Valide\u00a0: 1 fichier(s), 2 usager(s)")
    result = run("--lang", "fr", "history", "--show", "99")
    assert result.exit_code == 1
    assert result.stderr.startswith("Erreur\u00a0: aucune application n° 99")
    declined = run("--lang", "fr", "apply", input="non\n")
    assert "Seul «\u00a0oui\u00a0» (ou «\u00a0yes\u00a0») est accepté" in declined.stdout
    assert declined.stderr == ("Erreur\u00a0: application annulée\u00a0: la réponse n'était "
                               "pas «\u00a0oui\u00a0». Rien n'a été modifié.\n")


def test_click_s_own_texts_go_through_mailprov_s_catalog():
    """click looks its messages up in the environment's language; mailprov points its
    modules at mailprov.i18n (mailprov.cli.clicktexts). A click release that renames
    those module names would leave its texts English: this says so first."""
    from mailprov.cli import clicktexts

    assert clicktexts.installed()


def test_with_the_french_catalog_click_s_texts_follow_lang(run):
    """The usage line, the help option, option defaults and click's parsing errors are in
    the language of each run, French then English in one process (CliRunner names the
    program `cli`)."""
    french = run("--lang", "fr", "validate", "--help")
    assert french.stdout.startswith("Utilisation\u00a0: cli validate [OPTIONS]")
    assert "-h, --help            Afficher ce message et quitter." in french.stdout
    assert "[par défaut\u00a0: text]" in french.stdout
    english = run("validate", "--help")
    assert english.stdout.startswith("Usage: cli validate [OPTIONS]")
    assert "-h, --help            Show this message and exit." in english.stdout
    assert "[default: text]" in english.stdout

    result = run("--lang", "fr", "validate", "--nope")
    assert result.exit_code == 2
    assert result.stderr == ("Utilisation\u00a0: cli validate [OPTIONS] [FILES]...\n"
                             "Essayez 'cli validate --help' pour obtenir de l'aide.\n\n"
                             "Erreur\u00a0: Option '--nope' inconnue.\n")
    result = run("--lang", "fr", "plan", "--format", "xml")
    assert result.stderr.endswith("Erreur\u00a0: Valeur invalide pour '--format'\u00a0: 'xml' "
                                  "n'est pas parmi 'text', 'json', 'markdown', 'html'.\n")
    result = run("--lang", "fr", "valider")
    assert result.stderr.endswith("Erreur\u00a0: Commande 'valider' inconnue. Vouliez-vous "
                                  "dire 'validate'?\n")
    result = run("--lang", "fr", "pla")  # click's plural names commands as well as options
    assert result.stderr.endswith("Erreur\u00a0: Commande 'pla' inconnue. (Vouliez-vous "
                                  "dire\u00a0: 'explain', 'plan'?)\n")
    # a path's kind is click's word, named before any language is chosen
    result = run("--lang", "fr", "validate", "-c", ".")
    assert result.stderr.endswith("Erreur\u00a0: Valeur invalide pour '-c' / '--config'\u00a0: "
                                  "Fichier '.' est un dossier.\n"), result.stderr
    french_help = run("--lang", "fr", "validate", "--help").stdout
    assert "-c, --config FICHIER" in french_help and "--var NOM=VALEUR" in french_help
    assert "--var NAME=VALUE" in run("validate", "--help").stdout  # placeholders too
    assert "-c, --config FILE" in run("validate", "--help").stdout
    assert run("validate", "-c", ".").stderr.endswith(
        "Error: Invalid value for '-c' / '--config': File '.' is a directory.\n")
    assert run("--lang", "fr", "validate", "-c").stderr == (
        "Erreur\u00a0: L'option '-c' demande un argument.\n")
    assert run("validate", "-c").stderr == "Error: Option '-c' requires an argument.\n"


def test_with_the_french_catalog_headings_and_command_lists_keep_french_spacing(run):
    """click writes a heading followed by ':' and shortens each command's help by splitting
    it on whitespace, no-break spaces included: both keep the no-break space before ':'."""
    result = run("--lang", "fr", "--help")
    assert "\nOptions\u00a0:\n" in result.stdout and "\nCommandes\u00a0:\n" in result.stdout
    apply_line = next(line for line in result.stdout.splitlines()
                      if line.startswith("  apply "))
    assert "maestro*\u00a0: un plan" in apply_line
    assert "\nCommands:\n" in run("--help").stdout


def test_a_json_run_gives_its_usage_errors_in_english(run, monkeypatch):
    """JSON is for scripts: a `--format json` run, or a command whose only output is JSON,
    says even click's usage errors in English, whatever the language asked."""
    monkeypatch.setenv("MAILPROV_LANG", "fr")
    result = run("plan", "--format", "json", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: No such option '--bogus'. Did you mean '--out'?\n")
    result = run("plan", "--format=json", "--bogus")
    assert result.stderr.endswith("Error: No such option '--bogus'. Did you mean '--out'?\n")
    assert run("schema", "--bogus").stderr.endswith("Error: No such option '--bogus'.\n")
    assert run("plan", "--bogus").stderr.startswith("Utilisation\u00a0:")
    # the last --format decides; help is for people, in their language
    assert run("plan", "--format", "json", "--format", "text", "--bogus").stderr.startswith(
        "Utilisation\u00a0:")
    assert run("schema", "--help").stdout.startswith("Utilisation\u00a0:")
    assert run("plan", "--format", "json", "--help").stdout.startswith("Utilisation\u00a0:")


def test_another_click_program_in_the_process_keeps_click_s_own_texts(monkeypatch):
    """mailprov's command line translates click's texts only while it runs: a program that
    imports mailprov and has click commands of its own sees click unchanged."""
    import click

    import mailprov.cli  # noqa: F401  (installs mailprov's look-up of click's texts)

    before = i18n.language()
    monkeypatch.setenv("MAILPROV_LANG", "fr")
    monkeypatch.setenv("LANG", "fr_CA.UTF-8")
    i18n.set_language(None)
    try:
        @click.command()
        @click.option("--n", type=int)
        def other(n: int) -> None:
            """Another program."""

        result = CliRunner().invoke(other, ["--n", "x"])
        assert result.exit_code == 2
        assert result.stderr.startswith("Usage: other [OPTIONS]")
        assert "Error: Invalid value for '--n': 'x' is not a valid integer." in result.stderr
        assert "Show this message and exit." in CliRunner().invoke(other, ["--help"]).stdout
    finally:
        i18n.set_language(before)



def test_with_the_french_catalog_a_saved_plan_speaks_the_reader_s_language(run, company,
                                                                           tmp_path):
    """A saved plan keeps each stored message's id and values (message_template, format
    1.4): show, apply and ci comment of a plan saved in an English run say its password
    notes in French for a French reader; a template that is not one mailprov writes (a
    format spec, or a text other than the message) leaves the English message as it is."""
    assert run("plan", "--out", "p.json").exit_code == 0
    data = json.loads((tmp_path / "p.json").read_text())
    [note] = [n for n in data["password_notes"] if n["address"] == "user.COORD"]
    assert note["message_template"]["values"]["code"] == "COORD"
    english = run("show", "p.json").stdout
    french = run("--lang", "fr", "show", "p.json").stdout
    assert note["message"] in english and note["message"] not in french
    assert "définissez-le avec `mailprov password set COORD`" in french
    comment = run("--lang", "fr", "ci", "comment", "p.json").stdout
    assert "définissez\\-le avec" in comment and "none is stored" not in comment

    for template in ({**note["message_template"], "id": "{code:>999999999}"},
                     {**note["message_template"], "values": {
                         **note["message_template"]["values"], "code": "PAIE"}}):
        note["message_template"] = template
        (tmp_path / "edited.json").write_text(json.dumps(data))
        shown = run("--lang", "fr", "show", "edited.json")
        assert shown.exit_code == 0, shown.output
        assert note["message"] in shown.stdout  # as written: English

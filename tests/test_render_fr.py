"""Plans, pages and `explain` in French (issue 16): settings named as maestro*'s French
screens name them next to the YAML key, maestro*'s menu paths, French typography, and
what scripts read left in English. Needs the French catalog compiled (Babel)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from jinja2.ext import babel_extract
from test_pr_comment import GENERAL, REMOVAL, UPDATE, create, parser, plan, tables

from mailprov import i18n
from mailprov.live.explain import Explanation
from mailprov.plan.format import Change, Plan
from mailprov.render.explain import render_explanation
from mailprov.render.html import render_html
from mailprov.render.markdown import render_markdown
from mailprov.render.places import label, menu_path
from mailprov.render.text import render_text
from mailprov.render.values import show

NBSP = "\u00a0"
CLIENT_PATH = (f"maestro* > Maintenance > Maintenance générale > Fonctions > Configurations "
               f"générales > Généralités > «{NBSP}Logiciel de courriel{NBSP}»")
USER_PATH = (f"maestro* > Maintenance > Maintenance générale > Fonctions > Gestion de la "
             f"sécurité > COMPTA > Description > «{NBSP}Configuration de courriel spécifique "
             f"à cet usager{NBSP}»")
CLIENT = Change("general", "update", {"client": "outlook"}, {"client": "smtp"}, ("client",))


@pytest.fixture
def french() -> Iterator[None]:
    i18n.set_language("fr")
    try:
        yield
    finally:
        i18n.set_language("en")


def _plan() -> Plan:
    return plan([CLIENT, REMOVAL, UPDATE, create("COMPTA"), create("PAIE")])


def test_a_french_comment_names_settings_as_maestro_does(french: None) -> None:
    md = render_markdown(_plan())
    general, *groups = tables(md)
    assert general[0] == ["Paramètre", "Avant", "Après", "Où dans maestro*"]
    assert general[1] == ["Logiciel de courriel (general.client)", "outlook", "smtp",
                          CLIENT_PATH]
    assert groups[1][0] == ["Usager", "Nom d’usager (smtp.username)",
                            f"Adresse «{NBSP}de{NBSP}» (smtp.from)"]
    html = parser().render(md)
    assert ("Où le voir" + NBSP + ": maestro* &gt; Maintenance &gt; Maintenance générale "
            "&gt; Fonctions &gt; Gestion de la sécurité &gt; l’usager &gt; Description")\
        in html
    # the summary line scripts read stays English, where English has it
    assert md.splitlines()[5].startswith(
        "**Plan\\: 2 to add\\, 2 to change\\, 1 to remove\\.**")


def test_french_explain_says_what_decides_and_where(french: None) -> None:
    general = Explanation("COMPTA", "Comptabilité", "standard", "outlook", "…", None, None,
                          None, None, None, False)
    lines = render_explanation(general, "prod").splitlines()
    assert lines[0] == f"COMPTA (Comptabilité) sur la cible «{NBSP}prod{NBSP}», édition standard"
    assert f"  Logiciel de courriel (general.client){NBSP}: outlook" in lines
    assert f"  où le voir{NBSP}: {CLIENT_PATH}" in lines
    own = Explanation("COMPTA", None, "standard", "override", "…", "smtp.example.com", 587,
                      True, "compta", None, True)
    text = render_explanation(own, "prod")
    assert f"  Adresse «{NBSP}de{NBSP}» (smtp.from){NBSP}:" in text
    assert f"où le voir{NBSP}: {USER_PATH}\n" in text
    assert "\\xa0" not in text  # typography's spaces are not escaped as hidden characters


def test_the_french_page_says_lang_fr(french: None) -> None:
    page = render_html(_plan())
    assert '<html lang="fr">' in page
    assert "Logiciel de courriel (general.client)" in page


def test_the_french_text_plan_keeps_the_english_summary_line(french: None) -> None:
    text = render_text(_plan())
    assert "Cible «\u00a0prod\u00a0»" in text
    assert "      Logiciel de courriel (general.client)  outlook -> smtp\n" in text
    assert text.splitlines()[-1] == "Plan: 2 to add, 2 to change, 1 to remove."
    i18n.set_language("en")
    assert render_text(_plan()).splitlines()[-1] == text.splitlines()[-1]


def test_english_names_and_paths_are_as_before() -> None:
    assert i18n.language() == "en"
    assert label("client") == "Mail client (Logiciel de courriel)"
    assert label("port") == label("smtp.port") == "Port"
    assert menu_path("smtp.port") == ("General configurations > Divers > « Configuration du "
                                      "compte de courriel SMTP »")
    assert menu_path("from", "PAIE") == ("Security management > PAIE > Description > « "
                                         "Configuration de courriel spécifique à cet usager »")
    assert '<html lang="en">' in render_html(plan([GENERAL]))
    text = render_text(_plan())
    assert "      client  outlook -> smtp\n" in text


def test_a_no_break_space_is_a_space_but_not_at_either_end() -> None:
    assert show("a\u00a0: b") == "a\u00a0: b"
    assert show("COMPTA\u00a0") == "'COMPTA\\xa0'"
    assert show("a\x1b[2J\u00a0b") == "'a\\x1b[2J\\xa0b'"


def test_babel_finds_the_messages_of_our_templates() -> None:
    folder = resources.files("mailprov.render") / "templates"
    found = set()
    for name in ("plan.md.j2", "plan.html.j2", "drift.md.j2", "drift.html.j2"):
        with (folder / name).open("rb") as stream:
            found.update(str(message) for _line, _func, message, _comments in babel_extract(
                stream, ("_", "ngettext"), [], {"trimmed": "false"}))
        assert "tr(" not in (folder / name).read_text("utf-8")  # every message is marked
    assert "Follow-up: passwords" in found
    assert "Last set by" in found
    assert any("Same for all {n}:" in message for message in found)


def test_a_team_template_may_translate_with_underscore(tmp_path: Path) -> None:
    template = tmp_path / "t.md.j2"
    template.write_text('{{ _("Warnings") }} / {{ tr("Before") }} / '
                        '{{ ngettext("{n} user", "{n} users", 2) }}\n', encoding="utf-8")
    assert render_markdown(plan([]), template=str(template)).endswith(
        "Warnings / Before / 2 users\n")

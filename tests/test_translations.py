"""The French catalog is complete, clean and true to its English source.

Babel extracts every message the code and the templates mark (as `pybabel extract` does
with babel.cfg); each must have a French translation that is neither empty nor fuzzy,
keeps the same `{placeholders}`, and follows the Office québécois de la langue française
spacing rules. The compiled catalog is the one mailprov really loads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from mailprov import i18n

ROOT = Path(__file__).resolve().parents[1]
PO_FILE = ROOT / "mailprov" / "locale" / "fr" / "LC_MESSAGES" / "mailprov.po"
MO_FILE = PO_FILE.with_suffix(".mo")
NBSP = "\u00a0"
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[!:][^{}]*)?\}(?!\})")


def _method_map() -> list[tuple[str, str]]:
    """babel.cfg's sections, so the test extracts exactly what `pybabel extract` does."""
    pairs = []
    for line in (ROOT / "babel.cfg").read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\[(\w+):\s*(.+)\]", line.strip())
        if match:
            pairs.append((match.group(2), match.group(1)))
    return pairs


def _source_ids() -> dict[str | tuple[str, str], str]:
    """Every marked message of the source tree -> one place it is used."""
    found: dict[str | tuple[str, str], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), _method_map(), options_map={}
    ):
        key = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with PO_FILE.open("rb") as handle:
        return read_po(handle, locale="fr")


@pytest.fixture(scope="module")
def source_ids() -> dict[str | tuple[str, str], str]:
    return _source_ids()


def _translations(catalog: Catalog) -> list[tuple[str, str]]:
    """(English, French) pairs, plural forms paired with the English plural."""
    pairs = []
    for message in catalog:
        if not message.id:
            continue  # the header
        if isinstance(message.id, tuple | list):
            singular, plural = message.id[0], message.id[1]
            strings = list(message.string) if message.string else [""]
            pairs.append((singular, strings[0]))
            pairs.extend((plural, form) for form in strings[1:])
        else:
            pairs.append((message.id, message.string or ""))
    return pairs


def test_extraction_finds_the_messages(source_ids: dict[str | tuple[str, str], str]) -> None:
    # a broken babel.cfg pattern would make every other check here pass vacuously
    assert len(source_ids) > 500
    assert any(where.startswith("mailprov/render/templates/") for where in source_ids.values())


def test_every_message_in_the_code_has_a_french_translation(
    catalog: Catalog, source_ids: dict[str | tuple[str, str], str]
) -> None:
    missing = []
    for key, where in sorted(source_ids.items(), key=lambda item: item[1]):
        message = catalog.get(key[0] if isinstance(key, tuple) else key)
        strings = (message.string if isinstance(message.string, tuple | list)
                   else [message.string]) if message else []
        if message is None or not all(strings) or message.fuzzy:
            missing.append(f"{where}: {key!r}")
    assert not missing, "untranslated, empty or fuzzy (docs/translating.md):\n" + "\n".join(
        missing[:40]
    )


def test_the_catalog_holds_no_message_the_code_no_longer_uses(
    catalog: Catalog, source_ids: dict[str | tuple[str, str], str]
) -> None:
    used = {key[0] if isinstance(key, tuple) else key for key in source_ids}
    stale = [message.id for message in catalog if message.id and (
        message.id[0] if isinstance(message.id, tuple | list) else message.id) not in used]
    assert not stale, f"remove with pybabel update (docs/translating.md): {stale[:20]}"


def test_translations_keep_every_placeholder(catalog: Catalog) -> None:
    wrong = []
    for english, french in _translations(catalog):
        if sorted(set(PLACEHOLDER.findall(english))) != sorted(set(PLACEHOLDER.findall(french))):
            wrong.append(f"{english!r} -> {french!r}")
    assert not wrong, "\n".join(wrong[:20])


def test_french_spacing_follows_the_oqlf(catalog: Catalog) -> None:
    wrong = []
    for english, french in _translations(catalog):
        problems = []
        if re.search(r"«(?!\u00a0)", french) or re.search(r"(?<!\u00a0)»", french):
            problems.append("« and » take a no-break space inside")
        prose = re.sub(r"`[^`]*`", "code", french)  # code spans keep their own spacing
        if re.search(r" :(?=\s|$)", prose):
            problems.append("a no-break space, not a space, goes before ':'")
        if re.search(r"[ \u00a0][;!?](?=\s|$)", prose):
            problems.append("no space before ';', '!' or '?'")
        if problems:
            wrong.append(f"{french!r}: {', '.join(problems)} (from {english!r})")
    assert not wrong, "\n".join(wrong[:20])


def test_mailprov_loads_the_compiled_french_catalog(catalog: Catalog) -> None:
    assert MO_FILE.exists(), "compile the catalogs: pybabel compile -d mailprov/locale -D mailprov"
    sample = next(message for message in catalog
                  if isinstance(message.id, str) and message.id and message.string)
    try:
        i18n.set_language("fr")
        assert i18n._(sample.id) == sample.string
        i18n.set_language("en")
        assert i18n._(sample.id) == sample.id
    finally:
        i18n.set_language("en")


@pytest.mark.parametrize(("environment", "expected"), [
    ({"LANG": "fr_CA.UTF-8"}, "fr"),
    ({"LC_ALL": "fr_FR.UTF-8", "LANG": "en_CA.UTF-8"}, "fr"),
    ({"LANGUAGE": "de:fr", "LANG": "en_US.UTF-8"}, "fr"),
    ({"LC_MESSAGES": "C", "LANG": "fr_CA.UTF-8"}, "en"),
    ({"MAILPROV_LANG": "en", "LANG": "fr_CA.UTF-8"}, "en"),
    ({"MAILPROV_LANG": "fr"}, "fr"),
    ({"LANG": "es_MX.UTF-8"}, "en"),
    ({}, "en"),
])
def test_the_language_comes_from_the_environment(environment: dict[str, str],
                                                 expected: str) -> None:
    assert i18n.detect_language(environment) == expected


def test_the_wheel_ships_the_french_catalog_compiled_at_build_time(tmp_path: Path) -> None:
    """Only the .po is in the repository: building a wheel from the sources alone (no .mo)
    compiles it with Babel (setup.py), and the wheel carries the compiled catalog."""
    import gettext
    import io
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "src"
    shutil.copytree(ROOT / "mailprov", source / "mailprov",
                    ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md", "babel.cfg"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("mailprov-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "mailprov/locale/fr/LC_MESSAGES/mailprov.mo" in names
        assert not [name for name in names if name.endswith(".po")]
        compiled = gettext.GNUTranslations(io.BytesIO(
            archive.read("mailprov/locale/fr/LC_MESSAGES/mailprov.mo")))
    with PO_FILE.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    sample = next(m for m in catalog if isinstance(m.id, str) and m.id and m.string)
    assert compiled.gettext(sample.id) == sample.string

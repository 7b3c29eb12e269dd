"""The French documentation (docs/fr/): a page for every English one, kept in step.

A translation drifts without anyone noticing: these tests fail when an English page
has no French counterpart, when a pair no longer has the same code blocks, commands,
examples or headings, when a French link leads nowhere, and when the French prose
breaks the typography the project follows (guillemets and no-break spaces, OQLF).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_docs import _SCHEME, _anchors, _links

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
FR = DOCS / "fr"
ENGLISH = sorted(DOCS.glob("*.md"))
FRENCH = sorted(FR.glob("*.md"))
# Pages whose French counterpart exists: the pairs that must be kept in step.
PAIRS = [page for page in ENGLISH if (FR / page.name).exists() and page.name != "README.md"]
NBSP = "\u00a0"

# A fenced block, also indented in a list item: its language and its text.
_BLOCK = re.compile(r"^[ \t]*(?P<fence>```|~~~)(?P<lang>[^\n`]*)\n"
                    r"(?P<body>.*?)^[ \t]*(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+\S", re.MULTILINE)
# A heading the translator left for the lead to fill: not counted until it is written.
_PLACEHOLDER = re.compile(r"^(#{1,6})[ \t]+[^\n]+\n\s*<!--[^\n]*see English page[^\n]*-->",
                          re.MULTILINE)
_SHELL = {"sh", "bash", "console", "shell", ""}
_COMMENT = re.compile(r"(?:^|\s)#(?!!).*$")


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block as (language, text), in order; list-item indentation removed."""
    found = []
    for match in _BLOCK.finditer(text):
        indent = len(match.group(0)) - len(match.group(0).lstrip(" \t"))
        body = "\n".join(line[indent:] for line in match.group("body").splitlines())
        found.append((match.group("lang").strip().lower(), body))
    return found


def _commands(body: str) -> list[str]:
    """A shell block's lines without their `#` comments (translated) or blank lines."""
    lines = (_COMMENT.sub("", line).rstrip() for line in body.splitlines())
    return [line for line in lines if line]


def _outside_blocks(text: str) -> str:
    return _BLOCK.sub("", text)


def _heading_counts(text: str) -> dict[int, int]:
    prose = _outside_blocks(text)
    counts: dict[int, int] = {}
    for hashes in _HEADING.findall(prose):
        counts[len(hashes)] = counts.get(len(hashes), 0) + 1
    for hashes in _PLACEHOLDER.findall(prose):
        counts[len(hashes)] -= 1
    return {level: n for level, n in counts.items() if n}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- a French page for every English one -------------------------------------------------


@pytest.mark.parametrize("page", ENGLISH, ids=_name)
def test_every_english_page_has_a_french_counterpart(page: Path) -> None:
    assert (FR / page.name).exists(), f"docs/fr/{page.name} is missing: translate {_name(page)}"


def test_every_french_page_translates_an_english_one() -> None:
    assert FR / "README.md" in FRENCH
    assert [_name(p) for p in FRENCH if not (DOCS / p.name).exists()] == []


def test_the_french_index_lists_every_page() -> None:
    linked = {link.partition("#")[0] for link in _links(_read(FR / "README.md"))}
    pages = {p.name for p in ENGLISH} - {"README.md"}
    assert pages >= {"configuration.md", "git-workflow.md", "passwords.md", "test-send.md"}
    assert sorted(pages - linked) == []


def test_the_english_index_links_the_french_one() -> None:
    assert "fr/README.md" in _links(_read(DOCS / "README.md"))


# --- each pair kept in step --------------------------------------------------------------


def test_the_step_checks_see_blocks_commands_and_headings() -> None:
    text = ("# T\n\n## A\n\n- item:\n\n  ```sh\n  mailprov plan   # what changes\n  ```\n\n"
            "```console\n$ mailprov validate\nok\n```\n\n"
            "### B\n\n<!-- aliases: see English page -->\n\n```yaml\n# comment\na: 1\n```\n")
    blocks = _blocks(text)
    assert [lang for lang, _ in blocks] == ["sh", "console", "yaml"]
    assert _commands(blocks[0][1]) == ["mailprov plan"]
    assert _commands(blocks[1][1]) == ["$ mailprov validate", "ok"]
    assert _heading_counts(text) == {1: 1, 2: 1}
    assert _heading_counts("# T\n```sh\n# not a heading\n```\n") == {1: 1}


@pytest.mark.parametrize("page", PAIRS, ids=_name)
def test_a_pair_has_the_same_code_blocks(page: Path) -> None:
    english, french = _blocks(_read(page)), _blocks(_read(FR / page.name))
    assert [lang for lang, _ in french] == [lang for lang, _ in english]


@pytest.mark.parametrize("page", PAIRS, ids=_name)
def test_a_pair_has_the_same_shell_commands(page: Path) -> None:
    english, french = _blocks(_read(page)), _blocks(_read(FR / page.name))
    assert [_commands(body) for lang, body in french if lang in _SHELL] == \
        [_commands(body) for lang, body in english if lang in _SHELL]


@pytest.mark.parametrize("page", PAIRS, ids=_name)
def test_a_pair_has_the_same_examples(page: Path) -> None:
    """JSON stays byte for byte; YAML may translate its comments but not its data."""
    english, french = _blocks(_read(page)), _blocks(_read(FR / page.name))
    assert [body for lang, body in french if lang == "json"] == \
        [body for lang, body in english if lang == "json"]

    def data(blocks: list[tuple[str, str]]) -> list[Any]:
        return [yaml.safe_load(body) for lang, body in blocks if lang == "yaml"]

    assert data(french) == data(english)


@pytest.mark.parametrize("page", PAIRS, ids=_name)
def test_a_pair_has_the_same_headings(page: Path) -> None:
    assert _heading_counts(_read(FR / page.name)) == _heading_counts(_read(page))


def test_the_quick_start_runs_the_readmes_commands() -> None:
    """docs/fr/README.md's quick start is the repository README's, in French."""
    readme = [_commands(body) for lang, body in _blocks(_read(REPO / "README.md"))
              if lang in _SHELL]
    quick = [_commands(body) for lang, body in _blocks(_read(FR / "README.md"))
             if lang in _SHELL]
    assert len(quick) == 3
    assert [commands for commands in quick if commands not in readme] == []


# --- links and typography ----------------------------------------------------------------


@pytest.mark.parametrize("page", FRENCH, ids=_name)
def test_every_relative_link_of_a_french_page_resolves(page: Path) -> None:
    broken = []
    for link in _links(_read(page)):
        if _SCHEME.match(link):
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() and target.parent == FR and (DOCS / target.name).exists():
            continue  # a translation still to come: the counterpart test reports it
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in _anchors(_read(target)):
            broken.append(f"{link}: no such heading")
    assert broken == []


def _french_prose(text: str) -> str:
    """The prose a reader sees: no code, link targets, HTML comments or autolinks."""
    text = re.sub(r"<!--.*?-->", "", _outside_blocks(text), flags=re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "C", text)
    return re.sub(r"\]\([^)\n]*\)|<[a-z]+://[^>\n]*>", "]", text)


def test_the_typography_check_sees_mistakes() -> None:
    good = f"Voir «{NBSP}Courriel{NBSP}»{NBSP}: oui; `a : b` [x](y.md) ok?"
    assert _typography_problems(good) == []
    assert len(_typography_problems('Voir « Courriel » : "oui" ; non ?')) == 7


def _typography_problems(text: str) -> list[str]:
    prose = _french_prose(text)
    problems = []
    for line_no, line in enumerate(prose.splitlines(), 1):
        for bad, why in ((r"«(?!\u00a0)", "« without a no-break space after it"),
                         (r"(?<!\u00a0)»", "» without a no-break space before it"),
                         (r"(?<!\u00a0):(?=\s|$)", "':' without a no-break space before it"),
                         (r"\s[;!?]", "a space before ';', '!' or '?'"),
                         (r"\"", "straight double quotes: use « »")):
            problems += [f"{line_no}: {why}: {line.strip()[:80]}" for _ in re.finditer(bad, line)]
    return problems


@pytest.mark.parametrize("page", FRENCH, ids=_name)
def test_french_pages_follow_oqlf_typography(page: Path) -> None:
    text = _read(page)
    assert _typography_problems(text) == []
    english = DOCS / page.name
    if english.exists() and re.search(r"\"[^\"\n]+\"", _french_prose(_read(english))):
        assert "«" in _french_prose(text), "the English quotes something: use « » in French"


def test_the_examples_checked_here_are_json_and_yaml() -> None:
    """The pairs do have examples to compare, so the checks above are not empty."""
    langs = {lang for page in PAIRS for lang, _ in _blocks(_read(FR / page.name))}
    assert {"json", "yaml", "sh", "console", "text"} <= langs
    json.loads(next(body for lang, body in _blocks(_read(FR / "test-send.md"))
                    if lang == "json"))

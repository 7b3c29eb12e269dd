"""The documentation: links that lead somewhere, and examples that are true.

README.md and docs/ are the project's own description of its contract; these tests
keep their links working and check their examples against the code and the schemas.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mailprov import api
from mailprov.db.history import changes_record
from mailprov.plan.format import Plan
from mailprov.plan.planfile import plan_from_json

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted([REPO / "README.md", REPO / "SECURITY.md", REPO / "bench" / "README.md",
                *DOCS.glob("*.md")])
# Written in two parts so that this file does not mention it either.
GONE = "SPEC" + ".md"

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$",
                             re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _ids(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)


def _anchors(text: str) -> set[str]:
    """The fragment GitHub gives each heading: lower case, punctuation dropped, spaces
    to hyphens, `-1`, `-2`... for repeats."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_the_index_lists_every_page() -> None:
    linked = {link.partition("#")[0] for link in _links((DOCS / "README.md").read_text(
        encoding="utf-8"))}
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert pages >= {"configuration.md", "database.md", "plan-format.md", "exit-codes.md",
                     "history.md", "safety.md"}
    assert sorted(pages - linked) == []


def test_the_link_checker_sees_links_and_anchors() -> None:
    text = ("# A `b` title\n\nSee [x](docs/x.md#a-b-title), [y][1] and `[no](z.md)`.\n\n"
            "```\n[no](w.md)\n```\n\n[1]: ../y.md\n## A `b` title\n")
    assert _links(text) == ["docs/x.md#a-b-title", "../y.md"]
    assert _anchors(text) == {"a-b-title", "a-b-title-1"}


@pytest.mark.parametrize("page", PAGES, ids=_ids)
def test_every_relative_link_points_at_an_existing_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for link in _links(text):
        if _SCHEME.match(link):
            continue  # http:, https:, mailto:
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and \
                fragment not in _anchors(target.read_text(encoding="utf-8")):
            broken.append(f"{link}: no such heading")
    assert broken == []


def _repository_files() -> list[Path]:
    """Tracked files, and new ones not yet added (not those .gitignore excludes)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True).stdout.decode("utf-8")
    return [REPO / name for name in sorted(set(listed.split("\0"))) if name]


def test_no_file_in_the_repository_mentions_the_old_contract_file() -> None:
    files = [p for p in _repository_files() if p.is_file()]
    assert REPO / "README.md" in files and Path(__file__) in files
    needle = GONE.encode()
    assert [_ids(p) for p in files if needle in p.read_bytes()] == []


# --- examples ---------------------------------------------------------------------------


def _blocks(page: str, language: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def test_the_complete_configuration_example_is_valid(tmp_path: Path) -> None:
    [example] = [b for b in _blocks("configuration.md", "yaml") if b.startswith("version:")]
    path = tmp_path / "mailprov.yaml"
    path.write_text(example, encoding="utf-8")
    config = api.load_config([path])
    assert config.warnings == ()
    assert sorted(config.users) == ["COMPTA", "JTREMBLAY", "OLDUSER"]
    assert config.users["OLDUSER"].override is None


def test_the_mapping_example_is_the_shipped_one() -> None:
    mapping = (REPO / "examples" / "mapping.yaml").read_text(encoding="utf-8")
    assert mapping in _blocks("database.md", "yaml")


def _example_plan() -> dict[str, Any]:
    blocks = _blocks("plan-format.md", "json")
    data: dict[str, Any] = json.loads(blocks[0])
    return data


def _example() -> Plan:
    """The plan of plan-format.md's example, read (and checked) as mailprov reads files."""
    return plan_from_json(json.dumps(_example_plan()), "plan-format.md").plan


def _older_layout(plan: Plan) -> list[dict[str, Any]]:
    """A plan's changes as history rows from before format 1.1 stored them (no number)."""
    return [{k: v for k, v in change.to_json().items() if k != "number"}
            for change in plan.changes]


def test_the_plan_example_passes_the_schema_and_reads_as_a_plan() -> None:
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    example = _example_plan()
    assert list(Draft202012Validator(schema).iter_errors(example)) == []
    assert example["signature"].startswith("hmac-sha256:")
    assert {"signature": example["signature"], **_example().to_json()} == example


def test_the_history_examples_are_what_the_plan_example_records() -> None:
    plan = _example()
    grouped, older = (json.loads(block) for block in _blocks("history.md", "json"))
    assert grouped == changes_record(plan.changes)
    assert older == _older_layout(plan)[:2]


def test_the_history_reader_reads_both_layouts_alike() -> None:
    plan = _example()
    namespace: dict[str, Any] = {}
    exec(_blocks("history.md", "python")[0], namespace)
    read = namespace["changed_settings"]
    grouped = sorted(read(json.dumps(changes_record(plan.changes))))
    older = sorted(read(json.dumps(_older_layout(plan))))
    assert grouped == older
    assert ("update", "general", "smtp.port", 25, 587) in grouped
    assert ("delete", "user.COORD", "port", 25, None) in grouped
    assert len(grouped) == sum(len(change.changed) for change in plan.changes)


def test_every_problem_code_the_configuration_doc_lists_is_one_mailprov_writes() -> None:
    """The table of codes in docs/configuration.md (Errors and warnings) names codes that
    exist: each is a string in the sources, or a policy rule's `policy-RULE`."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = text[text.index("| code | problem |"):]
    table = table[:table.index("\n\n")]
    codes = re.findall(r"^\| ((?:`[a-z0-9-]+`(?:, )?)+) \|", table, re.MULTILINE)
    listed = [code for cell in codes for code in re.findall(r"`([a-z0-9-]+)`", cell)]
    assert len(listed) >= 60
    sources = "".join(p.read_text(encoding="utf-8") for p in (root / "mailprov").rglob("*.py"))
    rules = ("from_domains", "require_ssl", "allowed_servers", "allowed_ports",
             "forbidden_ports", "max_overrides")
    missing = [code for code in listed
               if f'"{code}"' not in sources and code not in
               {"policy-" + rule.replace("_", "-") for rule in rules}]
    assert missing == []
    french = (root / "docs" / "fr" / "configuration.md").read_text(encoding="utf-8")
    french_table = french[french.index("| code | problème |"):]
    assert re.findall(r"^\| (`[^|]+) \|", french_table[:french_table.index("\n\n")],
                      re.MULTILINE) == re.findall(r"^\| (`[^|]+) \|", table, re.MULTILINE)

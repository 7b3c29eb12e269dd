"""The shipped JSON Schemas, `mailprov schema`, and the example files in examples/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from mailprov import api
from mailprov.cli import cli
from mailprov.config.mapping_file import load_mapping

REPO = Path(__file__).resolve().parent.parent
PACKAGED = REPO / "mailprov" / "schemas"
EXAMPLES = REPO / "examples"
MAPPING_EXAMPLE = EXAMPLES / "mapping.yaml"
MAPPING_305_EXAMPLE = EXAMPLES / "mapping-305.yaml"  # a maestro* 3.05 installation
MAPPING_EXAMPLES = (MAPPING_EXAMPLE, MAPPING_305_EXAMPLE)
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))
CONFIG_EXAMPLES = [p for p in EXAMPLE_FILES if p not in MAPPING_EXAMPLES]
MODELINE = re.compile(r"# yaml-language-server: \$schema=(?P<ref>\S+)\n")
# The schemas of files people write; they refuse unknown keys.
INPUT_SCHEMA_NAMES = ["mailprov.schema.json", "mapping.schema.json"]
# Every shipped schema, including that of the plan JSON mailprov writes (whose objects
# stay open: consumers of a 1.x plan ignore keys they do not know).
SCHEMA_NAMES = [*INPUT_SCHEMA_NAMES, "plan.schema.json"]
_CONDITIONAL = {"if", "then", "else"}


def _ids(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def _load_schema(name: str) -> dict[str, Any]:
    return json.loads((PACKAGED / name).read_text(encoding="utf-8"))


def _walk(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in a schema document (not the values of `examples`/`default`)."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key in ("examples", "default", "const", "enum"):
                continue
            if key in ("properties", "$defs"):
                for name, child in value.items():
                    yield from _walk(child, f"{where}/{key}/{name}")
            elif isinstance(value, dict):
                yield from _walk(value, f"{where}/{key}")
            elif isinstance(value, list):
                for index, child in enumerate(value):
                    yield from _walk(child, f"{where}/{key}/{index}")


# --- the schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = _load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_property_has_a_description(name: str) -> None:
    """Conditional branches (if/then/else) only narrow properties described elsewhere."""
    missing = [f"{where}/properties/{prop}"
               for where, node in _walk(_load_schema(name))
               if not _CONDITIONAL.intersection(where.split("/"))
               for prop, sub in node.get("properties", {}).items()
               if not isinstance(sub.get("description"), str) or not sub["description"].strip()]
    assert missing == []


@pytest.mark.parametrize("name", INPUT_SCHEMA_NAMES)
def test_every_object_schema_is_closed(name: str) -> None:
    """Records refuse unknown keys; maps (targets, users) constrain every value instead."""
    objects = [(where, node) for where, node in _walk(_load_schema(name))
               if node.get("type") == "object" or "properties" in node]
    assert len(objects) >= 5
    for where, node in objects:
        assert "additionalProperties" in node, where
        if "properties" in node:
            assert node["additionalProperties"] is False, where
        else:
            assert isinstance(node["additionalProperties"], dict), where
            assert "propertyNames" in node, where


def test_the_walk_sees_nested_definitions() -> None:
    places = {where for where, _ in _walk(_load_schema("mailprov.schema.json"))}
    assert "#/$defs/userSmtp" in places
    assert "#/$defs/user/properties/smtp/else" in places


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_repository_schemas_are_byte_identical_to_the_packaged_ones(name: str) -> None:
    assert (REPO / "schemas" / name).read_bytes() == (PACKAGED / name).read_bytes()


def test_repository_schema_folder_holds_exactly_the_packaged_schemas() -> None:
    assert sorted(p.name for p in (REPO / "schemas").glob("*.json")) == \
        sorted(p.name for p in PACKAGED.glob("*.json"))


def test_schema_command_prints_the_shipped_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (PACKAGED / "mailprov.schema.json").read_text(encoding="utf-8")
    assert json.loads(result.stdout)["title"] == "mailprov configuration"
    assert result.stderr == ""


def test_schema_command_prints_the_mapping_schema() -> None:
    result = CliRunner().invoke(cli, ["schema", "--mapping"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (PACKAGED / "mapping.schema.json").read_text(encoding="utf-8")
    json.loads(result.stdout)


def test_api_schema_text_is_the_shipped_file() -> None:
    assert api.schema_text() == (PACKAGED / "mailprov.schema.json").read_text(encoding="utf-8")


def test_schema_examples_are_valid_documents() -> None:
    """The `examples` of top-level properties, placed in a document, pass the schema."""
    schema = _load_schema("mailprov.schema.json")
    validator = Draft202012Validator(schema)
    checked = 0
    for key, prop in schema["properties"].items():
        for example in prop.get("examples", []):
            errors = [e.message for e in validator.iter_errors({"version": 1, key: example})]
            assert errors == [], (key, example)
            checked += 1
    assert checked >= 5


# --- the examples -------------------------------------------------------------------------------


def test_examples_exist() -> None:
    assert MAPPING_EXAMPLE in EXAMPLE_FILES
    assert len(CONFIG_EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_ids)
def test_example_has_the_schema_modeline(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    match = MODELINE.fullmatch(first_line)
    assert match, f"{path.name} must start with `# yaml-language-server: $schema=...`"
    schema_file = (path.parent / match["ref"]).resolve()
    expected = "mapping.schema.json" if path in MAPPING_EXAMPLES else "mailprov.schema.json"
    assert schema_file == (REPO / "schemas" / expected).resolve()


@pytest.mark.parametrize("path", CONFIG_EXAMPLES, ids=_ids)
def test_example_passes_the_json_schema_alone(path: Path) -> None:
    """What an editor with the modeline checks: each file on its own, includes too."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator = Draft202012Validator(_load_schema("mailprov.schema.json"))
    assert [e.message for e in validator.iter_errors(data)] == []


def _roots() -> list[Path]:
    return [p for p in CONFIG_EXAMPLES
            if "version" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})]


# the onboarding example uses the office365 preset, whose traps are worth a warning
EXPECTED_WARNINGS = {"examples/onboarding/mailprov.yaml": [
    "office365-basic-auth-retirement", "office365-smtp-auth-per-mailbox"]}


@pytest.mark.parametrize("path", _roots(), ids=_ids)
def test_example_validates(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    relative = path.relative_to(REPO).as_posix()
    config = api.load_config([relative])
    assert config.files[0] == relative
    assert [w.code for w in config.warnings] == EXPECTED_WARNINGS.get(relative, [])
    result = CliRunner().invoke(cli, ["validate", "-c", relative])
    assert result.exit_code == 0, result.output
    assert sorted(result.stderr.splitlines()) == sorted(w.format() for w in config.warnings)
    assert result.stdout.startswith("Valid: ")


def test_every_example_file_is_read_by_some_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Included files (users/*.yaml) are validated through the file that includes them."""
    monkeypatch.chdir(REPO)
    seen: set[str] = set()
    for root in _roots():
        seen.update(api.load_config([root.relative_to(REPO).as_posix()]).files)
    assert seen == {p.relative_to(REPO).as_posix() for p in CONFIG_EXAMPLES}


def test_main_example_contents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    config = api.load_config(["examples/mailprov.yaml"])
    assert config.files == ("examples/mailprov.yaml", "examples/users/office.yaml",
                            "examples/users/shared-mailboxes.yaml")
    assert sorted(config.users) == ["COMPTA", "COORD", "PAIE", "RECEPTION"]
    assert config.general.client == "outlook"
    assert config.targets["sandbox"].url == f"sqlite:///{REPO / 'examples'}/maestro-sandbox.db"


def test_cloud_example_follows_the_cloud_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    config = api.load_config(["examples/cloud/mailprov.yaml"])
    assert {t.edition for t in config.targets.values()} == {"cloud"}
    assert config.general.client == "smtp"
    assert all("@" in code for code in config.users)
    assert all(u.override is None or u.override.from_address is None
               for u in config.users.values())


def test_mapping_example_loads_as_a_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    mapping = load_mapping("examples/mapping.yaml")
    assert not mapping.is_reference
    assert mapping.schema == "dbo"
    assert mapping.general_table == "CONFIG_GENERALE"
    assert mapping.general_key_column == "NO_CONFIG"
    assert mapping.users_table == "USAGER"
    assert mapping.user_columns["code"] == "CODE_USAGER"
    assert mapping.client_values == {"other": 0, "outlook": 1, "lotus_notes": 2, "smtp": 3}
    assert mapping.source == "examples/mapping.yaml"
    validator = Draft202012Validator(_load_schema("mapping.schema.json"))
    data = yaml.safe_load(MAPPING_EXAMPLE.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(data)] == []


def test_the_305_mapping_example_loads_as_a_version_2_mapping(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    mapping = load_mapping("examples/mapping-305.yaml")
    assert mapping.model_version == 2
    assert mapping.client_values == {
        "outlook": "Microsoft Outlook", "office365": "Office 365 – Authentification moderne",
        "smtp": "SMTP – Autre", "other": "Autre logiciel de courriel"}
    assert mapping.mode_values == {"general": 0, "smtp": 1, "office365": 2}
    assert (mapping.user_columns["mode"], mapping.user_columns["email"],
            mapping.user_columns["authenticated_at"]) == (
        "MODE_ENVOI", "COURRIEL_O365", "O365_AUTHENTIFIE_LE")
    validator = Draft202012Validator(_load_schema("mapping.schema.json"))
    data = yaml.safe_load(MAPPING_305_EXAMPLE.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(data)] == []

"""The plan JSON schema (schemas/plan.schema.json) against real plans made by api.plan.

Every plan below is computed from a real database and serialised exactly as
`plan --out` saves it (or, for a plan with errors, as `plan --format json` prints
it); the schema must accept each, and refuse what mailprov never writes. The schema
is what docs/plan-format.md describes, so these tests also keep that page true.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from dbhelpers import (
    MAPPING_FILE,
    SMTP,
    mapped_installation,
    plan_and_apply,
    plan_file,
    sandbox,
    smtp_user,
    write_config,
)
from jsonschema import Draft202012Validator

from mailprov.plan.format import Plan
from mailprov.plan.planfile import read_plan, save_plan

REPO = Path(__file__).resolve().parent.parent
PLAN_SCHEMA = REPO / "mailprov" / "schemas" / "plan.schema.json"
MAPPING_SCHEMA = REPO / "mailprov" / "schemas" / "mapping.schema.json"


@cache
def _schema() -> dict[str, Any]:
    return json.loads(PLAN_SCHEMA.read_text(encoding="utf-8"))


def _errors(document: Any) -> list[tuple[list[Any], str]]:
    """(path in the document, failing keyword) of every schema error, sorted."""
    validator = Draft202012Validator(_schema())
    return sorted((list(e.absolute_path), e.validator) for e in validator.iter_errors(document))


def _saved(plan: Plan, tmp_path: Path, key: bytes | None = None) -> dict[str, Any]:
    """The plan as `plan --out` saves it (signed when `key` is given), read back."""
    path = tmp_path / "saved.plan.json"
    save_plan(plan, path, key)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert {k: v for k, v in document.items() if k != "signature"} == plan.to_json()
    assert read_plan(path).plan.to_json() == plan.to_json()  # mailprov reads it back
    return document


GENERAL_25 = {"client": "outlook", "smtp": {"server": "smtp.example.com", "port": 25,
                                            "ssl": False}}
GENERAL_587 = {"client": "outlook", "smtp": SMTP}


def test_plans_of_every_kind_pass_the_schema(db_url, tmp_path):
    codes = sandbox(db_url, users=20)
    compta, coord, reception, paie, person = codes[:5]
    first_config = write_config(tmp_path, db_url, general=GENERAL_25, users={
        compta: smtp_user(compta), coord: smtp_user(coord), paie: smtp_user(paie),
        person: smtp_user(person)})
    first, _ = plan_and_apply(first_config)
    document = _saved(first, tmp_path)
    assert [(c["address"], c["action"]) for c in document["changes"]] == [
        ("general", "update"),
        *((f"user.{code}", "create") for code in sorted([compta, coord, paie, person]))]
    assert all(isinstance(c["number"], int) for c in document["changes"][1:])
    assert document["managed_users"] == sorted(c["number"] for c in document["changes"][1:])
    assert _errors(document) == []

    # general.smtp moves: compta follows it, person also changes its From address,
    # coord is removed, reception is new, paie is no longer listed (a warning)
    second_config = write_config(tmp_path, db_url, general=GENERAL_587, users={
        compta: smtp_user(compta), coord: {"smtp": False}, reception: smtp_user(reception),
        person: smtp_user(person, **{"from": "chantier@example.com"})})
    second, _ = plan_and_apply(second_config)
    document = _saved(second, tmp_path)
    assert [(c["address"], c["action"], c.get("follows_general", False))
            for c in document["changes"]] == [("general", "update", False), *sorted([
                (f"user.{compta}", "update", True), (f"user.{coord}", "delete", False),
                (f"user.{person}", "update", False), (f"user.{reception}", "create", False)])]
    assert [w["code"] for w in document["warnings"]] == ["unlisted-overrides-keep-old-smtp"]
    assert document["unmanaged_overrides"] == 1
    assert _errors(document) == []

    unchanged, _ = plan_file(second_config)
    document = _saved(unchanged, tmp_path)
    assert (document["changes_present"], document["changes"]) == (False, [])
    assert _errors(document) == []


def test_a_plan_that_exceeds_the_safety_limits_passes_the_schema(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=20)
    plan_and_apply(write_config(tmp_path, sqlite_url, users={c: smtp_user(c)
                                                            for c in codes[:12]}))
    removals = {c: {"smtp": False} for c in codes[:4]}
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, safety={"max_changes": 3},
                                     users={**{c: smtp_user(c) for c in codes[4:12]},
                                            **removals}))
    document = _saved(plan, tmp_path)
    assert document["safety"] == {
        "existing_overrides": 12, "counted_changes": 4, "max_change_percent": 30.0,
        "min_existing": 10, "max_changes": 3, "exceeded": True,
        "reasons": ["it removes or changes 4 of 12 existing overrides (33%, limit 30%)",
                    "it removes or changes 4 existing overrides (limit 3)"]}
    assert [w["code"] for w in document["warnings"]] == ["safety-limit"]
    assert _errors(document) == []


def test_prune_and_configuration_warnings_pass_the_schema(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=10)
    plan_and_apply(write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])}))
    plan, _ = plan_file(write_config(
        tmp_path, sqlite_url, prune=True,
        general={"client": "outlook", "smtp": {**SMTP, "server": "smtp.office365.com"}},
        users={codes[1]: smtp_user(codes[1], port=465)}))
    document = _saved(plan, tmp_path)
    assert document["managed_users"] == "all"
    assert [(w["code"], w["address"]) for w in document["warnings"]] == [
        ("office365-basic-auth-retirement", "general"),
        ("smtp-465-starttls", f"user.{codes[1]}"),
        # every user still on Exchange Online with a password once applied, by name
        ("office365-basic-auth-retirement", f"user.{codes[1]}")]
    assert _errors(document) == []


def test_a_maestro_cloud_plan_passes_the_schema(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=10, edition="cloud")
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, edition="cloud",
                                     general={"client": "smtp", "smtp": SMTP},
                                     users={codes[0]: {"smtp": {}}}))
    document = _saved(plan, tmp_path)
    assert document["edition"] == "cloud"
    assert document["changes"][1]["after"] == {
        "username": codes[0], "from": codes[0], "server": "smtp.example.com", "port": 587,
        "ssl": True}
    assert _errors(document) == []


def test_a_plan_for_a_mapped_installation_passes_the_schema(sqlite_url, tmp_path):
    mapped_installation(sqlite_url)
    (tmp_path / "mapping.yaml").write_text(MAPPING_FILE, encoding="utf-8")
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, mapping="mapping.yaml",
                                     general={"client": "smtp", "smtp": SMTP},
                                     users={"COMPTA": smtp_user("COMPTA")}))
    document = _saved(plan, tmp_path)
    expected = yaml.safe_load(MAPPING_FILE)
    del expected["general"]["key_value"]  # 1 is the reference model's value: not saved
    assert document["mapping"] == expected
    assert _errors(document) == []
    mapping_schema = json.loads(MAPPING_SCHEMA.read_text(encoding="utf-8"))
    assert list(Draft202012Validator(mapping_schema).iter_errors(document["mapping"])) == []


def test_a_signed_plan_passes_the_schema(sqlite_url, tmp_path):
    codes = sandbox(sqlite_url, users=5)
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, users={codes[0]: smtp_user(codes[0])}))
    document = _saved(plan, tmp_path, key=b"a plan key")
    assert document["signature"].startswith("hmac-sha256:")
    assert _errors(document) == []


def test_a_plan_with_users_the_target_lacks_passes_the_schema(sqlite_url, tmp_path):
    """Printed by `plan --format json` beside exit code 1; never saved."""
    codes = sandbox(sqlite_url, users=5)
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, users={
        codes[0]: smtp_user(codes[0]), "NOBODY": {"smtp": False}}))
    document = json.loads(plan.dumps())
    assert [(e["code"], e["path"]) for e in document["errors"]] == [
        ("unknown-user", "users.NOBODY")]
    assert [c["address"] for c in document["changes"]] == ["general", f"user.{codes[0]}"]
    assert _errors(document) == []


@pytest.fixture
def real_plan(sqlite_url, tmp_path) -> dict[str, Any]:
    """A saved plan with a general change (index 0) and one created override (index 1)."""
    codes = sandbox(sqlite_url, users=5)
    plan, _ = plan_file(write_config(tmp_path, sqlite_url, general=GENERAL_587,
                                     users={codes[0]: smtp_user(codes[0])}))
    document = _saved(plan, tmp_path)
    assert [c["action"] for c in document["changes"]] == ["update", "create"]
    assert _errors(document) == []
    return document


def test_the_schema_refuses_an_unknown_action(real_plan):
    real_plan["changes"][1]["action"] = "rename"
    assert _errors(real_plan) == [(["changes", 1, "action"], "enum")]


def test_the_schema_refuses_port_99999_in_after(real_plan):
    user, general = copy.deepcopy(real_plan), copy.deepcopy(real_plan)
    user["changes"][1]["after"]["port"] = 99999
    assert _errors(user) == [(["changes", 1, "after", "port"], "maximum")]
    general["changes"][0]["after"]["smtp"]["port"] = 99999
    assert _errors(general) == [(["changes", 0, "after", "smtp", "port"], "anyOf")]


def test_the_schema_refuses_what_mailprov_never_writes(real_plan):
    cases = {
        "format 2.0": (lambda d: d.update(format_version="2.0"), "pattern"),
        "format 1.0, which names no database": (
            lambda d: d.update(format_version="1.0"), "pattern"),
        "address": (lambda d: d["changes"][1].update(address="group.X"), "pattern"),
        "a user change without its number": (lambda d: d["changes"][1].pop("number"),
                                             "required"),
        "created override with a before": (
            lambda d: d["changes"][1].update(before=d["changes"][1]["after"]), "type"),
        "a general change that is not an update": (
            lambda d: d["changes"][0].update(action="delete"), "const"),
        "a user setting the general row does not have": (
            lambda d: d["changes"][0]["changed"].append("from"), "enum"),
        "an unknown client": (
            lambda d: d["changes"][0]["after"].update(client="thunderbird"), "enum"),
        "changes_present without changes": (
            lambda d: d.update(changes=[], changes_present=True), "minItems"),
        "digest": (lambda d: d.update(base_digest="md5:0"), "pattern"),
        "managed users": (lambda d: d.update(managed_users="some"), "anyOf"),
        "a warning as text": (lambda d: d.update(warnings=["look out"]), "type"),
        "signature": (lambda d: d.update(signature="sha1:00"), "pattern"),
    }
    for name, (mutate, keyword) in cases.items():
        document = copy.deepcopy(real_plan)
        mutate(document)
        assert [k for _, k in _errors(document)] == [keyword], name


def test_unknown_keys_are_accepted_as_the_versioning_rule_says(real_plan):
    """A 1.x plan from a newer mailprov may add keys anywhere; consumers ignore them."""
    real_plan["format_version"] = "1.7"
    real_plan["added_later"] = {"x": 1}
    real_plan["changes"][1]["added_later"] = True
    real_plan["changes"][1]["after"]["added_later"] = "x"
    real_plan["warnings"] = [{"code": "c", "address": "general", "message": "m", "more": 1}]
    assert _errors(real_plan) == []
    assert not any(node.get("additionalProperties") is False for node in _objects(_schema()))


def _objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(o for value in node.values() for o in _objects(value))]
    if isinstance(node, list):
        return [o for value in node for o in _objects(value)]
    return []


def test_the_schema_lists_keys_in_the_order_mailprov_writes_them(real_plan):
    schema = _schema()
    optional = ["policies", "rollback_of", "conflicts", "errors", "selections", "signature"]
    always = [k for k in schema["properties"] if k not in optional]
    assert list(real_plan) == always == schema["required"]
    assert list(schema["properties"])[-len(optional):] == optional
    assert list(real_plan["safety"]) == list(schema["properties"]["safety"]["properties"])
    change_keys = [k for k in schema["$defs"]["change"]["properties"] if k != "follows_general"]
    assert list(real_plan["changes"][1]) == change_keys

"""The model's value types: msgspec Structs that behave as the frozen dataclasses they
replaced (equality, hashing, immutability), where bookkeeping fields stay out of it."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest
from msgspec.structs import replace

from mailprov import api
from mailprov.model import (
    Config,
    DesiredGeneral,
    DesiredOverride,
    DesiredUser,
    NoPositions,
    Policy,
    Source,
    ValueSource,
)

PACKAGE = Path(api.__file__).resolve().parent.parent


def user(**changes: object) -> DesiredUser:
    base = DesiredUser("COMPTA", DesiredOverride("compta", "compta@example.com"),
                       Source("mailprov.yaml", 3, 5),
                       sources={"from": ValueSource("user", "mailprov.yaml")})
    return replace(base, **changes)


def test_two_users_asking_the_same_are_equal_wherever_the_files_say_it() -> None:
    here = user()
    there = user(sources={"from": ValueSource("profile", "profiles.yaml", name="p")})
    assert here == there and hash(here) == hash(there)
    assert user(override=DesiredOverride("paie")) != here
    assert user(profiles=("p",)) != here
    # the bookkeeping is kept, only left out of equality and repr
    assert there.sources["from"].kind == "profile"
    assert "sources" not in repr(here) and "COMPTA" in repr(here)
    assert here != ("COMPTA",) and (here == object()) is False


def test_configurations_compare_without_their_locator_and_per_target_copies() -> None:
    def config(**changes: object) -> Config:
        base = Config(files=("mailprov.yaml",), contents=(("mailprov.yaml", b"version: 1\n"),),
                      targets={}, default_target=None, general=DesiredGeneral(),
                      users={"COMPTA": user()})
        return replace(base, **changes)

    plain = config()
    assert plain == config(locator=NoPositions(), scopes={"prod": plain})
    assert plain != config(users={})
    # the digest is of the files' bytes: another byte, another digest
    assert plain.digest == config().digest and plain.digest.startswith("sha256:")
    assert config(contents=(("mailprov.yaml", b"version: 1\n\n"),)).digest != plain.digest
    assert "locator" not in repr(plain)


def test_a_policy_is_the_same_policy_whatever_finds_its_lines() -> None:
    rules = Policy("policy.yaml", require_ssl=True)
    assert rules == replace(rules, locator=NoPositions())
    assert rules != replace(rules, require_ssl=False)


@pytest.mark.parametrize("value", [user(), Source("a.yaml", 1, 1), DesiredOverride("x")])
def test_value_types_are_frozen(value: msgspec.Struct) -> None:
    name = value.__struct_fields__[0]
    with pytest.raises(AttributeError):
        setattr(value, name, "changed")


def test_the_types_built_at_every_start_are_not_dataclasses() -> None:
    """A frozen dataclass costs ~0.6 ms to define (mailprov.model's docstring): the
    packages every command imports define Structs."""
    found = []
    for folder in ("model", "config"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and any(
                        "dataclass" in ast.unparse(d) for d in node.decorator_list):
                    found.append(f"{path.name}:{node.lineno} {node.name}")
    assert found == []


def test_the_configuration_digest_is_the_one_saved_plans_hold(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Saved plans compare `config_digest`: a silent change of how it is computed would
    make every saved plan stale. Pinned on the value mailprov computed before the digest
    was made lazy."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mailprov.yaml").write_text(
        "version: 1\ntargets:\n  prod:\n    url: sqlite:///maestro.db\ngeneral:\n  client: smtp\n"
        "  smtp: {server: smtp.example.com, port: 587, ssl: true}\ninclude: [users/*.yaml]\n")
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "compta.yaml").write_text(
        "version: 1\nusers:\n  COMPTA:\n    smtp: {username: compta@example.com}\n")
    config = api.load_config(["mailprov.yaml"])
    assert config.digest == ("sha256:14f15061d6aa1bf7df1fd9f227dda4b53e350f0473227f73acf877fe"
                             "e60e0605")
    assert "contents" not in repr(config) and "compta@example.com" in repr(config)


def test_value_types_compare_unequal_pickle_and_copy_as_dataclasses_did() -> None:
    import copy
    import pickle

    here = user()
    assert (here != user(code="PAIE")) is True and (here != user(sources={})) is False
    for again in (pickle.loads(pickle.dumps(here)), copy.deepcopy(here), copy.copy(here)):
        assert again == here and again.sources == here.sources

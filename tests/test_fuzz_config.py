"""Property tests of the loader and validator (mailprov.api.load_config) on hostile input.

(a) arbitrary bytes and text never raise anything but ConfigError;
(b) mostly-valid documents built like the schema, then corrupted (wrong types, unknown keys,
    random codes and addresses), give a Config or a ConfigError whose every problem has a
    file, a place and a message;
(c) valid generated documents always load, and Config.users is what was generated.

Budgets are fixed (derandomize, max_examples) so the whole file stays under 20 s.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailprov import api
from mailprov.errors import ConfigError, format_path
from mailprov.model import CLIENTS, Config, DesiredOverride


def fuzz(examples: int) -> settings:
    """A fixed budget: the same examples on every run, no database, no deadline."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TOP_KEYS = ("version", "include", "targets", "default_target", "general", "users", "prune",
            "safety")


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file, rewritten by every example (module scope: Hypothesis reruns the test body)."""
    return tmp_path_factory.mktemp("fuzz") / "mailprov.yaml"


def load(path: Path, content: bytes) -> Config | ConfigError:
    path.write_bytes(content)
    try:
        return api.load_config([path])
    except ConfigError as exc:
        return exc


def check_problems(error: ConfigError, path: Path) -> None:
    """Every problem names a file, has a message, and formats to one printable line."""
    assert error.problems
    for problem in error.problems:
        assert problem.file
        assert problem.message.strip()
        assert problem.line >= 0 and problem.column >= 0
        assert isinstance(problem.path, tuple)
        line = problem.format()
        assert "\n" not in line and line.isprintable()
    summary = str(error).splitlines()[-1]
    assert summary == f"{len(error.problems)} error{'s' if len(error.problems) != 1 else ''} " \
                      "found."


# --- (a) arbitrary bytes and text ------------------------------------------------------------

YAML_TOKENS = ["version: 1\n", "general:\n", "users:\n", "  ", "    ", "- ", "? ", ": ", "{", "}",
               "[", "]", ",", "&a ", "*a", "<<: ", "!!python/object/apply:os.system ", "!tag ",
               "'", '"', "\\", "|\n", ">\n", "#", "\t", "\n", "---\n", "...\n", "%YAML 1.1\n",
               "yes", "0465", "1:30", ".inf", "~", "smtp", "port: ", "server: ", "COMPTA",
               "\ufeff", "\u202e", "\x00", "\x85", "\u2028", "include: ", "../", "*.yaml"]


@fuzz(1000)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_config_error(config_file: Path, content: bytes) -> None:
    result = load(config_file, content)
    if isinstance(result, ConfigError):
        check_problems(result, config_file)


@fuzz(800)
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_config_error(config_file: Path, content: str) -> None:
    result = load(config_file, content.encode("utf-8", "surrogatepass"))
    if isinstance(result, ConfigError):
        check_problems(result, config_file)


@fuzz(1000)
@given(st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join))
def test_yaml_token_soup_raises_only_config_error(config_file: Path, content: str) -> None:
    result = load(config_file, content.encode("utf-8"))
    if isinstance(result, ConfigError):
        check_problems(result, config_file)


# --- documents built like the schema ---------------------------------------------------------

_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
# a last label of digits only would make an IP address (and 1.2 is not one): end with a TLD
HOSTS = st.builds(lambda labels, tld: ".".join([*labels, tld]),
                  st.lists(_LABEL, min_size=1, max_size=2), st.sampled_from(["com", "ca", "net"]))
_ATOM = st.text(string.ascii_lowercase + string.digits + "_-+'", min_size=1, max_size=8)
ADDRESSES = st.builds(lambda local, host, tld: f"{local}@{host}.{tld}",
                      st.lists(_ATOM, min_size=1, max_size=2).map(".".join),
                      _LABEL, st.sampled_from(["com", "ca", "org", "net"]))
CODES = st.text(string.ascii_uppercase + string.digits + "_-. @'é", min_size=1, max_size=20)
TARGET_NAMES = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,10}\Z")
USERNAMES = st.one_of(ADDRESSES, st.text(string.ascii_letters + string.digits + "'; -%\\",
                                         min_size=1, max_size=30))
PORTS = st.integers(1, 65535)

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.lists(st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(max_size=6), st.integers(0, 9), max_size=2),
)


def rarely(draw: st.DrawFn, odds: int) -> bool:
    """True about one time in `odds` (a middle value: Hypothesis favours the bounds)."""
    return draw(st.integers(1, odds)) == odds // 2


@st.composite
def maybe_bad(draw: st.DrawFn, good: st.SearchStrategy[Any], odds: int = 12) -> Any:
    """Usually a valid value; one time in `odds`, junk of any type."""
    return draw(JUNK) if rarely(draw, odds) else draw(good)


@st.composite
def section(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], corrupt: bool,
            required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A mapping with some of `fields` (all `required` ones), maybe corrupted."""
    out = {}
    for key, strategy in fields.items():
        if key in required or draw(st.booleans()):
            out[key] = draw(maybe_bad(strategy)) if corrupt else draw(strategy)
    if corrupt and rarely(draw, 12):
        out[draw(st.sampled_from(["pasword", "servr", "prot", "extra", "from_"]))] = draw(JUNK)
    return out


def smtp_servers(corrupt: bool) -> st.SearchStrategy[dict[str, Any]]:
    return section({"server": HOSTS, "port": PORTS, "ssl": st.booleans()}, corrupt,
                   required=() if corrupt else ("server", "port"))


def user_entries(corrupt: bool) -> st.SearchStrategy[dict[str, Any]]:
    override = section({"username": USERNAMES, "from": ADDRESSES, "server": HOSTS,
                        "port": PORTS, "ssl": st.booleans()}, corrupt,
                       required=() if corrupt else ("from",))  # an override needs a From
    smtp = st.one_of(override, override, st.just(False))
    return st.fixed_dictionaries({"smtp": maybe_bad(smtp) if corrupt else smtp})


@st.composite
def documents(draw: st.DrawFn, corrupt: bool) -> dict[str, Any]:
    targets = draw(st.dictionaries(
        TARGET_NAMES,
        section({"url": st.sampled_from(["sqlite:///maestro.db", "postgresql://u@h/db"]),
                 "edition": st.just("standard")}, corrupt, required=("url",)),
        max_size=2))
    doc: dict[str, Any] = {"version": 1}
    if targets:
        doc["targets"] = targets
        if draw(st.booleans()):
            doc["default_target"] = draw(st.sampled_from(sorted(targets)))
    doc["general"] = {"client": draw(st.sampled_from(CLIENTS)),
                      "smtp": draw(smtp_servers(corrupt))}
    codes = st.one_of(CODES, CODES, CODES, st.text(max_size=12)) if corrupt else CODES
    doc["users"] = draw(st.dictionaries(codes, user_entries(corrupt), min_size=1, max_size=8))
    if draw(st.booleans()):
        doc["prune"] = draw(st.booleans())
    if draw(st.booleans()):
        doc["safety"] = draw(section({"max_change_percent": st.integers(0, 100),
                                      "min_existing": st.integers(0, 50),
                                      "max_changes": st.integers(0, 50)}, corrupt))
    if corrupt and rarely(draw, 8):
        doc[draw(st.sampled_from(TOP_KEYS))] = draw(JUNK)  # a whole section of the wrong type
    if corrupt and rarely(draw, 12):
        doc[draw(st.sampled_from(["genral", "user", "target", "Version"]))] = draw(JUNK)
    return doc


def dump(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


@fuzz(300)
@given(documents(corrupt=True))
def test_corrupted_documents_give_a_config_or_located_problems(config_file: Path,
                                                                doc: dict[str, Any]) -> None:
    result = load(config_file, dump(doc))
    if isinstance(result, Config):
        assert set(result.users) <= {k for k in doc.get("users") or {}}
        return
    check_problems(result, config_file)
    for problem in result.problems:
        assert problem.file == "mailprov.yaml" or problem.file.endswith("/mailprov.yaml")
        # the document parsed, so every problem is placed in it, and names the key it is about
        assert problem.line >= 1 and problem.column >= 1, problem
        if problem.path:
            assert problem.path[0] in doc, problem
        else:
            assert "version" in problem.message, problem


# --- (c) valid documents load, and their users are exactly what was written -----------------


def expected_override(entry: dict[str, Any]) -> DesiredOverride | None:
    smtp = entry["smtp"]
    if smtp is False:
        return None
    return DesiredOverride(smtp.get("username"), smtp.get("from"), smtp.get("server"),
                           smtp.get("port"), smtp.get("ssl"))


@fuzz(200)
@given(documents(corrupt=False))
def test_valid_documents_load_with_their_users(config_file: Path, doc: dict[str, Any]) -> None:
    result = load(config_file, dump(doc))
    assert isinstance(result, Config), "\n".join(p.format() for p in result.problems)
    assert {code: user.override for code, user in result.users.items()} == {
        code: expected_override(entry) for code, entry in doc["users"].items()}
    assert list(result.users) == list(doc["users"])
    assert result.general.client == doc["general"]["client"]
    assert result.prune is doc.get("prune", False)
    assert set(result.targets) == set(doc.get("targets", {}))


def test_format_path_quotes_what_a_dotted_path_cannot_hold() -> None:
    """The paths the properties above rely on: plain keys dotted, odd ones quoted and escaped."""
    assert format_path(("users", "COMPTA", "smtp", "port")) == "users.COMPTA.smtp.port"
    assert format_path(("include", 0)) == "include[0]"
    assert format_path(("users", "A.B C", "smtp")) == 'users."A.B C".smtp'
    assert format_path(("users", "X\r\n")) == 'users."X\\r\\n"'

"""The strict YAML loader (mailprov.config.yamlload): what it reads, what it refuses, and where."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from mailprov.config.yamlload import (
    MAX_BYTES,
    MAX_DEPTH,
    YamlError,
    iter_paths,
    load_yaml,
    locate,
    read_yaml,
)

VALID = b"""\
version: 1
general:
  client: smtp
  smtp:
    server: smtp.example.com
    port: 587
    ssl: true
users:
  COMPTA:
    smtp:
      username: compta@example.com
      from: "comptabilite@example.com"
  OLD:
    smtp: false
include:
  - users/*.yaml
"""


def refused(data: bytes | str) -> YamlError:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(YamlError) as info:
        load_yaml(raw)
    return info.value


# --- what it reads ------------------------------------------------------------------------------


def test_reads_a_plain_config_into_plain_python_data() -> None:
    assert load_yaml(VALID) == {
        "version": 1,
        "general": {"client": "smtp",
                    "smtp": {"server": "smtp.example.com", "port": 587, "ssl": True}},
        "users": {
            "COMPTA": {"smtp": {"username": "compta@example.com",
                                "from": "comptabilite@example.com"}},
            "OLD": {"smtp": False},
        },
        "include": ["users/*.yaml"],
    }


def test_flow_style_and_block_style_read_the_same() -> None:
    flow = b"{version: 1, general: {smtp: {server: smtp.example.com, port: 587, ssl: false}}}"
    block = b"version: 1\ngeneral:\n  smtp:\n    server: smtp.example.com\n    port: 587\n" \
            b"    ssl: false\n"
    assert load_yaml(flow) == load_yaml(block)


def test_byte_order_mark_is_accepted() -> None:
    assert load_yaml(b"\xef\xbb\xbf" + VALID) == load_yaml(VALID)


def test_windows_line_endings_are_accepted() -> None:
    assert load_yaml(VALID.replace(b"\n", b"\r\n")) == load_yaml(VALID)


@pytest.mark.parametrize("text", ["2024-01-01", "2001-12-14t21:59:43.10-05:00",
                                  "2001-12-14 21:59:43.10 -5"])
def test_timestamps_are_kept_as_text(text: str) -> None:
    data = load_yaml(f"version: 1\nwhen: {text}\n".encode())
    assert data["when"] == text
    assert type(data["when"]) is str


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("false", False), ("True", True), ("FALSE", False),
    ("587", 587), ("+587", 587), ("-1", -1), ("0", 0), ("12.5", 12.5),
    ("'yes'", "yes"), ('"0465"', "0465"), ("'1:30'", "1:30"), ("~", None), ("null", None),
    ("y", "y"), ("n", "n"), ("1.5e3", "1.5e3"), ("!!str 0465", "0465"),
])
def test_scalars_read_as_json_like_values(text: str, value: object) -> None:
    data = load_yaml(f"version: 1\nx: {text}\n".encode())
    assert data["x"] == value
    assert type(data["x"]) is type(value)


def test_unicode_text_is_kept() -> None:
    text = "version: 1\nusers:\n  GAGNÉ:\n    smtp:\n      username: françois@exemple.ca\n"
    data = load_yaml(text.encode())
    assert data["users"]["GAGNÉ"]["smtp"]["username"] == "françois@exemple.ca"


def test_an_anchor_without_alias_is_harmless() -> None:
    assert load_yaml(b"version: 1\ngeneral: &g\n  client: smtp\n") == {
        "version": 1, "general": {"client": "smtp"}}


def test_nesting_at_the_limit_is_read() -> None:
    # The root mapping is one level, so MAX_DEPTH - 1 lists fit.
    depth = MAX_DEPTH - 1
    value = load_yaml(("x: " + "[" * depth + "]" * depth + "\n").encode())["x"]
    levels = 1
    while value:
        value = value[0]
        levels += 1
    assert levels == depth


# --- what it refuses, and where -----------------------------------------------------------------


def test_alias_is_refused_at_the_anchored_value() -> None:
    error = refused("version: 1\ngeneral:\n  smtp: &office\n    server: a\nusers:\n"
                    "  X:\n    smtp: *office\n")
    assert (error.line, error.column) == (3, 9)
    assert "aliases are not allowed in mailprov files" in error.message
    assert error.message.endswith("write the value out in full")


def test_scalar_alias_is_refused() -> None:
    error = refused("version: 1\na: &port 587\nb: *port\n")
    assert (error.line, error.column) == (2, 4)
    assert "aliases" in error.message


def test_merge_key_is_refused_even_without_an_alias() -> None:
    error = refused("version: 1\ngeneral:\n  <<: {client: smtp}\n")
    assert (error.line, error.column) == (3, 3)
    assert error.message == ("merge keys (<<) are not allowed in mailprov files: write the keys "
                             "out in full")


def test_duplicate_key_names_both_places() -> None:
    error = refused("version: 1\nusers:\n  COMPTA: {smtp: false}\n  OTHER: {smtp: false}\n"
                    "  COMPTA: {smtp: false}\n")
    assert (error.line, error.column) == (5, 3)
    assert error.message == ("duplicate key 'COMPTA' (first defined at line 3, column 3): "
                             "keep one")


@pytest.mark.parametrize("word", ["yes", "No", "ON", "off", "Yes", "NO"])
def test_yaml_1_1_booleans_are_refused(word: str) -> None:
    error = refused(f"version: 1\ngeneral:\n  smtp:\n    ssl: {word}\n")
    assert (error.line, error.column) == (4, 10)
    assert error.message == (f"'{word}' is read as a boolean by YAML 1.1: write true or false, "
                             "or put it in quotes if you meant the text")


def test_explicit_bool_tag_does_not_sneak_yes_in() -> None:
    assert "read as a boolean" in refused("version: 1\nx: !!bool yes\n").message


@pytest.mark.parametrize(("text", "reason"), [
    ("0465", "has a leading zero and is read as octal (309) by YAML 1.1"),
    ("025", "has a leading zero and is read as octal (21) by YAML 1.1"),
    ("9:47", "is read as a base-60 number by YAML 1.1"),
    ("1:30:00", "is read as a base-60 number by YAML 1.1"),
    ("0x24B", "is not a plain decimal number"),
    ("0b101", "is not a plain decimal number"),
    ("1_000", "is not a plain decimal number"),
])
def test_surprising_integers_are_refused(text: str, reason: str) -> None:
    error = refused(f"version: 1\nport: {text}\n")
    assert (error.line, error.column) == (2, 7)
    assert error.message == (f"'{text}' {reason}: write a plain decimal number (587), "
                             "or put it in quotes if you meant the text")


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.Inf"])
def test_non_finite_numbers_are_refused(text: str) -> None:
    """`max_change_percent: .nan` would pass `maximum: 100` and switch the safety limit off."""
    error = refused(f"version: 1\nsafety:\n  max_change_percent: {text}\n")
    assert (error.line, error.column) == (3, 23)
    assert error.message == f"'{text}' is not a finite number: write a plain number such as 30"


@pytest.mark.parametrize(("value", "tag"), [
    ("!!python/object/apply:os.system ['true']", "tag:yaml.org,2002:python/object/apply:os.system"),
    ("!!python/name:os.system x", "tag:yaml.org,2002:python/name:os.system"),
    ("!custom value", "!custom"),
    ("!!binary aGVsbG8=", "tag:yaml.org,2002:binary"),
    ("!!set {a, b}", "tag:yaml.org,2002:set"),
    ("!!omap [a: 1]", "tag:yaml.org,2002:omap"),
    ("!!pairs [a: 1]", "tag:yaml.org,2002:pairs"),
])
def test_tags_outside_json_types_are_refused(value: str, tag: str) -> None:
    error = refused(f"version: 1\nx: {value}\n")
    assert (error.line, error.column) == (2, 4)
    assert error.message == f"unsupported YAML tag {tag}: remove the tag"


@pytest.mark.parametrize(("key", "shown"), [("1234", "1234"), ("true", "true"), ("~", "~"),
                                            ("12.5", "12.5")])
def test_keys_must_be_text(key: str, shown: str) -> None:
    error = refused(f"version: 1\nusers:\n  {key}:\n    smtp: false\n")
    assert (error.line, error.column) == (3, 3)
    assert error.message == f"keys must be text: write '{shown}' in quotes"


def test_a_list_as_key_is_refused() -> None:
    error = refused("version: 1\n? [a, b]\n: c\n")
    assert (error.line, error.column) == (2, 3)
    assert error.message.startswith("keys must be text")


def test_tabs_used_for_indentation_get_a_clear_message() -> None:
    error = refused("version: 1\ngeneral:\n\tclient: smtp\n")
    assert (error.line, error.column) == (3, 1)
    assert error.message == "invalid YAML: tab characters cannot indent YAML; use spaces"


def test_unclosed_quote_says_where_the_quote_started() -> None:
    error = refused('version: 1\ngeneral:\n  smtp:\n    server: "smtp.example.com\n    port: 1\n')
    assert error.line == 6
    assert error.message == ("invalid YAML: found unexpected end of stream (while scanning a "
                             "quoted scalar that starts at line 4, column 13)")


def test_two_documents_in_one_file_are_refused() -> None:
    error = refused("version: 1\n---\nversion: 1\n")
    assert (error.line, error.column) == (2, 1)
    assert error.message.startswith("invalid YAML: but found another document")


@pytest.mark.parametrize("data", [b"", b"\n\n", b"   \n", b"# only a comment\n",
                                  b"# a\n\n   # b\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(data: bytes) -> None:
    error = refused(data)
    assert error.message == "the file is empty: start with `version: 1`"
    assert (error.line, error.column) == (0, 0)


@pytest.mark.parametrize(("data", "kind"), [
    ("- version: 1\n", "a list"),
    ("[1, 2]\n", "a list"),
    ("mailprov\n", "a single value"),  # never quoted: it could be a line of a secret file
    ("587\n", "a single value"),
    ("null\n", "nothing (null)"),
    ("---\n...\n", "nothing (null)"),
])
def test_root_must_be_a_mapping(data: str, kind: str) -> None:
    error = refused(data)
    assert (error.line, error.column) == (1, 1)
    assert error.message == ("the file must be a mapping of keys (version, general, users, ...), "
                             f"not {kind}")


def test_non_utf8_file_is_refused_at_the_bad_byte() -> None:
    error = refused(b"version: 1\nusers:\n  GAGNE:\n    smtp: {username: Fran\xe7ois}\n")
    assert (error.line, error.column) == (4, 26)
    assert error.message == "the file is not valid UTF-8 text: save it as UTF-8"


def test_utf16_file_is_refused() -> None:
    error = refused("version: 1\n".encode("utf-16"))
    assert error.message == "the file is not valid UTF-8 text: save it as UTF-8"


def test_nul_byte_is_refused_at_its_place() -> None:
    error = refused(b"version: 1\ngeneral:\n  client: sm\x00tp\n")
    assert (error.line, error.column) == (3, 13)
    assert error.message == "the file contains a NUL byte: is it a binary file?"


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\x9f"])
def test_control_characters_are_refused(char: str) -> None:
    error = refused(f"version: 1\ngeneral:\n  client: sm{char}tp\n")
    assert (error.line, error.column) == (3, 13)
    assert error.message == (f"invalid character U+{ord(char):04X}: control characters are not "
                             "allowed in mailprov files; remove it")


def test_file_larger_than_the_limit_is_refused_before_parsing() -> None:
    started = time.perf_counter()
    error = refused(b"#" * (MAX_BYTES + 1))
    assert time.perf_counter() - started < 2
    assert error.message == "file is larger than 32 MB; split it with `include:`"


def test_nesting_one_past_the_limit_is_refused_where_it_starts() -> None:
    depth = MAX_DEPTH  # plus the root mapping: one level too many
    error = refused("x: " + "[" * depth + "]" * depth + "\n")
    assert (error.line, error.column) == (1, 3 + depth)
    assert error.message == f"nesting deeper than {MAX_DEPTH} levels is not allowed"


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ("{a: ", "}")])
def test_100000_deep_flow_nesting_fails_cleanly(opening: str, closing: str) -> None:
    depth = 100_000
    text = "version: 1\nx: " + opening * depth + "1" + closing * depth + "\n"
    started = time.perf_counter()
    error = refused(text)
    assert time.perf_counter() - started < 2
    assert error.message == f"nesting deeper than {MAX_DEPTH} levels is not allowed"
    assert error.line == 2


def test_100000_deep_unclosed_flow_nesting_fails_cleanly() -> None:
    error = refused("version: 1\nx: " + "[" * 100_000)
    assert error.message == f"nesting deeper than {MAX_DEPTH} levels is not allowed"


def test_deep_block_nesting_fails_cleanly() -> None:
    text = "version: 1\nx:\n" + "".join("  " * i + "- \n" for i in range(200))
    error = refused(text)
    assert error.message == f"nesting deeper than {MAX_DEPTH} levels is not allowed"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_deep_block_mappings_nested_by_indentation_alone_fail_cleanly(newline: str) -> None:
    """No bracket, dash or `?`: each level is only one more space of indentation."""
    text = "version: 1" + newline + "".join(" " * i + "a:" + newline for i in range(1000))
    error = refused(text)
    assert error.message == f"nesting deeper than {MAX_DEPTH} levels is not allowed"
    assert (error.line, error.column) == (MAX_DEPTH + 2, MAX_DEPTH + 1)


def test_billion_laughs_fails_fast_without_blowing_memory() -> None:
    lines = ["version: 1", 'lol0: &lol0 "lol"']
    for level in range(1, 10):
        previous = f"*lol{level - 1}"
        lines.append(f"lol{level}: &lol{level} [{', '.join([previous] * 10)}]")
    lines.append("users: *lol9")
    data = ("\n".join(lines) + "\n").encode()

    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = refused(data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1
    assert peak < 20 * 1024 * 1024, f"peak Python memory {peak / 1e6:.1f} MB"
    assert "aliases are not allowed in mailprov files" in error.message
    assert error.line == 11  # the first value reached twice: lol9, through `users: *lol9`


def test_a_refused_value_carries_its_path_and_code() -> None:
    error = refused("version: 1\nsmtp:\n  ports: [25, 0465]\n")
    assert (error.path, error.code, error.line, error.column) == (
        ("smtp", "ports", 1), "yaml-number", 3, 15)
    assert str(error) == error.message


@pytest.mark.parametrize(("text", "path", "code"), [
    ("version: 1\nssl: yes\n", ("ssl",), "yaml-boolean"),
    ("version: 1\na:\n  b: 1\n  b: 2\n", ("a", "b"), "yaml-duplicate-key"),
    ("version: 1\na:\n  1234: x\n", ("a",), "yaml-key-not-text"),
    ("version: 1\na: &x {b: 1}\nc: *x\n", ("a",), "yaml-alias"),
    ("version: 1\na:\n  <<: {b: 1}\n", ("a",), "yaml-alias"),
    ("version: 1\na: [1, !!binary aGk=]\n", ("a", 1), "yaml-tag"),
    ("version: 1\ntime: 1:30\n", ("time",), "yaml-number"),
])
def test_every_refusal_has_its_code_and_the_path_of_its_value(
        text: str, path: tuple[object, ...], code: str) -> None:
    error = refused(text)
    assert (error.path, error.code) == (path, code)


def test_an_unreadable_file_has_no_path_and_the_syntax_code() -> None:
    with pytest.raises(YamlError) as caught:
        read_yaml(b"version: 1\na: [1\n")
    assert (caught.value.path, caught.value.code) == ((), "yaml-syntax")


# --- locate and iter_paths ----------------------------------------------------------------------


LOCATE_TEXT = VALID.decode()


@pytest.mark.parametrize(("path", "key", "place"), [
    ((), False, (1, 1)),
    (("version",), False, (1, 10)),
    (("version",), True, (1, 1)),
    (("general", "smtp", "port"), False, (6, 11)),
    (("general", "smtp", "port"), True, (6, 5)),
    (("users", "COMPTA"), True, (9, 3)),
    (("users", "COMPTA", "smtp", "from"), False, (12, 13)),
    (("users", "OLD", "smtp"), False, (14, 11)),
    (("include", 0), False, (16, 5)),
    # Missing keys point at the deepest part that exists.
    (("users", "NOBODY"), True, (9, 3)),
    (("general", "smtp", "missing"), False, (5, 5)),
    (("include", 5), False, (16, 3)),
    (("version", "deeper"), False, (1, 10)),
])
def test_locate(path: tuple[object, ...], key: bool, place: tuple[int, int]) -> None:
    assert locate(LOCATE_TEXT, path, key=key) == place


@pytest.mark.parametrize("text", ["", "key: [unclosed", "a: 1\n---\nb: 2\n"])
def test_locate_gives_zero_when_the_text_cannot_be_read(text: str) -> None:
    assert locate(text, ("a",)) == (0, 0)


def test_iter_paths_walks_every_value_depth_first() -> None:
    data = {"a": {"b": 1}, "c": [2, {"d": 3}]}
    assert list(iter_paths(data)) == [
        ((), data), (("a",), {"b": 1}), (("a", "b"), 1), (("c",), [2, {"d": 3}]),
        (("c", 0), 2), (("c", 1), {"d": 3}), (("c", 1, "d"), 3),
    ]

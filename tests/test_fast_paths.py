"""The accelerators must never disagree with the reference implementations.

fastyaml.parse_simple either returns exactly what the strict PyYAML loader
returns, or None (the caller then uses the strict loader). The compiled
schema check accepts exactly the documents jsonschema accepts.
"""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mailprov.config.fastschema import compile_schema
from mailprov.config.fastyaml import parse_simple
from mailprov.config.schema import schema
from mailprov.config.yamlload import YamlError
from mailprov.config.yamlstrict import StrictLoader

TRICKY = [
    "yes", "no", "on", "off", "Yes", "NO", "y", "n", "true", "False", "TRUE", "null", "~", "",
    "0465", "0", "007", "1:30", "1e3", "1.5", ".5", "+5", "-5", "0x1F", "0b1", "1_000", ".inf",
    "2024-01-01", "a: b", "a:b", "#x", "a #b", "a#b", "'q'", '"d"', "it's", "a b", " lead",
    "trail ", "é", "x\u2028y", "-x", "- x", "? x", "[a]", "{}", "[]", "{a: 1}", "&a", "*a", "!t",
    "|", ">", "%x", "@x", "`x", "a,b", "<<", "=", "comptabilite@example.com",
    "postgresql://u@h/db", "smtp.example.com", "COMPTA", "a\\b", "\t", "a\tb", "x\u00a0",
    "\ufeffx", "a\x85b", "--- x", "...", "a: b: c", "key:", "ünïcødé", "日本",
    "10.20.30.40", "1.2.3", "2024-1-1", "1e3", "1.0e+3", "2001-12-14 21:59:43.10 -5",
    "12:30:45", "0o17", "+.5", "-.inf", "3com", "0.",
]
SAFE = ["COMPTA", "smtp.example.com", "a@b.ca", "x y", "é", "a-b", "a_b", "A.B", "x/y*"]
safe_text = st.text(alphabet="abcXYZ@._-/ é", min_size=1, max_size=10).filter(
    lambda t: t[0] not in "-@ " and t[-1] != " ")
scalars = st.one_of(st.sampled_from(TRICKY), st.integers(-5, 70000),
                    st.booleans(), st.none(), st.text(max_size=8),
                    st.sampled_from(SAFE), safe_text, safe_text)
keys = st.one_of(st.sampled_from(TRICKY), st.text(min_size=1, max_size=8),
                 st.sampled_from(SAFE), safe_text, safe_text, safe_text)
documents = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda inner: st.dictionaries(keys, st.one_of(scalars, inner, st.lists(scalars, max_size=3)),
                                  min_size=1, max_size=4),
    max_leaves=20,
)


def _render_scalar(value: object, quote: int) -> str:
    if value is None:
        return ["", "~", "null"][quote % 3]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if quote % 4 == 1:
        return "'" + text.replace("'", "''") + "'"
    if quote % 4 == 2:
        return json.dumps(text, ensure_ascii=False)
    return text  # plain, often not what YAML makes of it: that is the point


def _render(doc: dict, indent: int, quote: int, dash_same_level: bool) -> list[str]:
    lines = []
    pad = " " * indent
    for i, (key, value) in enumerate(doc.items()):
        k = _render_scalar(key, quote + i)
        if isinstance(value, dict):
            lines.append(f"{pad}{k}:")
            lines.extend(_render(value, indent + 2, quote + 1, dash_same_level))
        elif isinstance(value, list):
            lines.append(f"{pad}{k}:")
            item_pad = pad if dash_same_level else pad + "  "
            for j, item in enumerate(value):
                lines.append(f"{item_pad}- {_render_scalar(item, quote + j)}")
        else:
            lines.append(f"{pad}{k}: {_render_scalar(value, quote + i)}".rstrip(" ")
                         if quote % 5 else f"{pad}{k}: {_render_scalar(value, quote + i)}")
    return lines


def _strict(text: str) -> object:
    """What the strict loader reads; raises its first refusal (it collects them)."""
    loader = StrictLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if loader.problems:
        raise loader.problems[0]
    return data


def _agree(text: str) -> None:
    fast = parse_simple(text)
    if fast is None:
        return
    try:
        strict = _strict(text)
    except (yaml.YAMLError, YamlError) as exc:
        raise AssertionError(f"fast reader accepted what the strict loader refuses: {exc}\n"
                             f"{text!r}") from None
    assert fast == strict, text
    assert json.dumps(fast, sort_keys=True, default=str) == json.dumps(strict, sort_keys=True,
                                                                        default=str)


@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.integers(0, 60), st.booleans(), st.sampled_from(["\n", "\r\n"]),
       st.booleans())
def test_fast_yaml_agrees_on_generated_documents(doc, quote, dash_same_level, newline,
                                                 comments):
    lines = _render(doc, 0, quote, dash_same_level)
    if comments:
        lines = [line + "  # note" if i % 3 == 0 else line for i, line in enumerate(lines)]
        lines.insert(0, "# header")
    _agree(newline.join(lines) + newline)


def _flow(value: object, quote: int, sep: str, pad: str) -> str:
    """`value` in YAML's flow style, on one line: {k: v, k: [a, b]}."""
    if isinstance(value, dict):
        items = [f"{_render_scalar(k, quote + i)}: {_flow(v, quote + i + 1, sep, pad)}"
                 for i, (k, v) in enumerate(value.items())]
        return "{" + pad + sep.join(items) + pad + "}"
    if isinstance(value, list):
        items = [_flow(v, quote + j, sep, pad) for j, v in enumerate(value)]
        return "[" + pad + sep.join(items) + pad + "]"
    return _render_scalar(value, quote)


def _render_flow(doc: dict, indent: int, quote: int, flow: int, sep: str, pad: str
                 ) -> list[str]:
    """Block mappings whose values are written in flow style where `flow`'s bits say."""
    lines = []
    for i, (key, value) in enumerate(doc.items()):
        k = f"{' ' * indent}{_render_scalar(key, quote + i)}:"
        if isinstance(value, (dict, list)) and (flow >> ((i + indent) % 8)) & 1:
            lines.append(f"{k} {_flow(value, quote + 1, sep, pad)}")
        elif isinstance(value, dict):
            lines.append(k)
            lines.extend(_render_flow(value, indent + 2, quote + 1, flow, sep, pad))
        elif isinstance(value, list):
            lines.append(k)
            lines.extend(f"{' ' * indent}  - {_render_scalar(item, quote + j)}"
                         for j, item in enumerate(value))
        else:
            lines.append(f"{k} {_render_scalar(value, quote + i)}")
    return lines


# Mostly values a generated file holds, so that most documents stay on the fast path
# (and are compared); a tricky scalar now and then, for the fallback.
flow_text = st.text(alphabet="abcXYZ@._-/:?#' é", min_size=1, max_size=12).filter(
    lambda t: t[0] not in "-@ :?#'" and t[-1] not in " :")
flow_scalars = st.one_of(st.sampled_from(SAFE), flow_text, flow_text, flow_text,
                         st.integers(-5, 70000), st.booleans(), st.sampled_from(TRICKY))
flow_documents = st.recursive(
    st.dictionaries(st.one_of(st.sampled_from(SAFE), flow_text), flow_scalars, min_size=1,
                    max_size=4),
    lambda inner: st.dictionaries(
        st.one_of(st.sampled_from(SAFE), flow_text, flow_text, flow_text,
                  st.sampled_from(TRICKY)),
        st.one_of(flow_scalars, inner, st.lists(flow_scalars, max_size=3)), min_size=1,
        max_size=4),
    max_leaves=20,
)


@settings(max_examples=1500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(flow_documents, st.integers(0, 60), st.integers(0, 255),
       st.sampled_from([", ", ",", " , ", ",  "]), st.sampled_from(["", " "]),
       st.sampled_from(["", "---\n", "--- # start\n", "# c\n---\n", "---\n---\n", " ---\n",
                        "---x\n", "--- a\n"]),
       st.sampled_from(["", "", "", "  # note", " #note", "#x", " x", " ,", "}"]))
def test_fast_yaml_agrees_on_flow_collections_and_document_starts(doc, quote, flow, sep, pad,
                                                                  start, tail):
    lines = _render_flow(doc, 0, quote, flow, sep, pad)
    lines = [line + tail if i % 2 == 0 else line for i, line in enumerate(lines)]
    _agree(start + "\n".join(lines) + "\n")


def test_fast_yaml_reads_generated_layouts_itself():
    text = (
        "---\n"
        "version: 1\n"
        "targets: {prod: {url: 'postgresql://mailprov@db.example.com/maestro?sslmode=require'}}\n"
        "general: {client: outlook, smtp: {server: smtp.example.com, port: 587, ssl: true}}\n"
        "include: [users/*.yaml]\n"
        "users:\n"
        "  COMPTA: {smtp: {username: compta@example.com, from: \"frédéric@example.com\"}}\n"
        "  PAIE: {smtp: {username: paie@example.com, port: 2525}}  # relay later\n"
        "  CLOUD: {smtp: {}}\n"
    )
    fast = parse_simple(text)
    assert fast is not None
    assert fast == _strict(text)
    assert fast["users"]["PAIE"] == {"smtp": {"username": "paie@example.com", "port": 2525}}
    assert fast["targets"]["prod"]["url"].endswith("?sslmode=require")


def test_fast_yaml_leaves_unusual_flow_and_documents_to_the_strict_loader():
    for text in ("a: {b: c,}\n", "a: {b: }\n", "a: {b}\n", "a: {b:c}\n", "a: {b: c\n  , d: e}\n",
                 "a: {b: c}#x\n", "a: {b: c} d\n", "a: [b, [c, {d: &x e}]]\n", "a: {b: c, b: d}\n",
                 "a: {b: yes}\n", "a: {b: :x}\n", "a: {b: x:?}\n", "a: {'x''y': 1}\n",
                 "a: {\"x\\ny\": 1}\n", "---\na: 1\n---\nb: 2\n", "a: 1\n---\n", "--- a: 1\n",
                 "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n", "a: {" + "b" * 1001 + ": 1}\n"):
        assert parse_simple(text) is None, text


def test_fast_yaml_keeps_the_depth_limit_in_flow_collections():
    deep = "a: " + "{b: " * 63 + "c" + "}" * 63 + "\n"  # 64 levels with the root: allowed
    assert parse_simple(deep, 64) == _strict(deep)
    deeper = "a: " + "{b: " * 64 + "c" + "}" * 64 + "\n"
    assert parse_simple(deeper, 64) is None


PIECES = ["a", "b", ":", " ", "  ", "- ", "#", "'", '"', "0", "y", "[", "{}", "&", "*", "!",
          "|", ">", "\t", "\r", "%", ".", ",", "?", "~", "@", "`", "\\", "é", "\u2028", "\x85",
          "1", "no", "true", "{", "}", "]", ", ", ": ", "---", "{a: ", "[b, "]
lines = st.tuples(st.sampled_from(["", "", "  ", "    ", " ", "- ", "  - "]),
                  st.one_of(st.sampled_from(["a", "b", "ab", "key", "é", "a b"]),
                            st.lists(st.sampled_from(PIECES), min_size=1, max_size=3)
                            .map("".join)),
                  st.sampled_from([": ", ": ", ":", " : ", ""]),
                  st.lists(st.sampled_from(PIECES), max_size=5).map("".join))


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.lists(lines, min_size=1, max_size=6))
def test_fast_yaml_agrees_on_arbitrary_lines(parts):
    _agree("\n".join("".join(p) for p in parts) + "\n")


def test_fast_yaml_reads_a_typical_file_itself():
    text = (
        "# yaml-language-server: $schema=x\n"
        "version: 1\n"
        "targets:\n  prod:\n    url: postgresql://mailprov@db.example.com/maestro\n"
        "general:\n  client: outlook   # default\n  smtp:\n    server: smtp.example.com\n"
        "    port: 587\n    ssl: true\n"
        "include:\n- users/*.yaml\n"
        "users:\n  COMPTA:\n    smtp:\n      username: 'compta@example.com'\n"
        '      from: "compta@example.com"\n  CLOUD:\n    smtp: {}\n  OLD:\n    smtp: false\n'
        "prune: false\n"
    )
    fast = parse_simple(text)
    assert fast is not None
    assert fast == _strict(text)
    assert fast["include"] == ["users/*.yaml"]
    assert fast["users"]["CLOUD"] == {"smtp": {}}


def test_fast_yaml_leaves_every_yaml_1_1_trap_to_the_strict_loader():
    for value in ("yes", "0465", "1:30", "1.5", "0x1F", ".inf", "2024-01-01", "&a x", "*a",
                  "!tag x", "|", "[a, *x]", "{a: &x b}", "a: b"):
        assert parse_simple(f"key: {value}\n") is None, value
    # ... while what YAML 1.1 reads as text stays on the fast path, as text
    for value in ("1e3", "10.20.30.40", "v1.2", "3com"):
        assert parse_simple(f"key: {value}\n") == {"key": value} == _strict(f"key: {value}\n")
    assert parse_simple("a: 1\na: 2\n") is None  # duplicate keys: the strict error
    assert parse_simple("NO: 1\n") is None
    assert parse_simple("") is None


# --- the compiled schema check -------------------------------------------------------

_VALIDATOR = Draft202012Validator(schema())
_FAST = compile_schema(schema())

values = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=False),
    st.sampled_from(["outlook", "smtp", "other", "lotus_notes", "cloud", "standard", "x", "",
                     "a b", "smtp.example.com", "a@b.ca", "COMPTA", "\x01", "p" * 300]),
)
smtp_override = st.one_of(
    st.booleans(), values,
    st.fixed_dictionaries({}, optional={"username": values, "from": values, "server": values,
                                        "port": values, "ssl": values, "pasword": values,
                                        "provider": st.one_of(values, st.sampled_from(
                                            ["gmail", "office365", "Gmail"]))}),
)
templates = st.sampled_from(["{{ user.code }}@x.ca", "{% if x %}a b{% endif %}", "{# c #}",
                             "a {{ b", "{x}"])
profiles = st.one_of(values, st.sampled_from(["staff", ""]),
                     st.lists(st.one_of(values, st.just("staff")), max_size=2))
entry = st.one_of(values, st.fixed_dictionaries({}, optional={
    "smtp": smtp_override, "profile": profiles, "match": st.one_of(values, st.lists(values)),
    "note": values}))
var_values = st.one_of(values, templates, st.lists(values, max_size=2),
                       st.dictionaries(st.sampled_from(["city", "x", "1y", "secret"]), values,
                                       max_size=2))
config_docs = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.just(1), values),
        "include": st.one_of(st.lists(values, max_size=2), values),
        "targets": st.dictionaries(
            st.sampled_from(["prod", "test", "bad name", "", "x" * 70]),
            st.one_of(values, st.fixed_dictionaries(
                {}, optional={"url": values, "edition": values, "mapping": values,
                              "extra": values})), max_size=2),
        "default_target": values,
        "general": st.one_of(values, st.fixed_dictionaries(
            {}, optional={"client": values, "smtp": st.one_of(values, st.fixed_dictionaries(
                {}, optional={"server": values, "port": values, "ssl": values}))})),
        "users": st.one_of(values, st.dictionaries(
            st.sampled_from(["COMPTA", "a@b.ca", "\x07", "", "x" * 300]),
            st.one_of(values, entry, st.fixed_dictionaries({}, optional={
                "smtp": smtp_override, "note": values})),
            max_size=3)),
        "prune": values,
        "vars": st.one_of(values, st.dictionaries(
            st.sampled_from(["domain", "a b", "1x", "site", "password", ""]), var_values,
            max_size=3)),
        "defaults": entry,
        "profiles": st.one_of(values, st.dictionaries(
            st.sampled_from(["staff", "compta-shared", "-x", "", "a b"]), entry, max_size=2)),
        "users_from": st.one_of(values, st.lists(values, max_size=2)),
        "selections": st.one_of(values, st.lists(entry, max_size=2)),
        "all_users": entry,
        "safety": st.one_of(values, st.fixed_dictionaries(
            {}, optional={"max_change_percent": values, "min_existing": values,
                          "max_changes": values})),
        "unknown": values,
    },
)


@settings(max_examples=1500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(config_docs)
def test_compiled_schema_check_agrees_with_jsonschema(doc):
    assert _FAST(doc) == _VALIDATOR.is_valid(doc), doc


def test_compiled_schema_check_refuses_unknown_keywords():
    import pytest

    with pytest.raises(ValueError, match="not supported"):
        compile_schema({"type": "object", "patternProperties": {"a": {}}})


def _object_schemas(node: object, path: tuple[str, ...] = ()):
    """Every object schema in the configuration schema, with where it is."""
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _object_schemas(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _object_schemas(value, (*path, str(index)))


def iter_names(data):
    for key, value in data.items():
        yield key
        if isinstance(value, dict):
            yield from iter_names(value)


def test_the_schema_refuses_every_secret_key():
    """The contract config.schema.document_problems relies on to skip the secret-key scan
    of documents the compiled check accepts: only name maps take keys they do not list,
    and no listed key looks like a secret."""
    from mailprov.config.forbidden_keys import looks_like_secret
    from mailprov.config.schema import schema

    # maps keyed by names: user codes, targets and profiles are names, never secrets; the
    # names of `vars` (and of its groups) are scanned for secrets by check_document itself
    name_maps = {("properties", "users"), ("properties", "targets"), ("properties", "profiles"),
                 ("properties", "vars"), ("$defs", "varValue")}
    seen = 0
    for path, node in _object_schemas(schema()):
        seen += 1
        assert not [k for k in node.get("properties", {}) if looks_like_secret(k)], path
        extra = node.get("additionalProperties", True)
        if path in name_maps:
            assert isinstance(extra, dict) and "propertyNames" in node, path
        else:
            assert extra is False, f"{'/'.join(path)} accepts unknown keys"
    assert seen >= 6
    # and the compiled check indeed refuses a secret-like key anywhere else
    from mailprov.config.schema import _fast_check

    assert _fast_check()({"version": 1, "users": {"PASSWORD": {"smtp": False}}})
    assert not _fast_check()({"version": 1, "general": {"smtp": {"password": "x"}}})
    assert not _fast_check()({"version": 1, "users": {"A": {"smtp": {"pwd": "x"}}}})
    assert not _fast_check()({"version": 1, "profiles": {"p": {"smtp": {"pwd": "x"}}}})
    from mailprov.config.document import Document
    from mailprov.config.schema import check_document

    for data in ({"version": 1, "vars": {"smtp_password": "x"}},
                 {"version": 1, "vars": {"site": {"mot_de_passe": "x"}}}):
        assert _fast_check()(data)  # a name map: the compiled check takes any name...
        problems = check_document(Document("v.yaml", "", data, True)).problems
        assert [p.message.split(":")[0] for p in problems] == [  # ...and the scan refuses it
            f"{list(iter_names(data['vars']))[-1]!r} looks like a secret"]

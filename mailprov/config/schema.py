"""The JSON Schema of mailprov files, and its errors turned into plain messages."""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

from mailprov.config.document import Document
from mailprov.config.forbidden_keys import HOW_PASSWORDS_ARE_SET, looks_like_secret
from mailprov.config.yamlload import iter_paths
from mailprov.errors import Problem

_TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
    "number": "a number", "boolean": "true or false", "null": "nothing",
}


def schema_text() -> str:
    """The schema exactly as shipped (what `mailprov schema` prints)."""
    return resources.files("mailprov").joinpath("schemas/mailprov.schema.json").read_text(
        encoding="utf-8"
    )


@cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_text())
    return data


def mapping_schema_text() -> str:
    """The schema of mapping files exactly as shipped (`mailprov schema --mapping`)."""
    return resources.files("mailprov").joinpath("schemas/mapping.schema.json").read_text(
        encoding="utf-8")


@cache
def mapping_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(mapping_schema_text())
    return data


def describe(value: Any) -> str:
    """A short, safe rendering of a value for an error message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return "'" + shown.encode("unicode_escape").decode("ascii").replace("'", "\\'") + "'"
    return str(value)


def _suggest(word: str, choices: list[str]) -> str:
    if len(word) > 2 * max(map(len, choices), default=0) + 8:
        return ""  # no typo is that long, and difflib takes seconds on a 10 MB value
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == word.lower()]
    return f"; did you mean '{close[0]}'?" if close else ""


def _message(error: Any) -> tuple[str, tuple[Any, ...], bool] | None:
    """(message, path, points_at_key) for one jsonschema error, None to drop it."""
    path = tuple(error.absolute_path)
    kind = error.validator
    value = error.instance
    rule = error.validator_value
    if kind == "additionalProperties":
        return None  # handled key by key in _unknown_keys
    if kind == "required":
        missing = [k for k in rule if isinstance(value, dict) and k not in value]
        return (f"missing required key '{missing[0] if missing else rule[0]}'", path, False)
    if kind == "type":
        expected = rule if isinstance(rule, list) else [rule]
        # `null` where a user's setting may be stored empty: not worth advertising
        expected = [t for t in expected if t != "null"] or expected
        names = " or ".join(_TYPE_NAMES.get(t, str(t)) for t in expected)
        hint = ""
        if value is None and "object" in expected:  # a key left with nothing under it
            hint = ("; write `{}` for an empty section, or remove the line" if len(path) == 1
                    else "; write its settings under it, or remove the line")
        return (f"expected {names}, got {describe(value)}{hint}", path, False)
    if kind == "enum":
        options = ", ".join(str(o) for o in rule)
        hint = _suggest(str(value), [str(o) for o in rule]) if isinstance(value, str) else ""
        return (f"{describe(value)} is not one of: {options}{hint}", path, False)
    if kind == "const":
        if path and path[-1] == "smtp":
            return ("`smtp: true` is not allowed: give the user's SMTP settings, or "
                    "`smtp: false` to remove the override", path, False)
        return (f"must be {json.dumps(rule)}, got {describe(value)}", path, False)
    if kind in ("minimum", "maximum"):
        if path and path[-1] == "port":
            return (f"port {value} is out of range: use 1 to 65535", path, False)
        word = "at least" if kind == "minimum" else "at most"
        return (f"must be {word} {rule}, got {describe(value)}", path, False)
    if kind == "minLength":
        if rule <= 1:
            return ("must not be empty", path, False)
        return (f"is too short ({len(value)} characters, at least {rule})", path, False)
    if kind == "maxLength":
        return (f"is too long ({len(value)} characters, at most {rule})", path, False)
    if kind == "pattern":
        if path and path[-1] == "server":
            if not value:
                return None  # reported by minLength
            return (f"{describe(value)} is not a host name: no spaces allowed", path, False)
        if len(path) >= 2 and path[0] in ("users", "targets") and not isinstance(value, dict):
            return _name_message(path, value)
        return (f"{describe(value)} does not match the pattern {rule}", path, False)
    if kind == "propertyNames":
        return None
    return (error.message if len(error.message) < 200 else error.message[:197] + "...",
            path, False)


def _name_message(path: tuple[Any, ...], value: Any) -> tuple[str, tuple[Any, ...], bool]:
    if path[0] == "users":
        return ("user code contains control characters: remove them", path, True)
    return ("target names are letters, digits, '_', '.' or '-' (at most 64, starting with "
            "a letter or digit)", path, True)


def _property_name_errors(error: Any) -> list[tuple[str, tuple[Any, ...], bool]]:
    """propertyNames errors carry the offending key as instance, not in the path."""
    out = []
    parent = tuple(error.absolute_path)
    for sub in error.context or [error]:
        key = sub.instance
        if not isinstance(key, str):
            continue
        path = (*parent, key)
        if sub.validator == "pattern" and key:  # an empty key is reported by minLength
            out.append(_name_message(path, key))
        elif sub.validator == "maxLength":
            out.append((f"is too long ({len(key)} characters, at most {sub.validator_value})",
                        path, True))
        elif sub.validator == "minLength":
            out.append(("must not be empty", path, True))
    return out


def _unknown_keys(root: dict[str, Any], data: Any, node_schema: dict[str, Any],
                  path: tuple[Any, ...], out: list[tuple[str, tuple[Any, ...], bool]]) -> None:
    """Walk data beside the schema and report unknown keys with suggestions."""
    node_schema = _resolve(root, node_schema)
    if not isinstance(data, dict):
        return
    if "else" in node_schema and isinstance(data, dict):
        node_schema = _resolve(root, node_schema["else"])
    props = node_schema.get("properties")
    extra = node_schema.get("additionalProperties")
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if props is not None and key in props:
            _unknown_keys(root, value, props[key], (*path, key), out)
        elif isinstance(extra, dict):
            _unknown_keys(root, value, extra, (*path, key), out)
        elif extra is False and not (looks_like_secret(key) and not _is_name((*path, key))):
            choices = sorted(props or {})
            hint = _suggest(key, choices)
            allowed = ", ".join(choices)
            out.append((f"unknown key '{key}'{hint}" + ("" if hint else f" (allowed: {allowed})"),
                        (*path, key), True))


def _resolve(root: dict[str, Any], node_schema: dict[str, Any]) -> dict[str, Any]:
    ref = node_schema.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root["$defs"][ref.rsplit("/", 1)[1]]
        return resolved
    return node_schema


@cache
def _fast_check() -> Any:
    from mailprov.config.fastschema import compile_schema

    return compile_schema(schema())


def document_problems(doc: Document) -> list[Problem]:
    """Secret-like keys and schema violations of one document.

    Valid documents, the common case, pass the compiled check and skip
    jsonschema; an invalid one gets every error explained.
    """
    # A document that passes the compiled check needs no secret-key scan: every object
    # of the schema refuses unknown keys (`additionalProperties: false`) except the
    # maps keyed by names (users, targets), and no declared key looks like a secret,
    # so a secret-like key can only be in an invalid document. Relied on here, and
    # checked by tests/test_fast_paths.py::test_the_schema_refuses_every_secret_key.
    if _fast_check()(doc.data):
        return []
    return secret_problems(doc) + schema_problems(doc)


def _is_name(path: tuple[Any, ...]) -> bool:
    """User codes and target names are free text, not keys that could hold a secret."""
    return len(path) == 2 and path[0] in ("users", "targets")


def secret_problems(doc: Document) -> list[Problem]:
    """Secret-like keys anywhere in the document (user codes and target names excepted)."""
    problems = []
    for path, _ in iter_paths(doc.data):
        if path and isinstance(path[-1], str) and not _is_name(path) \
                and looks_like_secret(path[-1]):
            problems.append(doc.problem(path, f"'{path[-1]}' looks like a secret: "
                                        + HOW_PASSWORDS_ARE_SET, key=True))
    return problems


@cache
def _validator(which: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema() if which == "config" else mapping_schema())


def schema_problems(doc: Document, which: str = "config") -> list[Problem]:
    """Every schema violation in one document, each with its place.

    `which` is `config` (mailprov files) or `mapping` (mapping files): both are
    explained with the same messages.
    """
    root = schema() if which == "config" else mapping_schema()
    found: list[tuple[str, tuple[Any, ...], bool]] = []
    for error in _validator(which).iter_errors(doc.data):
        if error.validator == "propertyNames" or "propertyNames" in error.relative_schema_path:
            found.extend(_property_name_errors(error))
            continue
        error_path = tuple(error.absolute_path)
        if any(isinstance(p, str) and looks_like_secret(p) and not _is_name(error_path[:i + 1])
               for i, p in enumerate(error_path)):
            continue
        message = _message(error)
        if message is not None:
            found.append(message)
    _unknown_keys(root, doc.data, root, (), found)
    seen = set()
    problems = []
    for text, path, key in found:
        if (text, path) in seen:
            continue
        seen.add((text, path))
        problems.append(doc.problem(path, text, key=key))
    return problems

"""A compiled yes/no check for the JSON Schema keywords mailprov's schemas use.

jsonschema walks the schema for every instance node and builds its error
machinery as it goes: about 80 µs per user entry, most of a plan's time on a
large file. Valid files are the common case, so they are checked here by
closures compiled once from the same schema; only a file that fails this
check goes through jsonschema, which explains every error. The set of
keywords is closed: compiling a schema with any other validation keyword
raises, so the two can never silently disagree (a test compares them on
fuzzed documents too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "examples",
                          "default", "$comment"})
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b if not _both_numbers(a, b) else a == b


def _both_numbers(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float))


class SchemaCompiler:
    """Compiles a schema (and the `$defs` it refers to) into one predicate."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any | None = None) -> Check:
        return self._node(self.root if schema is None else schema)

    def _ref(self, ref: str) -> Check:
        if ref not in self.refs:
            holder: list[Check] = []
            self.refs[ref] = lambda v: holder[0](v)
            holder.append(self._node(resolve_pointer(self.root, ref)))
        return self.refs[ref]

    def _node(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        checks: list[Check] = []
        for keyword, rule in schema.items():
            if keyword in _ANNOTATIONS or keyword in ("then", "else", "properties"):
                continue
            checks.append(self._keyword(keyword, rule, schema))
        if "properties" in schema or "additionalProperties" in schema:
            checks.append(self._object(schema))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(check(v) for check in checks)

    def _keyword(self, keyword: str, rule: Any, schema: dict[str, Any]) -> Check:
        if keyword == "type":
            tests = [_TYPES[t] for t in (rule if isinstance(rule, list) else [rule])]
            return lambda v: any(t(v) for t in tests)
        if keyword == "$ref":
            return self._ref(rule)
        if keyword == "const":
            return lambda v: _json_equal(v, rule)
        if keyword == "enum":
            return lambda v: any(_json_equal(v, option) for option in rule)
        if keyword == "required":
            return lambda v: not isinstance(v, dict) or all(k in v for k in rule)
        if keyword in ("minimum", "maximum"):
            low = keyword == "minimum"
            return lambda v: (not _TYPES["number"](v)) or (v >= rule if low else v <= rule)
        if keyword in ("minLength", "maxLength"):
            short = keyword == "minLength"
            return lambda v: not isinstance(v, str) or (len(v) >= rule if short
                                                        else len(v) <= rule)
        if keyword == "minProperties":
            return lambda v: not isinstance(v, dict) or len(v) >= rule
        if keyword == "pattern":
            regex = re.compile(rule)
            return lambda v: not isinstance(v, str) or regex.search(v) is not None
        if keyword == "items":
            item = self._node(rule)
            return lambda v: not isinstance(v, list) or all(item(x) for x in v)
        if keyword == "propertyNames":
            name = self._node(rule)
            return lambda v: not isinstance(v, dict) or all(name(k) for k in v)
        if keyword == "if":
            cond = self._node(rule)
            then = self._node(schema.get("then", True))
            other = self._node(schema.get("else", True))
            return lambda v: then(v) if cond(v) else other(v)
        if keyword == "additionalProperties":
            return lambda v: True  # checked with properties in _object
        raise ValueError(f"keyword {keyword!r} is not supported by the fast check")

    def _object(self, schema: dict[str, Any]) -> Check:
        props = {k: self._node(s) for k, s in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is False else self._node(extra)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, value in v.items():
                prop = props.get(key)
                if prop is not None:
                    if not prop(value):
                        return False
                elif extra_check is None or not extra_check(value):
                    return False
            return True

        return check


def resolve_pointer(root: dict[str, Any], ref: str) -> Any:
    """The part of `root` a local `$ref` names (`#/$defs/user`, `#/properties/general`)."""
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref}")
    node: Any = root
    for step in ref[2:].split("/"):
        node = node[step.replace("~1", "/").replace("~0", "~")]
    return node


def compile_schema(schema: dict[str, Any]) -> Check:
    return SchemaCompiler(schema).compile()

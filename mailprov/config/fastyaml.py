"""A fast reader for the plain subset of YAML that mailprov files are made of.

PyYAML, even with libyaml, builds a Python event, node and mark object for
every token; on a 10,000-user file that is most of the load time. Config
files (and everything `mailprov import` writes) are block mappings of plain
or simply quoted scalars, which this module reads line by line with a few
regular expressions. It also reads what generated files and hand-tidied
headers use: flow collections written on one line
(`U1: {smtp: {username: u1@example.com, port: 2525}}`, `include: [a.yaml]`)
and a `---` first line.

It is an accelerator, not a second YAML implementation: whenever a line is
outside that subset, or anything could be read differently by YAML 1.1
(booleans other than true/false, octal, floats, timestamps, anchors, tags,
flow collections over several lines, multi-line scalars, duplicate keys,
unusual characters), :func:`parse_simple` returns None and the caller uses
the strict PyYAML loader, which gives the same data or the exact error with
its position. Tests check that both readers agree on every input.
"""

from __future__ import annotations

import re
from typing import Any

# Characters outside those YAML accepts in a stream, and line breaks other than \n and
# \r\n (NEL, LS, PS) and the BOM: the complement of \t \n \r \x20-\x7e \xa0-\u2027
# \u202a-\ud7ff \ue000-\ufefe \uff00-\ufffd \U00010000-\U0010ffff, written as the short
# list it is (the long form takes 5 ms to compile, at every start).
_UNUSUAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
                      "\ufeff\ufffe\uffff]")
_LINE = re.compile(
    r"(?P<indent> *)"
    r"(?:(?P<dash>- )(?P<item>.*)"
    r"|(?P<key>[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#]*|'[^']*'|\"[^\"\\]*\")"
    r" *:(?:[ ]+(?P<value>.*))?)"
    r" *\Z"
)
# Greedy on purpose: a lazy key or value would try the rest of the pattern at every
# character, a second for a 10 MB line; the trailing spaces they take are stripped.
# Possessive: the alternatives start with different characters, so there is nothing to
# backtrack into, and a 10 MB scalar is matched in milliseconds instead of a second.
_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`](?:[^#:]++|:(?=\S)|(?<=\S)#)*+\Z")
MAX_DIGITS = 100
"""The longest whole number a file may write: far more than any setting takes, far less
than the 4,300 digits Python refuses to read."""
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
# Plain scalars that YAML 1.1 resolves to something other than a string, or
# that the strict loader refuses (booleans other than true/false, numbers that
# are not plain decimals, timestamps, merge and value keys): leave them to it.
# These follow the implicit resolvers of the YAML 1.1 type repository, so a
# value such as 10.20.30.40 stays text, and on the fast path.
_SPECIAL = re.compile(
    r"""(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|<<|=
        |[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        |[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
         (?:(?:[Tt]|[\ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
         (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?
        )\Z""",
    re.VERBOSE,
)
# One scalar inside a flow collection written on one line: simply quoted, or plain
# without flow indicators (,[]{}), without `: `, ` #` or `:?` (which libyaml refuses)
# and without a space before a `:`. Anything else ends the fast path.
_FLOW_SCALAR = re.compile(
    r"""'[^'\n]*'(?!')|"[^"\\\n]*"
       |[^\s\-?:,\[\]{}#&*!|>'"%@`](?:[^\s:,\[\]{}]|:(?=[^\s,\[\]{}?])|\ +(?=[^\s:,\[\]{}\#]))*+""",
    re.VERBOSE,
)
_AFTER_FLOW = re.compile(r"(?: +#.*)?\Z")  # after a flow collection: a comment at most
_DOC_START = re.compile(r"---(?: +(?:#.*)?)?\Z")  # `---` alone (or with a comment)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
          "FALSE": False}


class _Fallback(Exception):
    """The input is outside the subset: use the full loader."""


def _comment_free(text: str) -> str:
    """Drop a trailing ` # comment` (only valid outside quotes; callers check)."""
    cut = text.find(" #")
    return text[:cut].rstrip(" ") if cut >= 0 else text


def _scalar(raw: str, is_key: bool = False) -> Any:
    if not raw:
        if is_key:
            raise _Fallback
        return None
    first = raw[0]
    if first == "'":
        end = raw.find("'", 1)
        if end < 0 or (end + 1 < len(raw) and raw[end + 1] == "'"):
            raise _Fallback
        rest = raw[end + 1:].strip(" ")
        if rest and not rest.startswith("#"):
            raise _Fallback
        return raw[1:end]
    if first == '"':
        end = raw.find('"', 1)
        if end < 0 or "\\" in raw[:end]:
            raise _Fallback
        rest = raw[end + 1:].strip(" ")
        if rest and not rest.startswith("#"):
            raise _Fallback
        return raw[1:end]
    value = _comment_free(raw)
    if not is_key and value in ("{}", "[]"):
        return {} if value == "{}" else []
    if not _PLAIN.match(value) or value.endswith(":"):
        raise _Fallback
    if value in _NULLS:
        if is_key:
            raise _Fallback
        return None
    if value in _BOOLS:
        if is_key:
            raise _Fallback
        return _BOOLS[value]
    if _INT.match(value):
        if is_key or len(value) > MAX_DIGITS:  # the strict reader says why it refuses it
            raise _Fallback
        return int(value)
    if _SPECIAL.match(value):
        raise _Fallback
    return value


def parse_simple(text: str, max_depth: int = 64) -> dict[str, Any] | None:
    """The document as plain data, or None when the full loader must read it.

    Documents nested deeper than `max_depth` are left to the full loader too,
    which refuses them with a message.
    """
    if _UNUSUAL.search(text) or "\t" in text:
        return None
    try:
        return _parse(text, max_depth)
    except _Fallback:
        return None


def _parse(text: str, max_depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    # Open containers: (indent, container). Mappings hold their keys' indent.
    stack: list[tuple[int, Any]] = [(0, root)]
    pending: tuple[int, dict[str, Any], str] | None = None  # "key:" awaiting its value
    seen: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    started = False  # content or a `---` was met: a (further) `---` is another document
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if "\r" in line:
            raise _Fallback
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith(("---", "...", "%")):
            if started or not _DOC_START.match(line):
                raise _Fallback
            started = True
            continue
        started = True
        match = _LINE.match(line)
        if match is None:
            raise _Fallback
        indent = len(match.group("indent"))
        if match.group("dash"):
            _sequence_item(stack, pending, indent, match.group("item"))
            pending = None
            continue
        if pending is not None:
            p_indent, p_map, p_key = pending
            if indent > p_indent:
                child: dict[str, Any] = {}
                p_map[p_key] = child
                stack.append((indent, child))
                if len(stack) > max_depth:
                    raise _Fallback
            else:
                p_map[p_key] = None
            pending = None
        while stack[-1][0] > indent or (stack[-1][0] == indent
                                         and isinstance(stack[-1][1], list)):
            stack.pop()
        top_indent, top = stack[-1]
        if top_indent != indent or not isinstance(top, dict):
            raise _Fallback
        if line.index(":", match.end("key")) - match.start("key") > 1000:
            raise _Fallback  # YAML limits implicit keys to 1024 characters up to the ':'
        raw_key = match.group("key").rstrip(" ")
        key = keys[raw_key] if raw_key in keys else keys.setdefault(
            raw_key, _scalar(raw_key, is_key=True))
        if not isinstance(key, str) or key in top:
            raise _Fallback
        value = match.group("value")
        if value is not None:
            value = value.rstrip(" ")
        if value is None or value.startswith("#"):
            top[key] = None
            pending = (indent, top, key)
        elif value in seen:
            top[key] = seen[value]
        elif value.startswith(("{", "[")):
            top[key] = _flow_line(value, max_depth - len(stack), seen, keys)
        else:
            parsed = _scalar(value)
            if not isinstance(parsed, (dict, list)):
                seen[value] = parsed  # keys and values repeat on every user: parse once
            top[key] = parsed
    if pending is not None:
        pending[1][pending[2]] = None
    if not root:
        raise _Fallback
    return root


def _flow_line(text: str, depth: int, seen: dict[str, Any], keys: dict[str, Any]) -> Any:
    """A flow collection that opens and closes on this line, and nothing after it but a
    comment. `seen` and `keys` memoise the scalars read (as values and as keys)."""
    value, end = _flow(text, 0, depth, seen, keys)
    if not _AFTER_FLOW.match(text, end):
        raise _Fallback
    return value


def _flow(text: str, pos: int, depth: int, seen: dict[str, Any], keys: dict[str, Any]
          ) -> tuple[Any, int]:
    """The flow mapping or sequence opening at text[pos], and the index after it."""
    if depth <= 0:
        raise _Fallback
    is_mapping = text[pos] == "{"
    close = "}" if is_mapping else "]"
    result: Any = {} if is_mapping else []
    pos = _skip_spaces(text, pos + 1)
    if text.startswith(close, pos):
        return result, pos + 1
    while True:
        if is_mapping:
            found = _FLOW_SCALAR.match(text, pos)
            if found is None or found.end() - pos > 1000 or not text.startswith(": ",
                                                                               found.end()):
                raise _Fallback  # (YAML limits implicit keys to 1024 characters)
            raw = found.group()
            key = keys[raw] if raw in keys else keys.setdefault(raw, _scalar(raw, is_key=True))
            if not isinstance(key, str) or key in result:
                raise _Fallback
            pos = _skip_spaces(text, found.end() + 2)
        if text.startswith(("{", "["), pos):
            item, pos = _flow(text, pos, depth - 1, seen, keys)
        else:
            found = _FLOW_SCALAR.match(text, pos)
            if found is None:
                raise _Fallback
            raw = found.group()
            item = seen[raw] if raw in seen else seen.setdefault(raw, _scalar(raw))
            pos = found.end()
        if is_mapping:
            result[key] = item
        else:
            result.append(item)
        pos = _skip_spaces(text, pos)
        if text.startswith(close, pos):
            return result, pos + 1
        if not text.startswith(",", pos):
            raise _Fallback
        pos = _skip_spaces(text, pos + 1)


def _skip_spaces(text: str, pos: int) -> int:
    while text.startswith(" ", pos):
        pos += 1
    return pos


def _sequence_item(stack: list[tuple[int, Any]], pending: tuple[int, dict[str, Any], str] | None,
                   indent: int, item: str) -> None:
    """`- value` lines: a list of scalars under the key just opened, or continuing one."""
    if pending is not None:
        p_indent, p_map, p_key = pending
        if indent < p_indent:
            raise _Fallback
        seq: list[Any] = []
        p_map[p_key] = seq
        stack.append((indent, seq))
    else:
        while stack[-1][0] > indent:
            stack.pop()
        if stack[-1][0] != indent or not isinstance(stack[-1][1], list):
            raise _Fallback
        seq = stack[-1][1]
    value = item.strip(" ")
    if not value or value.startswith(("- ", "? ")) or (":" in value and _has_mapping(value)):
        raise _Fallback
    seq.append(_scalar(value))


def _has_mapping(value: str) -> bool:
    return ": " in value or value.endswith(":")

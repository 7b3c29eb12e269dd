"""Edit the `users:` of a configuration file in place, for `mailprov users add|remove|import`.

A hand-written file is reviewed in pull requests: an edit must read as the lines
it adds or removes and nothing else. So the file is never dumped again: its
text is parsed with ruamel.yaml's round-trip composer (which keeps every node's
place, comments and style), the lines of the entries are found, and new lines
are spliced into the original text. Every other byte stays as it was; a test
compares them.

Each added user is one line in flow style (`  JTREMBLAY: {profile: staff}`),
with every text quoted when YAML could read it as something else. The edited
text is loaded and checked like any configuration (with its includes and user
lists) before it is written, atomically; on any problem nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import msgspec

from mailprov.config.csvusers import FIELDS
from mailprov.config.forbidden_keys import HOW_PASSWORDS_ARE_SET, looks_like_secret
from mailprov.errors import MailprovError
from mailprov.i18n import _

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.@+-]*\Z")
_YAML11_WORDS = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"))
_SHORT = {name.split(".", 1)[1]: name for name in FIELDS if name.startswith("smtp.")}


class EditError(MailprovError):
    """An edit mailprov will not make (nothing was written)."""


class EditResult(msgspec.Struct, frozen=True):
    """What an edit did: the file written, and the users it changed or left alone."""

    file: str
    changed: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def scalar(value: Any) -> str:
    """A value as YAML flow text that mailprov's strict reader reads back as the same
    value: plain when it is safe, else a double-quoted (JSON) string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML11_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    """A user entry as one line of YAML flow style: `{profile: staff, smtp: {port: 2525}}`."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def entry_from(profiles: Sequence[str], settings: Sequence[str]) -> dict[str, Any]:
    """The entry `users add --profile P --set KEY=VALUE` writes; `KEY` is a field of the
    smtp section (`port`, `smtp.port`, `from`...) or the Office 365 account
    (`office365.email`). Raises EditError for a bad one."""
    entry: dict[str, Any] = {}
    if profiles:
        entry["profile"] = profiles[0] if len(profiles) == 1 else list(profiles)
    sections: dict[str, dict[str, Any]] = {}
    for text in settings:
        key, equals, value = text.partition("=")
        name = key.strip().lower()
        if looks_like_secret(name):
            raise EditError(_("--set {key}: {how}").format(key=key, how=_(HOW_PASSWORDS_ARE_SET)))
        field = _SHORT.get(name, name)
        if not equals or not field.startswith(("smtp.", "office365.")) or field not in FIELDS:
            raise EditError(_("--set {text}: expected FIELD=VALUE with a field of the smtp "
                              "section ({fields}) or office365.email").format(
                text=text[:60], fields=", ".join(_SHORT)))
        section, _dot, name = field.partition(".")
        sections.setdefault(section, {})[name] = _typed(field, value.strip())
    if len(sections) > 1:
        raise EditError(_("--set: a user has an smtp section or an Office 365 account "
                          "(office365.email), not both"))
    entry.update(sections)
    if not entry:
        raise EditError(_("give the users a profile (--profile NAME) or settings "
                          "(--set FIELD=VALUE)"))
    return entry


def _typed(field: str, value: str) -> Any:
    if field == "smtp.port":
        try:
            return int(value)
        except ValueError:
            raise EditError(_("--set port={value}: a port is a whole number").format(
                value=value[:60])) from None
    if field == "smtp.ssl":
        if value.lower() not in ("true", "false"):
            raise EditError(_("--set ssl={value}: write true or false").format(
                value=value[:60]))
        return value.lower() == "true"
    return value


# --- finding the lines of `users:` -----------------------------------------------------------


class _Users(msgspec.Struct):
    """The `users:` section of a text: where its key is, its entries and their lines."""

    key_line: int | None  # 0-based line of `users:`, None when the file has none
    value: Any  # the ruamel node of its value
    indent: int  # column of the entries' keys
    entries: dict[str, tuple[int, int]]  # code -> (first line, last line), 0-based


def _compose(text: str, name: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").compose(text)
    except YAMLError as exc:
        raise EditError(_("{file} cannot be read as YAML ({error}): fix it first "
                          "(`mailprov validate`)").format(file=name, error=exc)) from None


def _last_line(node: Any) -> int:
    """The 0-based line where a node's own text ends (not the blank lines or comments
    that may follow it)."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1][1])
    if isinstance(node, SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    mark = node.end_mark
    return int(mark.line) if mark.column > 0 else int(mark.line) - 1


def _users_section(text: str, name: str) -> _Users:
    from ruamel.yaml.nodes import MappingNode, ScalarNode

    root = _compose(text, name)
    if not isinstance(root, MappingNode):
        raise EditError(_("{file} is not a mailprov file (its top level is not a mapping)")
                        .format(file=name))
    for key, value in root.value:
        if not (isinstance(key, ScalarNode) and key.value == "users"):
            continue
        entries: dict[str, tuple[int, int]] = {}
        indent = key.start_mark.column + 2
        if isinstance(value, MappingNode):
            if value.flow_style and value.value:
                raise EditError(_("{file}: `users:` is written in flow style ({{...}}): write "
                                  "it as one user per line so that mailprov can edit it")
                                .format(file=name))
            for index, (code_node, entry) in enumerate(value.value):
                if index == 0:
                    indent = code_node.start_mark.column
                entries[str(code_node.value)] = (code_node.start_mark.line, _last_line(entry))
        elif not (isinstance(value, ScalarNode) and str(value.tag).endswith(":null")):
            raise EditError(_("{file}: `users:` is not a mapping: fix it first "
                              "(`mailprov validate`)").format(file=name))
        return _Users(key.start_mark.line, value, indent, entries)
    return _Users(None, None, 2, {})


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def add_entries(text: str, name: str, entries: Mapping[str, Mapping[str, Any]]) -> str:
    """`text` with one line per new user appended to its `users:` (created at the end
    when missing). Raises EditError for a user already listed in this text."""
    section = _users_section(text, name)
    listed = [code for code in entries if code in section.entries]
    if listed:
        line = section.entries[listed[0]][0] + 1
        raise EditError(_("{code} is already listed in {file} (line {line}): edit its entry "
                          "there, or remove it first").format(code=listed[0], file=name,
                                                              line=line))
    eol = _newline(text)
    new = [f"{' ' * section.indent}{scalar(code)}: {flow(entry)}{eol}"
           for code, entry in entries.items()]
    lines = _lines(text)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += eol
    if section.key_line is None:
        return "".join(lines) + f"users:{eol}" + "".join(new)
    if section.entries:
        after = max(last for _first, last in section.entries.values()) + 1
        return "".join(lines[:after] + new + lines[after:])
    # `users:` with nothing, or `users: {}`: the entries go right under the key
    key_line = lines[section.key_line]
    value = section.value
    if value.start_mark.line == section.key_line and value.end_mark.column > \
            value.start_mark.column:  # `users: {}` or `users: ~`: drop the empty value
        start, end = value.start_mark.column, value.end_mark.column
        key_line = key_line[:start].rstrip(" ") + key_line[end:]
    return "".join([*lines[:section.key_line], key_line, *new,
                    *lines[section.key_line + 1:]])


def remove_entries(text: str, name: str, codes: Sequence[str],
                   replacement: Mapping[str, Any] | None = None) -> str:
    """`text` without the entries of `codes` (their own lines, comments inside them
    included), or with each replaced by one line `CODE: {replacement}`."""
    section = _users_section(text, name)
    missing = [code for code in codes if code not in section.entries]
    if missing:
        raise EditError(_("{code} is not listed under `users:` in {file}").format(
            code=missing[0], file=name))
    lines = _lines(text)
    eol = _newline(text)
    for code in sorted(codes, key=lambda c: section.entries[c][0], reverse=True):
        first, last = section.entries[code]
        indent = " " * section.indent
        new = [f"{indent}{scalar(code)}: {flow(replacement)}{eol}"] if replacement else []
        lines[first:last + 1] = new
    if replacement is None and len(codes) == len(section.entries) \
            and section.key_line is not None:
        key = lines[section.key_line]
        colon = key.index(":", len(key) - len(key.lstrip()))
        lines[section.key_line] = key[:colon + 1] + " {}" + key[colon + 1:]
    return "".join(lines)


# --- writing ---------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """A configuration file's text, exactly (newlines kept)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise EditError(_("{file} not found: create it (`mailprov import -o {file}`), or name "
                          "another with -c").format(file=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EditError(_("cannot read {file}: {error}").format(file=path, error=exc)) from None


def write_checked(path: Path, text: str, check: Callable[[Mapping[Path, bytes]], None]) -> None:
    """Check the configuration as it would be with `text` in `path` (`check` raises
    ConfigError), then replace the file atomically, keeping its permissions."""
    data = text.encode("utf-8")
    check({path: data})  # ConfigError: "nothing was changed", and indeed nothing is
    folder = path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- editing one entry: a key replaced by another, or a key added -----------------------------


class TextEdit(msgspec.Struct, frozen=True):
    """Characters `start` to `end` of a text replaced by `text`."""

    start: int
    end: int
    text: str


def compose(text: str, name: str) -> Any:
    """The root node of a YAML text, with every node's place (ruamel's round-trip composer)."""
    from ruamel.yaml.nodes import MappingNode

    root = _compose(text, name)
    if not isinstance(root, MappingNode):
        raise EditError(_("{file} is not a mailprov file (its top level is not a mapping)")
                        .format(file=name))
    return root


def node_at(root: Any, path: Sequence[str | int]) -> Any | None:
    """The node at `path` (mapping keys and sequence indexes), or None."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    node = root
    for step in path:
        if isinstance(node, MappingNode) and isinstance(step, str):
            node = next((value for key, value in node.value if str(key.value) == step), None)
        elif isinstance(node, SequenceNode) and isinstance(step, int) \
                and 0 <= step < len(node.value):
            node = node.value[step]
        else:
            return None
        if node is None:
            return None
    return node


def mapping_keys(node: Any) -> set[str]:
    """The keys of a mapping node (empty for anything else)."""
    from ruamel.yaml.nodes import MappingNode

    if not isinstance(node, MappingNode):
        return set()
    return {str(key.value) for key, _value in node.value}


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _line_end(text: str, starts: list[int], line: int) -> int:
    """The offset where line `line` (0-based) ends, before its line break."""
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while end > starts[line] and text[end - 1] in "\r\n":
        end -= 1
    return end


def replace_key(text: str, mapping: Any, key: str, new_key: str,
                value: Mapping[str, Any]) -> TextEdit:
    """The edit that replaces `key: ...` of a mapping node by `new_key: value`, written in
    the style of what it replaces: a block section stays a block (its indentation kept),
    a one-line section stays one line. The lines of the old section go, comments inside
    them included; everything else stays."""
    from ruamel.yaml.nodes import MappingNode

    entry = next(((k, v) for k, v in mapping.value if str(k.value) == key), None)
    if entry is None:
        raise EditError(_("no `{key}` to replace").format(key=key))
    key_node, value_node = entry
    start = key_node.start_mark.index
    if isinstance(value_node, MappingNode) and not value_node.flow_style and value_node.value:
        starts = _line_starts(text)
        inner = value_node.value[0][0].start_mark.column
        eol = _newline(text)
        body = eol.join(f"{' ' * inner}{scalar(k)}: {flow(v)}" for k, v in value.items())
        return TextEdit(start, _line_end(text, starts, _last_line(value_node)),
                        f"{scalar(new_key)}:{eol}{body}")
    return TextEdit(start, value_node.end_mark.index, f"{scalar(new_key)}: {flow(value)}")


def add_key(text: str, mapping: Any, key: str, value: Mapping[str, Any]) -> TextEdit:
    """The edit that adds `key: value` (one line, flow style) to a mapping node: after its
    last entry in a block, before the closing brace of a flow mapping."""
    if mapping.flow_style or not mapping.value:
        close = mapping.end_mark.index - 1
        if close < 0 or text[close] != "}":
            raise EditError(_("cannot add `{key}` here: the entry is not a mapping").format(
                key=key))
        before = text[:close].rstrip(" ")
        separator = "" if before.endswith("{") else ", "
        return TextEdit(len(before), close, f"{separator}{scalar(key)}: {flow(value)}")
    starts = _line_starts(text)
    last = _last_line(mapping)
    column = mapping.value[0][0].start_mark.column
    eol = _newline(text)
    at = starts[last + 1] if last + 1 < len(starts) else len(text)
    lead = "" if at == 0 or text[at - 1] == "\n" else eol
    return TextEdit(at, at, f"{lead}{' ' * column}{scalar(key)}: {flow(value)}{eol}")


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    """`text` with non-overlapping edits made (any order given)."""
    ordered = sorted(edits, key=lambda e: e.start)
    for first, second in pairwise(ordered):
        if second.start < first.end:
            raise EditError(_("two edits of the same lines: this layout cannot be edited "
                              "automatically"))
    for edit in reversed(ordered):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def edit_check(configs: Sequence[str | os.PathLike[str]],
               variables: Mapping[str, Any] | Sequence[str] | None
               ) -> Callable[[Mapping[Path, bytes]], None]:
    """The check `write_checked` runs: the configuration `configs` loads, with the edited
    texts in place of their files (ConfigError otherwise)."""
    from mailprov.config.load import load_config, parse_variables

    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)

    def check(replacements: Mapping[Path, bytes]) -> None:
        load_config(list(configs), variables, replacements=replacements)

    return check

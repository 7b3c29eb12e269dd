"""Strict, fast YAML loading for configuration files.

Built on libyaml's C parser when present. It refuses what makes YAML
surprising or dangerous in a config file: aliases and merge keys (billion
laughs), duplicate keys, keys that are not text, YAML 1.1 booleans such as
`yes`/`on`, integers that YAML 1.1 reads as octal or base 60 (`0465`,
`1:30`), non-finite numbers and tags. Those refusals are collected, not
raised: the refused value is read as INVALID and the file goes on being read,
so that one `yes` does not hide the file's other problems. Only what makes
the document unreadable (bad indentation, an unclosed bracket, bad bytes)
stops it. Positions are kept only for these load errors; schema and semantic
errors find theirs later with mailprov.config.yamlstrict.Positions, which parses
the file again only when there is an error to report.

Most files are read by the fast reader (mailprov.config.fastyaml); PyYAML, in
mailprov.config.yamlstrict, is imported only for the others and for errors.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Any, Final

from mailprov.config.fastyaml import parse_simple
from mailprov.i18n import _

MAX_DEPTH = 64
MAX_BYTES = 32 * 1024 * 1024
SYNTAX = "yaml-syntax"
"""The code of a file that is not readable YAML (or is empty, or not a mapping)."""
ENCODING = "yaml-encoding"
"""The code of bytes that are not text: not UTF-8, a NUL byte, a control character."""


class _Invalid:
    """The type of INVALID: one object, kept through copies, equal to nothing else."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"

    def __copy__(self) -> _Invalid:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Invalid:
        return self

    def __reduce__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()
"""A value the loader refused (and reported): later checks skip it, and it is dropped
before the document is merged."""


class YamlError(Exception):
    """A load problem at a known place (1-based line and column); `code` names its family
    for scripts (`yaml-boolean`), `path` is the refused value's place in the document
    when it is known (`('general', 'smtp', 'ssl')`)."""

    def __init__(self, message: str, line: int = 0, column: int = 0, code: str = SYNTAX,
                 path: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.code = code
        self.path = path


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a configuration or mapping file: a regular file, read up to MAX_BYTES + 1.

    Files come from pull requests: a symbolic link to /dev/zero must not fill the
    memory, nor a pipe block forever. More than MAX_BYTES is refused by load_yaml.
    Raises OSError (IsADirectoryError for a folder).
    """
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(21, _("is a folder, not a file"))
    if not stat.S_ISREG(mode):
        raise OSError(22, _("not a regular file (a device, pipe or socket)"))
    with open(path, "rb") as handle:
        return handle.read(MAX_BYTES + 1)


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise YamlError(_("file is larger than {size} MB; split it with `include:`").format(
            size=MAX_BYTES // (1024 * 1024)), code="yaml-too-large")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(_("the file is not valid UTF-8 text: save it as UTF-8"),
                        line, column, ENCODING) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise YamlError(_("the file contains a NUL byte: is it a binary file?"), line,
                        offset - (text.rfind("\n", 0, offset) + 1) + 1, ENCODING)
    return text


def load_yaml(data: bytes) -> Any:
    """Parse one file's bytes into plain Python data; raise YamlError with its place
    (the first problem met, when there are several)."""
    document, problems = read_yaml(data)
    if problems:
        raise problems[0]
    return document


def read_yaml(data: bytes) -> tuple[dict[str, Any], list[YamlError]]:
    """One file's bytes as plain Python data, and the values refused on the way.

    Refused values (see the module docstring) are read as INVALID and reported
    in the list, in the order met; a file that cannot be read at all raises
    YamlError with its place.
    """
    text = _decode(data)
    fast = parse_simple(text, MAX_DEPTH)  # never deeper than MAX_DEPTH, or None
    if fast is not None:
        return fast, []
    from mailprov.config.yamlstrict import strict_read

    return strict_read(text)


def locate(text: str, path: tuple[Any, ...], key: bool = False) -> tuple[int, int]:
    """Find the 1-based (line, column) of the value at `path`, or of its key.

    Walks as far as the path exists, so a missing key points at its parent.
    Only called to report an error, never on the fast path.
    """
    from mailprov.config.yamlstrict import Positions

    return Positions(text).find(path, key=key)


def iter_paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) pair of a loaded document, depth first."""
    yield prefix, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from iter_paths(value, (*prefix, index))

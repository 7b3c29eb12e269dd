"""One loaded configuration file and the lazy lookup of positions in it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from mailprov.errors import PathStep, Problem

if TYPE_CHECKING:
    from mailprov.config.csvusers import CsvPosition
    from mailprov.config.yamlstrict import Positions

__all__ = ["Document", "DocumentLocator"]


class Document(msgspec.Struct, eq=False):  # one object per file read: by identity
    """A parsed file: its display name, text, data, and whether it was named by `-c`.

    `scope` is the target whose own section includes the file (`targets.NAME.include`),
    or None for a file every target shares."""

    name: str
    text: str
    data: dict[str, Any]
    is_root: bool
    folder: str = ""
    scope: str | None = None
    _positions: dict[tuple[tuple[Any, ...], bool], tuple[int, int]] = {}
    _places: Positions | None = None

    def position(self, path: tuple[Any, ...], key: bool = False) -> tuple[int, int]:
        cache_key = (path, key)
        if cache_key not in self._positions:
            if self._places is None:  # parse the text once, however many errors it has
                from mailprov.config.yamlstrict import Positions

                self._places = Positions(self.text)
            self._positions[cache_key] = self._places.find(path, key=key)
        return self._positions[cache_key]

    def problem(self, path: tuple[Any, ...], message: str, *, key: bool = False,
                severity: str = "error", code: str = "") -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.name, line, column, tuple(path), message, severity, code)


class DocumentLocator:
    """Finds the place of a path in the loaded files, for problems found after loading
    (semantic rules, unknown users at plan time). Implements model.Locator.

    CSV user lists are places too: a path under `users.CODE` in such a file is the
    cell of that field in the user's row (`csv` maps file -> code -> position).
    """

    def __init__(self, documents: list[Document],
                 csv: Mapping[str, Mapping[str, CsvPosition]] | None = None) -> None:
        self._by_name = {doc.name: doc for doc in documents}
        self._csv = csv or {}

    def _row(self, file: str, path: tuple[PathStep, ...]) -> CsvPosition | None:
        rows = self._csv.get(file)
        if rows is None or len(path) < 2 or not isinstance(path[1], str):
            return None
        return rows.get(path[1])

    def problem(self, file: str, path: tuple[PathStep, ...], message: str, *,
                key: bool = False, severity: str = "error", code: str = "") -> Problem:
        row = self._row(file, path)
        if row is not None:
            return row.problem(path, message, severity, code)
        doc = self._by_name.get(file)
        if doc is None:
            return Problem(file, 0, 0, tuple(path), message, severity, code)
        return doc.problem(path, message, key=key, severity=severity, code=code)

    def position(self, file: str, path: tuple[PathStep, ...],
                 key: bool = False) -> tuple[int, int]:
        row = self._row(file, path)
        if row is not None:
            return row.line, row.column(".".join(str(step) for step in path[2:]))
        doc = self._by_name.get(file)
        return (0, 0) if doc is None else doc.position(path, key=key)

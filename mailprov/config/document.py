"""One loaded configuration file and the lazy lookup of positions in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailprov.config.yamlload import Positions
from mailprov.errors import PathStep, Problem

__all__ = ["Document", "DocumentLocator"]


@dataclass
class Document:
    """A parsed file: its display name, text, data, and whether it was named by `-c`."""

    name: str
    text: str
    data: dict[str, Any]
    is_root: bool
    folder: str = ""
    _positions: dict[tuple[tuple[Any, ...], bool], tuple[int, int]] = field(
        default_factory=dict, repr=False
    )
    _places: Positions | None = field(default=None, repr=False, compare=False)

    def position(self, path: tuple[Any, ...], key: bool = False) -> tuple[int, int]:
        cache_key = (path, key)
        if cache_key not in self._positions:
            if self._places is None:  # parse the text once, however many errors it has
                self._places = Positions(self.text)
            self._positions[cache_key] = self._places.find(path, key=key)
        return self._positions[cache_key]

    def problem(self, path: tuple[Any, ...], message: str, *, key: bool = False,
                severity: str = "error") -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.name, line, column, tuple(path), message, severity)


class DocumentLocator:
    """Finds the place of a path in the loaded files, for problems found after loading
    (semantic rules, unknown users at plan time). Implements model.Locator."""

    def __init__(self, documents: list[Document]) -> None:
        self._by_name = {doc.name: doc for doc in documents}

    def problem(self, file: str, path: tuple[PathStep, ...], message: str, *,
                key: bool = False, severity: str = "error") -> Problem:
        doc = self._by_name.get(file)
        if doc is None:
            return Problem(file, 0, 0, tuple(path), message, severity)
        return doc.problem(path, message, key=key, severity=severity)

"""One loaded configuration file and the lazy lookup of positions in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailprov.config.yamlload import Positions
from mailprov.errors import Problem


def format_path(path: tuple[Any, ...]) -> str:
    """`('users', 'COMPTA', 'smtp', 'port')` -> `users.COMPTA.smtp.port`."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            text = str(step)
            if not text or any(c in text for c in ".[] \"") or not text.isprintable():
                text = '"' + text.encode("unicode_escape").decode().replace('"', '\\"') + '"'
            parts.append(("." if parts else "") + text)
    return "".join(parts)


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
        return Problem(self.name, line, column, format_path(path), message, severity)

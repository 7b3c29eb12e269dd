"""Value objects whose identity leaves some fields out.

A msgspec Struct compares, hashes and shows every field; a few of mailprov's values carry
bookkeeping that is not part of what they are: where each value was written (a user's
`sources`), how to find lines in the files (a `locator`), the per-target copies of a
configuration. Two users that ask for the same settings are equal wherever the files say
it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import msgspec


class PartlyCompared(msgspec.Struct, frozen=True):
    """A frozen Struct whose equality and hash skip the fields in `uncompared`, and whose
    repr those and the fields in `unshown` (bulky ones: a configuration's file bytes)."""

    uncompared: ClassVar[frozenset[str]] = frozenset()
    unshown: ClassVar[frozenset[str]] = frozenset()

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__struct_fields__
                     if name not in self.uncompared)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, PartlyCompared)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def _shown(self) -> Iterator[tuple[str, Any]]:
        for name in self.__struct_fields__:
            if name not in self.uncompared and name not in self.unshown:
                yield name, getattr(self, name)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._shown())
        return f"{type(self).__name__}({shown})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return list(self._shown())

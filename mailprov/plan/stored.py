"""Text a plan or the history stores, in English, and shows in the reader's language.

A plan's warnings, password notes, conflicts and safety refusals are written into its
JSON (and a saved plan is signed): that JSON must be the same bytes in every language.
`stored()` makes such a text: a `str` whose value is the English message (what JSON,
`str()`, `+` and equality see), which `shown()` translates. Formatting it for display
(an f-string or `str.format`, as the renderers do) shows it translated too. A text read
back from a saved plan file is plain English and is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mailprov.i18n import _, ngettext


class Stored(str):
    """English text that remembers its message id and values, to be shown translated."""

    _msgid: str
    _plural: str | None
    _count: int
    _params: dict[str, Any]

    def __new__(cls, msgid: str, plural: str | None = None, count: int = 1, /,
                **params: Any) -> Stored:
        english = msgid if plural is None or count == 1 else plural
        text = super().__new__(cls, english.format(**{k: _english(v) for k, v in params.items()}))
        text._msgid, text._plural, text._count, text._params = msgid, plural, count, params
        return text

    def shown(self) -> str:
        """The text in the chosen language, its values shown translated too."""
        params = {k: shown(v) for k, v in self._params.items()}
        if self._plural is None:
            return _(self._msgid).format(**params)
        return ngettext(self._msgid, self._plural, self._count).format(**params)

    def __format__(self, spec: str) -> str:
        return format(self.shown(), spec)


def stored(msgid: str, /, **params: Any) -> Stored:
    """`msgid` (marked with N_ where written) filled with `params`: English inside."""
    return Stored(msgid, **params)


class Plural:
    """`Plural.ngettext(singular, plural, n)` marks a stored plural text for extraction."""

    def __init__(self, singular: str, plural: str, count: int) -> None:
        self.singular, self.plural, self.count = singular, plural, count

    @staticmethod
    def ngettext(singular: str, plural: str, count: int) -> Plural:
        return Plural(singular, plural, count)

    def format(self, **params: Any) -> Stored:
        return Stored(self.singular, self.plural, self.count, **params)


class Joined(str):
    """Stored texts joined with `sep` (a plan's refusals), each shown translated."""

    _sep: str
    _items: tuple[str, ...]

    def __new__(cls, sep: str, items: Iterable[str]) -> Joined:
        items = tuple(items)
        text = super().__new__(cls, sep.join(items))
        text._sep, text._items = sep, items
        return text

    def shown(self) -> str:
        return self._sep.join(shown(item) for item in self._items)

    def __format__(self, spec: str) -> str:
        return format(self.shown(), spec)


def _english(value: Any) -> Any:
    return str.__str__(value) if isinstance(value, Stored | Joined) else value


def shown(text: Any) -> Any:
    """A text as the reader sees it: a stored text translated, anything else as it is."""
    return text.shown() if isinstance(text, Stored | Joined) else text

"""The one place user-facing text goes through, so a language is only a catalog.

Messages are English source strings marked with ``_()`` (and ``ngettext()`` for
counts) where they are written; gettext looks them up in the compiled catalog of
the chosen language (``mailprov/locale/<lang>/LC_MESSAGES/mailprov.mo``). What
scripts read (JSON, YAML keys, exit codes, the plan summary line) is never
translated.

The language comes from ``--lang`` / ``MAILPROV_LANG``, else the usual
``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``; only languages with a catalog
are used, English otherwise. The catalog is loaded on first use, so a command that
prints nothing translated pays nothing.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DOMAIN = "mailprov"
LOCALE_DIR = Path(__file__).with_name("locale")
SUPPORTED = ("en", "fr")
ENV_LANG = "MAILPROV_LANG"
_SYSTEM_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_chosen: str | None = None
_translation: _gettext.NullTranslations | None = None


def _normalise(value: str) -> str | None:
    """`fr_CA.UTF-8` -> `fr`; None for a language without a catalog (or `C`/`POSIX`)."""
    for part in value.split(":"):  # LANGUAGE may list several, in order of preference
        code = part.split(".", 1)[0].split("@", 1)[0].split("_", 1)[0].split("-", 1)[0]
        code = code.strip().lower()
        if code in SUPPORTED:
            return code
    return None


def detect_language(environ: dict[str, str] | None = None) -> str:
    """The language the environment asks for: MAILPROV_LANG, then the POSIX variables."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_LANG)
    if explicit:
        return _normalise(explicit) or "en"
    for name in _SYSTEM_VARIABLES:
        value = env.get(name)
        if value:
            # the first variable that is set decides, as in gettext, even if it says C
            return _normalise(value) or "en"
    return "en"


def set_language(language: str | None) -> str:
    """Choose the language of every later message (None: from the environment)."""
    global _chosen, _translation
    _chosen = (_normalise(language) or "en") if language else detect_language()
    _translation = None
    return _chosen


def language() -> str:
    """The language in use."""
    if _chosen is None:
        set_language(None)
    assert _chosen is not None
    return _chosen


def _catalog() -> _gettext.NullTranslations:
    global _translation
    if _translation is None:
        lang = language()
        if lang == "en":
            _translation = _gettext.NullTranslations()
        else:
            _translation = _gettext.translation(DOMAIN, LOCALE_DIR, [lang], fallback=True)
    return _translation


def _(message: str) -> str:
    """The message in the chosen language (the English text when it has no translation)."""
    return _catalog().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for `count`, in the chosen language."""
    return _catalog().ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark a message for extraction where it is defined, translated later where shown."""
    return message


# Text a plan or the history stores, in English, and shows in the reader's language.
#
# A plan's warnings, password notes, conflicts and safety refusals are written into its
# JSON (and a saved plan is signed): that JSON must be the same bytes in every language.
# `stored()` makes such a text: a `str` whose value is the English message (what JSON,
# `str()`, `+` and equality see), which `shown()` translates. Formatting it for display
# (an f-string or `str.format`) shows it translated too. A saved plan keeps each such
# text's id and values (stored_json), and reading it back makes it a stored text again
# (stored_from_json); a plan saved without them is shown in English, as written.


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


# A saved plan keeps each stored text's message id and values beside its English text
# (`message_template`), so that `show`, `apply` and `ci comment` of a plan saved in any
# language say it in the reader's: the JSON is the same in every language all the same.


def stored_json(text: Any) -> dict[str, Any] | None:
    """A stored text's message id and values (None for a plain text)."""
    if not isinstance(text, Stored):
        return None
    values: dict[str, Any] = {}
    for name, value in text._params.items():
        nested = stored_json(value)
        if nested is not None:
            values[name] = nested
        elif value is None or isinstance(value, (str, int, float, bool)):
            values[name] = value
        else:
            values[name] = _english(value) if isinstance(value, Joined) else str(value)
    return {"id": text._msgid, "plural": text._plural, "count": text._count, "values": values}


def stored_from_json(data: Any, english: str) -> str:
    """`english` as read from a saved plan, shown in the reader's language when `data`
    (stored_json) renders exactly that English text; else `english` as it is (a plan
    saved before templates were kept, or edited by hand)."""
    text = _from_json(data, 0)
    return text if text is not None and str.__str__(text) == english else english


def _from_json(data: Any, depth: int) -> Stored | None:
    """A Stored text from its template, or None when the template is not one mailprov
    writes: only plain `{name}` fields (a format spec could make any text huge)."""
    import string

    if depth > 3 or not isinstance(data, dict):
        return None
    msgid, plural, count, values = (data.get(k) for k in ("id", "plural", "count", "values"))
    if not isinstance(msgid, str) or not (plural is None or isinstance(plural, str)) \
            or not isinstance(count, int) or isinstance(count, bool) \
            or not isinstance(values, dict) or len(msgid) > 2000 or len(values) > 20:
        return None
    try:
        for form in (msgid, plural or ""):
            for _literal, field, spec, conversion in string.Formatter().parse(form):
                if field is not None and (spec or conversion or not field.isidentifier()
                                          or field not in values):
                    return None
    except ValueError:
        return None
    params: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            nested = _from_json(value, depth + 1)
            if nested is None:
                return None
            params[name] = nested
        elif value is None or isinstance(value, (str, int, float, bool)):
            params[name] = value
        else:
            return None
    return Stored(msgid, plural, count, **params)


def _english(value: Any) -> Any:
    return str.__str__(value) if isinstance(value, Stored | Joined) else value


def shown(text: Any) -> Any:
    """A text as the reader sees it: a stored text translated, anything else as it is."""
    return text.shown() if isinstance(text, Stored | Joined) else text

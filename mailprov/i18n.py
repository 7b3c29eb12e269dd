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
from pathlib import Path

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

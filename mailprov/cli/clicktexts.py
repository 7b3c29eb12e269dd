"""click's own texts (the usage line, option headings, its parsing errors) in the chosen
language.

click marks its messages for gettext, but looks them up in the process's default gettext
domain, in the language of the environment: it cannot follow `--lang` or MAILPROV_LANG,
and no French catalog ships with it. Its modules call `_` and `ngettext` imported from
gettext; `install()` points those names at functions that, while mailprov's command line
runs (`active()`, entered by its group), look click's messages up in mailprov's catalog,
where the ones a user meets are marked below, and otherwise call gettext as click would:
another click program in the same process keeps click's texts. A click release whose
modules no longer hold those names keeps its English texts (tests/test_cli_language.py
says so).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import click

from mailprov.i18n import N_, _, ngettext

_ACTIVE: ContextVar[bool] = ContextVar("mailprov_click_texts", default=False)

HELP_OPTION = N_("Show this message and exit.")
"""The help of `-h/--help`: click makes that option once per command; each run gives it
this text in its own language (mailprov.cli.translated)."""

TEXTS = (
    N_("Usage:"), HELP_OPTION,
    # Translators: a heading click writes before ':' (French: end it with a no-break space)
    N_("Options"), N_("Commands"), N_("Positional arguments"),
    N_("default: {default}"), N_("env var: {var}"), N_("required"), N_("deprecated"),
    N_("(dynamic)"), N_("Aborted!"), N_("Missing command."), N_("Missing argument"),
    N_("Missing option"), N_("Missing parameter"), N_("Missing parameter: {param_name}"),
    N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
    N_("Try '{command} {option}' for help."), N_("No such option {name!r}."),
    N_("No such command {name!r}."), N_("Option {name!r} does not take a value."),
    N_("Argument {name!r} takes {nargs} values."),
    N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("file"), N_("directory"), N_("path"), N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."), N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."), N_("{name} {filename!r} is not writable."),
    N_("Could not open file {filename!r}: {message}"), N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."), N_("Error: invalid input"),
)
"""click's messages that mailprov's catalog translates (`Error: {message}` is mailprov's
own too); any other keeps click's English."""


def _plurals() -> None:  # never called: marks click's plural messages for pybabel
    ngettext("Got unexpected extra argument ({args})",
             "Got unexpected extra arguments ({args})", 1)
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1)
    ngettext("Option {name!r} requires an argument.",
             "Option {name!r} requires {nargs} arguments.", 1)
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1)


@contextmanager
def active() -> Iterator[None]:
    """While mailprov's command line runs: click's messages in mailprov's language."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _click_gettext(message: str) -> str:
    return _(message) if _ACTIVE.get() else gettext.gettext(message)


def _click_ngettext(singular: str, plural: str, count: int) -> str:
    return ngettext(singular, plural, count) if _ACTIVE.get() \
        else gettext.ngettext(singular, plural, count)


def install() -> None:
    """Let click's modules look their messages up through `_click_gettext` (see the
    module's docstring). Called once the commands are defined: the texts click reads
    while they are defined stay English, and are shown translated where mailprov shows
    them."""
    from click import core, decorators, exceptions, formatting, parser, termui, types

    for module in (core, decorators, exceptions, formatting, parser, termui, types):
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


def installed() -> bool:
    """Whether click's usage line goes through mailprov's catalog."""
    return getattr(click.formatting, "_", None) is _click_gettext

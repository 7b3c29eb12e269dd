"""click's own texts (the usage line, option headings, its parsing errors) in the chosen
language.

click marks its messages for gettext, but looks them up in the process's default gettext
domain, in the language of the environment: it cannot follow `--lang` or MAILPROV_LANG,
and no French catalog ships with it. Its modules call `_` and `ngettext` imported from
gettext; `install()` points those names at mailprov.i18n, so that click's messages are
looked up in mailprov's catalog, where the ones a user meets are marked below. A click
release whose modules no longer hold those names keeps its English texts
(tests/test_cli_language.py says so).
"""

from __future__ import annotations

import gettext

import click

from mailprov.i18n import N_, _, ngettext

HELP_OPTION = N_("Show this message and exit.")
"""The help of `-h/--help`, kept in English on the option and translated when shown."""

TEXTS = (
    N_("Usage:"), N_("Options"), N_("Commands"), N_("Positional arguments"), HELP_OPTION,
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


def install() -> None:
    """Make click look its messages up through mailprov.i18n (see the module's
    docstring). Called once the commands are defined: the texts click reads while they
    are defined stay English, and are shown translated where mailprov shows them."""
    from click import core, decorators, exceptions, formatting, parser, termui, types

    for module in (core, decorators, exceptions, formatting, parser, termui, types):
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = ngettext  # type: ignore[attr-defined]


def installed() -> bool:
    """Whether click's usage line goes through mailprov's catalog."""
    return getattr(click.formatting, "_", None) is _

"""Help in the user's language, and machine output in English.

click reads `help=` when a module is imported, before `--lang` is known: help texts are
English messages marked with `N_()`, and these classes pass them through `_()` when the
help is shown. A command whose output is JSON (`--format json`, or a JSON-only command)
runs in English, so that what scripts read is the same in every language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from mailprov.i18n import _, set_language

F = TypeVar("F", bound=Callable[..., Any])


NBSP = "\u00a0"
_HELD = "\x00"
"""Stands for a no-break space while click shortens a help to one line: it splits the
text on whitespace, a no-break space included, and would join the words with spaces."""


@contextmanager
def _translated(thing: Any, *attributes: str, hold: bool = False) -> Iterator[None]:
    """`thing`'s English texts in the chosen language while click formats them (the
    command line is one thread; the English ones are put back after); with `hold`, their
    no-break spaces as _HELD."""
    saved = {name: getattr(thing, name) for name in attributes}
    for name, text in saved.items():
        if text:
            setattr(thing, name, _(text).replace(NBSP, _HELD) if hold else _(text))
    try:
        yield
    finally:
        for name, text in saved.items():
            setattr(thing, name, text)


class _TranslatedHelp(click.Command):
    """A command's help, short help and epilog shown translated; JSON output in English."""

    def __init__(self, *args: Any, json_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json_only = json_only

    def get_short_help_str(self, limit: int = 45) -> str:
        with _translated(self, "help", "short_help", hold=True):
            return super().get_short_help_str(limit).replace(_HELD, NBSP)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated(self, "help"):
            super().format_help_text(ctx, formatter)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _translated(self, "epilog"):
            super().format_epilog(ctx, formatter)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click makes the option once per command, its help in the language of that run:
        # give it the language of this one
        from mailprov.cli.clicktexts import HELP_OPTION

        option = super().get_help_option(ctx)
        if option is not None:
            option.help = _(HELP_OPTION)
        return option

    def invoke(self, ctx: click.Context) -> Any:
        if self.json_only or ctx.params.get("fmt") == "json":
            # JSON is for scripts: its messages, and the errors of the run, in English
            set_language("en")
        return super().invoke(ctx)


class Command(_TranslatedHelp):
    """A mailprov command (see the module's docstring)."""


class Group(_TranslatedHelp, click.Group):
    """A group of mailprov commands; its subcommands and subgroups are of these classes."""

    command_class = Command
    group_class = type  # a subgroup is of its parent's class


class Option(click.Option):
    """An option whose help is shown translated."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        # its placeholder too (`FILE`, `NAME=VALUE`), as the translated help names it
        with _translated(self, "help", "metavar"):
            return super().get_help_record(ctx)


def command(name: str | None = None, **attrs: Any) -> Callable[[F], Command]:
    """click.command with mailprov's Command."""
    attrs.setdefault("cls", Command)
    decorator: Callable[[F], Command] = click.command(name, **attrs)
    return decorator


def group(name: str | None = None, **attrs: Any) -> Callable[[F], Group]:
    """click.group with mailprov's Group."""
    attrs.setdefault("cls", Group)
    decorator: Callable[[F], Group] = click.group(name, **attrs)
    return decorator


def option(*param_decls: str, **attrs: Any) -> Callable[[F], F]:
    """click.option with mailprov's Option."""
    attrs.setdefault("cls", Option)
    return click.option(*param_decls, **attrs)


class Path(click.Path):
    """click.Path whose kind (`file`, `directory` or `path`: the metavar of an option
    without one, and the word its errors start with) is shown in the chosen language:
    click names it when the option is declared, before any language is chosen."""

    @property
    def name(self) -> str:
        return _(self._kind)

    @name.setter
    def name(self, value: str) -> None:
        self._kind = value


"""The root group's duties: the language, chosen before anything is printed, and domain
errors, each one `Error: ...` line (or the configuration's problems) and its exit code;
a traceback is shown only with --debug."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from mailprov.cli.translated import Group
from mailprov.errors import printable
from mailprov.i18n import _, language, ngettext, set_language

LANGUAGES = ("fr", "en")


def error_line(message: str) -> str:
    """`Error: MESSAGE`, in the chosen language."""
    return _("Error: {message}").format(message=message)


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    from mailprov.errors import ConfigError, EditionError, MailprovError

    if debug:
        import traceback

        traceback.print_exc()
    if isinstance(exc, ConfigError) and not isinstance(exc, EditionError):
        for problem in exc.problems:
            click.echo(problem.format(), err=True)
        count = len(exc.problems)
        click.echo(error_line(ngettext(
            "{count} problem in the configuration; nothing was changed.",
            "{count} problems in the configuration; nothing was changed.", count).format(
                count=count)), err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, MailprovError):
        # a message may quote a file's or a database's text: never let it drive the terminal
        click.echo("\n".join(printable(line) for line in error_line(exc.message).split("\n")),
                   err=True)
        sys.exit(exc.exit_code)
    click.echo(error_line(_("unexpected {kind}: {error}. This is a bug in mailprov; run again "
                            "with --debug and report the traceback.").format(
                                kind=exc.__class__.__name__, error=exc)), err=True)
    sys.exit(1)


def _lang_option(args: Sequence[str]) -> str | None:
    """The value of the group's --lang in `args`, read before click parses them (so that
    even the help of the group and of a command, which click prints as it parses, is in
    that language); None when it is not given."""
    for index, arg in enumerate(args):
        if arg == "--lang":
            return args[index + 1] if index + 1 < len(args) else None
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if arg == "--" or not arg.startswith("-"):
            return None  # the command's name: what follows is the command's
    return None


def _json_output(group: click.Group, args: Sequence[str]) -> bool:
    """Whether `args` ask for JSON output (the last `--format json` or `--format=json`, or
    a command whose only output is JSON), read before click parses them, as --lang is.
    Help is for people: `--help` keeps the chosen language."""
    args = list(args[:args.index("--")] if "--" in args else args)
    if "--help" in args or "-h" in args:
        return False
    formats = [value for index, arg in enumerate(args)
               for value in ([arg.partition("=")[2]] if arg.startswith("--format=") else
                             args[index + 1:index + 2] if arg == "--format" else [])]
    if formats:
        return formats[-1] == "json"
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--lang":
            skip = True
        elif arg == "--" or not arg.startswith("-"):
            return bool(getattr(group.commands.get(arg), "json_only", False))
    return False


class MailprovGroup(Group):
    """The `mailprov` group: sets the language, maps domain errors raised by any command
    to one message and an exit code."""

    def main(self, args: Sequence[str] | None = None, *extra: Any, **kwargs: Any) -> Any:
        # in one process (tests, a program calling the group) each run starts from the
        # language it was called in, and leaves it as it found it
        from mailprov.cli.clicktexts import active

        before = language()
        try:
            with active():  # click's own texts (usage, its errors) in that language too
                return super().main(args, *extra, **kwargs)
        finally:
            set_language(before)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        chosen = _lang_option(args)
        set_language(chosen if chosen in LANGUAGES else None)
        if _json_output(self, args):
            set_language("en")  # JSON is for scripts: even a usage error in English
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(_("Interrupted; nothing more was changed."), err=True)
            sys.exit(130)
        except Exception as exc:
            _fail(exc, bool(ctx.params.get("debug") or os.environ.get("MAILPROV_DEBUG")))

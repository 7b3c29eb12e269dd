"""Domain errors become one `Error: ...` line (or the configuration's problems) and
their exit code; a traceback is shown only with --debug."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, NoReturn

import click

from mailprov.errors import printable


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    from mailprov.errors import ConfigError, EditionError, MailprovError

    if debug:
        traceback.print_exc()
    if isinstance(exc, ConfigError) and not isinstance(exc, EditionError):
        for problem in exc.problems:
            click.echo(problem.format(), err=True)
        count = len(exc.problems)
        click.echo(f"Error: {count} problem{'s' if count != 1 else ''} in the configuration; "
                   "nothing was changed.", err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, MailprovError):
        # a message may quote a file's or a database's text: never let it drive the terminal
        click.echo("\n".join(printable(line) for line in f"Error: {exc.message}".split("\n")),
                   err=True)
        sys.exit(exc.exit_code)
    click.echo(f"Error: unexpected {exc.__class__.__name__}: {exc}. This is a bug in "
               "mailprov; run again with --debug and report the traceback.", err=True)
    sys.exit(1)


class MailprovGroup(click.Group):
    """Maps domain errors raised by any command to one message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing more was changed.", err=True)
            sys.exit(130)
        except Exception as exc:
            _fail(exc, bool(ctx.params.get("debug") or os.environ.get("MAILPROV_DEBUG")))


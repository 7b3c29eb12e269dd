"""Prompts for secrets: hidden, refused where there is no terminal to hide them on."""

from __future__ import annotations

import sys

import click

from mailprov.i18n import _


def prompt_suffix() -> str:
    """What follows a question (click writes ': '), spaced as the language wants."""
    # Translators: after a question at a prompt (French: a no-break space before ':')
    return _(": ")


def _hidden_prompt(text: str, no_terminal: str) -> str:
    """One line typed at a hidden prompt. Where there is no terminal to hide it on,
    Python's getpass would warn and read it echoed from standard input: refuse instead,
    with `no_terminal` saying what to do."""
    import getpass
    import warnings

    from mailprov.errors import MailprovError

    with warnings.catch_warnings():
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            value: str = click.prompt(text, hide_input=True, default="", show_default=False,
                                      prompt_suffix=prompt_suffix())
        except getpass.GetPassWarning:
            raise MailprovError(_("no terminal to type the password on (it would be echoed): "
                                  "{hint}").format(hint=no_terminal)) from None
        except click.Abort:  # end of input, or Ctrl-C, at the prompt
            raise MailprovError(_("no password was entered (the input ended); nothing was "
                                  "changed")) from None
    return value


def _new_secret(text: str, no_terminal: str) -> str:
    """A secret typed twice at hidden prompts; a mismatch or an empty one is refused
    (click's own confirmation would ask again forever)."""
    from mailprov.errors import MailprovError

    first = _hidden_prompt(text, no_terminal)
    if not first:
        raise MailprovError(_("the password is empty; nothing was changed"))
    second = _hidden_prompt(_("Repeat it"), no_terminal)
    if first != second:
        raise MailprovError(_("the two passwords do not match; nothing was changed"))
    return first


def _stdin_line(what: str) -> str:
    """Exactly one line of standard input (its line ending removed), nothing more read."""
    from mailprov.errors import MailprovError

    line = sys.stdin.readline()
    if not line:
        raise MailprovError(_("nothing on standard input: --stdin reads {what} from one "
                              "line").format(what=what))
    return line.removesuffix("\n").removesuffix("\r")


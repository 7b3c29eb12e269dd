"""`test-send`: a real test message the way maestro* would send it."""

from __future__ import annotations

import sys
from typing import Any

import click

from mailprov.cli.common import _color, _target, config_option, db_option, target_option
from mailprov.cli.prompts import _hidden_prompt
from mailprov.cli.translated import Path, command, option
from mailprov.i18n import N_, _


@command("test-send", help=N_(
    "Send a real test message the way maestro* would, and explain any failure.\n"
    "\n"
    "Uses USER's settings from the database and their stored password (decrypted with\n"
    "the target's password codec), verifying the server's certificate. Prints each step\n"
    "(connect, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA) with its time. Exits 1 if\n"
    "any check fails.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov test-send COMPTA --to it@example.com\n"
    "  mailprov test-send COMPTA --check --tls implicit\n"
    "  mailprov test-send --all --check --format json"))
@click.argument("user", required=False)
@option("--to", "to", metavar=N_("ADDRESS"), help=N_("Send the test message to this address."))
@config_option
@target_option
@db_option
@option("--all", "all_users", is_flag=True,
        help=N_("Every user of the target who sends through SMTP of their own."))
@option("--check", is_flag=True, help=N_("Connect and log in, but send nothing."))
@option("--tls", type=click.Choice(["starttls", "implicit", "none"]),
        help=N_("Try this TLS mode instead of maestro*'s (SSL checked = STARTTLS)."))
@option("--cafile", type=Path(dir_okay=False),
        help=N_("Also trust this CA certificate (PEM), for a private CA."))
@option("--ask-password", is_flag=True,
        help=N_("Type the password at a hidden prompt instead of the stored one (not "
                "stored)."))
@option("--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True,
        metavar=N_("SECONDS"),
        help=N_("Seconds to wait for each network operation."))
@option("--parallel", type=click.IntRange(1, 32), default=4, show_default=True, metavar="N",
        help=N_("With --all: how many users are checked at once."))
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format."))
@option("--debug", "transcript", is_flag=True,
        help=N_("Also show the SMTP dialogue (passwords masked)."))
@click.pass_context
def test_send(ctx: click.Context, user: str | None, to: str | None, configs: tuple[str, ...],
              target: str | None, db_url: str | None, all_users: bool, check: bool,
              tls: str | None, cafile: str | None, ask_password: bool, timeout: float,
              parallel: int, fmt: str, transcript: bool) -> None:
    from mailprov import api
    from mailprov.errors import MailprovError

    if all_users == bool(user):
        raise MailprovError(_("name one USER, or give --all (not both)"))
    if all_users and ask_password:
        raise MailprovError(_("--ask-password is for one user; with --all the stored "
                              "passwords are used"))
    debug = transcript or bool(ctx.find_root().params.get("debug"))
    resolved = _target(configs, target, db_url)
    mode: Any = tls
    if user:
        prompt = None
        if ask_password:
            def prompt(settings: Any) -> str:
                return _hidden_prompt(_("SMTP password of {user} (login {login}; not stored)")
                                      .format(user=user, login=settings.username),
                                      _("run it in a terminal, or without --ask-password to "
                                        "use the stored password"))
        report = api.test_send(user, resolved, to=to, check_only=check, tls=mode, cafile=cafile,
                               timeout=timeout, password_prompt=prompt, debug=debug)
        reports = [report]
        if fmt == "text":
            from mailprov.render.testsend import render_report

            click.echo(render_report(report, debug=debug), nl=False)
    else:
        progress = _ProgressBar() if fmt == "text" and _color(sys.stderr) else None
        try:
            reports = api.test_send_all(resolved, to=to, check_only=check, tls=mode,
                                        cafile=cafile, timeout=timeout, parallel=parallel,
                                        debug=debug, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        if fmt == "text":
            from mailprov.render.testsend import render_table

            click.echo(render_table(reports, debug=debug), nl=False)
    if fmt == "json":
        from mailprov.render.testsend import render_json

        click.echo(render_json(resolved.name, reports), nl=False)
    if not all(r.ok for r in reports):
        sys.exit(1)


class _ProgressBar:
    """click's progress bar on standard error, drawn as checks end (terminals only)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int, report: Any) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=_("Checking"), file=sys.stderr,
                                         show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.done, report.user_code)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


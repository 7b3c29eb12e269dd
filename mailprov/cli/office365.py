"""`office365 status` and `migrate office365`: Office 365 – Modern Authentication."""

from __future__ import annotations

import click

from mailprov.cli.common import (
    _target,
    config_option,
    db_option,
    live_warning_lines,
    target_option,
    var_option,
)
from mailprov.cli.translated import group, option
from mailprov.errors import printable
from mailprov.i18n import N_, _, ngettext


@group(help=N_(
    "Office 365 – Modern Authentication (maestro* 3.05): who sends with it, and who has\n"
    "authenticated in maestro*.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov office365 status\n"
    "  mailprov office365 status --pending --format json"))
def office365() -> None:
    pass


@office365.command("status", help=N_(
    "Every user who sends with Office 365 (their own mode, or the general default), their\n"
    "account, and whether they have signed in once in maestro* (Préférences > Courriel >\n"
    "Authentifier). mailprov never handles the OAuth tokens; it reads when the user\n"
    "authenticated, so that you know whom to remind.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov office365 status -t prod\n"
    "  mailprov office365 status --pending --format json"))
@config_option
@target_option
@db_option
@option("--pending", is_flag=True,
        help=N_("Only the users who have not authenticated yet."))
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format."))
def office365_status(configs: tuple[str, ...], target: str | None, db_url: str | None,
                     pending: bool, fmt: str) -> None:
    from mailprov import api
    from mailprov.render.office365 import render_status_json, render_status_text

    status = api.office365_status(_target(configs, target, db_url))
    for line in live_warning_lines(status.warnings):
        click.echo(line, err=True)
    if fmt == "json":
        click.echo(render_status_json(status, pending_only=pending), nl=False)
    else:
        click.echo(render_status_text(status, pending_only=pending), nl=False)


@group(help=N_(
    "Rewrite the configuration files for a change of maestro* or of a provider.\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov migrate office365 --dry-run"))
def migrate() -> None:
    pass


@migrate.command("office365", help=N_(
    "Move every user who sends through smtp.office365.com with a password to Office 365 –\n"
    "Modern Authentication (maestro* 3.05), before Microsoft turns password-based SMTP\n"
    "AUTH off (end of December 2026). The files are edited in place, comments and layout\n"
    "kept: a user's `smtp:` becomes `office365: {email: LOGIN}`, or a profile that all its\n"
    "users leave is rewritten once. The diff is printed; then `mailprov plan` shows the\n"
    "moves.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov migrate office365 --dry-run\n"
    "  mailprov migrate office365 --users 'COMPTA*,PAIE'"))
@config_option
@option("--users", "patterns", multiple=True, metavar=N_("SELECTION"),
        help=N_("Only the users whose code matches (globs such as 'COMPTA*', comma "
                "separated or repeated). Default: every user."))
@option("--dry-run", is_flag=True, help=N_("Print the diff; write nothing."))
@var_option
def migrate_office365(configs: tuple[str, ...], patterns: tuple[str, ...], dry_run: bool,
                      variables: tuple[str, ...]) -> None:
    from mailprov import api

    selection = [p.strip() for text in patterns for p in text.split(",") if p.strip()]
    migration = api.migrate_office365(list(configs) or None, selection or None,
                                      variables=list(variables), dry_run=dry_run)
    diff = migration.diff()
    if diff:
        click.echo("\n".join(printable(line) for line in diff.splitlines()))
    for moved in migration.moved:
        text = _("{who}: Office 365 account {email} ({file}, {where}); {note}") if moved.note \
            else _("{who}: Office 365 account {email} ({file}, {where})")
        click.echo(text.format(who=moved.who, email=moved.email, file=moved.file,
                               where=moved.where, note=moved.note), err=True)
    for skipped in migration.skipped:
        click.echo(_("{who}: not moved: {reason}").format(who=skipped.who,
                                                          reason=skipped.reason), err=True)
    if not migration.moved:
        click.echo(_("Nobody to move: no user the files list sends through "
                     "smtp.office365.com with a password."))
        return
    count = len(migration.codes) + len(migration.selections)
    if dry_run:
        click.echo(ngettext("Dry run: {count} entry would move to Office 365; nothing was "
                            "written.",
                            "Dry run: {count} entries would move to Office 365; nothing was "
                            "written.", count).format(count=count))
    else:
        click.echo(ngettext("{count} entry moved to Office 365 – Modern Authentication in "
                            "{files}. Review with `mailprov plan`; each user then signs in "
                            "once in maestro*.",
                            "{count} entries moved to Office 365 – Modern Authentication in "
                            "{files}. Review with `mailprov plan`; each user then signs in "
                            "once in maestro*.", count).format(
            count=count, files=", ".join(migration.texts)))


"""The `mailprov` command: parses arguments, calls mailprov.api, renders the result.

Nothing else lives here. The group is defined here; each family of commands lives in a
module of its own, and imports what it needs late, inside the command, so that start-up
stays cheap. Domain errors become `Error: ...` and their exit code (mailprov.cli.errors).
"""

from __future__ import annotations

import click

from mailprov import __version__
from mailprov.cli import (
    checks,
    ci,
    clicktexts,
    history,
    office365,
    plans,
    secrets,
    testsend,
    users,
)
from mailprov.cli.errors import LANGUAGES, MailprovGroup
from mailprov.cli.translated import Option, group, option
from mailprov.i18n import N_


@group(cls=MailprovGroup, context_settings={"help_option_names": ["-h", "--help"],
                                            "max_content_width": 100}, help=N_(
    "Config-as-code for how maestro* sends e-mail.\n"
    "\n"
    "Describe the default mail client, the SMTP server and per-user overrides\n"
    "in mailprov.yaml; `plan` shows what would change in the maestro* database,\n"
    "`apply` makes it so.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov validate\n"
    "  mailprov plan -t prod --format markdown\n"
    "  mailprov --lang fr apply --auto-approve"))
@click.version_option(__version__, prog_name="mailprov", cls=Option,
                      help=N_("Show the version and exit."))
@option("--debug", is_flag=True, help=N_("Show tracebacks of errors."))
@option("--lang", type=click.Choice(LANGUAGES), metavar="[fr|en]", help=N_(
    "Language of messages and help (default: MAILPROV_LANG, else LANGUAGE, LC_ALL, "
    "LC_MESSAGES, LANG; English when none names French). JSON output is always in "
    "English."))
def cli(debug: bool, lang: str | None) -> None:
    # --lang was applied before the arguments were parsed (MailprovGroup.parse_args)
    pass


for _command in (
        plans.plan, plans.apply, plans.show,
        checks.validate, checks.schema, checks.explain, checks.sandbox, checks.init,
        checks.import_,
        history.drift, history.history, history.rollback,
        secrets.login, secrets.password, secrets.key, testsend.test_send,
        users.users, ci.ci, office365.office365, office365.migrate):
    cli.add_command(_command)


clicktexts.install()  # click's own texts in the chosen language, once the commands exist


def main() -> None:
    cli(prog_name="mailprov")

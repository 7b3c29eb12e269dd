"""The `mailprov` command: parses arguments, calls mailprov.api, renders the result.

Nothing else lives here. The group is defined here; each family of commands lives in a
module of its own, and imports what it needs late, inside the command, so that start-up
stays cheap. Domain errors become `Error: ...` and their exit code (mailprov.cli.errors).
"""

from __future__ import annotations

import click

from mailprov import __version__
from mailprov.cli import checks, ci, history, office365, plans, secrets, testsend, users
from mailprov.cli.errors import MailprovGroup


@click.group(cls=MailprovGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                  "max_content_width": 100})
@click.version_option(__version__, prog_name="mailprov")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def cli(debug: bool) -> None:
    """Config-as-code for how maestro* sends e-mail.

    Describe the default mail client, the SMTP server and per-user overrides
    in mailprov.yaml; `plan` shows what would change in the maestro* database,
    `apply` makes it so.

    \b
    Examples:
      mailprov validate
      mailprov plan -t prod --format markdown
      mailprov apply --auto-approve
    """


for _command in (
        plans.plan, plans.apply, plans.show,
        checks.validate, checks.schema, checks.explain, checks.sandbox, checks.init,
        checks.import_,
        history.drift, history.history, history.rollback,
        secrets.login, secrets.password, secrets.key, testsend.test_send,
        users.users, ci.ci, office365.office365, office365.migrate):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="mailprov")

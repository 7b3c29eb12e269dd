"""Commands on the files and on one user: `validate`, `schema`, `explain`, `init`,
`import` and `sandbox`."""

from __future__ import annotations

import os
import sys

import click

from mailprov.cli.common import (
    _complete_users,
    _optional_config,
    _policy_files,
    _target,
    config_option,
    db_option,
    policy_option,
    target_option,
    var_option,
)
from mailprov.cli.translated import Path, command, option
from mailprov.errors import printable
from mailprov.i18n import N_, _, ngettext


@command(help=N_(
    "Check configuration files offline: YAML, schema and rules. No database.\n"
    "\n"
    "FILES (as pre-commit passes them) are checked through the configuration that\n"
    "includes them: ./mailprov.yaml, or the -c files. A file with `version: 1` is a\n"
    "configuration of its own.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov validate\n"
    "  mailprov validate -c mailprov.yaml -c users/compta.yaml\n"
    "  mailprov validate users/compta.yaml --format json\n"
    "  mailprov validate --policy ../it-policy/policy.yaml"))
@click.argument("files", nargs=-1, type=Path(dir_okay=False))
@config_option
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format (json: every problem, for scripts)."))
@var_option
@policy_option
def validate(files: tuple[str, ...], configs: tuple[str, ...], fmt: str,
             variables: tuple[str, ...], policies: tuple[str, ...]) -> None:
    from mailprov import api
    from mailprov.config.semantic import live_inheritors, live_inheritors_note
    from mailprov.errors import ConfigError

    result = api.validate(files, configs, variables=list(variables),
                          policy_files=_policy_files(policies))
    if fmt == "json":
        import json

        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        if not result.valid:
            sys.exit(1)
        return
    for warning in result.warnings:
        click.echo(warning.format(), err=True)
    if not result.valid:
        raise ConfigError(result.errors)
    counts = result.counts()
    if counts["office365"]:
        click.echo(_("Valid: {files} file(s), {users} user(s) ({overrides} with an SMTP "
                     "override, {office365} with Office 365), {targets} target(s).").format(
            **counts))
    else:
        click.echo(_("Valid: {files} file(s), {users} user(s) ({overrides} with an SMTP "
                     "override), {targets} target(s).").format(**counts))
    inheritors = sum(live_inheritors(config) for config in result.configs)
    if inheritors:
        click.echo(live_inheritors_note(inheritors))


@command(json_only=True, help=N_(
    "Print the JSON Schema of configuration files (for editors and CI).\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov schema > schemas/mailprov.schema.json"))
@option("--mapping", is_flag=True, help=N_("Print the schema of mapping files instead."))
def schema(mapping: bool) -> None:
    from mailprov import api

    text = api.schema_text(mapping=mapping)
    click.echo(text, nl=not text.endswith("\n"))


@command(name="import", help=N_(
    "Write the live configuration of a target as mailprov YAML.\n"
    "\n"
    "The file plans to \"No changes\" on the same database. A live value that cannot be\n"
    "written as valid configuration (port 99999, a trailing space, an invalid From\n"
    "address) is reported and nothing is written, unless --allow-invalid.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov import -t sqlite:///maestro.db -o mailprov.yaml\n"
    "  mailprov import -t prod --schema schemas/mailprov.schema.json > live.yaml"))
@config_option
@target_option
@db_option
@option("-o", "--output", type=Path(dir_okay=False),
        help=N_("Write to this file instead of standard output."))
@option("--force", is_flag=True, help=N_("Overwrite the output file if it exists."))
@option("--schema", "schema_ref", metavar=N_("PATH_OR_URL"),
        help=N_("Where the editor modeline points (e.g. schemas/mailprov.schema.json, "
                "written by `mailprov schema`)."))
@option("--allow-invalid", is_flag=True,
        help=N_("Write live values that are not valid configuration commented out, "
                "with the reason, instead of refusing."))
def import_(configs: tuple[str, ...], target: str | None, db_url: str | None,
            output: str | None, force: bool, schema_ref: str | None,
            allow_invalid: bool) -> None:
    from mailprov import api
    from mailprov.errors import MailprovError

    resolved = _target(configs, target, db_url)
    if output and os.path.exists(output) and not force:
        raise MailprovError(_("{output} already exists: choose another file, or add "
                              "--force").format(output=output))
    if output and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise MailprovError(_("cannot write {output}: its folder does not exist; create it "
                              "first").format(output=output))
    export = api.import_live(resolved, schema_ref,
                             folder=os.path.dirname(os.path.abspath(output)) if output else None)
    for warning in export.warnings:
        click.echo(_("Warning: {message}").format(message=printable(warning)), err=True)
    text = export.checked(allow_invalid)
    for problem in export.problems:
        click.echo(_("Warning: {problem} (commented out)").format(
            problem=printable(problem.message)), err=True)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise MailprovError(_("cannot write {output}: {reason}").format(
                output=output, reason=exc.strerror)) from None
        click.echo(_("Wrote {output}.").format(output=output), err=True)
    else:
        click.echo(text, nl=False)


@command(help=N_(
    "Show how one user sends e-mail, and why; with the files, what they make of the\n"
    "user and where each value comes from (profile, template, CSV row, preset...).\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov explain COMPTA -t prod\n"
    "  mailprov explain COMPTA --format json"))
@click.argument("user", shell_complete=_complete_users)
@config_option
@target_option
@db_option
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format."))
@var_option
def explain(user: str, configs: tuple[str, ...], target: str | None, db_url: str | None,
            fmt: str, variables: tuple[str, ...]) -> None:
    from mailprov import api
    from mailprov.render.explain import explanation_json, render_explanation

    config = _optional_config(configs, variables, target=target)
    resolved = api.resolve_target(config, target, db_url)
    info = api.explain(user, resolved, config)
    if fmt == "json":
        click.echo(explanation_json(info, resolved.name), nl=False)
    else:
        click.echo(render_explanation(info, resolved.name), nl=False)


@command(help=N_(
    "Create a reference-model maestro* database with sample users, to try mailprov.\n"
    "\n"
    "With the default --model 2 (maestro* 3.05), one person in four sends with Office 365\n"
    "and some of them have authenticated already; --model 1 makes the database of a\n"
    "maestro* before 3.05.\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov sandbox sqlite:///maestro-test.db --users 50\n"
    "  mailprov sandbox sqlite:///maestro-cloud.db --edition cloud\n"
    "  mailprov sandbox sqlite:///maestro-old.db --model 1"))
@click.argument("url")
@option("--users", type=click.IntRange(0, 1_000_000), default=25, show_default=True, metavar="N",
        help=N_("How many users to create."))
@option("--edition", type=click.Choice(["standard", "cloud"]), default="standard",
        show_default=True, help=N_("The maestro* edition (cloud: maestro*CLOUD)."))
@option("--model", type=click.IntRange(1, 2), default=2, show_default=True, metavar="[1|2]",
        help=N_("Reference model version: 2 is maestro* 3.05 (Office 365 – Modern "
                "Authentication), 1 an earlier maestro*."))
@option("--force", is_flag=True, help=N_("Drop and re-create existing tables."))
def sandbox(url: str, users: int, edition: str, model: int, force: bool) -> None:
    from mailprov import api
    from mailprov.config.urls import redact
    from mailprov.db.sandbox import sample_users, with_office365

    count = api.sandbox(url, users=users, edition=edition, force=force, model=model)
    click.echo(ngettext("Created a {edition} sandbox with {count} user in {url}.",
                        "Created a {edition} sandbox with {count} users in {url}.", count).format(
        edition=edition, count=count, url=redact(url)))
    if model >= 2:
        office365 = [u for u in with_office365(sample_users(users, edition), edition)
                     if u.office365]
        signed_in = sum(1 for u in office365 if u.authenticated_at)
        click.echo(ngettext(
            "Reference model version 2 (maestro* 3.05): {count} user sends with Office 365 – "
            "Modern Authentication, {signed} of them authenticated (`mailprov office365 "
            "status`).",
            "Reference model version 2 (maestro* 3.05): {count} users send with Office 365 – "
            "Modern Authentication, {signed} of them authenticated (`mailprov office365 "
            "status`).", len(office365)).format(count=len(office365), signed=signed_in))


@command(help=N_(
    "Scaffold a configuration repository: mailprov.yaml (with the schema modeline),\n"
    "users/, .gitignore, the pre-commit configuration, the CI files and a README.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov init maestro-mail --ci github\n"
    "  mailprov init . --from-db postgresql://mailprov@db/maestro --ci gitlab"))
@click.argument("folder", default=".", type=Path(file_okay=False))
@option("--from-db", metavar="URL", help=N_("Start from the live configuration of this "
                                            "database (as `mailprov import` writes it)."))
@option("--ci", "ci_provider", type=click.Choice(["github", "gitlab"]),
        help=N_("Also write the CI workflow of this provider."))
@option("--target", "target_name", default="prod", show_default=True,
        help=N_("The name of the target in mailprov.yaml and the CI files."))
@option("--force", is_flag=True, help=N_("Overwrite files that exist."))
@option("--allow-invalid", is_flag=True, help=N_(
    "With --from-db: write live values that are not valid configuration commented out, "
    "each with its reason."))
def init(folder: str, from_db: str | None, ci_provider: str | None, target_name: str,
         force: bool, allow_invalid: bool) -> None:
    import re

    from mailprov import api
    from mailprov.errors import MailprovError

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", target_name):
        raise MailprovError(_("'{name}' is not a target name: use letters, digits, '.', "
                              "'_' and '-' (up to 64)").format(name=target_name))
    written = api.init(folder, target=target_name, ci=ci_provider, from_db=from_db,
                       force=force, allow_invalid=allow_invalid)
    for name in written:
        click.echo(os.path.join(folder, name))
    if from_db:  # the URL is written already
        click.echo(_("Next: `cd {folder} && git init && pre-commit install`, then `mailprov "
                     "plan`.").format(folder=folder), err=True)
    else:
        click.echo(_("Next: `cd {folder} && git init && pre-commit install`, set the target's "
                     "URL in mailprov.yaml, then `mailprov plan`.").format(folder=folder),
                   err=True)


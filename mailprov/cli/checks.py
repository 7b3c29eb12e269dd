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
from mailprov.errors import printable


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@config_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format (json: every problem, for scripts).")
@var_option
@policy_option
def validate(files: tuple[str, ...], configs: tuple[str, ...], fmt: str,
             variables: tuple[str, ...], policies: tuple[str, ...]) -> None:
    """Check configuration files offline: YAML, schema and rules. No database.

    FILES (as pre-commit passes them) are checked through the configuration that
    includes them: ./mailprov.yaml, or the -c files. A file with `version: 1` is a
    configuration of its own.

    \b
    Examples:
      mailprov validate
      mailprov validate -c mailprov.yaml -c users/compta.yaml
      mailprov validate users/compta.yaml --format json
      mailprov validate --policy ../it-policy/policy.yaml
    """
    import json

    from mailprov import api
    from mailprov.config.semantic import live_inheritors, live_inheritors_note
    from mailprov.errors import ConfigError
    from mailprov.i18n import _

    result = api.validate(files, configs, variables=list(variables),
                          policy_files=_policy_files(policies))
    if fmt == "json":
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


@click.command()
@click.option("--mapping", is_flag=True, help="Print the schema of mapping files instead.")
def schema(mapping: bool) -> None:
    """Print the JSON Schema of configuration files (for editors and CI).

    \b
    Example:
      mailprov schema > schemas/mailprov.schema.json
    """
    from mailprov import api

    text = api.schema_text(mapping=mapping)
    click.echo(text, nl=not text.endswith("\n"))


@click.command(name="import")
@config_option
@target_option
@db_option
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--schema", "schema_ref", metavar="PATH_OR_URL",
              help="Where the editor modeline points (e.g. schemas/mailprov.schema.json, "
              "written by `mailprov schema`).")
@click.option("--allow-invalid", is_flag=True,
              help="Write live values that are not valid configuration commented out, "
              "with the reason, instead of refusing.")
def import_(configs: tuple[str, ...], target: str | None, db_url: str | None,
            output: str | None, force: bool, schema_ref: str | None,
            allow_invalid: bool) -> None:
    """Write the live configuration of a target as mailprov YAML.

    The file plans to "No changes" on the same database. A live value that cannot be
    written as valid configuration (port 99999, a trailing space, an invalid From
    address) is reported and nothing is written, unless --allow-invalid.

    \b
    Examples:
      mailprov import -t sqlite:///maestro.db -o mailprov.yaml
      mailprov import -t prod --schema schemas/mailprov.schema.json > live.yaml
    """
    from mailprov import api
    from mailprov.errors import MailprovError
    from mailprov.i18n import _

    resolved = _target(configs, target, db_url)
    if output and os.path.exists(output) and not force:
        raise MailprovError(f"{output} already exists: choose another file, or add --force")
    if output and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise MailprovError(_("cannot write {output}: its folder does not exist; create it "
                              "first").format(output=output))
    export = api.import_live(resolved, schema_ref,
                             folder=os.path.dirname(os.path.abspath(output)) if output else None)
    for warning in export.warnings:
        click.echo(_("warning: {warning}").format(warning=printable(warning)), err=True)
    text = export.checked(allow_invalid)
    for problem in export.problems:
        click.echo(_("warning: {problem} (commented out)").format(
            problem=printable(problem.message)), err=True)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise MailprovError(_("cannot write {output}: {reason}").format(
                output=output, reason=exc.strerror)) from None
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("user", shell_complete=_complete_users)
@config_option
@target_option
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@var_option
def explain(user: str, configs: tuple[str, ...], target: str | None, db_url: str | None,
            fmt: str, variables: tuple[str, ...]) -> None:
    """Show how one user sends e-mail, and why; with the files, what they make of the
    user and where each value comes from (profile, template, CSV row, preset...).

    \b
    Examples:
      mailprov explain COMPTA -t prod
      mailprov explain COMPTA --format json
    """
    from mailprov import api
    from mailprov.render.explain import explanation_json, render_explanation

    config = _optional_config(configs, variables, target=target)
    resolved = api.resolve_target(config, target, db_url)
    info = api.explain(user, resolved, config)
    if fmt == "json":
        click.echo(explanation_json(info, resolved.name), nl=False)
    else:
        click.echo(render_explanation(info, resolved.name), nl=False)


@click.command()
@click.argument("url")
@click.option("--users", type=click.IntRange(0, 1_000_000), default=25, show_default=True,
              help="How many users to create.")
@click.option("--edition", type=click.Choice(["standard", "cloud"]), default="standard",
              show_default=True)
@click.option("--model", type=click.IntRange(1, 2), default=2, show_default=True,
              help="Reference model version: 2 is maestro* 3.05 (Office 365 – Modern "
                   "Authentication), 1 an earlier maestro*.")
@click.option("--force", is_flag=True, help="Drop and re-create existing tables.")
def sandbox(url: str, users: int, edition: str, model: int, force: bool) -> None:
    """Create a reference-model maestro* database with sample users, to try mailprov.

    With the default --model 2 (maestro* 3.05), one person in four sends with Office 365
    and some of them have authenticated already; --model 1 makes the database of a
    maestro* before 3.05.

    \b
    Example:
      mailprov sandbox sqlite:///maestro-test.db --users 50
      mailprov sandbox sqlite:///maestro-cloud.db --edition cloud
      mailprov sandbox sqlite:///maestro-old.db --model 1
    """
    from mailprov import api
    from mailprov.config.urls import redact
    from mailprov.db.sandbox import sample_users, with_office365
    from mailprov.i18n import _

    count = api.sandbox(url, users=users, edition=edition, force=force, model=model)
    click.echo(f"Created a {edition} sandbox with {count} users in {redact(url)}.")
    if model >= 2:
        office365 = [u for u in with_office365(sample_users(users, edition), edition)
                     if u.office365]
        signed_in = sum(1 for u in office365 if u.authenticated_at)
        click.echo(_("Reference model version 2 (maestro* 3.05): {count} send with Office 365 "
                     "– Modern Authentication, {signed} of them authenticated "
                     "(`mailprov office365 status`).").format(count=len(office365),
                                                                signed=signed_in))


@click.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False))
@click.option("--from-db", metavar="URL", help="Start from the live configuration of this "
              "database (as `mailprov import` writes it).")
@click.option("--ci", "ci_provider", type=click.Choice(["github", "gitlab"]),
              help="Also write the CI workflow of this provider.")
@click.option("--target", "target_name", default="prod", show_default=True,
              help="The name of the target in mailprov.yaml and the CI files.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.option("--allow-invalid", is_flag=True, help="With --from-db: write live values that "
              "are not valid configuration commented out, each with its reason.")
def init(folder: str, from_db: str | None, ci_provider: str | None, target_name: str,
         force: bool, allow_invalid: bool) -> None:
    """Scaffold a configuration repository: mailprov.yaml (with the schema modeline),
    users/, .gitignore, the pre-commit configuration, the CI files and a README.

    \b
    Examples:
      mailprov init maestro-mail --ci github
      mailprov init . --from-db postgresql://mailprov@db/maestro --ci gitlab
    """
    import re

    from mailprov import api
    from mailprov.errors import MailprovError
    from mailprov.i18n import _

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", target_name):
        raise MailprovError(_("'{name}' is not a target name: use letters, digits, '.', "
                              "'_' and '-' (up to 64)").format(name=target_name))
    written = api.init(folder, target=target_name, ci=ci_provider, from_db=from_db,
                       force=force, allow_invalid=allow_invalid)
    for name in written:
        click.echo(os.path.join(folder, name))
    click.echo(_("Next: `cd {folder} && git init && pre-commit install`, set the target's "
                 "URL in mailprov.yaml, then `mailprov plan`.").format(folder=folder),
               err=True)


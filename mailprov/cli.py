"""The `mailprov` command: parses arguments, calls mailprov.api, renders the result.

Nothing else lives here. Domain errors become `Error: ...` and their exit code;
a traceback is shown only with --debug.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import click

from mailprov import __version__

if TYPE_CHECKING:
    from mailprov.config.targets import ResolvedTarget
    from mailprov.model import Config
    from mailprov.plan.format import Plan

EXIT_CHANGES = 2


def _color(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    from mailprov.errors import ConfigError, MailprovError

    if debug:
        traceback.print_exc()
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            click.echo(problem.format(), err=True)
        count = len(exc.problems)
        click.echo(f"Error: {count} problem{'s' if count != 1 else ''} in the configuration; "
                   "nothing was changed.", err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, MailprovError):
        # a message may quote a file's or a database's text: never let it drive the terminal
        click.echo("\n".join(_printable(line) for line in f"Error: {exc.message}".split("\n")),
                   err=True)
        sys.exit(exc.exit_code)
    click.echo(f"Error: unexpected {exc.__class__.__name__}: {exc}. This is a bug in "
               "mailprov; run again with --debug and report the traceback.", err=True)
    sys.exit(1)


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class _Group(click.Group):
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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"],
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


config_option = click.option(
    "-c", "--config", "configs", multiple=True, type=click.Path(dir_okay=False),
    help="Configuration file (repeatable). Default: mailprov.yaml.")
target_option = click.option(
    "-t", "--target", help="Target name from the configuration, or a database URL.")
db_option = click.option(
    "--db", "db_url", envvar="MAILPROV_DB_URL", help="Database URL that replaces the "
    "target's URL (env MAILPROV_DB_URL).")


def _print_warnings(config: Config) -> None:
    for warning in config.warnings:
        click.echo(warning.format(), err=True)


def _load_config(configs: tuple[str, ...]) -> Config:
    from mailprov import api

    config = api.load_config(list(configs))
    _print_warnings(config)
    return config


def _config_and_target(configs: tuple[str, ...], target: str | None, db_url: str | None
                       ) -> tuple[Config, ResolvedTarget]:
    """plan/apply always need the files (even with -t URL): without them, a clear
    "file not found" rather than a crash on a missing configuration."""
    from mailprov import api

    config = _load_config(configs)
    return config, api.resolve_target(config, target, db_url)


def _target(configs: tuple[str, ...], target: str | None, db_url: str | None
            ) -> ResolvedTarget:
    """A target for commands that need no configuration: the files are read only when
    named with -c, or present as ./mailprov.yaml and the target is not a URL (a URL
    target takes nothing from them)."""
    from mailprov import api
    from mailprov.config.targets import looks_like_url

    wanted = bool(configs) or (os.path.exists("mailprov.yaml")
                               and not (target and looks_like_url(target)))
    config = _load_config(configs) if wanted else None
    return api.resolve_target(config, target, db_url)


@cli.command()
@config_option
def validate(configs: tuple[str, ...]) -> None:
    """Check configuration files offline: YAML, schema and rules. No database.

    \b
    Examples:
      mailprov validate
      mailprov validate -c mailprov.yaml -c users/compta.yaml
    """
    from mailprov import api
    from mailprov.config.semantic import live_inheritors, live_inheritors_note

    config = api.load_config(list(configs))
    _print_warnings(config)
    overrides = sum(1 for u in config.users.values() if u.override is not None)
    click.echo(f"Valid: {len(config.files)} file(s), {len(config.users)} user(s) "
               f"({overrides} with an SMTP override), {len(config.targets)} target(s).")
    inheritors = live_inheritors(config)
    if inheritors:
        click.echo(live_inheritors_note(inheritors))


@cli.command()
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


def _render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return plan.dumps()
    if fmt == "markdown":
        from mailprov.render.markdown import render_markdown

        return render_markdown(plan)
    from mailprov.render.text import render_text

    return render_text(plan, color=_color())


@cli.command()
@config_option
@target_option
@db_option
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Save the plan (JSON) for `mailprov apply PLAN`.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True, help="Output format.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are.")
def plan(configs: tuple[str, ...], target: str | None, db_url: str | None, out: str | None,
         fmt: str, detailed_exitcode: bool) -> None:
    """Show what apply would change in the maestro* database.

    \b
    Examples:
      mailprov plan
      mailprov plan -t prod --out prod.plan.json
      mailprov plan --format markdown > plan.md
      mailprov plan --detailed-exitcode   # drift check: exit 2 on changes
    """
    from mailprov import api
    from mailprov.errors import ConfigError

    config, resolved = _config_and_target(configs, target, db_url)
    result = api.plan(config, resolved, with_commit=bool(out))
    signed = api.save_plan(result, out) if out and not result.errors else False
    click.echo(_render(result, fmt), nl=False)
    if result.errors:  # users the target lacks: shown beside the plan, and an error
        raise ConfigError(result.errors)
    if out:
        how = "signed with the plan key" if signed else "not signed: no plan key is set"
        click.echo(f"Saved the plan to {out} ({how}); apply it with "
                   f"`mailprov apply {out}`.", err=True)
    if detailed_exitcode and result.changes_present:
        sys.exit(EXIT_CHANGES)


def _confirm() -> bool:
    click.echo("Apply these changes? Only 'yes' is accepted: ", nl=False)
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if not answer:
        click.echo("")
    return answer.strip() == "yes"


@cli.command()
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@config_option
@target_option
@db_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for 'yes'.")
@click.option("--force", is_flag=True, help="Apply even if the plan exceeds a safety limit.")
@click.option("--lock-timeout", type=click.FloatRange(0.1, 3600), default=10.0,
              show_default=True, help="Seconds to wait for another apply to finish.")
def apply(plan_file: str | None, configs: tuple[str, ...], target: str | None,
          db_url: str | None, auto_approve: bool, force: bool, lock_timeout: float) -> None:
    """Make the maestro* database match: a saved plan, or a new plan after 'yes'.

    \b
    Examples:
      mailprov apply                      # plan, show, ask for 'yes'
      mailprov apply prod.plan.json       # exactly the saved plan (no prompt)
      mailprov apply --auto-approve -t test
    """
    from mailprov import api
    from mailprov.errors import ApplyDeclined, ConfigError
    from mailprov.render.text import render_text

    def show(plan: Plan) -> None:
        click.echo(render_text(plan, color=_color()), nl=False)

    if plan_file:
        # a saved plan is checked (values, signature, database, staleness) before its
        # text is shown: a refused plan prints the refusal, not a plan that will not run
        saved = api.read_saved_plan(plan_file)
        result = api.apply_saved(saved, target=target, db_url=db_url, force=force,
                                 lock_timeout=lock_timeout)
        show(result.plan)
    else:
        config, resolved = _config_and_target(configs, target, db_url)
        approved = None
        if not auto_approve:
            approved = api.plan(config, resolved)
            show(approved)
            if approved.errors:
                raise ConfigError(approved.errors)
            if not approved.changes_present:
                return
            api.check_safety(approved, force)
            if not _confirm():
                raise ApplyDeclined("apply cancelled: the answer was not 'yes'. "
                                    "Nothing was changed.")
        result = api.apply_config(config, resolved, approved=approved,
                                  show=show if auto_approve else None, force=force,
                                  lock_timeout=lock_timeout)
    if result.history_id is None:
        return
    s = result.plan.summary
    click.echo(f"Apply complete: {s['create']} added, {s['update']} changed, {s['delete']} "
               f"removed (history #{result.history_id}) in {result.database_url}.")


@cli.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True, help="Output format.")
def show(plan_file: str, fmt: str) -> None:
    """Show a saved plan (for example the artifact CI uploaded) as `plan` printed it.

    The plan is checked as apply would check it: every value, and its signature when a
    plan key is set. No database is read.

    \b
    Examples:
      mailprov show prod.plan.json
      mailprov show prod.plan.json --format markdown
    """
    from mailprov import api

    saved = api.read_saved_plan(plan_file)
    status = api.signature_status(saved)
    click.echo(_render(saved.plan, fmt), nl=False)
    click.echo(f"Signature: {status}.", err=True)


@cli.command(name="import")
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
        click.echo(_("warning: {warning}").format(warning=_escaped(warning)), err=True)
    text = export.checked(allow_invalid)
    for problem in export.problems:
        click.echo(_("warning: {problem} (commented out)").format(
            problem=_escaped(problem.message)), err=True)
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


@cli.command()
@click.argument("user")
@config_option
@target_option
@db_option
def explain(user: str, configs: tuple[str, ...], target: str | None, db_url: str | None
            ) -> None:
    """Show how one user sends e-mail, and why.

    \b
    Example:
      mailprov explain COMPTA -t prod
    """
    from mailprov import api
    from mailprov.render.explain import render_explanation

    resolved = _target(configs, target, db_url)
    click.echo(render_explanation(api.explain(user, resolved), resolved.name), nl=False)


@cli.command()
@click.argument("url")
@click.option("--users", type=click.IntRange(0, 1_000_000), default=25, show_default=True,
              help="How many users to create.")
@click.option("--edition", type=click.Choice(["standard", "cloud"]), default="standard",
              show_default=True)
@click.option("--force", is_flag=True, help="Drop and re-create existing tables.")
def sandbox(url: str, users: int, edition: str, force: bool) -> None:
    """Create a reference-model maestro* database with sample users, to try mailprov.

    \b
    Example:
      mailprov sandbox sqlite:///maestro-test.db --users 50
    """
    from mailprov import api
    from mailprov.config.urls import redact

    count = api.sandbox(url, users=users, edition=edition, force=force)
    click.echo(f"Created a {edition} sandbox with {count} users in {redact(url)}.")


@cli.command()
@config_option
@target_option
@db_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def history(configs: tuple[str, ...], target: str | None, db_url: str | None, limit: int
            ) -> None:
    """List past applies on a target (newest first).

    \b
    Example:
      mailprov history -t prod
    """
    from mailprov import api

    resolved = _target(configs, target, db_url)
    from mailprov.render.history import render_history

    click.echo(render_history(api.history(resolved, limit), resolved.name), nl=False)


@cli.command()
@click.argument("target")
@config_option
def login(target: str, configs: tuple[str, ...]) -> None:
    """Store a target's database password in the OS keyring (prompted, hidden).

    \b
    Example:
      mailprov login prod
    """
    from mailprov import api
    from mailprov.errors import MailprovError
    from mailprov.i18n import _

    resolved = _target(configs, target, None)
    api.check_login(resolved)
    if not _stdin_is_terminal():
        raise MailprovError(_(
            "mailprov login asks for the password on a terminal, and standard input is not "
            "one: run it in a terminal, or give the password in MAILPROV_DB_PASSWORD"))
    password = click.prompt(f"Database password for '{resolved.name}'", hide_input=True,
                            confirmation_prompt=True)
    api.login(resolved.name, password)
    click.echo(f"Stored the password of '{resolved.name}' in the OS keyring.")


def _stdin_is_terminal() -> bool:
    """Whether a hidden prompt can be shown (getpass would otherwise read a pipe, warn,
    and abort at its end)."""
    return sys.stdin.isatty()


def _escaped(text: str) -> str:
    """Terminal-safe: what a database holds may carry escape sequences."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def main() -> None:
    cli(prog_name="mailprov")

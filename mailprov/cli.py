"""The `mailprov` command: parses arguments, calls mailprov.api, renders the result.

Nothing else lives here. Domain errors become `Error: ...` and their exit code;
a traceback is shown only with --debug.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

from mailprov import __version__
from mailprov.errors import printable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from click.shell_completion import CompletionItem

    from mailprov.apply.executor import ApplyResult
    from mailprov.config.targets import ResolvedTarget
    from mailprov.fleet.runner import FleetRun
    from mailprov.model import Config
    from mailprov.plan.fleetfile import SavedFleetPlan
    from mailprov.plan.format import Plan
    from mailprov.render.view import FullPlanPlace

T = TypeVar("T")
EXIT_CHANGES = 2


def _(message: str) -> str:
    """mailprov.i18n's `_`, loaded when a message is first shown rather than at start-up."""
    from mailprov.i18n import _ as translate

    return translate(message)

PLAN_FORMATS = ["text", "json", "markdown", "html"]


def _color(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


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


def _names(ctx: click.Context) -> tuple[list[str], list[str]]:
    """Target names and user codes written in the files (-c, or ./mailprov.yaml)."""
    from mailprov.config.roots import names_in_files

    return names_in_files(list(ctx.params.get("configs") or ()))


def _complete_targets(ctx: click.Context, param: click.Parameter, incomplete: str
                      ) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(name) for name in _names(ctx)[0] if name.startswith(incomplete)]


def _complete_users(ctx: click.Context, param: click.Parameter, incomplete: str
                    ) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(code) for code in _names(ctx)[1] if code.startswith(incomplete)]


config_option = click.option(
    "-c", "--config", "configs", multiple=True, type=click.Path(dir_okay=False),
    help="Configuration file (repeatable). Default: mailprov.yaml.")
target_option = click.option(
    "-t", "--target", shell_complete=_complete_targets,
    help="Target name from the configuration, or a database URL.")
targets_option = click.option(
    "-t", "--target", "targets", multiple=True, shell_complete=_complete_targets,
    metavar="NAME|GLOB|URL", help="Target name from the configuration, or a database URL. "
    "Repeatable, and globs over target names (-t 'client-*'): several targets make a fleet.")


def fleet_options(function: Any) -> Any:
    """--all-targets, --shard, --parallel and --fail-fast: what a fleet command takes."""
    options = [
        click.option("--all-targets", is_flag=True, help="Every target of the configuration."),
        click.option("--shard", metavar="K/N", help="Only shard K of N of the selected targets "
                     "(a stable slice by target name, for CI matrix jobs: --shard 2/3)."),
        click.option("--parallel", type=click.IntRange(1, 64), default=4, show_default=True,
                     help="With several targets: how many to work on at once."),
        click.option("--fail-fast", is_flag=True, help="With several targets: start no other "
                     "target after the first error or refusal."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


var_option = click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE",
    help="A template variable (repeatable); overrides `vars:` of the files.")
db_option = click.option(
    "--db", "db_url", envvar="MAILPROV_DB_URL", help="Database URL that replaces the "
    "target's URL (env MAILPROV_DB_URL).")
policy_option = click.option(
    "--policy", "policies", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
    help="A policy file (repeatable): rules no plan may break, beside the files' `policy:`. "
    "MAILPROV_POLICY (a path list) adds more.")


def _policy_files(policies: tuple[str, ...]) -> list[str]:
    """--policy files, then MAILPROV_POLICY's: every one is in force."""
    from mailprov.config.policy import policy_paths

    return policy_paths(policies)


def _print_warnings(config: Config) -> None:
    for warning in config.warnings:
        click.echo(warning.format(), err=True)


def _load_config(configs: tuple[str, ...], variables: tuple[str, ...] = (),
                 policies: tuple[str, ...] | None = None) -> Config:
    """The files; with `policies` (a command that takes --policy), the policy files too,
    MAILPROV_POLICY's included."""
    from mailprov import api

    config = api.load_config(list(configs), list(variables),
                             policy_files=() if policies is None else _policy_files(policies))
    _print_warnings(config)
    return config


def _config_and_target(configs: tuple[str, ...], target: str | None, db_url: str | None,
                       variables: tuple[str, ...] = (), policies: tuple[str, ...] | None = None
                       ) -> tuple[Config, ResolvedTarget]:
    """plan/apply always need the files (even with -t URL): without them, a clear
    "file not found" rather than a crash on a missing configuration."""
    from mailprov import api

    config = _load_config(configs, variables, policies)
    return config, api.resolve_target(config, target, db_url)


def _optional_config(configs: tuple[str, ...], variables: tuple[str, ...] = (), *,
                     target: str | None = None, policies: tuple[str, ...] | None = None
                     ) -> Config | None:
    """The files, when named with -c, or present as ./mailprov.yaml and the target is not
    a URL (a URL target takes nothing from them)."""
    from mailprov.config.targets import looks_like_url

    if configs or (os.path.exists("mailprov.yaml")
                   and not (target and looks_like_url(target))):
        return _load_config(configs, variables, policies)
    return None


def _target(configs: tuple[str, ...], target: str | None, db_url: str | None
            ) -> ResolvedTarget:
    """A target for commands that need no configuration: the files are read only when
    named with -c, or present as ./mailprov.yaml and the target is not a URL (a URL
    target takes nothing from them)."""
    from mailprov import api

    return api.resolve_target(_optional_config(configs, target=target), target, db_url)


@cli.command()
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


def _check_render_options(fmt: str, template: str | None, max_size: int | None) -> None:
    """Options that only a Markdown rendering reads are refused with another format,
    before anything is read (not silently ignored)."""
    from mailprov.errors import MailprovError

    if fmt != "markdown" and (template or max_size):
        option = "--template" if template else "--max-size"
        raise MailprovError(f"{option} applies to --format markdown only: add "
                            "--format markdown, or leave it out")


def _render(plan: Plan, fmt: str, *, template: str | None = None,
            max_size: int | None = None, where: FullPlanPlace | None = None) -> str:
    _check_render_options(fmt, template, max_size)
    if fmt == "json":
        return plan.dumps()
    if fmt == "markdown":
        from mailprov.render.markdown import COMMENT_MAX, render_markdown

        return render_markdown(plan, max_size or COMMENT_MAX, where=where, template=template)
    if fmt == "html":
        from mailprov.render.html import render_html

        return render_html(plan, where)
    from mailprov.render.text import render_text

    return render_text(plan, color=_color())


# --- fleets: several targets in one command ----------------------------------------------


def _one_target(targets: tuple[str, ...]) -> str | None:
    """The one `-t` of a command that is not a fleet (api.fleet_requested said so)."""
    return targets[0] if targets else None


def _shard_text(shard: str | None) -> str | None:
    from mailprov.config.fleet import parse_shard

    return str(parse_shard(shard)) if shard else None


def _refuse_html(fmt: str) -> None:
    from mailprov.errors import MailprovError
    from mailprov.i18n import _

    if fmt == "html":
        raise MailprovError(_("--format html is a page for one target: with several targets, "
                              "use --format text, markdown or json, or -t NAME for one page"))


def _with_progress(total: int, run: Callable[[Any], T]) -> T:
    """Run a fleet with a progress bar on standard error when it is a terminal."""
    from mailprov.render.progress import ProgressBar

    bar = ProgressBar(sys.stderr, total)
    try:
        return run(bar)
    finally:
        bar.close()


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool((root and root.params.get("debug")) or os.environ.get("MAILPROV_DEBUG"))


def _emit_fleet(command: str, run: FleetRun[Any], fmt: str, shard: str | None,
                section: Callable[[Any], str], *,
                detail: Callable[[Any], Mapping[str, Any]] | None = None,
                problems: Callable[[Any], list[str]] | None = None,
                summary_exit: bool = True) -> None:
    """A fleet's output: each target's section (its usual output, or its error), then the
    summary; or one JSON document."""
    from mailprov.i18n import _
    from mailprov.render import fleet as view
    from mailprov.render.escape import md

    summary = view.summarize(command, run, _shard_text(shard))
    if fmt == "json":
        for chunk in view.fleet_json_chunks(summary, run, detail):
            click.echo(chunk, nl=False)
        return
    markdown = fmt == "markdown"
    total = len(run.outcomes)
    for index, outcome in enumerate(run.outcomes, 1):
        click.echo(view.section_heading_markdown(outcome.target) if markdown
                   else view.section_header(outcome.target, index, total))
        click.echo("")
        lines: list[str] = []
        if outcome.value is not None:
            click.echo(section(outcome.value), nl=False)
            lines.extend(problems(outcome.value) if problems else [])
        if outcome.error:
            lines.extend(f"Error: {outcome.error}".split("\n"))
        elif not outcome.ran:
            lines.append(_("Not run: an earlier target failed (--fail-fast)."))
        for line in lines:
            click.echo(md(line) + "  " if markdown else printable(line))
        if outcome.trace and _debug():
            click.echo(outcome.trace, err=True, nl=False)
        click.echo("")
    click.echo(view.render_summary_markdown(summary, with_exit=summary_exit) if markdown
               else view.render_summary_text(summary, with_exit=summary_exit), nl=False)


def _exit_fleet(run: FleetRun[Any]) -> None:
    if run.exit_code:
        sys.exit(run.exit_code)


def _saved_fleet_message(out: str, signed: bool, run: FleetRun[Plan]) -> None:
    from mailprov.i18n import _, ngettext

    saved = sum(1 for o in run.outcomes if o.value is not None and not o.value.errors)
    how = _("signed with the plan key") if signed else _("not signed: no plan key is set")
    click.echo(ngettext("Saved the plan of {count} target to {file} ({how}); apply it with "
                        "`mailprov apply {file}`.",
                        "Saved the plans of {count} targets to {file} ({how}); apply them with "
                        "`mailprov apply {file}`.", saved).format(count=saved, file=out, how=how),
               err=True)
    missing = [o.target for o in run.outcomes if o.value is None or o.value.errors]
    if missing:
        click.echo(_("Not in the file (they could not be planned): {names}.").format(
            names=", ".join(missing)), err=True)


template_option = click.option(
    "--template", type=click.Path(dir_okay=False), metavar="FILE",
    help="A team's own Jinja2 template for --format markdown (rendered in a sandbox, with "
    "the plan's data only).")
max_size_option = click.option(
    "--max-size", type=click.IntRange(2000, 10_000_000), metavar="CHARS",
    help="Markdown: the most characters to print (default 65000, under GitHub's "
    "comment limit); the verdict, counts and warnings are always kept.")


@cli.command()
@config_option
@targets_option
@fleet_options
@db_option
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Save the plan (JSON) for `mailprov apply PLAN` (a fleet's plans: one file).")
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS),
              default="text", show_default=True, help="Output format.")
@template_option
@max_size_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are.")
@var_option
@policy_option
def plan(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
         shard: str | None, parallel: int, fail_fast: bool, db_url: str | None,
         out: str | None, fmt: str, template: str | None, max_size: int | None,
         detailed_exitcode: bool, variables: tuple[str, ...],
         policies: tuple[str, ...]) -> None:
    """Show what apply would change in the maestro* database.

    Several targets (-t a -t b, -t 'client-*', --all-targets, --shard K/N) are planned
    at once: one section per target, a summary, and the worst exit code.

    \b
    Examples:
      mailprov plan
      mailprov plan -t prod --out prod.plan.json
      mailprov plan --format markdown > plan.md
      mailprov plan --format html > plan.html   # for an approver
      mailprov plan --detailed-exitcode   # exit 2 on changes
      mailprov plan -t 'client-*' --out fleet.plan.json
      mailprov plan --all-targets --shard 2/3 --format json > shard-2.json
      mailprov plan --policy ../it-policy/policy.yaml   # rules no plan may break
    """
    from mailprov import api
    from mailprov.errors import ConfigError

    _check_render_options(fmt, template, max_size)
    if api.fleet_requested(targets, all_targets=all_targets, shard=shard):
        _refuse_html(fmt)
        config = _load_config(configs, variables, policies)
        selected = api.select_targets(config, targets, all_targets=all_targets, shard=shard,
                                      db_url=db_url)
        run = _with_progress(len(selected), lambda bar: api.plan_fleet(
            config, selected, parallel=parallel, with_commit=bool(out),
            detailed_exitcode=detailed_exitcode, fail_fast=fail_fast, on_done=bar))
        if out:
            signed = api.save_fleet_plan(run, out, shard=_shard_text(shard))
        _emit_fleet("plan", run, fmt, shard,
                    lambda p: _render(p, fmt, template=template, max_size=max_size,
                                      where=_place(out)),
                    detail=lambda p: {"plan": p.to_json()},
                    problems=lambda p: [problem.format() for problem in p.errors])
        if out:
            _saved_fleet_message(out, signed, run)
        _exit_fleet(run)
        return
    target = _one_target(targets)
    config, resolved = _config_and_target(configs, target, db_url, variables, policies)
    result = api.plan(config, resolved, with_commit=bool(out))
    blocked = result.errors or result.policy_violations
    signed = api.save_plan(result, out) if out and not blocked else False
    where = _place(out)
    click.echo(_render(result, fmt, template=template, max_size=max_size, where=where),
               nl=False)
    if result.errors:  # users the target lacks: shown beside the plan, and an error
        raise ConfigError(result.errors)
    _refuse_violations(result, listed=fmt == "text", done="Nothing was saved." if out else "")
    if out:
        how = "signed with the plan key" if signed else "not signed: no plan key is set"
        click.echo(f"Saved the plan to {out} ({how}); apply it with "
                   f"`mailprov apply {out}`.", err=True)
    if detailed_exitcode and result.changes_present:
        sys.exit(EXIT_CHANGES)


def _refuse_violations(result: Plan, *, listed: bool, done: str = "") -> None:
    """A plan that breaks a policy is an error (exit 1), after it is shown."""
    if result.policy_violations:
        from mailprov.plan.policy import policy_error

        raise policy_error(result.policy_violations, listed=listed, done=done)


def _place(plan_file: str | None) -> FullPlanPlace | None:
    """Where the full plan is, for a page that may show part of it."""
    from mailprov.render.view import FullPlanPlace

    if not plan_file:
        return None
    return FullPlanPlace(os.path.basename(plan_file))


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
@targets_option
@fleet_options
@db_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for 'yes'.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format (json: with a plan file or "
              "--auto-approve).")
@click.option("--force", is_flag=True, help="Apply even if the plan exceeds a safety limit.")
@click.option("--lock-timeout", type=click.FloatRange(0.1, 3600), default=10.0,
              show_default=True, help="Seconds to wait for another apply to finish.")
@var_option
@policy_option
def apply(plan_file: str | None, configs: tuple[str, ...], targets: tuple[str, ...],
          all_targets: bool, shard: str | None, parallel: int, fail_fast: bool,
          db_url: str | None, auto_approve: bool, fmt: str, force: bool, lock_timeout: float,
          variables: tuple[str, ...], policies: tuple[str, ...]) -> None:
    """Make the maestro* database match: a saved plan, or a new plan after 'yes'.

    Several targets (-t a -t b, -t 'client-*', --all-targets, --shard K/N), or a fleet's
    saved plans: each target in its own transaction; a failing target does not stop the
    others (unless --fail-fast); the summary names the targets changed and not.

    \b
    Examples:
      mailprov apply                      # plan, show, ask for 'yes'
      mailprov apply prod.plan.json       # exactly the saved plan (no prompt)
      mailprov apply prod.plan.json --policy ../it-policy/policy.yaml
      mailprov apply --auto-approve -t test
      mailprov apply fleet.plan.json      # each plan of a fleet, to its own target
      mailprov apply --auto-approve -t 'client-*' --parallel 8
    """
    from mailprov import api
    from mailprov.errors import ApplyDeclined, ConfigError, MailprovError
    from mailprov.i18n import _
    from mailprov.plan.fleetfile import SavedFleetPlan
    from mailprov.render.text import render_text

    def show(plan: Plan) -> None:
        if fmt == "text":
            click.echo(render_text(plan, color=_color()), nl=False)

    if fmt == "json" and not (plan_file or auto_approve):
        raise MailprovError(_("--format json cannot ask for 'yes': give a plan file, or "
                              "--auto-approve"))
    fleet = api.fleet_requested(targets, all_targets=all_targets, shard=shard)
    if plan_file:
        # a saved plan is checked (values, signature, database, staleness) before its
        # text is shown: a refused plan prints the refusal, not a plan that will not run
        saved_any = api.read_any_plan(plan_file)
        extra = api.load_policies(_policy_files(policies))
        if isinstance(saved_any, SavedFleetPlan):
            if all_targets or shard:
                raise MailprovError(_("{file} holds the plans of its own targets: select some "
                                      "with -t, not --all-targets or --shard").format(
                                          file=plan_file))
            run = _with_progress(len(saved_any.targets), lambda bar: api.apply_saved_fleet(
                saved_any, names=targets, db_url=db_url, parallel=parallel, force=force,
                lock_timeout=lock_timeout, fail_fast=fail_fast, policies=extra, on_done=bar))
            _emit_fleet("apply", run, fmt, saved_any.shard, _applied_text,
                        detail=_apply_json)
            _exit_fleet(run)
            return
        if fleet:
            raise MailprovError(_("{file} is the plan of one target: apply it without "
                                  "selecting targets").format(file=plan_file))
        result = api.apply_saved(saved_any, target=_one_target(targets), db_url=db_url,
                                 force=force, lock_timeout=lock_timeout, policies=extra)
        show(result.plan)
    elif fleet:
        _apply_fleet(configs, targets, all_targets, shard, parallel, fail_fast, db_url,
                     auto_approve, fmt, force, lock_timeout, variables, policies)
        return
    else:
        target = _one_target(targets)
        config, resolved = _config_and_target(configs, target, db_url, variables, policies)
        approved = None
        if not auto_approve:
            approved = api.plan(config, resolved)
            show(approved)
            if approved.errors:
                raise ConfigError(approved.errors)
            _refuse_violations(approved, listed=True, done="Nothing was changed.")
            if not approved.changes_present:
                return
            api.check_safety(approved, force)
            if not _confirm():
                raise ApplyDeclined("apply cancelled: the answer was not 'yes'. "
                                    "Nothing was changed.")
        result = api.apply_config(config, resolved, approved=approved,
                                  show=show if auto_approve else None, force=force,
                                  lock_timeout=lock_timeout)
    if fmt == "json":
        import json

        click.echo(json.dumps(_apply_json(result), indent=2, ensure_ascii=False))
        return
    if result.history_id is None:
        return
    click.echo(_apply_complete(result))


def _apply_json(result: ApplyResult) -> dict[str, Any]:
    """An apply for scripts: the history row written (null: nothing to change), the
    database written, and the plan applied."""
    return {"apply": {"history_id": result.history_id, "database_url": result.database_url,
                      "plan": result.plan.to_json()}}


def _apply_complete(result: ApplyResult) -> str:
    from mailprov.i18n import _

    s = result.plan.summary
    rollback = result.plan.rollback_of
    text = _("Apply complete: {create} added, {update} changed, {delete} removed (history "
             "#{id}{of}) in {url}.").format(
                 create=s["create"], update=s["update"], delete=s["delete"],
                 id=result.history_id, url=result.database_url,
                 of="" if rollback is None else _(", a rollback of #{id}").format(id=rollback.id))
    if rollback is not None:
        from mailprov.render.rollback import revert_note

        text += "\n" + revert_note(rollback, applied=True)
    return text


def _applied_text(result: ApplyResult) -> str:
    """A target's section in a fleet's apply: its plan, and what was written."""
    from mailprov.render.text import render_text

    text = render_text(result.plan, color=_color())
    return text + (_apply_complete(result) + "\n" if result.history_id is not None else "")


def _apply_fleet(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
                 shard: str | None, parallel: int, fail_fast: bool, db_url: str | None,
                 auto_approve: bool, fmt: str, force: bool, lock_timeout: float,
                 variables: tuple[str, ...], policies: tuple[str, ...]) -> None:
    """Apply the files to a fleet: plan every target and ask for 'yes' once (each target
    is then applied only if its plan is still what was shown), or --auto-approve."""
    from mailprov import api
    from mailprov.apply.executor import ApplyResult
    from mailprov.errors import ApplyDeclined
    from mailprov.fleet.runner import FleetRun, Outcome
    from mailprov.i18n import _, ngettext
    from mailprov.render import fleet as view
    from mailprov.render.text import render_text

    config = _load_config(configs, variables, policies)
    selected = api.select_targets(config, targets, all_targets=all_targets, shard=shard,
                                  db_url=db_url)
    if auto_approve:
        run = _with_progress(len(selected), lambda bar: api.apply_fleet(
            config, selected, parallel=parallel, force=force, lock_timeout=lock_timeout,
            fail_fast=fail_fast, on_done=bar))
        _emit_fleet("apply", run, fmt, shard, _applied_text, detail=_apply_json)
        _exit_fleet(run)
        return
    planned = _with_progress(len(selected), lambda bar: api.plan_fleet(
        config, selected, parallel=parallel, fail_fast=fail_fast, on_done=bar))
    _emit_fleet("plan", planned, "text", shard, lambda p: render_text(p, color=_color()),
                problems=lambda p: [problem.format() for problem in p.errors],
                summary_exit=False)
    approved = {o.target: o.value for o in planned.outcomes
                if o.value is not None and not o.value.errors
                and not o.value.policy_violations}
    changing = [name for name, p in approved.items() if p.changes_present]
    if not changing:
        _exit_fleet(planned)
        return
    click.echo(ngettext("{count} target has changes to apply: {names}.",
                        "{count} targets have changes to apply: {names}.", len(changing)).format(
                            count=len(changing), names=", ".join(changing)))
    if not _confirm():
        raise ApplyDeclined(_("apply cancelled: the answer was not 'yes'. Nothing was changed."))
    chosen = [target for target in selected if target.name in changing]
    applied = _with_progress(len(chosen), lambda bar: api.apply_fleet(
        config, chosen, parallel=parallel, approved=approved, force=force,
        lock_timeout=lock_timeout, fail_fast=fail_fast, on_done=bar)).by_target()
    outcomes: list[Outcome[ApplyResult]] = []
    for outcome in planned.outcomes:
        plan = outcome.value
        if outcome.target in applied:
            outcomes.append(applied[outcome.target])
        elif plan is not None and plan.policy_violations and not plan.errors:
            outcomes.append(Outcome(outcome.target, error=ngettext(
                "not applied: the plan breaks the policy ({count} violation)",
                "not applied: the plan breaks the policy ({count} violations)",
                len(plan.policy_violations)).format(count=len(plan.policy_violations)),
                exit_code=1))
        elif plan is not None and not plan.errors:  # nothing to change: left as it is
            outcomes.append(Outcome(outcome.target, ApplyResult(plan, None, plan.target_url),
                                    exit_code=0, seconds=outcome.seconds))
        else:
            error = outcome.error or ngettext(
                "not applied: {count} user in the files is not in this target",
                "not applied: {count} users in the files are not in this target",
                len(plan.errors) if plan else 0).format(count=len(plan.errors) if plan else 0)
            outcomes.append(Outcome(outcome.target, error=error, exit_code=outcome.exit_code))
    run = FleetRun(tuple(outcomes), stopped=planned.stopped or any(
        not o.ran for o in applied.values()))
    click.echo("")
    for index, done in enumerate(run.outcomes, 1):
        if done.target not in applied or not done.ran:
            continue
        click.echo(view.section_header(done.target, index, len(run.outcomes)))
        if done.value is not None:
            click.echo(_apply_complete(done.value) if done.value.history_id is not None
                       else _("No change was needed."))
        for line in f"Error: {done.error}".split("\n") if done.error else ():
            click.echo(printable(line))
    click.echo("")
    click.echo(view.render_summary_text(view.summarize("apply", run, _shard_text(shard))),
               nl=False)
    _exit_fleet(run)


@cli.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS),
              default="text", show_default=True, help="Output format.")
@template_option
@max_size_option
def show(plan_file: str, fmt: str, template: str | None, max_size: int | None) -> None:
    """Show a saved plan (for example the artifact CI uploaded) as `plan` printed it.

    The plan is checked as apply would check it: every value, and its signature when a
    plan key is set. No database is read.

    \b
    Examples:
      mailprov show prod.plan.json
      mailprov show prod.plan.json --format markdown
      mailprov show prod.plan.json --format html > plan.html   # for an approver
    """
    from mailprov import api
    from mailprov.plan.fleetfile import SavedFleetPlan

    _check_render_options(fmt, template, max_size)
    saved = api.read_any_plan(plan_file)
    if isinstance(saved, SavedFleetPlan):
        _show_fleet(saved, fmt, template, max_size)
        return
    status = api.signature_status(saved)
    click.echo(_render(saved.plan, fmt, template=template, max_size=max_size), nl=False)
    click.echo(f"Signature: {status}.", err=True)


def _show_fleet(saved: SavedFleetPlan, fmt: str, template: str | None,
                max_size: int | None) -> None:
    """A fleet's saved plans: each target's plan as `plan` printed it, the targets that
    could not be planned, and the summary; each plan's signature on standard error."""
    from mailprov import api
    from mailprov.fleet.runner import FleetRun, Outcome
    from mailprov.i18n import _

    _refuse_html(fmt)
    by_name: dict[str, Outcome[Plan]] = {s.plan.target: Outcome(s.plan.target, s.plan,
                                                                exit_code=0)
                                         for s in saved.plans}
    by_name.update((n.target, Outcome(n.target, error=n.message, exit_code=n.exit_code))
                   for n in saved.not_planned)
    run = FleetRun(tuple(by_name[name] for name in saved.targets))
    _emit_fleet("show", run, fmt, saved.shard,
                lambda p: _render(p, fmt, template=template, max_size=max_size),
                detail=lambda p: {"plan": p.to_json()}, summary_exit=False)
    for item in saved.plans:
        click.echo(_("Signature of {target}: {status}.").format(
            target=item.plan.target, status=api.signature_status(item)), err=True)


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


@cli.command()
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


@cli.command()
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


@cli.command()
@config_option
@target_option
@db_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--show", "show_id", type=click.IntRange(1), metavar="N",
              help="Show the changes of apply #N (from any history layout).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def history(configs: tuple[str, ...], target: str | None, db_url: str | None, limit: int,
            show_id: int | None, fmt: str) -> None:
    """List past applies on a target (newest first), or show one with its changes.

    \b
    Examples:
      mailprov history -t prod
      mailprov history --show 12
      mailprov history --format json
    """
    import json

    from mailprov import api
    from mailprov.render.history import history_json, render_history, render_record

    resolved = _target(configs, target, db_url)
    if show_id is not None:
        record = api.history_record(resolved, show_id)
        if fmt == "json":
            click.echo(json.dumps(record.to_json(), indent=2, ensure_ascii=False))
        else:
            click.echo(render_record(record), nl=False)
        return
    if fmt == "json":
        click.echo(history_json(api.history_applies(resolved, limit), resolved.name),
                   nl=False)
        return
    click.echo(render_history(api.history(resolved, limit), resolved.name), nl=False)


@cli.command()
@click.argument("history_id", metavar="N", type=click.IntRange(1))
@config_option
@target_option
@db_option
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Save the rollback plan (JSON) for `mailprov apply PLAN`.")
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS),
              default="text", show_default=True, help="Output format.")
@click.option("--include-later-changes", "include_later", is_flag=True,
              help="Also restore rows changed again since apply N (shown as conflicts), "
              "undoing those later changes.")
@policy_option
def rollback(history_id: int, configs: tuple[str, ...], target: str | None,
             db_url: str | None, out: str | None, fmt: str, include_later: bool,
             policies: tuple[str, ...]) -> None:
    """Plan the rollback of apply N: every row it changed back to its value before it.

    The rollback is a plan like any other: shown here, saved with --out, applied with
    `mailprov apply PLAN` (which refuses it if those rows changed since), and recorded
    in the history as a rollback of N. Rows changed again since N are shown as
    conflicts and left out. Afterwards the files in Git no longer match maestro*:
    revert the commit of apply N (the output names it).

    \b
    Examples:
      mailprov rollback 12 -t prod --out rollback-12.plan.json   # N from `mailprov history`
      mailprov rollback 12 --format markdown > rollback.md
      mailprov apply rollback-12.plan.json
    """
    from mailprov import api

    config = _optional_config(configs, target=target, policies=policies)
    resolved = api.resolve_target(config, target, db_url)
    if config is not None:
        config = config.for_target(resolved.name)  # its own settings and policy, if any
    in_force = config.policies if config is not None else \
        api.load_policies(_policy_files(policies))
    result = api.rollback(resolved, history_id, include_later=include_later,
                          policies=in_force, safety=config.safety if config else None)
    signed = api.save_plan(result, out) if out and not result.policy_violations else False
    click.echo(_render(result, fmt, where=_place(out)), nl=False)
    _refuse_violations(result, listed=fmt == "text", done="Nothing was saved." if out else "")
    if out:
        how = "signed with the plan key" if signed else "not signed: no plan key is set"
        click.echo(f"Saved the rollback plan to {out} ({how}); apply it with "
                   f"`mailprov apply {out}`.", err=True)


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


@cli.command()
@config_option
@targets_option
@fleet_options
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]),
              default="text", show_default=True, help="Output format.")
@max_size_option
@click.option("--strict", is_flag=True, help="Count overrides on users no file lists as "
              "drift too (they are always named).")
def drift(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
          shard: str | None, parallel: int, fail_fast: bool, db_url: str | None, fmt: str,
          max_size: int | None, strict: bool) -> None:
    """Report where maestro* no longer matches the files (someone changed a user by
    hand), field by field, with the apply that last set the files' value.

    Exit 0: no drift; 2: drift; 1: error. Users the files list that maestro* no longer
    has are reported (and count as drift), not an error. Several targets: one section
    each, a summary, and the worst exit code.

    \b
    Examples:
      mailprov drift -t prod
      mailprov drift --format markdown > drift.md   # an issue body
      mailprov drift --format json
      mailprov drift --all-targets --parallel 8
    """
    import json

    from mailprov import api
    from mailprov.render.drift import (
        render_drift_html,
        render_drift_markdown,
        render_drift_text,
    )
    from mailprov.render.markdown import COMMENT_MAX

    if api.fleet_requested(targets, all_targets=all_targets, shard=shard):
        _refuse_html(fmt)
        fleet_config = _load_config(configs)
        selected = api.select_targets(fleet_config, targets, all_targets=all_targets,
                                      shard=shard, db_url=db_url)
        run = _with_progress(len(selected), lambda bar: api.drift_fleet(
            fleet_config, selected, parallel=parallel, strict=strict, fail_fast=fail_fast,
            on_done=bar))
        _emit_fleet("drift", run, fmt, shard,
                    lambda r: render_drift_markdown(r, max_size or COMMENT_MAX)
                    if fmt == "markdown" else render_drift_text(r),
                    detail=lambda r: {"drift": r.to_json()})
        _exit_fleet(run)
        return
    config, resolved = _config_and_target(configs, _one_target(targets), db_url)
    report = api.drift(config, resolved)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False, default=str))
    elif fmt == "markdown":
        click.echo(render_drift_markdown(report, max_size or COMMENT_MAX), nl=False)
    elif fmt == "html":
        click.echo(render_drift_html(report), nl=False)
    else:
        click.echo(render_drift_text(report), nl=False)
    if report.drifted or (strict and report.unlisted):
        sys.exit(EXIT_CHANGES)


@cli.group()
def ci() -> None:
    """Helpers for CI steps: the comment body with its marker, the job summary, and the
    comment or issue to update. The HTTP calls stay in the CI's own tools.

    \b
    Examples:
      mailprov ci comment --github prod.plan.json --json > comment.json
      mailprov ci find --comment -t prod < comments.json
    """


provider_options = [
    click.option("--github", "provider", flag_value="github", default=True,
                 help="GitHub: comments up to 65,000 characters, link to the run (default)."),
    click.option("--gitlab", "provider", flag_value="gitlab",
                 help="GitLab: notes up to 1,000,000 characters, link to the job's "
                 "artifacts."),
]


def _provider(function: Any) -> Any:
    for option in reversed(provider_options):
        function = option(function)
    return function


def _plan_for_ci(plan_file: str | None, configs: tuple[str, ...], target: str | None,
                 db_url: str | None, policies: tuple[str, ...] = ()) -> Plan:
    from mailprov import api

    if plan_file:
        saved = api.read_saved_plan(plan_file)
        click.echo(f"Signature: {api.signature_status(saved)}.", err=True)
        return saved.plan
    config, resolved = _config_and_target(configs, target, db_url, policies=policies)
    return api.plan(config, resolved)


@ci.command()
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@_provider
@config_option
@target_option
@db_option
@click.option("--artifact", metavar="NAME", help="The CI artifact that holds the saved plan "
              "(named in the comment).")
@template_option
@click.option("--json", "as_json", is_flag=True,
              help='Print {"body": ...}, the payload of the comment APIs.')
@policy_option
def comment(plan_file: str | None, provider: str, configs: tuple[str, ...],
            target: str | None, db_url: str | None, artifact: str | None,
            template: str | None, as_json: bool, policies: tuple[str, ...]) -> None:
    """Print the pull-request comment (or merge-request note) of a plan, with the hidden
    marker that lets the next run update it in place.

    Without PLAN_FILE the files are planned (useful when no plan could be saved).

    \b
    Examples:
      mailprov ci comment --github prod.plan.json --artifact mailprov-plan --json > comment.json
      mailprov ci comment --gitlab prod.plan.json > note.md
    """
    from mailprov.render.ci import full_plan_place, payload
    from mailprov.render.markdown import COMMENT_MAX, GITLAB_MAX, render_markdown

    result = _plan_for_ci(plan_file, configs, target, db_url, policies)
    where = full_plan_place(provider, plan_file, artifact, os.environ)
    body = render_markdown(result, COMMENT_MAX if provider == "github" else GITLAB_MAX,
                           where=where, template=template)
    click.echo(payload(body) if as_json else body, nl=False)


@ci.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--artifact", metavar="NAME", default="mailprov-plan", show_default=True,
              help="The CI artifact that holds the saved plan.")
@template_option
def summary(plan_file: str, artifact: str, template: str | None) -> None:
    """Print a plan for GitHub's job summary ($GITHUB_STEP_SUMMARY), within its 1 MiB.

    \b
    Example:
      mailprov ci summary prod.plan.json >> "$GITHUB_STEP_SUMMARY"
    """
    from mailprov.render.ci import full_plan_place
    from mailprov.render.markdown import STEP_SUMMARY_MAX_BYTES, render_markdown, utf8_bytes

    result = _plan_for_ci(plan_file, (), None, None)
    where = full_plan_place("github", plan_file, artifact, os.environ)
    click.echo(render_markdown(result, STEP_SUMMARY_MAX_BYTES, where=where,
                               template=template, measure=utf8_bytes), nl=False)


@ci.command("fleet-summary")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["markdown", "text", "json"]),
              default="markdown", show_default=True, help="Output format (markdown: for the "
              "job summary).")
def fleet_summary(files: tuple[str, ...], fmt: str) -> None:
    """Gather the JSON of several fleet jobs (`--shard K/N ... --format json`, one file per
    job) into one summary, and exit with the worst exit code of all their targets.

    Every shard of N must be there, and each target once: a missing shard (a job that
    failed before writing its file) is an error, not a smaller fleet.

    \b
    Examples:
      mailprov ci fleet-summary shards/*.json >> "$GITHUB_STEP_SUMMARY"
      mailprov ci fleet-summary --format text plan-1.json plan-2.json plan-3.json
    """
    import json

    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.render import fleet as view

    documents = []
    for name in files:
        try:
            with open(name, encoding="utf-8") as handle:
                documents.append((name, json.load(handle)))
        except OSError as exc:
            raise MailprovError(_("cannot read {file}: {reason}").format(
                file=name, reason=exc.strerror)) from None
        except (ValueError, RecursionError) as exc:
            raise MailprovError(_("{file} is not JSON: {reason}").format(
                file=name, reason=str(exc)[:200])) from None
    try:
        summary = view.gather(documents)
    except view.GatherError as exc:
        raise MailprovError(str(exc)) from None
    if fmt == "json":
        click.echo(view.dumps({"format_version": view.FLEET_FORMAT_VERSION,
                               "kind": "mailprov-fleet-summary", "command": summary.command,
                               "files": list(files), "exit_code": summary.exit_code,
                               "summary": view.summary_json(summary),
                               "targets": [row.to_json(summary.columns)
                                           for row in summary.rows]}), nl=False)
    elif fmt == "text":
        click.echo(view.render_summary_text(summary), nl=False)
    else:
        click.echo(view.render_summary_markdown(summary), nl=False)
    if summary.exit_code:
        sys.exit(summary.exit_code)


@ci.command()
@click.option("--comment", "kind", flag_value="comment", default=True,
              help="Find the plan comment (GitHub comments, GitLab notes; the default).")
@click.option("--issue", "kind", flag_value="issue",
              help="Find the drift issue (GitHub or GitLab issues).")
@click.option("-t", "--target", required=True, shell_complete=_complete_targets,
              help="The target whose marker is looked for.")
@click.option("--author", metavar="LOGIN", help="Only comments or issues this account "
              "wrote (the account CI posts as, e.g. github-actions[bot]): anyone can paste "
              "the marker into a comment of their own.")
def find(kind: str, target: str, author: str | None) -> None:
    """Read a JSON listing of comments or issues on standard input (as `gh api
    --paginate` or GitLab's API print it) and print the id of the one that carries the
    target's marker; print nothing when there is none.

    \b
    Examples:
      mailprov ci find --comment -t prod < comments.json
      mailprov ci find --issue -t prod < issues.json
    """
    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.render.ci import find_marked
    from mailprov.render.escape import marker_text

    marker = marker_text("plan" if kind == "comment" else "drift", target)
    try:
        found = find_marked(sys.stdin.read(), marker, kind, author)
    except ValueError as exc:
        raise MailprovError(_("standard input is not a JSON listing: {reason}").format(
            reason=exc)) from None
    if found is not None:
        click.echo(found)


@cli.command()
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


@cli.group()
def users() -> None:
    """Edit `users:` of the configuration files: one line per user, comments and layout
    kept, the result checked before it is written (nothing is written on error).

    \b
    Examples:
      mailprov users add JTREMBLAY MROY --profile staff
      mailprov users add COMPTA --profile compta-shared --set port=2525
      mailprov users remove MROY
      mailprov users import people.csv
    """


edit_file_option = click.option(
    "-c", "--config", "config_file", default="mailprov.yaml", show_default=True,
    type=click.Path(dir_okay=False), help="The file to edit (with its includes, the "
    "configuration checked).")


@users.command("add")
@click.argument("codes", nargs=-1, required=True)
@click.option("--profile", "profiles", multiple=True, metavar="NAME",
              help="A profile for the users (repeatable: applied in order).")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="A setting of their smtp section (repeatable): port=2525, from=..., "
              "provider=gmail; or office365.email=... for Office 365.")
@edit_file_option
@var_option
def users_add(codes: tuple[str, ...], profiles: tuple[str, ...], settings: tuple[str, ...],
              config_file: str, variables: tuple[str, ...]) -> None:
    """Add users to the file, one line each: `CODE: {profile: staff}`.

    \b
    Examples:
      mailprov users add JTREMBLAY MROY --profile staff
      mailprov users add PAIE --profile compta-shared --set port=2525 -c users/compta.yaml
    """
    from mailprov import api
    from mailprov.config.edit import entry_from

    result = api.add_users(list(codes), entry_from(profiles, settings), config_file,
                           variables=list(variables))
    click.echo(f"Added {len(result.changed)} user(s) to {result.file}: "
               f"{', '.join(result.changed)}. Review with `mailprov plan`.")


@users.command("remove")
@click.argument("codes", nargs=-1, required=True)
@config_option
@click.option("--disable", is_flag=True, help="Write `CODE: {smtp: false}` instead, so that "
              "apply removes their overrides too (with prune: false, removing the entry "
              "leaves the override alone).")
@var_option
def users_remove(codes: tuple[str, ...], configs: tuple[str, ...], disable: bool,
                 variables: tuple[str, ...]) -> None:
    """Remove users' entries from the file that lists each.

    \b
    Examples:
      mailprov users remove MROY
      mailprov users remove MROY --disable   # MROY: {smtp: false}
    """
    from mailprov import api

    result = api.remove_users(list(codes), list(configs) or None, disable=disable,
                              variables=list(variables))
    what = "Disabled" if disable else "Removed"
    click.echo(f"{what} {len(result.changed)} user(s) in {result.file}: "
               f"{', '.join(result.changed)}. Review with `mailprov plan`.")


@users.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False))
@edit_file_option
@var_option
def users_import(csv_file: str, config_file: str, variables: tuple[str, ...]) -> None:
    """Add the users of a CSV list (columns code, profile, smtp fields) to the file; users
    already listed are left as they are.

    \b
    Example:
      mailprov users import people.csv -c users/staff.yaml
    """
    from mailprov import api

    result = api.import_users(csv_file, config_file, variables=list(variables))
    click.echo(f"Added {len(result.changed)} user(s) to {result.file}"
               + (f"; {len(result.skipped)} already listed, left as they are"
                  if result.skipped else "") + ".")


# --- prompts for secrets ---------------------------------------------------------------------


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
            value: str = click.prompt(text, hide_input=True, default="", show_default=False)
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


# --- passwords ---------------------------------------------------------------------------------


@cli.group()
def password() -> None:
    """Users' SMTP passwords: set, clear, and which are missing or stale.

    Passwords are typed at a hidden prompt (or given on standard input with --stdin),
    never on the command line or in a file; they are stored with the target's password
    codec, and plan and apply never touch them.

    \b
    Examples:
      mailprov password set COMPTA -t prod
      mailprov password status -t prod
    """


@password.command("set")
@click.argument("user")
@config_option
@target_option
@db_option
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the password from one line of standard input (scripted onboarding).")
def password_set(user: str, configs: tuple[str, ...], target: str | None, db_url: str | None,
                 from_stdin: bool) -> None:
    """Store USER's SMTP password (asked twice, hidden).

    \b
    Examples:
      mailprov password set COMPTA -t prod
      pass show mail/compta | mailprov password set COMPTA --stdin
    """
    from mailprov import api

    resolved = _target(configs, target, db_url)

    def ask(who: Any) -> str:
        if from_stdin:
            return _stdin_line(_("the password"))
        no_terminal = _("run `mailprov password set {user}` in a terminal, or give the "
                        "password on standard input with --stdin").format(user=user)
        return _new_secret(_("SMTP password of {user} (login {login})").format(
            user=who.code, login=who.login), no_terminal)

    change = api.set_password(user, resolved, ask)
    click.echo(_("Stored the SMTP password of {user} (login {login}) on target '{target}' "
                 "with the password codec {codec} (history #{id}).").format(
        user=change.code, login=change.login, target=change.target, codec=change.codec,
        id=change.history_id))


@password.command("clear")
@click.argument("user")
@config_option
@target_option
@db_option
def password_clear(user: str, configs: tuple[str, ...], target: str | None,
                   db_url: str | None) -> None:
    """Remove USER's stored SMTP password (for example after its override was removed).

    \b
    Example:
      mailprov password clear OLDUSER -t prod
    """
    from mailprov import api

    resolved = _target(configs, target, db_url)
    change = api.clear_password(user, resolved)
    if change.changed:
        click.echo(_("Cleared the stored SMTP password of {user} on target '{target}' "
                     "(history #{id}).").format(user=change.code, target=change.target,
                                                id=change.history_id))
    else:
        click.echo(_("{user} has no stored SMTP password on target '{target}': nothing to "
                     "clear.").format(user=change.code, target=change.target))


@password.command("status")
@config_option
@targets_option
@fleet_options
@db_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def password_status(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
                    shard: str | None, parallel: int, fail_fast: bool, db_url: str | None,
                    fmt: str) -> None:
    """Per SMTP user: password set or not, when, and whether it predates a login change.

    Never shows a password or its stored form. Several targets (-t a -t b, globs,
    --all-targets, --shard K/N): one section each and a summary of whom to remind.

    \b
    Examples:
      mailprov password status -t prod
      mailprov password status --format json
      mailprov password status --all-targets
    """
    import json

    from mailprov import api
    from mailprov.render.passwords import render_password_status

    if api.fleet_requested(targets, all_targets=all_targets, shard=shard):
        config = _load_config(configs)
        selected = api.select_targets(config, targets, all_targets=all_targets, shard=shard,
                                      db_url=db_url)
        run = _with_progress(len(selected), lambda bar: api.run_fleet(
            selected, api.password_status, parallel=parallel, fail_fast=fail_fast,
            on_done=bar))
        _emit_fleet("password-status", run, fmt, shard, render_password_status,
                    detail=lambda status: {"password_status": status.to_json()})
        _exit_fleet(run)
        return
    resolved = _target(configs, _one_target(targets), db_url)
    status = api.password_status(resolved)
    if fmt == "json":
        click.echo(json.dumps(status.to_json(), indent=2, ensure_ascii=False))
        return
    click.echo(render_password_status(status), nl=False)


# --- keys ----------------------------------------------------------------------------------------


@cli.group()
def key() -> None:
    """The secret key that encrypts SMTP passwords, and the plan key (--plan).

    Both live in the OS keyring of this machine, or come from the environment
    (MAILPROV_SECRET_KEY, MAILPROV_PLAN_KEY). Everyone who sets or tests the passwords
    of one database needs the same secret key; everyone who saves or applies its plans
    needs the same plan key: carry them with `export` and `import`.

    \b
    Examples:
      mailprov key init
      mailprov key export | pass insert -e mailprov/secret-key
      mailprov key status
    """


plan_key_option = click.option("--plan", "plan_key", is_flag=True,
                               help="The plan key (signs saved plans) instead of the secret "
                               "key of SMTP passwords.")


def _report_key_change(change: Any, plan_key: bool, imported: bool) -> None:
    what = _("plan key") if plan_key else _("secret key")
    env = "MAILPROV_PLAN_KEY" if plan_key else "MAILPROV_SECRET_KEY"
    if not change.changed:
        click.echo(_("This {what} (fingerprint {fingerprint}) is already in the OS keyring; "
                     "nothing was changed.").format(what=what, fingerprint=change.fingerprint))
    elif imported:
        click.echo(_("Imported the {what} {fingerprint} into the OS keyring.").format(
            what=what, fingerprint=change.fingerprint))
    else:
        click.echo(_("Created the {what} {fingerprint} in the OS keyring.").format(
            what=what, fingerprint=change.fingerprint))
    if change.changed and change.previous is not None:
        click.echo(_("It replaces the key {previous}.").format(
            previous=change.previous or _("(unreadable)")), err=True)
    if change.environment_key is not None and change.environment_key != change.fingerprint:
        click.echo(_("Warning: {env} is set (key {fingerprint}) and is used instead of the "
                     "keyring's while it is set.").format(env=env,
                                                         fingerprint=change.environment_key),
                   err=True)


@key.command("init")
@plan_key_option
@click.option("--force", is_flag=True, help="Replace a key already stored (what it "
              "encrypted or signed becomes unusable).")
def key_init(plan_key: bool, force: bool) -> None:
    """Create a key and store it in the OS keyring.

    \b
    Examples:
      mailprov key init
      mailprov key init --plan
    """
    from mailprov import api

    change = api.key_init(plan=plan_key, force=force)
    _report_key_change(change, plan_key, imported=False)
    click.echo(_("Carry it to other machines and CI with `mailprov key export{plan}`.").format(
        plan=" --plan" if plan_key else ""), err=True)


@key.command("export")
@plan_key_option
def key_export(plan_key: bool) -> None:
    """Print the key in use (alone, on standard output), for a password manager or CI.

    \b
    Examples:
      mailprov key export | pass insert -e mailprov/secret-key
      mailprov key export --plan
    """
    from mailprov import api

    text, warning = api.key_export(plan=plan_key)
    click.echo(warning, err=True)
    click.echo(text)


@key.command("import")
@plan_key_option
@click.option("--force", is_flag=True, help="Replace a different key already stored.")
def key_import(plan_key: bool, force: bool) -> None:
    """Store a key exported elsewhere: typed at a hidden prompt, or one line of stdin.

    \b
    Examples:
      mailprov key import
      pass show mailprov/secret-key | mailprov key import
      mailprov key import --plan
    """
    from mailprov import api

    what = _("the plan key") if plan_key else _("the secret key")
    if sys.stdin.isatty():
        text = _hidden_prompt(_("Paste {what} (`mailprov key export{plan}` prints it)").format(
            what=what, plan=" --plan" if plan_key else ""),
            _("pipe the key into `mailprov key import`"))
    else:
        text = _stdin_line(what)
    change = api.key_import(text, plan=plan_key, force=force)
    _report_key_change(change, plan_key, imported=True)


@key.command("status")
def key_status() -> None:
    """Which keys this machine has, where they come from, by fingerprint (never a key).

    \b
    Example:
      mailprov key status
    """
    from mailprov import api

    status = api.key_status()
    secret, plan_ = status.secret_key, status.plan_key
    where = {"environment": _("from {env}"), "keyring": _("from the OS keyring")}
    if secret.fingerprint is not None:
        line = _("secret key: {fingerprint} ({where})").format(
            fingerprint=secret.fingerprint,
            where=where[secret.source or "keyring"].format(env="MAILPROV_SECRET_KEY"))
    else:
        line = _("secret key: none ({problem})").format(problem=secret.problem)
    click.echo(line)
    if plan_.fingerprint is not None:
        line = _("plan key:   {fingerprint} ({where}); saved plans are signed").format(
            fingerprint=plan_.fingerprint,
            where=where[plan_.source or "keyring"].format(env="MAILPROV_PLAN_KEY"))
    elif plan_.problem:
        line = _("plan key:   unknown ({problem})").format(problem=plan_.problem)
    else:
        line = _("plan key:   none; saved plans are not signed (`mailprov key init --plan` "
                 "creates one)")
    click.echo(line)
    if status.keyring_problem:
        click.echo(_("keyring:    not usable: {problem}").format(problem=status.keyring_problem))
    else:
        click.echo(_("keyring:    {backend}").format(backend=status.keyring_backend))


# --- test-send ---------------------------------------------------------------------------------


@cli.command("test-send")
@click.argument("user", required=False)
@click.option("--to", "to", metavar="ADDRESS", help="Send the test message to this address.")
@config_option
@target_option
@db_option
@click.option("--all", "all_users", is_flag=True,
              help="Every user of the target who sends through SMTP of their own.")
@click.option("--check", is_flag=True, help="Connect and log in, but send nothing.")
@click.option("--tls", type=click.Choice(["starttls", "implicit", "none"]),
              help="Try this TLS mode instead of maestro*'s (SSL checked = STARTTLS).")
@click.option("--cafile", type=click.Path(dir_okay=False),
              help="Also trust this CA certificate (PEM), for a private CA.")
@click.option("--ask-password", is_flag=True,
              help="Type the password at a hidden prompt instead of the stored one (not "
              "stored).")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True,
              help="Seconds to wait for each network operation.")
@click.option("--parallel", type=click.IntRange(1, 32), default=4, show_default=True,
              help="With --all: how many users are checked at once.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--debug", "transcript", is_flag=True,
              help="Also show the SMTP dialogue (passwords masked).")
@click.pass_context
def test_send(ctx: click.Context, user: str | None, to: str | None, configs: tuple[str, ...],
              target: str | None, db_url: str | None, all_users: bool, check: bool,
              tls: str | None, cafile: str | None, ask_password: bool, timeout: float,
              parallel: int, fmt: str, transcript: bool) -> None:
    """Send a real test message the way maestro* would, and explain any failure.

    Uses USER's settings from the database and their stored password (decrypted with
    the target's password codec), verifying the server's certificate. Prints each step
    (connect, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA) with its time. Exits 1 if
    any check fails.

    \b
    Examples:
      mailprov test-send COMPTA --to it@example.com
      mailprov test-send COMPTA --check --tls implicit
      mailprov test-send --all --check --format json
    """
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


@cli.group()
def office365() -> None:
    """Office 365 – Modern Authentication (maestro* 3.05): who sends with it, and who has
    authenticated in maestro*.

    \b
    Examples:
      mailprov office365 status
      mailprov office365 status --pending --format json
    """


@office365.command("status")
@config_option
@target_option
@db_option
@click.option("--pending", is_flag=True,
              help="Only the users who have not authenticated yet.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def office365_status(configs: tuple[str, ...], target: str | None, db_url: str | None,
                     pending: bool, fmt: str) -> None:
    """Every user who sends with Office 365 (their own mode, or the general default), their
    account, and whether they have signed in once in maestro* (Préférences > Courriel >
    Authentifier). mailprov never handles the OAuth tokens; it reads when the user
    authenticated, so that you know whom to remind.

    \b
    Examples:
      mailprov office365 status -t prod
      mailprov office365 status --pending --format json
    """
    from mailprov import api
    from mailprov.render.office365 import render_status_json, render_status_text

    status = api.office365_status(_target(configs, target, db_url))
    if fmt == "json":
        click.echo(render_status_json(status, pending_only=pending), nl=False)
    else:
        click.echo(render_status_text(status, pending_only=pending), nl=False)


@cli.group()
def migrate() -> None:
    """Rewrite the configuration files for a change of maestro* or of a provider.

    \b
    Example:
      mailprov migrate office365 --dry-run
    """


@migrate.command("office365")
@config_option
@click.option("--users", "patterns", multiple=True, metavar="SELECTION",
              help="Only the users whose code matches (globs such as 'COMPTA*', comma "
                   "separated or repeated). Default: every user.")
@click.option("--dry-run", is_flag=True, help="Print the diff; write nothing.")
@var_option
def migrate_office365(configs: tuple[str, ...], patterns: tuple[str, ...], dry_run: bool,
                      variables: tuple[str, ...]) -> None:
    """Move every user who sends through smtp.office365.com with a password to Office 365 –
    Modern Authentication (maestro* 3.05), before Microsoft turns password-based SMTP
    AUTH off (end of December 2026). The files are edited in place, comments and layout
    kept: a user's `smtp:` becomes `office365: {email: LOGIN}`, or a profile that all its
    users leave is rewritten once. The diff is printed; then `mailprov plan` shows the
    moves.

    \b
    Examples:
      mailprov migrate office365 --dry-run
      mailprov migrate office365 --users 'COMPTA*,PAIE'
    """
    from mailprov import api
    from mailprov.i18n import _, ngettext

    selection = [p.strip() for text in patterns for p in text.split(",") if p.strip()]
    migration = api.migrate_office365(list(configs) or None, selection or None,
                                      variables=list(variables), dry_run=dry_run)
    diff = migration.diff()
    if diff:
        click.echo("\n".join(printable(line) for line in diff.splitlines()))
    for moved in migration.moved:
        click.echo(_("{who}: Office 365 account {email} ({file}, {where})").format(
            who=moved.who, email=moved.email, file=moved.file, where=moved.where)
            + (f"; {moved.note}" if moved.note else ""), err=True)
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


def main() -> None:
    cli(prog_name="mailprov")

"""What happened since: `drift`, `history` and `rollback`."""

from __future__ import annotations

import sys

import click

from mailprov.cli.common import (
    EXIT_CHANGES,
    _config_and_target,
    _load_config,
    _optional_config,
    _place,
    _policy_files,
    _refuse_violations,
    _render,
    _target,
    config_option,
    db_option,
    fleet_options,
    max_size_option,
    plan_format_option,
    policy_option,
    target_option,
    targets_option,
)
from mailprov.cli.fleet import _emit_fleet, _exit_fleet, _one_target, _refuse_html, _with_progress
from mailprov.cli.translated import Path, command, option
from mailprov.i18n import N_, _


@command(help=N_(
    "List past applies on a target (newest first), or show one with its changes.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov history -t prod\n"
    "  mailprov history --show 12\n"
    "  mailprov history --format json"))
@config_option
@target_option
@db_option
@option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, metavar="N",
        help=N_("How many applies to list."))
@option("--show", "show_id", type=click.IntRange(1), metavar="N",
        help=N_("Show the changes of apply #N (from any history layout)."))
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format."))
def history(configs: tuple[str, ...], target: str | None, db_url: str | None, limit: int,
            show_id: int | None, fmt: str) -> None:
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


@command(help=N_(
    "Plan the rollback of apply N: every row it changed back to its value before it.\n"
    "\n"
    "The rollback is a plan like any other: shown here, saved with --out, applied with\n"
    "`mailprov apply PLAN` (which refuses it if those rows changed since), and recorded\n"
    "in the history as a rollback of N. Rows changed again since N are shown as\n"
    "conflicts and left out. Afterwards the files in Git no longer match maestro*:\n"
    "revert the commit of apply N (the output names it).\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov rollback 12 -t prod --out rollback-12.plan.json   # N from `mailprov history`\n"
    "  mailprov rollback 12 --format markdown > rollback.md\n"
    "  mailprov apply rollback-12.plan.json"))
@click.argument("history_id", metavar="N", type=click.IntRange(1))
@config_option
@target_option
@db_option
@option("--out", "out", type=Path(dir_okay=False),
        help=N_("Save the rollback plan (JSON) for `mailprov apply PLAN`."))
@plan_format_option
@option("--include-later-changes", "include_later", is_flag=True,
        help=N_("Also restore rows changed again since apply N (shown as conflicts), "
                "undoing those later changes."))
@policy_option
def rollback(history_id: int, configs: tuple[str, ...], target: str | None,
             db_url: str | None, out: str | None, fmt: str, include_later: bool,
             policies: tuple[str, ...]) -> None:
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
    _refuse_violations(result, listed=fmt == "text", done=_("Nothing was saved.") if out else "")
    if out:
        how = _("signed with the plan key") if signed else _("not signed: no plan key is set")
        click.echo(_("Saved the rollback plan to {file} ({how}); apply it with `mailprov "
                     "apply {file}`.").format(file=out, how=how), err=True)


@command(help=N_(
    "Report where maestro* no longer matches the files (someone changed a user by\n"
    "hand), field by field, with the apply that last set the files' value.\n"
    "\n"
    "Exit 0: no drift; 2: drift; 1: error. Users the files list that maestro* no longer\n"
    "has are reported (and count as drift), not an error. Several targets: one section\n"
    "each, a summary, and the worst exit code.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov drift -t prod\n"
    "  mailprov drift --format markdown > drift.md   # an issue body\n"
    "  mailprov drift --format json\n"
    "  mailprov drift --all-targets --parallel 8"))
@config_option
@targets_option
@fleet_options
@db_option
@option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]),
        default="text", show_default=True, help=N_("Output format."))
@max_size_option
@option("--strict", is_flag=True, help=N_("Count overrides on users no file lists as "
                                          "drift too (they are always named)."))
def drift(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
          shard: str | None, parallel: int, fail_fast: bool, db_url: str | None, fmt: str,
          max_size: int | None, strict: bool) -> None:
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


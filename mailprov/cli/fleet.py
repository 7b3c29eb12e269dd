"""Several targets in one command: progress, each target's section, the summary and
the worst exit code."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from mailprov.cli.common import T, _debug
from mailprov.cli.errors import error_line
from mailprov.errors import printable
from mailprov.i18n import _, ngettext

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mailprov.fleet.runner import FleetRun
    from mailprov.plan.format import Plan


def _one_target(targets: tuple[str, ...]) -> str | None:
    """The one `-t` of a command that is not a fleet (api.fleet_requested said so)."""
    return targets[0] if targets else None


def _shard_text(shard: str | None) -> str | None:
    from mailprov.config.fleet import parse_shard

    return str(parse_shard(shard)) if shard else None


def _refuse_html(fmt: str) -> None:
    from mailprov.errors import MailprovError

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


def _emit_fleet(command: str, run: FleetRun[Any], fmt: str, shard: str | None,
                section: Callable[[Any], str], *,
                detail: Callable[[Any], Mapping[str, Any]] | None = None,
                problems: Callable[[Any], list[str]] | None = None,
                summary_exit: bool = True) -> None:
    """A fleet's output: each target's section (its usual output, or its error), then the
    summary; or one JSON document."""
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
            lines.extend(error_line(outcome.error).split("\n"))
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


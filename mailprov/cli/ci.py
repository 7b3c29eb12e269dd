"""`ci`: the comment body, the job summary and the comment or issue to update."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from mailprov.cli.common import (
    _complete_targets,
    _config_and_target,
    config_option,
    db_option,
    policy_option,
    target_option,
    template_option,
)

if TYPE_CHECKING:

    from mailprov.plan.format import Plan


@click.group()
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


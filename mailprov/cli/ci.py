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
from mailprov.cli.translated import Path, group, option
from mailprov.i18n import N_, _

if TYPE_CHECKING:

    from mailprov.plan.format import Plan


@group(help=N_(
    "Helpers for CI steps: the comment body with its marker, the job summary, and the\n"
    "comment or issue to update. The HTTP calls stay in the CI's own tools.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov ci comment --github prod.plan.json --json > comment.json\n"
    "  mailprov ci find --comment -t prod < comments.json"))
def ci() -> None:
    pass


provider_options = [
    option("--github", "provider", flag_value="github", default=True,
           help=N_("GitHub: comments up to 65,000 characters, link to the run (default).")),
    option("--gitlab", "provider", flag_value="gitlab",
           help=N_("GitLab: notes up to 1,000,000 characters, link to the job's "
                   "artifacts.")),
]


def _provider(function: Any) -> Any:
    for decorate in reversed(provider_options):
        function = decorate(function)
    return function


def _plan_for_ci(plan_file: str | None, configs: tuple[str, ...], target: str | None,
                 db_url: str | None, policies: tuple[str, ...] = ()) -> Plan:
    from mailprov import api

    if plan_file:
        saved = api.read_saved_plan(plan_file)
        click.echo(_("Signature: {status}.").format(status=api.signature_status(saved)),
                   err=True)
        return saved.plan
    config, resolved = _config_and_target(configs, target, db_url, policies=policies)
    return api.plan(config, resolved)


@ci.command(help=N_(
    "Print the pull-request comment (or merge-request note) of a plan, with the hidden\n"
    "marker that lets the next run update it in place.\n"
    "\n"
    "Without PLAN_FILE the files are planned (useful when no plan could be saved).\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov ci comment --github prod.plan.json --artifact mailprov-plan --json > comment.json\n"
    "  mailprov ci comment --gitlab prod.plan.json > note.md"))
@click.argument("plan_file", required=False, type=Path(dir_okay=False))
@_provider
@config_option
@target_option
@db_option
@option("--artifact", metavar=N_("NAME"), help=N_("The CI artifact that holds the saved plan "
                                              "(named in the comment)."))
@template_option
@option("--json", "as_json", is_flag=True,
        help=N_('Print {"body": ...}, the payload of the comment APIs.'))
@policy_option
def comment(plan_file: str | None, provider: str, configs: tuple[str, ...],
            target: str | None, db_url: str | None, artifact: str | None,
            template: str | None, as_json: bool, policies: tuple[str, ...]) -> None:
    from mailprov.render.ci import full_plan_place, payload
    from mailprov.render.markdown import COMMENT_MAX, GITLAB_MAX, render_markdown

    result = _plan_for_ci(plan_file, configs, target, db_url, policies)
    where = full_plan_place(provider, plan_file, artifact, os.environ)
    body = render_markdown(result, COMMENT_MAX if provider == "github" else GITLAB_MAX,
                           where=where, template=template)
    click.echo(payload(body) if as_json else body, nl=False)


@ci.command(help=N_(
    "Print a plan for GitHub's job summary ($GITHUB_STEP_SUMMARY), within its 1 MiB.\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov ci summary prod.plan.json >> \"$GITHUB_STEP_SUMMARY\""))
@click.argument("plan_file", type=Path(dir_okay=False))
@option("--artifact", metavar=N_("NAME"), default="mailprov-plan", show_default=True,
        help=N_("The CI artifact that holds the saved plan."))
@template_option
def summary(plan_file: str, artifact: str, template: str | None) -> None:
    from mailprov.render.ci import full_plan_place
    from mailprov.render.markdown import STEP_SUMMARY_MAX_BYTES, render_markdown, utf8_bytes

    result = _plan_for_ci(plan_file, (), None, None)
    where = full_plan_place("github", plan_file, artifact, os.environ)
    click.echo(render_markdown(result, STEP_SUMMARY_MAX_BYTES, where=where,
                               template=template, measure=utf8_bytes), nl=False)


@ci.command("fleet-summary", help=N_(
    "Gather the JSON of several fleet jobs (`--shard K/N ... --format json`, one file per\n"
    "job) into one summary, and exit with the worst exit code of all their targets.\n"
    "\n"
    "Every shard of N must be there, and each target once: a missing shard (a job that\n"
    "failed before writing its file) is an error, not a smaller fleet.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov ci fleet-summary shards/*.json >> \"$GITHUB_STEP_SUMMARY\"\n"
    "  mailprov ci fleet-summary --format text plan-1.json plan-2.json plan-3.json"))
@click.argument("files", nargs=-1, required=True, type=Path(dir_okay=False))
@option("--format", "fmt", type=click.Choice(["markdown", "text", "json"]),
        default="markdown", show_default=True, help=N_("Output format (markdown: for the "
                                                       "job summary)."))
def fleet_summary(files: tuple[str, ...], fmt: str) -> None:
    import json

    from mailprov.errors import MailprovError
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


@ci.command(help=N_(
    "Read a JSON listing of comments or issues on standard input (as `gh api\n"
    "--paginate` or GitLab's API print it) and print the id of the one that carries the\n"
    "target's marker; print nothing when there is none.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov ci find --comment -t prod < comments.json\n"
    "  mailprov ci find --issue -t prod < issues.json"))
@option("--comment", "kind", flag_value="comment", default=True,
        help=N_("Find the plan comment (GitHub comments, GitLab notes; the default)."))
@option("--issue", "kind", flag_value="issue",
        help=N_("Find the drift issue (GitHub or GitLab issues)."))
@option("-t", "--target", required=True, shell_complete=_complete_targets, metavar=N_("NAME"),
        help=N_("The target whose marker is looked for."))
@option("--author", metavar=N_("ACCOUNT"), help=N_(
    "Only comments or issues this account wrote (the account CI posts as, e.g. "
    "github-actions[bot]): anyone can paste the marker into a comment of their own."))
def find(kind: str, target: str, author: str | None) -> None:
    from mailprov.errors import MailprovError
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


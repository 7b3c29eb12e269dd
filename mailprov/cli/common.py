"""What many commands share: their options, reading the files and the target, and
rendering a plan."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from mailprov.cli.translated import Path, option
from mailprov.i18n import N_, _, shown

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from mailprov.config.targets import ResolvedTarget
    from mailprov.model import Config, LiveWarning
    from mailprov.plan.format import Plan
    from mailprov.render.view import FullPlanPlace


T = TypeVar("T")


EXIT_CHANGES = 2


PLAN_FORMATS = ["text", "json", "markdown", "html"]


def _color(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return bool(stream.isatty()) and not os.environ.get("NO_COLOR")


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


config_option = option(
    "-c", "--config", "configs", multiple=True, type=Path(dir_okay=False),
    help=N_("Configuration file (repeatable). Default: mailprov.yaml."))


target_option = option(
    "-t", "--target", shell_complete=_complete_targets, metavar=N_("NAME|URL"),
    help=N_("Target name from the configuration, or a database URL."))


targets_option = option(
    "-t", "--target", "targets", multiple=True, shell_complete=_complete_targets,
    metavar=N_("NAME|GLOB|URL"), help=N_(
        "Target name from the configuration, or a database URL. Repeatable, and globs over "
        "target names (-t 'client-*'): several targets make a fleet."))


def fleet_options(function: Any) -> Any:
    """--all-targets, --shard, --parallel and --fail-fast: what a fleet command takes."""
    options = [
        option("--all-targets", is_flag=True, help=N_("Every target of the configuration.")),
        option("--shard", metavar="K/N", help=N_(
            "Only shard K of N of the selected targets (a stable slice by target name, for "
            "CI matrix jobs: --shard 2/3).")),
        option("--parallel", type=click.IntRange(1, 64), default=4, show_default=True, metavar="N",
               help=N_("With several targets: how many to work on at once.")),
        option("--fail-fast", is_flag=True, help=N_(
            "With several targets: start no other target after the first error or refusal.")),
    ]
    for decorate in reversed(options):
        function = decorate(function)
    return function


var_option = option(
    "--var", "variables", multiple=True, metavar=N_("NAME=VALUE"),
    help=N_("A template variable (repeatable); overrides `vars:` of the files."))


db_option = option(
    "--db", "db_url", envvar="MAILPROV_DB_URL", metavar="URL",
    help=N_("Database URL that replaces the target's URL (env MAILPROV_DB_URL)."))


policy_option = option(
    "--policy", "policies", multiple=True, type=Path(dir_okay=False), metavar=N_("FILE"),
    help=N_("A policy file (repeatable): rules no plan may break, beside the files' `policy:`. "
            "MAILPROV_POLICY (a path list) adds more."))


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


def _check_render_options(fmt: str, template: str | None, max_size: int | None) -> None:
    """Options that only a Markdown rendering reads are refused with another format,
    before anything is read (not silently ignored)."""
    from mailprov.errors import MailprovError

    if fmt != "markdown" and (template or max_size):
        option = "--template" if template else "--max-size"
        raise MailprovError(_("{option} applies to --format markdown only: add --format "
                              "markdown, or leave it out").format(option=option))


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


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool((root and root.params.get("debug")) or os.environ.get("MAILPROV_DEBUG"))


plan_format_option = option(
    "--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text", show_default=True,
    help=N_("Output format."))


template_option = option(
    "--template", type=Path(dir_okay=False), metavar=N_("FILE"),
    help=N_("A team's own Jinja2 template for --format markdown (rendered in a sandbox, with "
            "the plan's data only)."))


max_size_option = option(
    "--max-size", type=click.IntRange(2000, 10_000_000), metavar=N_("CHARS"),
    help=N_("Markdown: the most characters to print (default 65000, under GitHub's "
            "comment limit); the verdict, counts and warnings are always kept."))


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


def live_warning_lines(warnings: Iterable[LiveWarning]) -> list[str]:
    """`Warning: ...` lines for what a read of the database left out or read as unknown
    (a row without a user code, a date that is no date)."""
    return [_("Warning: {message}").format(message=shown(w.message)) for w in warnings]


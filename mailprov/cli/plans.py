"""`plan`, `apply` and `show`: the plan of the files, making it so, and a saved plan."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from mailprov.cli.common import (
    EXIT_CHANGES,
    _check_render_options,
    _color,
    _config_and_target,
    _load_config,
    _place,
    _policy_files,
    _refuse_violations,
    _render,
    config_option,
    db_option,
    fleet_options,
    max_size_option,
    plan_format_option,
    policy_option,
    targets_option,
    template_option,
    var_option,
)
from mailprov.cli.errors import error_line
from mailprov.cli.fleet import (
    _emit_fleet,
    _exit_fleet,
    _one_target,
    _refuse_html,
    _saved_fleet_message,
    _shard_text,
    _with_progress,
)
from mailprov.cli.translated import Path, command, option
from mailprov.errors import printable
from mailprov.i18n import N_, _, language, ngettext

if TYPE_CHECKING:

    from mailprov.apply.executor import ApplyResult
    from mailprov.plan.fleetfile import SavedFleetPlan
    from mailprov.plan.format import Plan


@command(help=N_(
    "Show what apply would change in the maestro* database.\n"
    "\n"
    "Several targets (-t a -t b, -t 'client-*', --all-targets, --shard K/N) are planned\n"
    "at once: one section per target, a summary, and the worst exit code.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov plan\n"
    "  mailprov plan -t prod --out prod.plan.json\n"
    "  mailprov plan --format markdown > plan.md\n"
    "  mailprov plan --format html > plan.html   # for an approver\n"
    "  mailprov plan --detailed-exitcode   # exit 2 on changes\n"
    "  mailprov plan -t 'client-*' --out fleet.plan.json\n"
    "  mailprov plan --all-targets --shard 2/3 --format json > shard-2.json\n"
    "  mailprov plan --policy ../it-policy/policy.yaml   # rules no plan may break"))
@config_option
@targets_option
@fleet_options
@db_option
@option("--out", "out", type=Path(dir_okay=False),
        help=N_("Save the plan (JSON) for `mailprov apply PLAN` (a fleet's plans: one file)."))
@plan_format_option
@template_option
@max_size_option
@option("--detailed-exitcode", is_flag=True,
        help=N_("Exit 0 when there are no changes, 2 when there are."))
@var_option
@policy_option
def plan(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
         shard: str | None, parallel: int, fail_fast: bool, db_url: str | None,
         out: str | None, fmt: str, template: str | None, max_size: int | None,
         detailed_exitcode: bool, variables: tuple[str, ...],
         policies: tuple[str, ...]) -> None:
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
    _refuse_violations(result, listed=fmt == "text", done=_("Nothing was saved.") if out else "")
    if out:
        how = _("signed with the plan key") if signed else _("not signed: no plan key is set")
        click.echo(_("Saved the plan to {file} ({how}); apply it with `mailprov apply "
                     "{file}`.").format(file=out, how=how), err=True)
    if detailed_exitcode and result.changes_present:
        sys.exit(EXIT_CHANGES)


# What approves an apply at the prompt, by language: English `yes` is always understood.
APPROVALS = {"fr": ("oui", "yes")}


def _confirm() -> bool:
    click.echo(_("Apply these changes? Only 'yes' is accepted: "), nl=False)
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if not answer:
        click.echo("")
    return answer.strip() in APPROVALS.get(language(), ("yes",))


@command(help=N_(
    "Make the maestro* database match: a saved plan, or a new plan after 'yes'.\n"
    "\n"
    "Several targets (-t a -t b, -t 'client-*', --all-targets, --shard K/N), or a fleet's\n"
    "saved plans: each target in its own transaction; a failing target does not stop the\n"
    "others (unless --fail-fast); the summary names the targets changed and not.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov apply                      # plan, show, ask for 'yes'\n"
    "  mailprov apply prod.plan.json       # exactly the saved plan (no prompt)\n"
    "  mailprov apply prod.plan.json --policy ../it-policy/policy.yaml\n"
    "  mailprov apply --auto-approve -t test\n"
    "  mailprov apply fleet.plan.json      # each plan of a fleet, to its own target\n"
    "  mailprov apply --auto-approve -t 'client-*' --parallel 8"))
@click.argument("plan_file", required=False, type=Path(dir_okay=False))
@config_option
@targets_option
@fleet_options
@db_option
@option("--auto-approve", is_flag=True, help=N_("Do not ask for 'yes'."))
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format (json: with a plan file or "
                                   "--auto-approve)."))
@option("--force", is_flag=True, help=N_("Apply even if the plan exceeds a safety limit."))
@option("--lock-timeout", type=click.FloatRange(0.1, 3600), default=10.0, metavar=N_("SECONDS"),
        show_default=True, help=N_("Seconds to wait for another apply to finish."))
@var_option
@policy_option
def apply(plan_file: str | None, configs: tuple[str, ...], targets: tuple[str, ...],
          all_targets: bool, shard: str | None, parallel: int, fail_fast: bool,
          db_url: str | None, auto_approve: bool, fmt: str, force: bool, lock_timeout: float,
          variables: tuple[str, ...], policies: tuple[str, ...]) -> None:
    from mailprov import api
    from mailprov.errors import ApplyDeclined, ConfigError, MailprovError
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
            _refuse_violations(approved, listed=True, done=_("Nothing was changed."))
            if not approved.changes_present:
                return
            api.check_safety(approved, force)
            if not _confirm():
                raise ApplyDeclined(_("apply cancelled: the answer was not 'yes'. Nothing was "
                                      "changed."))
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
        raise ApplyDeclined(_("apply cancelled: the answer was not 'yes'. Nothing was "
                              "changed."))
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
        for line in error_line(done.error).split("\n") if done.error else ():
            click.echo(printable(line))
    click.echo("")
    click.echo(view.render_summary_text(view.summarize("apply", run, _shard_text(shard))),
               nl=False)
    _exit_fleet(run)


@command(help=N_(
    "Show a saved plan (for example the artifact CI uploaded) as `plan` printed it.\n"
    "\n"
    "The plan is checked as apply would check it: every value, and its signature when a\n"
    "plan key is set. No database is read.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov show prod.plan.json\n"
    "  mailprov show prod.plan.json --format markdown\n"
    "  mailprov show prod.plan.json --format html > plan.html   # for an approver"))
@click.argument("plan_file", type=Path(dir_okay=False))
@plan_format_option
@template_option
@max_size_option
def show(plan_file: str, fmt: str, template: str | None, max_size: int | None) -> None:
    from mailprov import api
    from mailprov.plan.fleetfile import SavedFleetPlan

    _check_render_options(fmt, template, max_size)
    saved = api.read_any_plan(plan_file)
    if isinstance(saved, SavedFleetPlan):
        _show_fleet(saved, fmt, template, max_size)
        return
    status = api.signature_status(saved)
    click.echo(_render(saved.plan, fmt, template=template, max_size=max_size), nl=False)
    click.echo(_("Signature: {status}.").format(status=status), err=True)


def _show_fleet(saved: SavedFleetPlan, fmt: str, template: str | None,
                max_size: int | None) -> None:
    """A fleet's saved plans: each target's plan as `plan` printed it, the targets that
    could not be planned, and the summary; each plan's signature on standard error."""
    from mailprov import api
    from mailprov.fleet.runner import FleetRun, Outcome

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


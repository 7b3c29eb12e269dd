"""`login`, `password` and `key`: database passwords, users' SMTP passwords and the keys."""

from __future__ import annotations

import sys
from typing import Any

import click

from mailprov.cli.common import (
    _load_config,
    _target,
    config_option,
    db_option,
    fleet_options,
    live_warning_lines,
    target_option,
    targets_option,
)
from mailprov.cli.fleet import _emit_fleet, _exit_fleet, _one_target, _with_progress
from mailprov.cli.prompts import _hidden_prompt, _new_secret, _stdin_line, prompt_suffix
from mailprov.cli.translated import command, group, option
from mailprov.i18n import N_, _


@command(help=N_(
    "Store a target's database password in the OS keyring (prompted, hidden).\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov login prod"))
@click.argument("target")
@config_option
def login(target: str, configs: tuple[str, ...]) -> None:
    from mailprov import api
    from mailprov.errors import MailprovError

    resolved = _target(configs, target, None)
    api.check_login(resolved)
    if not _stdin_is_terminal():
        raise MailprovError(_(
            "mailprov login asks for the password on a terminal, and standard input is not "
            "one: run it in a terminal, or give the password in MAILPROV_DB_PASSWORD"))
    password = click.prompt(_("Database password for '{target}'").format(target=resolved.name),
                            hide_input=True, prompt_suffix=prompt_suffix(),
                            confirmation_prompt=True)
    api.login(resolved.name, password)
    click.echo(_("Stored the password of '{target}' in the OS keyring.").format(
        target=resolved.name))


def _stdin_is_terminal() -> bool:
    """Whether a hidden prompt can be shown (getpass would otherwise read a pipe, warn,
    and abort at its end)."""
    return sys.stdin.isatty()


@group(help=N_(
    "Users' SMTP passwords: set, clear, and which are missing or stale.\n"
    "\n"
    "Passwords are typed at a hidden prompt (or given on standard input with --stdin),\n"
    "never on the command line or in a file; they are stored with the target's password\n"
    "codec, and plan and apply never touch them.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov password set COMPTA -t prod\n"
    "  mailprov password status -t prod"))
def password() -> None:
    pass


@password.command("set", help=N_(
    "Store USER's SMTP password (asked twice, hidden).\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov password set COMPTA -t prod\n"
    "  pass show mail/compta | mailprov password set COMPTA --stdin"))
@click.argument("user")
@config_option
@target_option
@db_option
@option("--stdin", "from_stdin", is_flag=True,
        help=N_("Read the password from one line of standard input (scripted onboarding)."))
def password_set(user: str, configs: tuple[str, ...], target: str | None, db_url: str | None,
                 from_stdin: bool) -> None:
    from mailprov import api
    from mailprov.errors import shell_word

    resolved = _target(configs, target, db_url)

    def ask(who: Any) -> str:
        if from_stdin:
            return _stdin_line(_("the password"))
        no_terminal = _("run `mailprov password set {user}` in a terminal, or give the "
                        "password on standard input with --stdin").format(user=shell_word(user))
        return _new_secret(_("SMTP password of {user} (login {login})").format(
            user=who.code, login=who.login), no_terminal)

    change = api.set_password(user, resolved, ask)
    click.echo(_("Stored the SMTP password of {user} (login {login}) on target '{target}' "
                 "with the password codec {codec} (history #{id}).").format(
        user=change.code, login=change.login, target=change.target, codec=change.codec,
        id=change.history_id))


@password.command("clear", help=N_(
    "Remove USER's stored SMTP password (for example after its override was removed).\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov password clear OLDUSER -t prod"))
@click.argument("user")
@config_option
@target_option
@db_option
def password_clear(user: str, configs: tuple[str, ...], target: str | None,
                   db_url: str | None) -> None:
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


@password.command("status", help=N_(
    "Per SMTP user: password set or not, when, and whether it predates a login change.\n"
    "\n"
    "Never shows a password or its stored form. Several targets (-t a -t b, globs,\n"
    "--all-targets, --shard K/N): one section each and a summary of whom to remind.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov password status -t prod\n"
    "  mailprov password status --format json\n"
    "  mailprov password status --all-targets"))
@config_option
@targets_option
@fleet_options
@db_option
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
        show_default=True, help=N_("Output format."))
def password_status(configs: tuple[str, ...], targets: tuple[str, ...], all_targets: bool,
                    shard: str | None, parallel: int, fail_fast: bool, db_url: str | None,
                    fmt: str) -> None:
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
                    detail=lambda status: {"password_status": status.to_json()},
                    problems=lambda status: live_warning_lines(status.warnings))
        _exit_fleet(run)
        return
    resolved = _target(configs, _one_target(targets), db_url)
    status = api.password_status(resolved)
    for line in live_warning_lines(status.warnings):
        click.echo(line, err=True)
    if fmt == "json":
        click.echo(json.dumps(status.to_json(), indent=2, ensure_ascii=False))
        return
    click.echo(render_password_status(status), nl=False)


@group(help=N_(
    "The secret key that encrypts SMTP passwords, and the plan key (--plan).\n"
    "\n"
    "Both live in the OS keyring of this machine, or come from the environment\n"
    "(MAILPROV_SECRET_KEY, MAILPROV_PLAN_KEY). Everyone who sets or tests the passwords\n"
    "of one database needs the same secret key; everyone who saves or applies its plans\n"
    "needs the same plan key: carry them with `export` and `import`.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov key init\n"
    "  mailprov key export | pass insert -e mailprov/secret-key\n"
    "  mailprov key status"))
def key() -> None:
    pass


plan_key_option = option("--plan", "plan_key", is_flag=True,
                         help=N_("The plan key (signs saved plans) instead of the secret "
                                 "key of SMTP passwords."))


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


@key.command("init", help=N_(
    "Create a key and store it in the OS keyring.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov key init\n"
    "  mailprov key init --plan"))
@plan_key_option
@option("--force", is_flag=True, help=N_("Replace a key already stored (what it "
                                         "encrypted or signed becomes unusable)."))
def key_init(plan_key: bool, force: bool) -> None:
    from mailprov import api

    change = api.key_init(plan=plan_key, force=force)
    _report_key_change(change, plan_key, imported=False)
    click.echo(_("Carry it to other machines and CI with `mailprov key export{plan}`.").format(
        plan=" --plan" if plan_key else ""), err=True)


@key.command("export", help=N_(
    "Print the key in use (alone, on standard output), for a password manager or CI.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov key export | pass insert -e mailprov/secret-key\n"
    "  mailprov key export --plan"))
@plan_key_option
def key_export(plan_key: bool) -> None:
    from mailprov import api

    text, warning = api.key_export(plan=plan_key)
    click.echo(warning, err=True)
    click.echo(text)


@key.command("import", help=N_(
    "Store a key exported elsewhere: typed at a hidden prompt, or one line of stdin.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov key import\n"
    "  pass show mailprov/secret-key | mailprov key import\n"
    "  mailprov key import --plan"))
@plan_key_option
@option("--force", is_flag=True, help=N_("Replace a different key already stored."))
def key_import(plan_key: bool, force: bool) -> None:
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


@key.command("status", help=N_(
    "Which keys this machine has, where they come from, by fingerprint (never a key).\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov key status"))
def key_status() -> None:
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


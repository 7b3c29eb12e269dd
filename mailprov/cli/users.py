"""`users add|remove|import`: edit `users:` of the configuration files."""

from __future__ import annotations

import click

from mailprov.cli.common import config_option, var_option
from mailprov.cli.translated import Path, group, option
from mailprov.i18n import N_, _


@group(help=N_(
    "Edit `users:` of the configuration files: one line per user, comments and layout\n"
    "kept, the result checked before it is written (nothing is written on error).\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov users add JTREMBLAY MROY --profile staff\n"
    "  mailprov users add COMPTA --profile compta-shared --set port=2525\n"
    "  mailprov users remove MROY\n"
    "  mailprov users import people.csv"))
def users() -> None:
    pass


edit_file_option = option(
    "-c", "--config", "config_file", default="mailprov.yaml", show_default=True,
    type=Path(dir_okay=False), help=N_("The file to edit (with its includes, the "
                                             "configuration checked)."))


@users.command("add", help=N_(
    "Add users to the file, one line each: `CODE: {profile: staff}`.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov users add JTREMBLAY MROY --profile staff\n"
    "  mailprov users add PAIE --profile compta-shared --set port=2525 -c test/mailprov.yaml"))
@click.argument("codes", nargs=-1, required=True)
@option("--profile", "profiles", multiple=True, metavar=N_("NAME"),
        help=N_("A profile for the users (repeatable: applied in order)."))
@option("--set", "settings", multiple=True, metavar=N_("FIELD=VALUE"),
        help=N_("A setting of their smtp section (repeatable): port=2525, from=..., "
                "provider=gmail; or office365.email=... for Office 365."))
@edit_file_option
@var_option
def users_add(codes: tuple[str, ...], profiles: tuple[str, ...], settings: tuple[str, ...],
              config_file: str, variables: tuple[str, ...]) -> None:
    from mailprov import api
    from mailprov.config.edit import entry_from

    result = api.add_users(list(codes), entry_from(profiles, settings), config_file,
                           variables=list(variables))
    click.echo(_("Added {count} user(s) to {file}: {codes}. Review with `mailprov plan`.")
               .format(count=len(result.changed), file=result.file,
                       codes=", ".join(result.changed)))


@users.command("remove", help=N_(
    "Remove users' entries from the file that lists each.\n"
    "\n"
    "\b\n"
    "Examples:\n"
    "  mailprov users remove MROY\n"
    "  mailprov users remove MROY --disable   # MROY: {smtp: false}"))
@click.argument("codes", nargs=-1, required=True)
@config_option
@option("--disable", is_flag=True, help=N_(
    "Write `CODE: {smtp: false}` instead, so that apply removes their overrides too (with "
    "prune: false, removing the entry leaves the override alone)."))
@var_option
def users_remove(codes: tuple[str, ...], configs: tuple[str, ...], disable: bool,
                 variables: tuple[str, ...]) -> None:
    from mailprov import api

    result = api.remove_users(list(codes), list(configs) or None, disable=disable,
                              variables=list(variables))
    text = _("Disabled {count} user(s) in {file}: {codes}. Review with `mailprov plan`.") \
        if disable else \
        _("Removed {count} user(s) in {file}: {codes}. Review with `mailprov plan`.")
    click.echo(text.format(count=len(result.changed), file=result.file,
                           codes=", ".join(result.changed)))


@users.command("import", help=N_(
    "Add the users of a CSV list (columns code, profile, smtp fields) to the file; users\n"
    "already listed are left as they are.\n"
    "\n"
    "\b\n"
    "Example:\n"
    "  mailprov users import people.csv -c users/staff.yaml"))
@click.argument("csv_file", type=Path(dir_okay=False))
@edit_file_option
@var_option
def users_import(csv_file: str, config_file: str, variables: tuple[str, ...]) -> None:
    from mailprov import api

    result = api.import_users(csv_file, config_file, variables=list(variables))
    text = _("Added {count} user(s) to {file}; {skipped} already listed, left as they are.") \
        if result.skipped else _("Added {count} user(s) to {file}.")
    click.echo(text.format(count=len(result.changed), file=result.file,
                           skipped=len(result.skipped)))


"""`users add|remove|import`: edit `users:` of the configuration files."""

from __future__ import annotations

import click

from mailprov.cli.common import config_option, var_option


@click.group()
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


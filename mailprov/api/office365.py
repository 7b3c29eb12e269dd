"""Office 365 – Modern Authentication: who has it, and moving users to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailprov.api.database import read_target
from mailprov.api.files import load_config
from mailprov.config.targets import ResolvedTarget

if TYPE_CHECKING:
    from mailprov.config.migrate import Migration
    from mailprov.live.office365 import Office365Status


def office365_status(target: ResolvedTarget) -> Office365Status:
    """Who sends with Office 365 – Modern Authentication on the target, and whether each
    has authenticated in maestro* (mailprov.live.office365)."""
    from mailprov.live.office365 import office365_status as _status

    return _status(read_target(target), target.name, target.display_url)


def migrate_office365(configs: Sequence[str] | None = None, users: Sequence[str] | None = None,
                      *, variables: Mapping[str, Any] | Sequence[str] | None = None,
                      dry_run: bool = False) -> Migration:
    """Move every user the files send through smtp.office365.com with a password (those
    whose code matches one of the `users` globs, when given) to Office 365 – Modern
    Authentication, editing the files in place (mailprov.config.migrate). The edited files
    are checked first: they load, the users that move have the Office 365 mode with their
    login as account, every other user is as before. `dry_run`: nothing is written."""
    from pathlib import Path

    from mailprov.config.edit import write_checked
    from mailprov.config.load import load_config as _load
    from mailprov.config.load import parse_variables
    from mailprov.config.migrate import check_migration
    from mailprov.config.migrate import migrate_office365 as _migrate

    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)
    names = list(configs) if configs else ["mailprov.yaml"]
    config = load_config(names, variables)
    migration = _migrate(config, users)
    if not migration.texts:
        return migration
    replacements = {Path(file): after.encode("utf-8")
                    for file, (_before, after) in migration.texts.items()}
    check_migration(config, _load(names, variables, replacements=replacements), migration)
    if not dry_run:
        for file, (_before, after) in migration.texts.items():
            write_checked(Path(file), after, lambda _replacements: None)
    return migration


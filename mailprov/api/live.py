"""What a target holds, for people: one user explained, or the whole as a file."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mailprov.api.database import read_target
from mailprov.config.targets import ResolvedTarget
from mailprov.model import Config

if TYPE_CHECKING:
    from mailprov.live.explain import Explanation
    from mailprov.live.importer import Export


def import_live(target: ResolvedTarget, schema: str | None = None, *,
                folder: str | os.PathLike[str] | None = None) -> Export:
    """The live configuration as a mailprov YAML file, and the live values that cannot be
    written as valid configuration (commented out in the text; see mailprov.live.importer).

    `schema` is what the editor modeline points at (default: the schema's $id); `folder`
    is where the file will be written (default: the working folder): relative SQLite
    URLs and mapping paths are written relative to it.
    """
    from mailprov.live.importer import SCHEMA_URL, build_export

    return build_export(read_target(target), target, schema=schema or SCHEMA_URL,
                        folder=os.fspath(folder) if folder is not None else None)


def export_config(target: ResolvedTarget, schema: str | None = None, *,
                  folder: str | os.PathLike[str] | None = None,
                  allow_invalid: bool = False) -> str:
    """The text of import_live; LiveDataError when live values cannot be written as valid
    configuration, unless `allow_invalid` (then they are written commented out)."""
    return import_live(target, schema, folder=folder).checked(allow_invalid)


def explain(code: str, target: ResolvedTarget, config: Config | None = None) -> Explanation:
    """The effective mail settings of one user, and why (general default or bi-mode override).

    With `config`, also what the files make of the user and where each value comes from
    (user entry, CSV row, profile, defaults, selection, preset, template, general.smtp)."""
    from mailprov.live.explain import explain_user
    from mailprov.plan.diff import unknown_user_error

    live = read_target(target)  # every user: one query, and the names an unknown code misses
    user = live.users.get(code)
    if user is None:
        raise unknown_user_error(code, target.name, live.users)
    explanation = explain_user(user, live.general, user.password_set, live.model_version,
                               live.warnings)
    if config is None:
        return explanation
    config = config.for_target(target.name)
    from dataclasses import replace

    from mailprov.live.explain import configured_user

    return replace(explanation, configured=configured_user(config, user, live.general),
                   locator=config.locator)


"""Getting started: a sandbox database, a configuration repository."""

from __future__ import annotations

import os

from mailprov.api.database import open_database, read_live
from mailprov.api.files import schema_text
from mailprov.config.targets import ResolvedTarget
from mailprov.i18n import _


def sandbox(url: str, *, users: int = 25, edition: str = "standard",
            force: bool = False, model: int = 2) -> int:
    """Create a reference-model database with `users` sample users; returns the count.

    `model` is the reference model version: 2 (maestro* 3.05, the default: one person in
    four sends with Office 365, some of them authenticated already) or 1 (before 3.05)."""
    from mailprov.db.sandbox import create_sandbox
    from mailprov.db.tables import build_tables
    from mailprov.model.versions import version

    version(model)  # ValueError for a version mailprov does not know
    target = ResolvedTarget(url, url)
    with open_database(target, create=True) as db, db.errors(_("creating the sandbox in")):
        tables = build_tables(db.tables.mapping, model)
        return len(create_sandbox(db.engine, tables, users=users, edition=edition,
                                  force=force))


def init(folder: str | os.PathLike[str], *, target: str = "prod", ci: str | None = None,
         from_db: str | None = None, force: bool = False,
         allow_invalid: bool = False) -> list[str]:
    """Scaffold a configuration repository in `folder` (mailprov.scaffold); with
    `from_db`, mailprov.yaml is the live configuration of that database (as `import`
    writes it). Returns the files written, relative to `folder`."""
    from mailprov.config.urls import relative_sqlite
    from mailprov.scaffold import SCHEMA_PATH, scaffold, with_include, write_scaffold

    config_text = None
    if from_db:
        from mailprov.live.importer import render_yaml

        with open_database(ResolvedTarget(target, from_db), read_only=True) as db:
            live = read_live(db)
        written = ResolvedTarget(target, relative_sqlite(from_db, folder))
        config_text = with_include(render_yaml(live, written, "./" + SCHEMA_PATH,
                                               allow_invalid=allow_invalid))
    return write_scaffold(folder, scaffold(target, ci, schema_text(), config_text, from_db),
                          force)



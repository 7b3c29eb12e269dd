"""Targets: which database a command works on, by name, URL or saved plan.

Resolving a target reads no database; mailprov.db opens it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import msgspec

from mailprov.config.urls import anchor_sqlite, check_url_password, redact
from mailprov.errors import MailprovError, TargetError
from mailprov.i18n import _
from mailprov.model import Config, DbMapping, mapping_from_data

ENV_DB_URL = "MAILPROV_DB_URL"


class ResolvedTarget(msgspec.Struct, frozen=True):
    """A database to work on: its name, URL (may hold a command-line password), mapping."""

    name: str
    url: str
    edition: str | None = None
    mapping_path: str | None = None
    mapping_data: Mapping[str, Any] | None = None

    @property
    def display_url(self) -> str:
        return redact(self.url)

    def mapping(self) -> DbMapping:
        """Where the target keeps each field: a saved plan's mapping, the target's
        mapping file, or the reference model."""
        if self.mapping_data is not None:
            return mapping_from_data(self.mapping_data, "saved plan")
        from mailprov.config.mapping_file import load_mapping

        return load_mapping(self.mapping_path)


def looks_like_url(text: str) -> bool:
    """`-t` takes a target name or a database URL."""
    return "://" in text or text.startswith("sqlite:")


def resolve_target(config: Config | None, target: str | None = None,
                   db_url: str | None = None) -> ResolvedTarget:
    """Pick the target named by `-t` (a name or a URL), the default one, or the only one.

    `db_url` (`--db`, or MAILPROV_DB_URL) replaces the target's URL.
    """
    db_url = db_url or os.environ.get(ENV_DB_URL) or None
    for url in (db_url, target):
        if url and looks_like_url(url):
            check_url_password(url)
    if db_url:
        db_url = anchor_sqlite(db_url, os.getcwd())
    if target and looks_like_url(target):
        return ResolvedTarget(redact(target), db_url or anchor_sqlite(target, os.getcwd()))
    targets = dict(config.targets) if config else {}
    name = target or (config.default_target if config else None)
    if name is None and len(targets) == 1:
        name = next(iter(targets))
    if name is None:
        if db_url:
            return ResolvedTarget(redact(db_url), db_url)
        raise TargetError(_("no target given: use -t NAME (one of the `targets` of the "
                            "configuration), -t URL, or set `default_target`"))
    if name not in targets:
        if db_url:
            return ResolvedTarget(name, db_url)
        known = ", ".join(sorted(targets)) or _("none defined")
        raise TargetError(_("target '{name}' is not defined in the configuration (defined: "
                            "{known}): add it under `targets`, or give -t a database "
                            "URL").format(name=name, known=known))
    spec = targets[name]
    url = db_url or spec.url
    if not url:
        raise TargetError(_("target '{name}' has no URL").format(name=name))
    return ResolvedTarget(name, url, spec.edition, spec.mapping)


def target_of_plan(plan_target: str, plan_url: str, plan_edition: str,
                   plan_mapping: Mapping[str, Any] | None, *, plan_file: str,
                   target: str | None = None, db_url: str | None = None) -> ResolvedTarget:
    """Where a saved plan applies: its own target. A saved plan belongs to the target it
    was made for, so `-t OTHER` is refused; `--db`/MAILPROV_DB_URL may replace the URL."""
    if target and target != plan_target:
        raise MailprovError(_("{file} is a plan for target '{planned}', not '{target}': "
                              "apply it without -t, or plan for '{target}'").format(
                                  file=plan_file, planned=plan_target, target=target))
    url = db_url or os.environ.get(ENV_DB_URL) or plan_url
    check_url_password(url)
    return ResolvedTarget(plan_target, url, plan_edition, None,
                          dict(plan_mapping) if plan_mapping else None)

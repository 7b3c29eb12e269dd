"""`mailprov import`: the live configuration written as a mailprov YAML file.

Values equal to the general ones are left out so they inherit, which is how
planning the exported file against the same database shows no changes.
"""

from __future__ import annotations

from typing import Any

import yaml

from mailprov.config.targets import ResolvedTarget
from mailprov.model import CLIENTS, INHERITED_FIELDS, LiveState, MailSettings

MODELINE = "# yaml-language-server: $schema={schema}\n"
SCHEMA_URL = "https://mailprov.example/schemas/mailprov.schema.json"


def _override_dict(code: str, override: MailSettings, live: LiveState) -> dict[str, Any]:
    general = live.general
    cloud = general.edition == "cloud"
    out: dict[str, Any] = {}
    if override.username is not None and not (cloud and override.username == code):
        out["username"] = override.username
    if override.from_address is not None and not cloud:
        out["from"] = override.from_address
    for name in INHERITED_FIELDS:  # left out when equal to general.smtp: they inherit it
        value = override.get(name)
        if value is not None and value != getattr(general, name):
            out[name] = value
    return out


def export_data(live: LiveState, target: ResolvedTarget | None = None) -> dict[str, Any]:
    general = live.general
    data: dict[str, Any] = {"version": 1}
    if target is not None:
        spec: dict[str, Any] = {"url": target.display_url, "edition": general.edition}
        data["targets"] = {_target_name(target): spec}
        data["default_target"] = _target_name(target)
    general_data: dict[str, Any] = {}
    if general.client in CLIENTS:
        general_data["client"] = general.client
    smtp: dict[str, Any] = {}
    if general.server is not None:
        smtp["server"] = general.server
    if general.port is not None:
        smtp["port"] = general.port
    smtp["ssl"] = general.ssl
    general_data["smtp"] = smtp
    data["general"] = general_data
    users = {}
    for code in sorted(live.users):
        override = live.users[code].override
        if override is not None:
            users[code] = {"smtp": _override_dict(code, override, live)}
    data["users"] = users
    data["prune"] = False
    return data


def _target_name(target: ResolvedTarget) -> str:
    return target.name if "://" not in target.name and ":" not in target.name else "main"


def render_yaml(live: LiveState, target: ResolvedTarget | None = None,
                schema: str = SCHEMA_URL) -> str:
    """The exported file text, with the editor schema modeline."""
    body = yaml.dump(export_data(live, target), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, default_flow_style=False, width=100)
    header = MODELINE.format(schema=schema) + "# Exported by `mailprov import`.\n"
    return header + body


class _Dumper(yaml.SafeDumper):
    """Indent nested lists and never emit aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

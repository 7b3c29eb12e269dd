"""`mailprov explain` as text: how one user sends e-mail, and why."""

from __future__ import annotations

from typing import Any

from mailprov.i18n import N_, _, language
from mailprov.live.explain import Configured, Explanation
from mailprov.model import ValueSource
from mailprov.render.places import label, menu_path, setting_name
from mailprov.render.values import printable_text, show

# a setting's short English name in `explain` (English output stays as it always was);
# other languages name it as maestro*'s screens do, next to its YAML key
_LABELS = (("username", "login"), ("from", "from"), ("server", "server"), ("port", "port"),
           ("ssl", "ssl"))
_LISTED = {"user": N_("its entry under `users:`"), "csv": N_("its row of a CSV user list"),
           "selection": N_("a selection (`match`)"), "all_users": "`all_users`"}
HEAD_WIDTH = 11  # `sends with:`, the longest English head: values start in one column


def _setting(name: str, english: str) -> str:
    return english if language() == "en" else setting_name(name)


def _rows(pairs: list[tuple[str, str]], indent: str = "  ") -> list[str]:
    """`  head:  value` lines, the values in one column however long the heads."""
    width = max([HEAD_WIDTH, *(len(head) for head, _value in pairs)])
    return [f"{indent}{head.ljust(width)} {value}" for head, value in pairs]


def describe_source(source: ValueSource, locator: Any = None) -> str:
    """Where a value came from, for people: `profile staff, template {{ ... }}
    (mailprov.yaml:7:17)`."""
    kind = source.kind
    text = {
        "user": _("the user's entry"), "csv": _("CSV row"),
        "profile": _("profile {name}").format(name=source.name),
        "default": _("defaults"), "selection": _("selection {name}").format(name=source.name),
        "all_users": _("all_users"),
        "preset": _("preset {name}").format(name=source.name),
        "general": (_("inherited from general.smtp (preset {name})").format(name=source.name)
                    if source.name else _("inherited from general.smtp") if source.file
                    else _("inherited from the target's general configuration")),
        "username": _("the login (`from` defaults to it)"),
        "user-code": _("the user code (maestro*CLOUD)"),
    }.get(kind, kind)
    if source.template is not None:
        text += _(", template {template}").format(template=source.template)
    if source.file:
        line, column = locator.position(source.file, source.path) if locator else (0, 0)
        text += f" ({source.file}:{line}:{column})" if line else f" ({source.file})"
    return text


def _configured(info: Configured, locator: Any, live: Explanation) -> list[str]:
    if not info.listed_by:
        return ["  " + _("in the files: not listed; apply leaves this user as it is")]
    how = _(_LISTED[info.listed_by]) if info.listed_by in _LISTED else info.listed_by
    profiles = (_(" (profiles: {names})").format(names=", ".join(info.profiles))
                if info.profiles else "")
    lines = ["  " + _("in the files: {how}, {file}:{line}{profiles}").format(
        how=how, file=info.file, line=info.line, profiles=profiles)]
    if info.office365 is not None:
        source = info.sources.get("email")
        origin = describe_source(source, locator) if source else _("not set")
        lines.append("    " + _("Office 365 – Modern Authentication"))
        lines.append(f"    {_setting('email', 'email').ljust(7)} "
                     f"{show(info.office365.email).ljust(28)} <- {origin}")
        if info.current_office365 is None:
            lines.append("    " + _("apply would move this user to Office 365 – Modern "
                                    "Authentication"))
        elif info.current_office365 != info.office365:
            lines.append("    " + _("apply would change: email {before} -> {after}").format(
                before=show(info.current_office365.email), after=show(info.office365.email)))
        return lines
    if info.settings is None:
        lines.append("    " + _("no per-user SMTP section (`smtp: false`)"))
        if info.current is not None or info.current_office365 is not None:
            lines.append("    " + _("apply would remove the user's own mode: the user would "
                                    "follow the general default"))
        return lines
    values = info.settings.as_dict()
    names = {name: _setting(name, english) for name, english in _LABELS}
    width = max(7, *(len(shown) for shown in names.values()))
    for name, _english in _LABELS:
        source = info.sources.get(name)
        origin = describe_source(source, locator) if source else _("not set")
        lines.append(f"    {names[name].ljust(width)} {show(values[name]).ljust(28)} "
                     f"<- {origin}")
    current = None if info.current is None else info.current.as_dict()
    if current is None and info.current_office365 is not None:
        lines.append("    " + _("apply would move this user from Office 365 to an SMTP section"))
    elif current is None:
        lines.append("    " + _("apply would enable this user's SMTP section"))
    elif changes := [f"{names[name]} {show(current[name])} -> {show(values[name])}"
                     for name, _english in _LABELS if current[name] != values[name]]:
        lines.append("    " + _("apply would change: {changes}").format(
            changes="; ".join(changes)))
    return lines


def _maestro_pairs(info: Explanation) -> list[tuple[str, str]]:
    """The maestro* setting that decides how the user sends, named as maestro*'s screens
    name it, and where an admin sees it. Only outside English, whose `explain` output
    keeps the wording it has always had."""
    if language() == "en":
        return []
    if info.mode == "override":
        return [(_("where in maestro*:"), menu_path("username", info.code))]
    if info.mode == "office365" and info.office365_email is not None:
        return [(_("where in maestro*:"), menu_path("mode", info.code))]
    pairs = [(_("{name}:").format(name=label("client")), show(info.mode)),
             (_("where in maestro*:"), menu_path("client"))]
    if info.mode == "smtp":  # the general SMTP account it sends through
        pairs.append((_("where in maestro*:"), menu_path("smtp.server")))
    return pairs


def render_explanation(info: Explanation, target_name: str) -> str:
    """Values shown as plans show them; every line escaped besides, since the client,
    edition and notes come from the database too."""
    mode = (_("per-user SMTP override") if info.mode == "override"
            else _("Office 365 – Modern Authentication") if info.mode == "office365"
            else info.mode)
    who = f"{show(info.code)} ({show(info.name)})" if info.name else show(info.code)
    lines = [_("{who} on target '{target}', edition {edition}").format(
        who=who, target=target_name, edition=info.edition)]
    pairs = [(_("sends with:"), mode), (_("because:"), info.reason)]
    if info.office365_email is not None:
        pairs.append((_("account:"), show(info.office365_email)))
    if info.server is not None or info.mode in ("override", "smtp"):
        # Translators: "{name}:" heads a line of `explain`; the name is a setting's label
        pairs += [(_("{name}:").format(name=_setting(name, english)), show(value))
                  for name, english, value in (
                      ("server", "server", info.server), ("port", "port", info.port),
                      ("ssl", "ssl", info.ssl), ("username", "login", info.username),
                      ("from", "from", info.from_address))]
        pairs.append((_("password:"), _("entered") if info.password_set
                      else _("not entered")))
    pairs += [(_("note:"), note) for note in info.notes]
    lines += _rows(pairs)
    lines += [f"  {head} {value}" for head, value in _maestro_pairs(info)]
    if info.configured is not None:
        lines += _configured(info.configured, info.locator, info)
    return "\n".join(printable_text(line) for line in lines) + "\n"




def explanation_json(info: Explanation, target_name: str) -> str:
    """`explain --format json`: the same facts for scripts (never a password); with the
    files, `configured` says what they make of the user and where each value comes from,
    as plan JSON's `sources` does."""
    import json
    from dataclasses import fields

    from mailprov.plan.format import source_json

    data: dict[str, Any] = {"target": target_name}
    data.update((f.name, getattr(info, f.name)) for f in fields(info)
                if f.name not in ("configured", "locator"))
    data["from"] = data.pop("from_address")  # the name files and plans use
    data["notes"] = list(info.notes)
    if info.authenticated_at is not None:
        data["authenticated_at"] = info.authenticated_at.isoformat()
    configured = info.configured
    if configured is not None:
        data["configured"] = {
            "listed_by": configured.listed_by or None, "file": configured.file or None,
            "line": configured.line or None, "profiles": list(configured.profiles),
            "settings": (configured.office365.as_dict() if configured.office365 is not None
                         else None if configured.settings is None
                         else configured.settings.as_dict()),
            "sources": {name: source_json(source, info.locator)  # type: ignore[arg-type]
                        for name, source in configured.sources.items()}}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

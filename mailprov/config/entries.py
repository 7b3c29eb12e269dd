"""How a user's settings are put together from the sections that give them.

Precedence for each field: the user's own key, then its profiles in the order
given, then `defaults`; server, port and ssl left out after that inherit
`general.smtp` when the plan copies them in. A `provider:` fills server, port
and ssl *in its own section*, under the keys written beside it: a user's own
`provider: gmail` beats a port from `defaults`, and a profile's provider loses
to the user's own port.

The per-user mode follows the same precedence: the first of those sections that
has an `smtp` or an `office365` key decides whether the user sends through SMTP
or with Office 365 – Modern Authentication, and the user's values are then
gathered from the sections of that mode only (a port in `defaults` does not
make an Office 365 user an SMTP one). One entry holds one of the two keys, never
both.

Sections shared by many users (profiles, defaults) are turned into a `Layer`
once; a user costs one small merge, however many users share a profile.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from mailprov.config.presets import PROVIDER_KEY, get_preset, preset_names
from mailprov.config.templates import is_template
from mailprov.errors import PathStep
from mailprov.i18n import _
from mailprov.model import (
    OFFICE365,
    OFFICE365_MODE,
    OVERRIDE,
    SMTP_MODE,
    DesiredOffice365,
    DesiredOverride,
    DesiredUser,
    Source,
    ValueSource,
)


class Layer(msgspec.Struct, frozen=True):
    """One section's values (a provider already expanded) and where each came from, and
    the per-user mode the section chooses (`smtp`, `office365`, or None when it has
    neither key)."""

    values: Mapping[str, Any]
    sources: Mapping[str, ValueSource]
    empty: frozenset[str] = frozenset()
    """Fields the section sets to `null`: stored empty, which wins like a value."""
    mode: str | None = None


EMPTY = Layer({}, {})
ENTRY_CONFLICT = "entry-conflict"
"""The code of an entry whose keys contradict each other (`smtp` and `office365`)."""


class EntryProblem(msgspec.Struct, frozen=True):
    """A problem of an entry, placed later by the loader (which knows the files)."""

    file: str
    path: tuple[PathStep, ...]
    message: str
    key: bool = False
    code: str = ""


def make_layer(smtp: Any, kind: str, file: str, path: tuple[PathStep, ...],
               name: str | None = None) -> Layer:
    """The layer of one `smtp` section written at `path` (the section itself) in `file`."""
    if not isinstance(smtp, Mapping):
        return EMPTY
    if not smtp:
        return Layer({}, {}, mode=SMTP_MODE.name)
    values: dict[str, Any] = {}
    sources: dict[str, ValueSource] = {}
    provider = smtp.get(PROVIDER_KEY)
    if isinstance(provider, str) and provider in preset_names():
        filled = ValueSource("preset", file, (*path, PROVIDER_KEY), provider)
        for key, value in get_preset(provider).settings().items():
            if smtp.get(key) is None:
                values[key] = value
                sources[key] = filled
    empty = set()
    for field in OVERRIDE:
        value = smtp.get(field.name)
        if value is None:
            if field.name in smtp:  # `from: null`: stored empty, on purpose
                empty.add(field.name)
                values.pop(field.name, None)
                sources[field.name] = ValueSource(kind, file, (*path, field.name), name)
            continue
        values[field.name] = value
        template = value if isinstance(value, str) and is_template(value) else None
        sources[field.name] = ValueSource(kind, file, (*path, field.name), name, template)
    return Layer(values, sources, frozenset(empty), SMTP_MODE.name)


def make_office365_layer(section: Any, kind: str, file: str, path: tuple[PathStep, ...],
                         name: str | None = None) -> Layer:
    """The layer of one `office365` section written at `path` (the section itself)."""
    if not isinstance(section, Mapping):
        return EMPTY
    values: dict[str, Any] = {}
    sources: dict[str, ValueSource] = {}
    for field in OFFICE365:
        value = section.get(field.name)
        if value is None:
            continue
        values[field.name] = value
        template = value if isinstance(value, str) and is_template(value) else None
        sources[field.name] = ValueSource(kind, file, (*path, field.name), name, template)
    return Layer(values, sources, mode=OFFICE365_MODE.name)


def entry_layer(entry: Any, kind: str, file: str, path: tuple[PathStep, ...],
                name: str | None = None) -> tuple[Layer, EntryProblem | None]:
    """The layer of one entry written at `path` (a user, profile, selection, `defaults`):
    its `smtp` section or its `office365` mode, and the problem of an entry that has
    both."""
    if not isinstance(entry, Mapping):
        return EMPTY, None
    smtp, office365 = entry.get("smtp"), entry.get("office365")
    problem = None
    if "office365" in entry and "smtp" in entry:
        problem = EntryProblem(file, (*path, "office365"), _(
            "`smtp` and `office365` are two ways of sending: keep one (`office365` sends with "
            "the user's Office 365 account, Modern Authentication; `smtp` through an SMTP "
            "server with a password)"), key=True, code=ENTRY_CONFLICT)
    if "office365" in entry:
        return make_office365_layer(office365, kind, file, (*path, "office365"), name), problem
    return make_layer(smtp, kind, file, (*path, "smtp"), name), problem


def combine(layers: Sequence[Layer]) -> tuple[DesiredOverride, dict[str, ValueSource]]:
    """The SMTP section the layers give, first layer first, and each value's source."""
    if len(layers) == 1:
        only = layers[0]
        return _override(only.values, only.empty), dict(only.sources)
    values: dict[str, Any] = {}
    sources: dict[str, ValueSource] = {}
    empty: set[str] = set()
    for layer in layers:
        for key, value in layer.values.items():
            if key not in sources:
                values[key] = value
                sources[key] = layer.sources[key]
        for key in layer.empty:
            if key not in sources:
                empty.add(key)
                sources[key] = layer.sources[key]
    return _override(values, frozenset(empty)), sources


def _override(values: Mapping[str, Any], empty: frozenset[str]) -> DesiredOverride:
    return DesiredOverride(**{f.attr: values.get(f.name) for f in OVERRIDE}, empty=empty)


def chosen_mode(layers: Sequence[Layer]) -> str:
    """The per-user mode the first layer that names one chooses; SMTP when none does (a
    user listed with a profile that gives nothing is an SMTP user without settings)."""
    return next((layer.mode for layer in layers if layer.mode is not None), SMTP_MODE.name)


def resolve_layers(code: str, layers: Sequence[Layer], source: Source,
                   profiles: tuple[str, ...] = (), listed_by: str = "user") -> DesiredUser:
    """The DesiredUser the layers give (first layer first): the mode the first of them
    chooses, with the values of the layers of that mode."""
    mode = chosen_mode(layers)
    own = [layer for layer in layers if layer.mode == mode and (layer.values or layer.empty)]
    if mode == OFFICE365_MODE.name:
        values: dict[str, Any] = {}
        sources: dict[str, ValueSource] = {}
        for layer in own:
            for key, value in layer.values.items():
                if key not in sources:
                    values[key], sources[key] = value, layer.sources[key]
        return DesiredUser(code, None, source, sources, profiles, listed_by,
                           office365=DesiredOffice365(**values))
    override, sources = combine(own or [EMPTY])
    return DesiredUser(code, override, source, sources, profiles, listed_by)


def profile_names(value: Any) -> tuple[str, ...]:
    """`profile: staff` or `profile: [staff, compta-shared]` as a tuple of names."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


class EntryBuilder:
    """Builds users (and selections) from their entries, the profiles and the defaults."""

    def __init__(self, profiles: Mapping[str, tuple[str, Any]],
                 defaults: Layer) -> None:
        self.defaults = defaults
        self.layers: dict[str, Layer] = {}
        self.problems: list[EntryProblem] = []
        for name, (file, entry) in profiles.items():
            layer, problem = entry_layer(entry, "profile", file, ("profiles", name), name)
            self.layers[name] = layer
            if problem is not None:
                self.problems.append(problem)

    def user(self, code: str, entry: Any, kind: str, file: str,
             path: tuple[PathStep, ...], name: str | None = None) -> DesiredUser:
        """The DesiredUser of one entry written at `path` (kind `user`, `csv`, `selection`
        or `all_users`)."""
        entry = entry if isinstance(entry, Mapping) else {}
        profiles = profile_names(entry.get("profile"))
        smtp = entry.get("smtp")
        own, problem = entry_layer(entry, kind, file, path, name)
        if problem is not None:
            self.problems.append(problem)
        if smtp is False and "office365" not in entry:
            if profiles:
                self.problems.append(EntryProblem(file, (*path, "profile"), _(
                    "`smtp: false` removes the user's override and a profile gives one: keep "
                    "one of them"), key=True, code=ENTRY_CONFLICT))
            return DesiredUser(code, None, Source(file), {}, profiles, kind)
        layers = [own]
        for index, profile in enumerate(profiles):
            layer = self.layers.get(profile)
            if layer is None:
                where = (*path, "profile") if isinstance(entry.get("profile"), str) \
                    else (*path, "profile", index)
                self.problems.append(EntryProblem(file, where, self._unknown(profile),
                                                  code="unknown-profile"))
                continue
            layers.append(layer)
        if self.defaults.values or self.defaults.mode is not None:
            layers.append(self.defaults)
        return resolve_layers(code, layers, Source(file), profiles, kind)

    def _unknown(self, profile: str) -> str:
        known = sorted(self.layers)
        close = difflib.get_close_matches(profile, known, n=1, cutoff=0.6) \
            if len(profile) < 100 else []
        if close:
            return _("unknown profile '{name}'; did you mean '{close}'? (profiles: {known})"
                     ).format(name=profile, close=close[0], known=", ".join(known))
        if known:
            return _("unknown profile '{name}' (profiles: {known}): define it under "
                     "`profiles:`").format(name=profile, known=", ".join(known))
        return _("unknown profile '{name}': no profile is defined; define it under "
                 "`profiles:`").format(name=profile)

"""How a user's settings are put together from the sections that give them.

Precedence for each field: the user's own key, then its profiles in the order
given, then `defaults`; server, port and ssl left out after that inherit
`general.smtp` when the plan copies them in. A `provider:` fills server, port
and ssl *in its own section*, under the keys written beside it: a user's own
`provider: gmail` beats a port from `defaults`, and a profile's provider loses
to the user's own port.

Sections shared by many users (profiles, defaults) are turned into a `Layer`
once; a user costs one small merge, however many users share a profile.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailprov.config.presets import PROVIDER_KEY, get_preset, preset_names
from mailprov.config.templates import is_template
from mailprov.errors import PathStep
from mailprov.i18n import _
from mailprov.model import OVERRIDE, DesiredOverride, DesiredUser, Source, ValueSource


@dataclass(frozen=True, slots=True)
class Layer:
    """One section's smtp values (a provider already expanded) and where each came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, ValueSource]
    empty: frozenset[str] = frozenset()
    """Fields the section sets to `null`: stored empty, which wins like a value."""


EMPTY = Layer({}, {})


@dataclass(frozen=True, slots=True)
class EntryProblem:
    """A problem of an entry, placed later by the loader (which knows the files)."""

    file: str
    path: tuple[PathStep, ...]
    message: str
    key: bool = False


def make_layer(smtp: Any, kind: str, file: str, path: tuple[PathStep, ...],
               name: str | None = None) -> Layer:
    """The layer of one `smtp` section written at `path` (the section itself) in `file`."""
    if not isinstance(smtp, Mapping) or not smtp:
        return EMPTY
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
    return Layer(values, sources, frozenset(empty))


def combine(layers: Sequence[Layer]) -> tuple[DesiredOverride, dict[str, ValueSource]]:
    """The override the layers give, first layer first, and each value's source."""
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
        for name, (file, entry) in profiles.items():
            smtp = entry.get("smtp") if isinstance(entry, Mapping) else None
            self.layers[name] = make_layer(smtp, "profile", file, ("profiles", name, "smtp"),
                                           name)
        self.problems: list[EntryProblem] = []

    def user(self, code: str, entry: Any, kind: str, file: str,
             path: tuple[PathStep, ...], name: str | None = None) -> DesiredUser:
        """The DesiredUser of one entry written at `path` (kind `user`, `csv`, `selection`
        or `all_users`)."""
        entry = entry if isinstance(entry, Mapping) else {}
        profiles = profile_names(entry.get("profile"))
        smtp = entry.get("smtp")
        if smtp is False:
            if profiles:
                self.problems.append(EntryProblem(file, (*path, "profile"), _(
                    "`smtp: false` removes the user's override and a profile gives one: keep "
                    "one of them"), key=True))
            return DesiredUser(code, None, Source(file), {}, profiles, kind)
        layers = [make_layer(smtp, kind, file, (*path, "smtp"), name)]
        for index, profile in enumerate(profiles):
            layer = self.layers.get(profile)
            if layer is None:
                where = (*path, "profile") if isinstance(entry.get("profile"), str) \
                    else (*path, "profile", index)
                self.problems.append(EntryProblem(file, where, self._unknown(profile)))
                continue
            layers.append(layer)
        if self.defaults.values:
            layers.append(self.defaults)
        override, sources = combine([layer for layer in layers if layer.values or layer.empty]
                                    or [EMPTY])
        return DesiredUser(code, override, Source(file), sources, profiles, kind)

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

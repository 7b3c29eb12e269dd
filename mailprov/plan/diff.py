"""The pure compare step: desired state + live state -> ordered changes.

No I/O here. The renderers and the executor both consume what this returns.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mailprov.errors import UnknownUserError, visible
from mailprov.i18n import _
from mailprov.model import (
    INHERITED_FIELDS,
    OVERRIDE,
    OVERRIDE_FIELDS,
    Config,
    DesiredGeneral,
    DesiredOverride,
    DesiredUser,
    GeneralSettings,
    LiveState,
    MailSettings,
    ValueSource,
)
from mailprov.plan.format import GENERAL, USER_PREFIX, Change, PlanWarning

USER_CODE = ValueSource("user-code")
LIVE_GENERAL = ValueSource("general")


def user_sources(config: Config, desired: DesiredUser, edition: str
                 ) -> dict[str, ValueSource]:
    """Where each value of a user's override comes from: the files (user entry, CSV row,
    profile, default, selection, preset, template), general.smtp or the live general row
    (inherited), the login (`from`), or maestro*CLOUD's user code."""
    override = desired.override
    if override is None:
        return {}
    cloud = edition == "cloud"
    found: dict[str, ValueSource] = {}
    for field in OVERRIDE:
        value = override.get(field.name)
        if cloud and (field.name == "from" or (field.name == "username" and value is None)):
            found[field.name] = USER_CODE
        elif value is not None or field.name in override.empty:  # null: stored empty
            found[field.name] = desired.sources.get(field.name) or ValueSource(
                "user", desired.source.file, ("users", desired.code, "smtp", field.name))
        elif field.inherited:
            general = config.general_sources.get(field.name)
            found[field.name] = LIVE_GENERAL if general is None else ValueSource(
                "general", general.file, general.path, general.name)
    return found


@dataclass(frozen=True)
class DiffResult:
    changes: tuple[Change, ...]
    unmanaged_overrides: int
    unknown_users: tuple[str, ...]
    warnings: tuple[PlanWarning, ...]


def target_general(live: GeneralSettings, desired: DesiredGeneral) -> GeneralSettings:
    """The general row after apply: the file's values over the live ones."""
    smtp = desired.smtp
    return GeneralSettings(
        edition=live.edition,
        client=desired.client if desired.client is not None else live.client,
        server=smtp.server if smtp.server is not None else live.server,
        port=smtp.port if smtp.port is not None else live.port,
        ssl=smtp.ssl if smtp.ssl is not None else live.ssl,
    )


def resolve_override(code: str, override: DesiredOverride, general: GeneralSettings,
                     edition: str) -> MailSettings:
    """A user's override as maestro* stores it: general values copied in (docs/database.md) for
    the inherited fields left out, NULL for the fields the file sets to null."""
    values = {}
    for field in OVERRIDE:
        value = getattr(override, field.attr)
        if value is None and field.inherited and field.name not in override.empty:
            value = getattr(general, field.name)
        values[field.attr] = value
    if edition == "cloud":  # the login defaults to, and the From address is, the user code
        if values["username"] is None and "username" not in override.empty:
            values["username"] = code
        if "from" not in override.empty:
            values["from_address"] = code
    return MailSettings(**values)


def _changed_general(before: GeneralSettings, after: GeneralSettings) -> list[str]:
    changed = []
    if before.client != after.client:
        changed.append("client")
    for field in ("server", "port", "ssl"):
        if getattr(before, field) != getattr(after, field):
            changed.append(f"smtp.{field}")
    return changed


def diff(config: Config, live: LiveState) -> DiffResult:
    """Changes that make `live` match `config`: general first, then users by code."""
    edition = live.general.edition
    new_general = target_general(live.general, config.general)
    changes: list[Change] = []
    general_changed = _changed_general(live.general, new_general)
    if general_changed:
        changes.append(Change(GENERAL, "update", live.general.as_dict(), new_general.as_dict(),
                              tuple(general_changed)))
    inherited_moves = {f for f in INHERITED_FIELDS if f"smtp.{f}" in general_changed}
    unknown = []
    user_changes: list[Change] = []
    for code, desired in config.users.items():
        user = live.users.get(code)
        if user is None:
            unknown.append(code)
            continue
        current = user.override
        if desired.override is None:
            if current is not None:
                user_changes.append(Change(USER_PREFIX + code, "delete", current.as_dict(),
                                           None, OVERRIDE_FIELDS, number=user.number))
            continue
        wanted = resolve_override(code, desired.override, new_general, edition)
        if current is None:
            user_changes.append(Change(USER_PREFIX + code, "create", None, wanted.as_dict(),
                                       OVERRIDE_FIELDS, number=user.number,
                                       sources=user_sources(config, desired, edition)))
            continue
        before, after = current.as_dict(), wanted.as_dict()
        changed = tuple(f for f in OVERRIDE_FIELDS if before[f] != after[f])
        if changed:
            follows = bool(inherited_moves) and all(
                f in inherited_moves and getattr(desired.override, f) is None
                and before[f] == getattr(live.general, f)
                for f in changed
            )
            user_changes.append(Change(USER_PREFIX + code, "update", before, after, changed,
                                       follows_general=follows, number=user.number,
                                       sources=user_sources(config, desired, edition)))
    unmanaged = 0
    stale_followers = 0
    for code, user in live.users.items():
        if user.override is None or code in config.users:
            continue
        if config.prune:
            user_changes.append(Change(USER_PREFIX + code, "delete", user.override.as_dict(),
                                       None, OVERRIDE_FIELDS, number=user.number))
        else:
            unmanaged += 1
            if inherited_moves and all(
                getattr(user.override, f) == getattr(live.general, f) for f in inherited_moves
            ):
                stale_followers += 1
    user_changes.sort(key=lambda c: c.address)
    warnings = [PlanWarning("users-without-code", "database", w) for w in live.warnings]
    if stale_followers:
        warnings.append(PlanWarning(
            "unlisted-overrides-keep-old-smtp", GENERAL,
            f"{stale_followers} override(s) on users not listed in the files use the old "
            "general SMTP settings and will keep them: list those users, or set `prune: true`"))
    return DiffResult(tuple(changes + user_changes), unmanaged, tuple(sorted(unknown)),
                      tuple(warnings))


def unknown_user_error(code: str, target_name: str, known: Iterable[str]) -> UnknownUserError:
    """`no user 'X' in target 'T'`, with the closest existing codes suggested."""
    return UnknownUserError(f"no user '{code}' in target '{target_name}'"
                            + did_you_mean(code, known))


def suggest_codes(code: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Closest existing user codes (case-insensitive, look-alike aware)."""
    known = list(known)
    folded = {k.casefold(): k for k in known}
    plain = _ascii_fold(code)
    hits = []
    for candidate in (code.casefold(), plain.casefold()):
        if candidate in folded and folded[candidate] not in hits:
            hits.append(folded[candidate])
    for close in difflib.get_close_matches(plain.casefold(), list(folded), n=n, cutoff=0.75):
        if folded[close] not in hits:
            hits.append(folded[close])
    return hits[:n]


def did_you_mean(code: str, known: Iterable[str]) -> str:
    """`; did you mean A, B?` with the closest existing codes, or ''. A code with a space
    at either end or a control character is quoted, so that it shows: `'COMPTA '`."""
    hints = suggest_codes(code, known)
    if not hints:
        return ""
    return _("; did you mean {codes}?").format(codes=", ".join(visible(h) for h in hints))


_LOOKALIKES = str.maketrans({
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "О": "O", "Р": "P",
    "Т": "T", "Х": "X", "а": "a", "с": "c", "е": "e", "о": "o", "р": "p", "х": "x", "у": "y",
    "Ι": "I", "Ο": "O", "Α": "A", "Β": "B", "Ε": "E", "Κ": "K", "Μ": "M", "Ν": "N", "Τ": "T",
})


def _ascii_fold(code: str) -> str:
    text = unicodedata.normalize("NFKC", code).translate(_LOOKALIKES)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or code


def describe_lookalikes(code: str) -> str:
    """Name the non-ASCII characters of a code, to reveal look-alikes."""
    odd = [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in code if ord(c) > 127]
    if not odd:
        return ""
    return " (it contains " + ", ".join(dict.fromkeys(odd)) + ")"

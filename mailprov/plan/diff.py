"""The pure compare step: desired state + live state -> ordered changes.

No I/O here. The renderers and the executor both consume what this returns.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mailprov.errors import UnknownUserError, visible
from mailprov.i18n import N_, _, shown, stored
from mailprov.model import (
    INHERITED_FIELDS,
    MODE,
    OVERRIDE,
    USER_MODES,
    Config,
    DesiredGeneral,
    DesiredOffice365,
    DesiredOverride,
    DesiredUser,
    GeneralSettings,
    LiveState,
    MailSettings,
    Office365Settings,
    ValueSource,
    state_mode,
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
    cloud = edition == "cloud"
    if desired.office365 is not None:
        source = desired.sources.get("email")
        if source is None and cloud:
            source = USER_CODE
        return {} if source is None else {"email": source}
    if override is None:
        return {}
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


def resolve_office365(code: str, office365: DesiredOffice365, edition: str
                      ) -> Office365Settings:
    """A user's Office 365 mode as maestro* stores it: in maestro*CLOUD the account is the
    user code."""
    email = office365.email
    if email is None and edition == "cloud":
        email = code
    return Office365Settings(email)


def desired_state(code: str, desired: DesiredUser, general: GeneralSettings, edition: str
                  ) -> dict[str, object] | None:
    """What apply leaves of a listed user, as plans show it (None: follows general)."""
    if desired.office365 is not None:
        return resolve_office365(code, desired.office365, edition).as_dict()
    if desired.override is None:
        return None
    return resolve_override(code, desired.override, general, edition).as_dict()


def user_change(address: str, before: Mapping[str, object] | None,
                after: Mapping[str, object] | None, number: int | None,
                sources: Mapping[str, ValueSource] | None = None) -> Change | None:
    """The change from one user state to another, None when they are the same.

    Enabling a per-user mode names its fields, removing one names the fields it clears;
    an update within a mode names the fields that differ, and a move from one mode to the
    other names `mode`, then the fields it clears and those it sets."""
    before_mode, after_mode = state_mode(before), state_mode(after)
    if before_mode is None and after_mode is None:
        return None
    if before_mode is None:
        assert after_mode is not None
        return Change(address, "create", None, after, USER_MODES[after_mode].field_names,
                      number=number, sources=sources)
    if after_mode is None:
        return Change(address, "delete", before, None, USER_MODES[before_mode].field_names,
                      number=number)
    assert before is not None and after is not None
    if before_mode == after_mode:
        changed = tuple(f for f in USER_MODES[after_mode].field_names
                        if before.get(f) != after.get(f))
        if not changed:
            return None
        return Change(address, "update", before, after, changed, number=number,
                      sources=sources)
    changed = (MODE, *USER_MODES[before_mode].field_names, *USER_MODES[after_mode].field_names)
    return Change(address, "update", before, after, changed, number=number, sources=sources)


def general_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The `changed` of a general update: the settings two general states (as plans write
    them, GeneralSettings.as_dict) differ in, `client` then `smtp.server/port/ssl`."""
    smtp_before, smtp_after = before.get("smtp") or {}, after.get("smtp") or {}
    fields = ("client",) if before.get("client") != after.get("client") else ()
    return (*fields, *(f"smtp.{name}" for name in ("server", "port", "ssl")
                       if smtp_before.get(name) != smtp_after.get(name)))


def diff(config: Config, live: LiveState) -> DiffResult:
    """Changes that make `live` match `config`: general first, then users by code."""
    edition = live.general.edition
    new_general = target_general(live.general, config.general)
    changes: list[Change] = []
    before, after = live.general.as_dict(), new_general.as_dict()
    general_changed = general_changes(before, after)
    if general_changed:
        changes.append(Change(GENERAL, "update", before, after, general_changed))
    inherited_moves = {f for f in INHERITED_FIELDS if f"smtp.{f}" in general_changed}
    unknown = []
    user_changes: list[Change] = []
    for code, desired in config.users.items():
        user = live.users.get(code)
        if user is None:
            unknown.append(code)
            continue
        current = user.override
        address = USER_PREFIX + code
        if desired.override is not None and current is not None:
            # the SMTP section stays: a change whose only moves follow general.smtp is that
            # one general change (safety counts it once)
            wanted = resolve_override(code, desired.override, new_general, edition)
            before, after = current.as_dict(), wanted.as_dict()
            change = user_change(address, before, after, user.number,
                                 user_sources(config, desired, edition))
            if change is not None:
                follows = bool(inherited_moves) and all(
                    f in inherited_moves and getattr(desired.override, f) is None
                    and before[f] == getattr(live.general, f)
                    for f in change.changed
                )
                if follows:
                    change = replace(change, follows_general=True)
                user_changes.append(change)
            continue
        after_state = desired_state(code, desired, new_general, edition)
        change = user_change(address, user.state(), after_state, user.number,
                             user_sources(config, desired, edition) if after_state else None)
        if change is not None:
            user_changes.append(change)
    unmanaged = 0
    stale_followers = 0
    for code, user in live.users.items():
        if user.mode is None or code in config.users:
            continue
        if config.prune:
            change = user_change(USER_PREFIX + code, user.state(), None, user.number)
            if change is not None:
                user_changes.append(change)
        else:
            unmanaged += 1
            if inherited_moves and user.override is not None and all(
                getattr(user.override, f) == getattr(live.general, f) for f in inherited_moves
            ):
                stale_followers += 1
    user_changes.sort(key=lambda c: c.address)
    warnings = [PlanWarning(w.code, w.address, w.message) for w in live.warnings]
    if stale_followers:
        warnings.append(PlanWarning("unlisted-overrides-keep-old-smtp", GENERAL, stored(N_(
            "{count} override(s) on users not listed in the files use the old general SMTP "
            "settings and will keep them: list those users, or set `prune: true`"),
            count=stale_followers)))
    return DiffResult(tuple(changes + user_changes), unmanaged, tuple(sorted(unknown)),
                      tuple(warnings))


def unknown_user_error(code: str, target_name: str, known: Iterable[str]) -> UnknownUserError:
    """`no user 'X' in target 'T'`, with the closest existing codes suggested."""
    return UnknownUserError(_("no user '{code}' in target '{target}'{hint}").format(
        code=code, target=target_name, hint=did_you_mean(code, known)))


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
    return str(shown(stored_did_you_mean(code, known)))


def stored_did_you_mean(code: str, known: Iterable[str]) -> str:
    """did_you_mean as a plan stores it: English, translated where it is shown."""
    hints = suggest_codes(code, known)
    if not hints:
        return ""
    return stored(N_("; did you mean {codes}?"), codes=", ".join(visible(h) for h in hints))


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
    return stored(N_(" (it contains {characters})"), characters=", ".join(dict.fromkeys(odd)))

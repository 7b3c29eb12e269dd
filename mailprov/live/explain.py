"""Why a user sends mail the way they do: general default, or their own override."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from mailprov.errors import shell_word
from mailprov.i18n import N_, stored
from mailprov.model import (
    INHERITED_FIELDS,
    Config,
    GeneralSettings,
    LiveUser,
    LiveWarning,
    MailSettings,
    Office365Settings,
    ValueSource,
)


@dataclass(frozen=True)
class Configured:
    """What the files say of one user: how it is listed, what apply would leave in its
    row, and where each of those values came from."""

    listed_by: str  # user, csv, selection, all_users; "" when the files do not list it
    file: str
    line: int
    settings: MailSettings | None  # None: no override (`smtp: false`, or not listed)
    sources: Mapping[str, ValueSource] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    current: MailSettings | None = None  # the user's row as stored now (None: no override)
    # the Office 365 mode the files give (then `settings` is None), and the stored one
    office365: Office365Settings | None = None
    current_office365: Office365Settings | None = None


@dataclass(frozen=True)
class Explanation:
    """How one user sends e-mail: the mode, why, and the effective settings."""

    code: str
    name: str | None
    edition: str
    mode: str  # "override" or the general client
    reason: str
    server: str | None
    port: int | None
    ssl: bool | None
    username: str | None
    from_address: str | None
    password_set: bool
    notes: tuple[str, ...] = ()
    configured: Configured | None = None
    locator: object = None  # model.Locator of the files, to place `configured.sources`
    # Office 365 – Modern Authentication (the user's own mode, or the general one): the
    # account, and when the user authenticated in maestro* (None: not yet)
    office365_email: str | None = None
    authenticated_at: datetime | None = None


def configured_user(config: Config, user: LiveUser, general: GeneralSettings) -> Configured:
    """What the files make of `user` on a target whose general row is `general`: the same
    resolution as a plan (selections, templates, profiles, presets). Raises ConfigError
    when the files cannot give this user valid settings."""
    from mailprov.config.resolve import resolve_users
    from mailprov.errors import ConfigError
    from mailprov.plan.diff import (
        resolve_office365,
        resolve_override,
        target_general,
        user_sources,
    )

    after = target_general(general, config.general)
    resolution = resolve_users(config, {user.code: user}, general.edition, after.server)
    if resolution.problems:
        raise ConfigError(resolution.problems)
    desired = resolution.config.users.get(user.code)
    if desired is None:
        return Configured("", "", 0, None)
    if desired.listed_by in ("selection", "all_users"):
        selection = next(s for s in config.selections if s.matches(user.code))
        line = config.position(selection.file, selection.path, key=True)[0]
    else:
        line = config.position(desired.source.file, ("users", user.code), key=True)[0]
    if desired.office365 is not None:
        return Configured(desired.listed_by, desired.source.file, line, None,
                          user_sources(resolution.config, desired, general.edition),
                          desired.profiles, user.override,
                          resolve_office365(user.code, desired.office365, general.edition),
                          user.office365)
    if desired.override is None:
        return Configured(desired.listed_by, desired.source.file, line, None, {},
                          desired.profiles, user.override, None, user.office365)
    settings = resolve_override(user.code, desired.override, after, general.edition)
    return Configured(desired.listed_by, desired.source.file, line, settings,
                      user_sources(resolution.config, desired, general.edition),
                      desired.profiles, user.override, None, user.office365)

CLIENT_LABELS = {
    "other": N_("another desktop mail program, through the Windows MAPI profile"),
    "outlook": N_("the Outlook profile of the Windows user"),
    "lotus_notes": "Lotus Notes",
    "smtp": N_("SMTP, with the general SMTP account"),
    "office365": N_("Office 365 – Modern Authentication, OAuth 2.0"),
}
"""How each general client sends (English: translate with `_()` where shown)."""
AUTHENTICATE = "Préférences > Courriel > Authentifier"


def authentication_note(user: LiveUser) -> str:
    """Whether the user has authenticated with Office 365 in maestro*, and what to do if not."""
    if user.o365_authenticated_at is not None:
        return stored(N_("authenticated with Office 365 in maestro* on {when}"),
                      when=f"{user.o365_authenticated_at:%Y-%m-%d %H:%M}")
    return stored(N_("has not authenticated with Office 365 in maestro* yet: until the user "
                     "does ({where}, once), maestro* cannot send for them"), where=AUTHENTICATE)


def explain_user(user: LiveUser, general: GeneralSettings, password_set: bool,
                 model_version: int = 1, warnings: Sequence[LiveWarning] = ()
                 ) -> Explanation:
    """The Explanation of `user`, from the general row and the user's own mode; what the
    database read of the user's row as unknown (`warnings` about `user.CODE`, such as a
    date that is no date) is added to its notes."""
    explanation = _explained(user, general, password_set, model_version)
    own = [w for w in warnings if w.address == f"user.{user.code}"]
    if not own:
        return explanation
    notes = explanation.notes
    if any(w.attribute == "o365_authenticated_at" for w in own):
        # maestro* holds something there: not "not yet", but unknown (the warning says so)
        notes = tuple(note for note in notes if note != authentication_note(user))
    return replace(explanation, notes=(*notes, *(w.message for w in own)))


def _explained(user: LiveUser, general: GeneralSettings, password_set: bool,
               model_version: int) -> Explanation:
    cloud = general.edition == "cloud"
    override = user.override
    notes: list[str] = []
    if user.office365 is not None:
        reason = stored(N_("the user's own sending mode is Office 365 – Modern "
                           "Authentication; it takes precedence over the general default "
                           "({client})"), client=general.client)
        notes.append(authentication_note(user))
        return Explanation(user.code, user.name, general.edition, "office365", reason, None,
                           None, None, None, None, password_set, tuple(notes),
                           office365_email=user.office365.email,
                           authenticated_at=user.o365_authenticated_at)
    if override is not None:
        reason = stored(N_("the user's own SMTP section is enabled; it takes precedence over "
                           "the general default ({client}): maestro*'s bi-mode"),
                        client=general.client)
        # maestro*'s own precedence: a value the user's section leaves empty is taken from
        # the general SMTP account when it sends
        effective = {}
        for name in INHERITED_FIELDS:
            value = override.get(name)
            if value is None:
                value = getattr(general, name)
                notes.append(stored(N_("the user's SMTP section has no {name}: maestro* uses "
                                       "the general one ({value})"),
                                    name=name, value=show_value(value)))
            effective[name] = value
        if not password_set:
            notes.append(stored(N_("no SMTP password entered yet: the user types it in "
                                   "maestro* (Préférences > Courriel), or set it with "
                                   "`mailprov password set {code}`"), code=shell_word(user.code)))
        return Explanation(user.code, user.name, general.edition, "override", reason,
                           effective["server"], effective["port"], effective["ssl"],
                           override.username, user.code if cloud else override.from_address,
                           password_set, tuple(notes))
    label = CLIENT_LABELS.get(general.client)
    reason = stored(N_("no per-user SMTP section: the general default applies ({client})"),
                    client=stored(label) if label else general.client)
    if general.client == "office365":
        notes.append(authentication_note(user))
        return Explanation(user.code, user.name, general.edition, general.client, reason,
                           None, None, None, None, None, password_set, tuple(notes),
                           authenticated_at=user.o365_authenticated_at)
    if general.client != "smtp":
        if general.client == "other":
            notes.append(stored(N_("contact synchronisation is not available with this "
                                   "client")))
        if general.client == "outlook" and model_version >= 2:
            notes.append(stored(N_("the new Outlook for Windows cannot be driven through an "
                                   "Outlook profile: if this user runs it, give them Office "
                                   "365 – Modern Authentication (an `office365` section)")))
        return Explanation(user.code, user.name, general.edition, general.client, reason,
                           None, None, None, None, None, password_set, tuple(notes))
    if not cloud:
        notes.append(stored(N_("the general SMTP account gives no login or From address for "
                               "this user: list the user under `users:` with a `smtp` "
                               "section")))
    return Explanation(user.code, user.name, general.edition, "smtp", reason, general.server,
                       general.port, general.ssl, user.code if cloud else None,
                       user.code if cloud else None, password_set, tuple(notes))


def show_value(value: object) -> str:
    """A setting as a note quotes it: `(none)`, `true`/`false`, or the value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

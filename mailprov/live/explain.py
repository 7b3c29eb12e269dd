"""Why a user sends mail the way they do: general default, or their own override."""

from __future__ import annotations

from dataclasses import dataclass

from mailprov.model import INHERITED_FIELDS, GeneralSettings, LiveUser


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

CLIENT_LABELS = {
    "other": "another desktop mail program, through the Windows MAPI profile",
    "outlook": "the Outlook profile of the Windows user",
    "lotus_notes": "Lotus Notes",
    "smtp": "SMTP, with the general SMTP account",
}


def explain_user(user: LiveUser, general: GeneralSettings, password_set: bool) -> Explanation:
    """The Explanation of `user`, from the general row and the user's own section."""
    cloud = general.edition == "cloud"
    override = user.override
    notes: list[str] = []
    if override is not None:
        reason = (f"the user's own SMTP section is enabled; it takes precedence over the "
                  f"general default ({general.client}): maestro*'s bi-mode")
        # maestro*'s own precedence: a value the user's section leaves empty is taken from
        # the general SMTP account when it sends
        effective = {}
        for name in INHERITED_FIELDS:
            value = override.get(name)
            if value is None:
                value = getattr(general, name)
                notes.append(f"the user's SMTP section has no {name}: maestro* uses the "
                             f"general one ({show_value(value)})")
            effective[name] = value
        if not password_set:
            notes.append("no SMTP password entered yet: the user types it in maestro* "
                         "(Préférences > Courriel)")
        return Explanation(user.code, user.name, general.edition, "override", reason,
                           effective["server"], effective["port"], effective["ssl"],
                           override.username, user.code if cloud else override.from_address,
                           password_set, tuple(notes))
    reason = (f"no per-user SMTP section: the general default applies "
              f"({CLIENT_LABELS.get(general.client, general.client)})")
    if general.client != "smtp":
        if general.client == "other":
            notes.append("contact synchronisation is not available with this client")
        return Explanation(user.code, user.name, general.edition, general.client, reason,
                           None, None, None, None, None, password_set, tuple(notes))
    if not cloud:
        notes.append("the general SMTP account gives no login or From address for this user: "
                     "list the user under `users:` with a `smtp` section")
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

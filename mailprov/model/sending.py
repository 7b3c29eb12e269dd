"""Who sends through SMTP, and with what: a user's effective SMTP identity, as maestro* has it.

`mailprov password` (a password is only useful to a user who logs in to an SMTP server),
`password status` (its list of SMTP users) and `test-send` (what to connect with) all
start from the same answer, so it is computed once, here. Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from mailprov.model.settings import GeneralSettings, LiveUser


class SmtpIdentity(msgspec.Struct, frozen=True):
    """How one user sends through SMTP: `via` their own section (bi-mode) or the general
    SMTP account (maestro*CLOUD, where the user code is the login and the From address).

    `login` is None when maestro* sends without authentication (an override with no user
    name): such a user needs no password. A server, port or SSL flag the user's section
    leaves empty is the general SMTP account's, as maestro* sends; `server` and `port`
    are None when neither has one.
    """

    via: Literal["override", "general"]
    login: str | None
    from_address: str | None
    server: str | None
    port: int | None
    ssl: bool


def smtp_identity(user: LiveUser, general: GeneralSettings) -> SmtpIdentity | None:
    """The user's SMTP identity, or None when maestro* does not send their mail through
    SMTP with a login or From address of their own: the user sends with Office 365 –
    Modern Authentication, the general default is another mail program, or (outside
    maestro*CLOUD) the general SMTP account, which names no login or From address for a
    user."""
    cloud = general.edition == "cloud"
    override = user.override
    if user.office365 is not None:
        return None  # Office 365 – Modern Authentication: OAuth, not an SMTP login
    if override is not None:
        return SmtpIdentity(
            "override",
            override.username or (user.code if cloud else None),
            user.code if cloud else override.from_address,
            override.server if override.server is not None else general.server,
            override.port if override.port is not None else general.port,
            override.ssl if override.ssl is not None else general.ssl)
    if cloud and general.client == "smtp":
        return SmtpIdentity("general", user.code, user.code, general.server, general.port,
                            general.ssl)
    return None

"""`mailprov office365 status`: who sends with Office 365 – Modern Authentication, and who
has not authenticated in maestro* yet, so that the admin knows whom to remind.

mailprov never handles OAuth tokens: each user signs in once from maestro* itself
(Préférences > Courriel > Authentifier), and maestro* records when
(`o365_authenticated_at`, model version 2), which mailprov only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailprov.model import LiveState, LiveWarning


@dataclass(frozen=True, slots=True)
class SigninRow:
    """One user who sends with Office 365: through their own mode (`own`, with its
    account) or the general default (`general`), and when they authenticated."""

    code: str
    name: str | None
    email: str | None
    mode: str  # "own" or "general"
    authenticated_at: datetime | None
    # the sign-in date maestro* holds is no date: whether the user signed in is unknown
    unknown: bool = False

    @property
    def authenticated(self) -> bool | None:
        """Whether the user has signed in; None when the database does not say."""
        if self.unknown:
            return None
        return self.authenticated_at is not None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "email": self.email, "mode": self.mode,
                "authenticated": self.authenticated,
                "authenticated_at": (None if self.authenticated_at is None
                                     else self.authenticated_at.isoformat())}


@dataclass(frozen=True)
class Office365Status:
    """The Office 365 users of one target, in user code order."""

    target: str
    target_url: str
    edition: str
    model_version: int
    general_client: str
    rows: tuple[SigninRow, ...]
    # what the database holds that was read as unknown or left out (a sign-in date that is
    # no date, a row without a user code: mailprov.db.livestate)
    warnings: tuple[LiveWarning, ...] = ()

    @property
    def pending(self) -> tuple[SigninRow, ...]:
        """The users who have not authenticated yet: maestro* cannot send for them."""
        return tuple(row for row in self.rows if row.authenticated is False)

    @property
    def authenticated(self) -> tuple[SigninRow, ...]:
        """The users who have signed in."""
        return tuple(row for row in self.rows if row.authenticated)

    @property
    def unknown(self) -> tuple[SigninRow, ...]:
        """The users whose sign-in date maestro* holds is no date."""
        return tuple(row for row in self.rows if row.authenticated is None)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "office365-status", "target": self.target,
                "target_url": self.target_url, "edition": self.edition,
                "model_version": self.model_version, "general_client": self.general_client,
                "summary": {"users": len(self.rows),
                            "authenticated": len(self.authenticated),
                            "pending": len(self.pending), "unknown": len(self.unknown)},
                "users": [row.to_json() for row in self.rows],
                "warnings": [warning_json(w) for w in self.warnings]}


def warning_json(warning: LiveWarning) -> dict[str, str]:
    """A live warning as status commands write it in JSON (as plan JSON does)."""
    return {"code": warning.code, "address": warning.address, "message": warning.message}


def office365_status(live: LiveState, target: str, target_url: str) -> Office365Status:
    """Every user whose mail goes through Office 365 – Modern Authentication: their own
    mode, or the general default when it is `office365` and they have no mode of their
    own."""
    general = live.general.client == "office365"
    rows = []
    for code in sorted(live.users):
        user = live.users[code]
        unknown = live.unknown(code, "o365_authenticated_at")
        if user.office365 is not None:
            rows.append(SigninRow(code, user.name, user.office365.email, "own",
                                  user.o365_authenticated_at, unknown))
        elif general and user.mode is None:
            rows.append(SigninRow(code, user.name, None, "general",
                                  user.o365_authenticated_at, unknown))
    return Office365Status(target, target_url, live.general.edition, live.model_version,
                           live.general.client, tuple(rows), live.warnings)

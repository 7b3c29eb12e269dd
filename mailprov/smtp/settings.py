"""What maestro* has for one user's SMTP sending, and how TLS is chosen from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TlsMode = Literal["starttls", "implicit", "none"]
TLS_MODES: tuple[TlsMode, ...] = ("starttls", "implicit", "none")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The effective SMTP settings of one maestro* user, never with the password.

    `ssl` is maestro*'s "Utiliser l'encodage SSL" checkbox; its .NET client reads
    it as STARTTLS, so True means STARTTLS and never implicit TLS (port 465).
    `from_address` is None when maestro* has none for the user (a user who only
    follows the general SMTP account); a check can then connect and log in but
    not send. `user_code` and `user_name` only label the test message and report.
    """

    server: str
    port: int
    ssl: bool
    username: str | None
    from_address: str | None
    user_code: str = ""
    user_name: str = ""


def maestro_tls(settings: SmtpSettings) -> TlsMode:
    """The TLS mode maestro* itself uses with these settings."""
    return "starttls" if settings.ssl else "none"


def effective_tls(settings: SmtpSettings, tls: TlsMode | None) -> TlsMode:
    """The mode to test: an explicit choice (to try alternatives), else maestro*'s."""
    if tls is None:
        return maestro_tls(settings)
    if tls not in TLS_MODES:
        raise ValueError(f"unknown TLS mode {tls!r}; expected one of {', '.join(TLS_MODES)}")
    return tls

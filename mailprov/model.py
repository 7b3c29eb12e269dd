"""Frozen value types shared by every layer: the desired state read from the
files, the live state read from maestro*, and the settings they compare.

`None` in a desired field means "not managed by the files": the live value is
kept (for `general`) or inherited from `general.smtp` (for a user override).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CLIENTS = ("other", "outlook", "lotus_notes", "smtp")
EDITIONS = ("standard", "cloud")
OVERRIDE_FIELDS = ("username", "from", "server", "port", "ssl")
INHERITED_FIELDS = ("server", "port", "ssl")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


# --- desired state (from the files) -----------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """`general.smtp`: the server every SMTP user sends through unless overridden."""

    server: str | None = None
    port: int | None = None
    ssl: bool | None = None


@dataclass(frozen=True, slots=True)
class DesiredGeneral:
    """`general`: the default mail client and the general SMTP account."""

    client: str | None = None
    smtp: SmtpServer = field(default_factory=SmtpServer)


@dataclass(frozen=True, slots=True)
class DesiredOverride:
    """A user's `smtp` section; server/port/ssl left `None` inherit `general.smtp`."""

    username: str | None = None
    from_address: str | None = None
    server: str | None = None
    port: int | None = None
    ssl: bool | None = None


@dataclass(frozen=True, slots=True)
class DesiredUser:
    """One entry of `users`. `override` is None when the file says `smtp: false`."""

    code: str
    override: DesiredOverride | None
    source: Source


@dataclass(frozen=True, slots=True)
class Target:
    """A maestro* database this repository manages."""

    name: str
    url: str | None
    edition: str | None = None
    mapping: str | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Safety:
    """Thresholds above which apply refuses a plan without `--force`."""

    max_change_percent: float = 30.0
    min_existing: int = 10
    max_changes: int | None = None


@dataclass(frozen=True)
class Config:
    """Everything the files say, merged across `-c` files and includes."""

    files: tuple[str, ...]
    digest: str
    targets: Mapping[str, Target]
    default_target: str | None
    general: DesiredGeneral
    users: Mapping[str, DesiredUser]
    prune: bool = False
    safety: Safety = field(default_factory=Safety)
    warnings: tuple[Any, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)
    problem_at: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    def origin(self, setting: str) -> str:
        """The file that set a dotted setting such as `general.smtp.port`."""
        return self.origins.get(setting, self.files[0] if self.files else "")


# --- live state (from the database) ------------------------------------------


@dataclass(frozen=True, slots=True)
class MailSettings:
    """A concrete per-user SMTP section as maestro* stores it (values copied)."""

    username: str | None
    from_address: str | None
    server: str | None
    port: int | None
    ssl: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "from": self.from_address,
            "server": self.server,
            "port": self.port,
            "ssl": self.ssl,
        }


@dataclass(frozen=True, slots=True)
class GeneralSettings:
    """The general configuration row: edition, default client, general SMTP account."""

    edition: str
    client: str
    server: str | None
    port: int | None
    ssl: bool

    def as_dict(self) -> dict[str, Any]:
        """The plan's view of `general` (edition is read, never written)."""
        return {
            "client": self.client,
            "smtp": {"server": self.server, "port": self.port, "ssl": self.ssl},
        }


@dataclass(frozen=True, slots=True)
class LiveUser:
    """A maestro* user; `override` is None when the per-user section is off."""

    code: str
    name: str
    override: MailSettings | None


@dataclass(frozen=True)
class LiveState:
    """What the target database holds, read in a constant number of queries."""

    general: GeneralSettings
    users: Mapping[str, LiveUser]

    @property
    def override_count(self) -> int:
        return sum(1 for u in self.users.values() if u.override is not None)

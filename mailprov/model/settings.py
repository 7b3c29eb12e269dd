"""Frozen value types shared by every layer: the desired state read from the
files, the live state read from maestro*, and the settings they compare.

`None` in a desired field means "not managed by the files": the live value is
kept (for `general`) or inherited from `general.smtp` (for a user override).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

import msgspec

from mailprov.errors import PathStep, Problem
from mailprov.i18n import N_
from mailprov.model.partly import PartlyCompared

if TYPE_CHECKING:
    from mailprov.model.policy import Policy

CLIENTS = ("other", "outlook", "lotus_notes", "smtp", "office365")
"""Every default mail client mailprov knows; which ones a target offers depends on its
maestro* version (mailprov.model.versions)."""
CLIENT_ALIASES = {
    "autre": "other",
    "autre_logiciel": "other",
    "autre_logiciel_de_courriel": "other",
    "smtp_autre": "smtp",
}
"""French names a file may give `general.client` (maestro*'s French list: « Autre »,
« SMTP – Autre »), read as the canonical client: plans, JSON and imports only ever show
the canonical value (docs/configuration.md)."""


def canonical_client(value: Any) -> Any:
    """`autre` -> `other`: the canonical client of a French alias; any other value as is
    (the schema says whether it is valid)."""
    return CLIENT_ALIASES.get(value, value) if isinstance(value, str) else value


EDITIONS = ("standard", "cloud")


class OverrideField(msgspec.Struct, frozen=True):
    """One setting of a per-user SMTP section, defined once for every layer.

    `name` is the key in YAML (`smtp:`), in plan JSON and in the history; `attr`
    the attribute of MailSettings and DesiredOverride; `column` the column of the
    reference model (a mapping file may rename it); `kind` the stored Python type;
    `inherited` whether a user who leaves it out gets the general.smtp value.
    """

    name: str
    attr: str
    column: str
    kind: type
    inherited: bool = False


# The per-user SMTP section, in table column order. Adding a column to the override
# is one entry here (plus the attribute of the two dataclasses below, which a test
# checks against this list, and the renderers' labels).
OVERRIDE: tuple[OverrideField, ...] = (
    OverrideField("username", "username", "smtp_username", str),
    OverrideField("from", "from_address", "from_address", str),
    OverrideField("server", "server", "smtp_server", str, inherited=True),
    OverrideField("port", "port", "smtp_port", int, inherited=True),
    OverrideField("ssl", "ssl", "smtp_ssl", bool, inherited=True),
)
OVERRIDE_FIELDS = tuple(f.name for f in OVERRIDE)
INHERITED_FIELDS = tuple(f.name for f in OVERRIDE if f.inherited)
FIELD_BY_NAME = {f.name: f for f in OVERRIDE}
_BOOL_AT = tuple(i for i, f in enumerate(OVERRIDE) if f.kind is bool)


def stored_values(values: Iterable[Any]) -> list[Any]:
    """Stored override column values (OVERRIDE order) as mailprov compares them: a
    stored boolean (0/1 on some databases) becomes True/False, NULL stays None."""
    out = list(values)
    for i in _BOOL_AT:
        if out[i] is not None:
            out[i] = bool(out[i])
    return out
GENERAL_SMTP_FIELDS = ("server", "port", "ssl")

# The Office 365 – Modern Authentication mode of maestro* 3.05 (reference model version 2):
# not an SMTP field but another per-user mode, with its own column. maestro* keeps the
# OAuth tokens; mailprov only names the account.
OFFICE365: tuple[OverrideField, ...] = (
    OverrideField("email", "email", "o365_email", str),
)
OFFICE365_FIELDS = tuple(f.name for f in OFFICE365)
MODE = "mode"
"""The plan's name of a user's sending mode: in an Office 365 state (`{"mode": "office365",
"email": ...}`), and in `changed` when an update moves a user from one mode to another."""


class UserMode(msgspec.Struct, frozen=True):
    """A per-user sending mode of maestro* (Gestion de la sécurité > Description >
    « Configuration d'envoi »), defined once: `name` is its YAML key, its plan `mode` and
    its stored `mail_mode` value; `fields` its settings; `smtp_section` whether maestro*'s
    per-user SMTP checkbox (`mail_override`) is on in that mode."""

    name: str
    fields: tuple[OverrideField, ...]
    smtp_section: bool
    label: str  # marked with N_: shown through _()

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


SMTP_MODE = UserMode("smtp", OVERRIDE, True, "SMTP")
OFFICE365_MODE = UserMode("office365", OFFICE365, False,
                          N_("Office 365 – Modern Authentication"))
USER_MODES: Mapping[str, UserMode] = {m.name: m for m in (SMTP_MODE, OFFICE365_MODE)}
"""The per-user modes, in the order maestro* lists them; a user in none follows general."""


def state_mode(state: Mapping[str, Any] | None) -> str | None:
    """The mode of a user state as plans write it: None (the user follows the general
    mode), `smtp` (the SMTP section's fields, which carry no `mode`) or `office365`."""
    if state is None:
        return None
    mode = state.get(MODE, SMTP_MODE.name)
    return str(mode)


def split_setting(name: str) -> tuple[str, ...]:
    """`smtp.port` -> `('smtp', 'port')`: the one place dotted setting names are split."""
    return tuple(name.split("."))


class Source(msgspec.Struct, frozen=True):
    """Where a value was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


# --- desired state (from the files) -----------------------------------------


class SmtpServer(msgspec.Struct, frozen=True):
    """`general.smtp`: the server every SMTP user sends through unless overridden."""

    server: str | None = None
    port: int | None = None
    ssl: bool | None = None


class DesiredGeneral(msgspec.Struct, frozen=True):
    """`general`: the default mail client and the general SMTP account."""

    client: str | None = None
    smtp: SmtpServer = msgspec.field(default_factory=SmtpServer)


class DesiredOverride(msgspec.Struct, frozen=True):
    """A user's `smtp` section; server/port/ssl left `None` inherit `general.smtp`.

    `empty` names the fields the file sets to `null`: stored empty (NULL) in the user's
    row rather than inherited or defaulted, as a hand-edited maestro* row may hold them.
    """

    username: str | None = None
    from_address: str | None = None
    server: str | None = None
    port: int | None = None
    ssl: bool | None = None
    empty: frozenset[str] = frozenset()

    @classmethod
    def from_section(cls, smtp: Mapping[str, Any]) -> DesiredOverride:
        """From a file's `smtp:` mapping (keys as in OVERRIDE)."""
        empty = frozenset(f.name for f in OVERRIDE if f.name in smtp and smtp[f.name] is None)
        return cls(**{f.attr: smtp.get(f.name) for f in OVERRIDE}, empty=empty)

    def get(self, name: str) -> Any:
        """A field by its YAML name (`from`, `port`, ...)."""
        return getattr(self, FIELD_BY_NAME[name].attr)


class DesiredOffice365(msgspec.Struct, frozen=True):
    """A user's `office365` section: the Office 365 account maestro* sends with. `email`
    may be a template until the plan renders it; None in maestro*CLOUD, where it is the
    user code."""

    email: str | None = None

    def get(self, name: str) -> Any:
        """A field by its YAML name (`email`)."""
        return getattr(self, name)


class ValueSource(msgspec.Struct, frozen=True):
    """Where one effective value came from, so `explain` and plans can say it.

    `kind` is one of SOURCE_KINDS; `file` and `path` are where the value (or the
    key that brought it, such as `provider`) is written; `name` is the profile,
    preset or selection pattern; `template` the templated text when the value is
    rendered per user. Lines are looked up only when shown (Config.position).
    """

    kind: str
    file: str = ""
    path: tuple[PathStep, ...] = ()
    name: str | None = None
    template: str | None = None


SOURCE_KINDS = ("user", "csv", "profile", "default", "selection", "all_users", "preset",
                "general", "username", "user-code")
"""`user`: the user's own YAML entry; `csv`: its row of a user list; `profile`, `default`,
`selection`, `all_users`: those sections; `preset`: a `provider:`; `general`: inherited
from general.smtp (or the target's live general row when `file` is empty); `username`:
`from` defaults to the login; `user-code`: maestro*CLOUD's rule."""


class DesiredUser(PartlyCompared, frozen=True):
    """One entry of `users`: its SMTP section (`override`), or its Office 365 mode
    (`office365`, and then `override` is None), or neither (`smtp: false`: the user
    follows the general mode).

    Text values may be templates until the plan renders them for the live user;
    `sources` says where each set value came from, `profiles` which profiles the entry
    uses, and `listed_by` how the user came into the files (`user`, `csv`, `selection`
    or `all_users`).
    """

    uncompared: ClassVar[frozenset[str]] = frozenset({"sources"})

    code: str
    override: DesiredOverride | None
    source: Source
    sources: Mapping[str, ValueSource] = msgspec.field(default_factory=dict)
    profiles: tuple[str, ...] = ()
    listed_by: str = "user"
    office365: DesiredOffice365 | None = None

    @property
    def mode(self) -> str | None:
        """`office365`, `smtp`, or None (follows the general mode)."""
        if self.office365 is not None:
            return OFFICE365_MODE.name
        return None if self.override is None else SMTP_MODE.name


class Selection(msgspec.Struct, frozen=True):
    """`selections: [{match: ...}]` or `all_users:`: settings for live users the files
    do not list, matched at plan time. `user` holds the settings (its code is empty)."""

    kind: str  # "match" or "all_users"
    patterns: tuple[str, ...]
    user: DesiredUser
    file: str
    path: tuple[PathStep, ...]

    def matches(self, code: str) -> bool:
        """Whether this selection takes the live user `code` (globs, case-sensitive)."""
        if self.kind == "all_users":
            return True
        from fnmatch import fnmatchcase

        return any(fnmatchcase(code, pattern) for pattern in self.patterns)


class Target(msgspec.Struct, frozen=True):
    """A maestro* database this repository manages."""

    name: str
    url: str | None
    edition: str | None = None
    mapping: str | None = None
    source: Source | None = None


class Locator(Protocol):
    """Turns a path in the files into a Problem at its file, line and column."""

    def problem(self, file: str, path: tuple[PathStep, ...], message: str, *,
                key: bool = False, severity: str = "error", code: str = "") -> Problem: ...

    def position(self, file: str, path: tuple[PathStep, ...],
                 key: bool = False) -> tuple[int, int]: ...


class NoPositions:
    """A Locator for a Config built without files (tests, the library): no positions."""

    def problem(self, file: str, path: tuple[PathStep, ...], message: str, *,
                key: bool = False, severity: str = "error", code: str = "") -> Problem:
        return Problem(file, 0, 0, tuple(path), message, severity, code)

    def position(self, file: str, path: tuple[PathStep, ...],
                 key: bool = False) -> tuple[int, int]:
        return (0, 0)


class Safety(msgspec.Struct, frozen=True):
    """Thresholds above which apply refuses a plan without `--force`."""

    max_change_percent: float = 30.0
    min_existing: int = 10
    max_changes: int | None = None


class Config(PartlyCompared, frozen=True):
    """Everything the files say, merged across `-c` files and includes."""

    uncompared: ClassVar[frozenset[str]] = frozenset({"locator", "scopes"})
    unshown: ClassVar[frozenset[str]] = frozenset({"contents"})

    files: tuple[str, ...]
    contents: tuple[tuple[str, bytes], ...]
    """Every file read (path relative to the root folder, bytes), sorted: what `digest`
    fingerprints."""
    targets: Mapping[str, Target]
    default_target: str | None
    general: DesiredGeneral
    users: Mapping[str, DesiredUser]
    prune: bool = False
    safety: Safety = msgspec.field(default_factory=Safety)
    warnings: tuple[Any, ...] = ()
    origins: Mapping[str, str] = msgspec.field(default_factory=dict)
    locator: Locator = msgspec.field(default_factory=NoPositions)
    vars: Mapping[str, Any] = msgspec.field(default_factory=dict)
    """Template variables: `vars:` of the files, then --var."""
    selections: tuple[Selection, ...] = ()
    """`selections` in file order, then `all_users`: expanded from the live users."""
    general_sources: Mapping[str, ValueSource] = msgspec.field(default_factory=dict)
    """Where general.smtp's server, port and ssl came from (file, or a preset)."""
    profiles: Mapping[str, DesiredUser] = msgspec.field(default_factory=dict)
    """Each profile's settings (code empty), `defaults` under the name `defaults`:
    checked even when no user takes them."""
    policies: tuple[Policy, ...] = ()
    """The policies in force: the files' `policy:` section, then `--policy` files."""
    scopes: Mapping[str, Config] = msgspec.field(default_factory=dict)
    """The configuration of each target that has settings or files of its own
    (`targets.NAME.general`, `.vars`, `.include`): the shared one with those applied."""

    @property
    def digest(self) -> str:
        """`sha256:...` of the files, so that a plan names the configuration it was made
        from. Computed when asked: importing hashlib (OpenSSL) alone costs a command that
        only validates about 3 ms."""
        import hashlib

        hasher = hashlib.sha256()
        for rel, data in self.contents:
            hasher.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        return "sha256:" + hasher.hexdigest()

    def for_target(self, name: str) -> Config:
        """What the files say for the target `name`: its own configuration when it has
        settings or files of its own, else the shared one."""
        return self.scopes.get(name, self)

    def position(self, file: str, path: tuple[PathStep, ...],
                 key: bool = False) -> tuple[int, int]:
        """The 1-based (line, column) of `path` in `file`, (0, 0) when unknown."""
        return self.locator.position(file, path, key=key)

    def problem(self, file: str, path: tuple[PathStep, ...], message: str, *,
                key: bool = False, severity: str = "error", code: str = "") -> Problem:
        """A Problem at `path` of `file`, with its line and column when known; `code`
        names its family for scripts (docs/configuration.md, Errors and warnings)."""
        return self.locator.problem(file, path, message, key=key, severity=severity,
                                    code=code)

    def origin(self, setting: str) -> str:
        """The file that set a dotted setting such as `general.smtp.port`, or, for a
        section such as `general.smtp`, the first file that set a key under it."""
        found = self.origins.get(setting)
        if found is None:
            prefix = setting + "."
            found = next((file for name, file in self.origins.items()
                          if name.startswith(prefix)), None)
        return found if found is not None else (self.files[0] if self.files else "")


# --- live state (from the database) ------------------------------------------


class MailSettings(msgspec.Struct, frozen=True):
    """A concrete per-user SMTP section as maestro* stores it (values copied)."""

    username: str | None
    from_address: str | None
    server: str | None
    port: int | None
    ssl: bool | None

    @classmethod
    def from_stored(cls, values: Iterable[Any]) -> MailSettings:
        """From stored column values in OVERRIDE order."""
        return cls(*stored_values(values))

    def as_dict(self) -> dict[str, Any]:
        """Keyed by the YAML names, in OVERRIDE order (the plan's `before`/`after`)."""
        return {f.name: getattr(self, f.attr) for f in OVERRIDE}

    def values(self) -> list[Any]:
        """The values in OVERRIDE order (what the base digest fingerprints)."""
        return [getattr(self, f.attr) for f in OVERRIDE]

    def get(self, name: str) -> Any:
        """A field by its YAML name (`from`, `port`, ...)."""
        return getattr(self, FIELD_BY_NAME[name].attr)


class Office365Settings(msgspec.Struct, frozen=True):
    """A user's Office 365 mode as maestro* stores it: the account's address."""

    email: str | None

    def as_dict(self) -> dict[str, Any]:
        """The plan's view: `{"mode": "office365", "email": ...}`."""
        return {MODE: OFFICE365_MODE.name, "email": self.email}

    def get(self, name: str) -> Any:
        return getattr(self, name)


class GeneralSettings(msgspec.Struct, frozen=True):
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


class LiveUser(msgspec.Struct, frozen=True):
    """A maestro* user; `override` is None when the per-user SMTP section is off, and
    `office365` is set when the user sends with Office 365 – Modern Authentication (model
    version 2). `name` is None when the row has none (a real installation's table may
    allow it).

    `password_set` and `password_set_at` say whether an SMTP password is stored and when
    it was set: what plans need to name users left without a usable password. The
    password itself is never read with the user (only `mailprov password` and
    `test-send` touch it). `o365_authenticated_at` is when the user last authenticated
    with Office 365 in maestro* (written by maestro*, read-only to mailprov).
    """

    code: str
    name: str | None
    override: MailSettings | None
    number: int | None = None  # the row's primary key (user_no): apply writes by it
    password_set: bool = False
    password_set_at: datetime | None = None
    office365: Office365Settings | None = None
    o365_authenticated_at: datetime | None = None

    @property
    def mode(self) -> str | None:
        """`smtp`, `office365`, or None (follows the general mode)."""
        if self.override is not None:
            return SMTP_MODE.name
        return None if self.office365 is None else OFFICE365_MODE.name

    def state(self) -> dict[str, Any] | None:
        """The user's per-user mode as plans show it (None: follows general)."""
        if self.override is not None:
            return self.override.as_dict()
        return None if self.office365 is None else self.office365.as_dict()


class LiveWarning(NamedTuple):
    """Something read from the database that mailprov leaves out or reads as unknown:
    `code` as plan warnings have (docs/plan-format.md), `address` the row (`database`,
    `user.CODE`), the text, stored in English (mailprov.i18n.stored), and the LiveUser
    attribute read as unknown, if any (`o365_authenticated_at`)."""

    code: str
    address: str
    message: str
    attribute: str = ""


class LiveState(msgspec.Struct, frozen=True):
    """What the target database holds, read in a constant number of queries.

    `warnings` say what was read but left out (rows without a user code)."""

    general: GeneralSettings
    users: Mapping[str, LiveUser]
    # what identifies this database, not its URL (mailprov.db.backends): a copy differs
    database_id: str | None = None
    # each user's row as the database returned it, by number (number, code, override
    # flag, then the OVERRIDE columns): what the base digest fingerprints
    stored_rows: Mapping[Any, tuple[Any, ...]] = msgspec.field(default_factory=dict)
    warnings: tuple[LiveWarning, ...] = ()  # what was read but left out or read as unknown
    # the reference model's version of the target (mailprov.model.versions), and how it is
    # known: the mapping file that declares it, or "" when read from the schema
    model_version: int = 1
    model_declared_in: str = ""

    def unknown(self, code: str, attribute: str) -> bool:
        """Whether the user `code`'s `attribute` (a date: `password_set_at`,
        `o365_authenticated_at`) was read as unknown rather than empty: the database holds
        something that is no date there."""
        address = f"user.{code}"
        return any(w.address == address and w.attribute == attribute for w in self.warnings)

    @property
    def override_count(self) -> int:
        """The users with a per-user mode of their own (SMTP section or Office 365)."""
        return sum(1 for u in self.users.values()
                   if u.override is not None or u.office365 is not None)

"""The one family of errors mailprov raises for anything a user can fix.

Every error carries a message written for the person at the terminal and the
process exit code the CLI must use (docs/exit-codes.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mailprov.i18n import _, language, ngettext

PathStep = str | int


class MailprovError(Exception):
    """A problem the user can fix; rendered as one message, never a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


TYPOGRAPHIC_SPACES = "\u00a0\u202f"
"""The no-break spaces French typography puts inside « » and before `:`: harmless on a
terminal, so French text keeps them (English text has none, and escapes any)."""


def written_out(text: str, kept: str = "") -> str:
    """`text` with every non-printable character but those of `kept` written out
    (`\\x1b`): the one place this is done."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in kept
                   else c.encode("unicode_escape").decode("ascii") for c in text)


def printable(text: str) -> str:
    """`text` with every character a file or a database could use to spoof a terminal or
    a CI log (CR, ESC, bidi overrides) written out; French text keeps its no-break spaces."""
    return written_out(text, TYPOGRAPHIC_SPACES if language() == "fr" else "")


def _escaped(text: str) -> str:
    """`text` with every non-printable character written out, no-break spaces included:
    inside guillemets a value's own spaces must show."""
    return written_out(text)


def _guillemets(text: str) -> str:
    """« text », with the no-break spaces French typography (OQLF) puts inside."""
    return "\u00ab\u00a0" + _escaped(text) + "\u00a0\u00bb"


_shown = printable


def _clipped(text: str, limit: int) -> str:
    """At most `limit` characters: a 10 MB key in a file must not make a 10 MB error line."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


SHOWN_CHARS = 60
"""How much of a rejected value an error message quotes."""


def shell_word(text: str) -> str:
    """`text` as one shell word, for a command a message tells people to run: a user code
    with a space or a `$` in it must still paste as one argument (`'A B'`)."""
    import shlex

    return shlex.quote(text)


def quoted(text: str, limit: int | None = None) -> str:
    """`text` as Python's repr writes it: in quotes, non-printable characters escaped, so
    that spaces at either end, an empty text and control characters all show. `limit`
    clips a long text first: a 10 MB value must not make a 10 MB message."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    if language() == "fr":  # « text », French quotes; English keeps repr's exactly
        return _guillemets(text)
    return repr(text)


def in_quotes(text: str) -> str:
    """`'text'`, as English messages quote a name they list (nothing escaped: the name is
    checked already), or « text » in French."""
    return _guillemets(text) if language() == "fr" else f"'{text}'"


def visible(text: str) -> str:
    """`text` as it is when nothing in it can hide, else quoted: `COMPTA`, but `'COMPTA '`,
    `''` and `'a\\x1b[2J'`. For listings (plans, hints) where most values need no quotes."""
    if text and text.isprintable() and text[0] != " " and text[-1] != " ":
        return text
    return quoted(text)


def format_path(path: tuple[Any, ...]) -> str:
    """`('users', 'COMPTA', 'smtp', 'port')` -> `users.COMPTA.smtp.port`; keys that hold
    dots, spaces, quotes or control characters are quoted and escaped."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            text = str(step)
            if not text or any(c in text for c in ".[] \"") or not text.isprintable():
                text = '"' + text.encode("unicode_escape").decode().replace('"', '\\"') + '"'
            parts.append(("." if parts else "") + text)
    return "".join(parts)


class Problem(NamedTuple):
    """One finding in a configuration file, with its place.

    `path` is the path in the document as a tuple of keys and list indexes
    (``('users', 'COMPTA', 'smtp', 'port')``), shown dotted; `line` and `column`
    are 1-based, or 0 when the place is unknown. A NamedTuple, not a msgspec Struct as
    the model's types are: every command imports this module, `--version` included.
    """

    file: str
    line: int
    column: int
    path: tuple[PathStep, ...]
    message: str
    severity: str = "error"
    code: str = ""  # stable name of the rule, for scripts (e.g. `smtp-465-starttls`)

    @property
    def dotted_path(self) -> str:
        return format_path(self.path)

    def format(self) -> str:
        where = self.file
        if self.line:
            where = f"{where}:{self.line}:{self.column}"
        message = _clipped(self.message, 1000)
        if self.severity == "warning":
            message = _("warning: {message}").format(message=message)
        # `file:line:column: path: ` stays as compilers write it, for editors to read
        if self.path:
            return _shown(f"{where}: {_clipped(self.dotted_path, 200)}: {message}")
        return _shown(f"{where}: {message}")

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.dotted_path)


class ConfigError(MailprovError):
    """One or more problems in the configuration files, all reported at once."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.sort_key))
        lines = [p.format() for p in self.problems]
        count = len(self.problems)
        lines.append(ngettext("{count} error found.", "{count} errors found.", count).format(
            count=count))
        super().__init__("\n".join(lines))


class EditionError(ConfigError):
    """The files do not fit the edition the target's database has (a configuration written
    for an installed maestro* pointed at maestro*CLOUD): one message that says so once and
    lists every change to make, each at its place."""

    def __init__(self, head: str, problems: list[Problem] | tuple[Problem, ...]) -> None:
        super().__init__(problems)
        self.message = "\n".join([head, *(f"  - {p.format()}" for p in self.problems)])
        self.args = (self.message,)


class MappingError(MailprovError):
    """The database mapping file is invalid or does not match the database."""


class DatabaseError(MailprovError):
    """The database could not be reached or answered with an error."""


class UnknownUserError(MailprovError):
    """The files name user codes that do not exist in the target database."""


class TargetError(MailprovError):
    """The target cannot be resolved (unknown name, missing URL, password in a file)."""


class PolicyError(MailprovError):
    """A plan breaks a policy: it is never saved or applied, and `--force` does not
    change that (docs/policy.md)."""


class PlanFileError(MailprovError):
    """A saved plan file cannot be read."""


class ApplyDeclined(MailprovError):
    """The user did not answer `yes` at the apply prompt."""


class SafetyError(MailprovError):
    """The plan exceeds a safety threshold; `--force` or a raised threshold is needed."""

    exit_code = 3


class StalePlanError(MailprovError):
    """The live rows changed since the saved plan was computed."""

    exit_code = 3


class LockError(MailprovError):
    """Another apply holds the lock on the target."""

    exit_code = 3


class WriteCheckError(MailprovError):
    """A write touched other rows than the plan named; the transaction was rolled back."""

    exit_code = 3


class WrongDatabaseError(MailprovError):
    """A saved plan was made for another database than the one it would be applied to."""

    exit_code = 3


class TamperedPlanError(MailprovError):
    """A signed plan's signature does not match: it was changed after it was made."""

    exit_code = 3


class LiveDataError(MailprovError):
    """`mailprov import` found live values that cannot be written as valid configuration;
    `lines` says each one (`user MBOUCHER: port 99999 in maestro* is not a valid port ...`)."""

    def __init__(self, message: str, lines: tuple[str, ...]) -> None:
        super().__init__(message)
        self.lines = lines

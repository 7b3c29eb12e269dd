"""User lists from CSV files (`users_from: people.csv`), so HR's export drives onboarding.

The file is what Excel writes: UTF-8 with or without a byte-order mark (Excel's
"CSV UTF-8"), cells separated by `;` (Excel in Quebec and France) or `,`
(Excel in English), lines ended by CRLF or LF, cells in double quotes when they
hold a separator, a quote or a line break. The separator is detected from the
first line; a first line `sep=;` (which Excel writes and reads) is honoured too.
Other encodings (Excel's plain "CSV" is Windows-1252) are refused with how to
re-save the file.

The first line names the columns, without regard to case or spaces:

- `code` (required): the maestro* user code;
- `profile`: a profile name, or several separated by `|` (`staff|compta-shared`),
  applied in that order;
- `smtp.username`, `smtp.from`, `smtp.server`, `smtp.port`, `smtp.ssl`,
  `smtp.provider`, and `office365.email`; the `smtp.` fields may also be written
  without their prefix (`username`, `from`, `server`, `port`, `ssl`, `provider`);
- a column whose name starts with `#` is ignored (HR's other columns).

Each row becomes the entry a YAML user would have (`{"profile": "staff",
"smtp": {"port": 587}}`), for the loader to check exactly like one. An empty
cell means "not set"; cells are trimmed; `port` becomes a whole number and
`ssl` true or false (true/false, vrai/faux, oui/non, yes/no, 1/0). Blank rows
are skipped (a warning when more rows follow them).

Problems are placed at `FILE:LINE:COLUMN`, where LINE is the line of the file
where the row starts (a quoted cell may span lines) and COLUMN is the 1-based
number of the cell in its row (1 for `A` in Excel, 2 for `B`...), not a
character position.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import msgspec

from mailprov.config.forbidden_keys import HOW_PASSWORDS_ARE_SET_COLUMN, looks_like_secret
from mailprov.errors import ConfigError, Problem
from mailprov.i18n import N_, _, stored

MAX_CSV_BYTES = 10 * 1024 * 1024
"""Size of a user-list file: ten thousand users take about 1 MB."""
MAX_ROWS = 100_000
MAX_PROBLEMS = 200
"""Problems reported for one file; a file of the wrong kind must not print 100,000 lines."""

FIELDS = ("code", "profile", "smtp.username", "smtp.from", "smtp.server", "smtp.port",
          "smtp.ssl", "smtp.provider", "office365.email")
"""The columns a user list may have, by their full names."""
_SHORTHANDS = {name.split(".", 1)[1]: name for name in FIELDS if name.startswith("smtp.")}
_TRUE = frozenset(("true", "vrai", "oui", "yes", "1"))
_FALSE = frozenset(("false", "faux", "non", "no", "0"))
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,20}\Z")
_SEP_LINE = re.compile(r"sep=([;,\t])\r?\Z")
EXAMPLE_HEADER = "code;profile;smtp.username"
UNREADABLE = "csv-not-found"
"""The code of a user list that cannot be read (missing, a folder)."""
ENCODING = "csv-encoding"
"""The code of a file that is not UTF-8 CSV text (Excel's UTF-16, Windows-1252, tabs)."""
SYNTAX = "csv-syntax"
"""The code of a file or row that is not valid CSV, or not the shape of a user list."""
COLUMN = "csv-column"
"""The code of a column of the first line that is unknown, repeated, or missing."""
VALUE = "csv-value"
"""The code of a cell whose value cannot be read (a port that is not a number)."""


class CsvPosition(msgspec.Struct, frozen=True):
    """Where a user's row is: its file, the line it starts on, and each field's cell number."""

    file: str
    line: int
    columns: Mapping[str, int]

    def column(self, field: str) -> int:
        """The 1-based cell of `field` (`smtp.port`), or of the `code` cell if it has none."""
        return self.columns.get(field, self.columns.get("code", 1))

    def problem(self, path: tuple[Any, ...], message: str, severity: str = "error",
                code: str = "") -> Problem:
        """A Problem at this row for a document path such as ("users", "JDOE", "smtp", "port")."""
        field = ".".join(str(step) for step in path[2:])
        return Problem(self.file, self.line, self.column(field), tuple(path), message,
                       severity, code)


class CsvUser(NamedTuple):
    """One row: the user code, its entry shaped like a YAML user, and where it is."""

    code: str
    entry: dict[str, Any]
    position: CsvPosition


class CsvUsers(NamedTuple):
    """The rows that read cleanly, and the problems of the others (errors and warnings)."""

    users: list[CsvUser]
    problems: list[Problem]


def read_users_csv(path: str | os.PathLike[str], file: str | None = None) -> CsvUsers:
    """Read and parse the user list at `path` (shown as `file`); at most MAX_CSV_BYTES."""
    name = file if file is not None else os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CSV_BYTES + 1)
    except IsADirectoryError:
        return CsvUsers([], [Problem(name, 0, 0, (), _("is a folder, not a file"),
                                     code=UNREADABLE)])
    except OSError as exc:
        return CsvUsers([], [Problem(name, 0, 0, (), _("cannot read the file: {error}")
                                     .format(error=exc.strerror or exc),
                                     code=UNREADABLE)])
    return parse_users_csv(data, name)


def parse_users_csv(data: bytes, file: str) -> CsvUsers:
    """The users of a CSV user list given as bytes; `file` names it in problems."""
    reader = _Reader(file)
    text = reader.decode(data)
    if text is not None:
        reader.parse(text)
    return CsvUsers(reader.users, sorted(reader.problems, key=lambda p: (p.line, p.column)))


class _Column(NamedTuple):
    field: str | None  # None: ignored (a `#` column, or one without a name)
    title: str


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.users: list[CsvUser] = []
        self.problems: list[Problem] = []
        self.first_line: dict[str, int] = {}
        self.unnamed_reported: set[int] = set()
        self.errors = 0
        self.delimiter = ","

    def add(self, line: int, column: int, path: tuple[Any, ...], message: str,
            code: str,
            severity: str = "error") -> None:
        if len(self.problems) == MAX_PROBLEMS:
            self.problems.append(Problem(self.file, line, 1, (), _(
                "more than {count} problems: stopped reporting them; is this the right "
                "file?").format(count=MAX_PROBLEMS), code="more-problems"))
        if len(self.problems) <= MAX_PROBLEMS:
            self.problems.append(Problem(self.file, line, column, tuple(path), message,
                                         severity, code))
        if severity == "error":
            self.errors += 1

    # --- bytes to text ----------------------------------------------------------------------

    def decode(self, data: bytes) -> str | None:
        if len(data) > MAX_CSV_BYTES:
            self.add(0, 0, (), _("the file is larger than {size} MB: a user list of ten "
                                 "thousand users takes about 1 MB; is this the right file?")
                     .format(size=MAX_CSV_BYTES // (1024 * 1024)), SYNTAX)
            return None
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.add(1, 1, (), _("the file is UTF-16 text (Excel's \"Unicode text\"): save it "
                                 "again as \"CSV UTF-8\" ({how})").format(how=_(_SAVE_AS)),
                     ENCODING)
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.add(*_byte_place(data, exc.start), (), _not_utf8(data, exc.start), ENCODING)
            return None
        if not text.strip():
            self.add(1, 1, (), _("the file is empty: its first line must name the columns, "
                                 "e.g. {example}").format(example=EXAMPLE_HEADER), SYNTAX)
            return None
        return text

    # --- text to rows -----------------------------------------------------------------------

    def parse(self, text: str) -> None:
        first_line = 1
        head, _newline, rest = text.partition("\n")
        match = _SEP_LINE.match(head)
        if match:  # Excel's own way to name the separator
            self.delimiter = match.group(1)
            text = rest
            first_line = 2
        else:
            self.delimiter = _delimiter(text)
        delimiter = self.delimiter
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows = iter(reader)
        columns: list[_Column] | None = None
        positions: Mapping[str, int] = {}
        blank_from = 0
        count = 0
        while True:
            start = reader.line_num + first_line
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                self.add(reader.line_num + first_line - 1, 1, (), _(
                    "this line is not valid CSV ({error}): a cell that holds a quote (\") must "
                    "be in quotes, with the quote doubled (\"\")").format(error=exc), SYNTAX)
                return
            count += 1
            if count > MAX_ROWS + 1:
                self.add(start, 1, (), _("more than {count} users in one file: split it")
                         .format(count=MAX_ROWS), SYNTAX)
                return
            cells = [cell.strip() for cell in row]
            if columns is None:
                columns = self.header(cells, start, delimiter)
                if columns is None:
                    return
                positions = MappingProxyType({column.field: index for index, column
                                              in enumerate(columns, 1) if column.field})
                continue
            if not any(cells):
                blank_from = blank_from or start
                continue
            if blank_from:
                self.add(blank_from, 1, (), stored(N_("blank line skipped")),
                         "csv-blank-line", severity="warning")
                blank_from = 0
            self.row(cells, columns, positions, start)

    def header(self, cells: list[str], line: int, delimiter: str) -> list[_Column] | None:
        """The columns named by the first line, or None when the file cannot be read on."""
        if not any(cells):
            self.add(line, 1, (), _("the first line is empty: it must name the columns, "
                                    "e.g. {example}").format(example=EXAMPLE_HEADER), SYNTAX)
            return None
        if len(cells) == 1 and "\t" in cells[0]:
            self.add(line, 1, (), _("the columns are separated by tabs: save the file as "
                                    "\"CSV UTF-8\" ({how})").format(how=_(_SAVE_AS)), ENCODING)
            return None
        columns: list[_Column] = []
        seen: dict[str, int] = {}
        for index, title in enumerate(cells, 1):
            name = re.sub(r"\s+", "", title).lower()
            if looks_like_secret(name.lstrip("#")):
                self.add(line, index, (), _("column '{title}' looks like a secret: {how}")
                         .format(title=_clip(title), how=_(_HOW_PASSWORDS)), "secret-key")
                columns.append(_Column(None, title))
                continue
            if not name or name.startswith("#"):
                columns.append(_Column(None, title))
                continue
            field = _SHORTHANDS.get(name, name)
            if field not in FIELDS:
                self.add(line, index, (), _unknown_column(title, name), COLUMN)
                columns.append(_Column(None, title))
                continue
            if field in seen:
                self.add(line, index, (), _(
                    "column '{title}' repeats column {first} ({field}): keep one").format(
                    title=_clip(title), first=seen[field], field=field), COLUMN)
                columns.append(_Column(None, title))
                continue
            seen[field] = index
            columns.append(_Column(field, title))
        if "code" not in seen:
            separator = {";": ";", ",": ","}.get(delimiter, ";")
            self.add(line, 1, (), _(
                "no `code` column: the first line must name the columns, e.g. {example}")
                .format(example=EXAMPLE_HEADER.replace(";", separator)), COLUMN)
            return None
        return columns

    def row(self, cells: list[str], columns: list[_Column], positions: Mapping[str, int],
            line: int) -> None:
        errors = self.errors
        code = cells[positions["code"] - 1] if len(cells) >= positions["code"] else ""
        where: tuple[Any, ...] = ("users", code) if code else ()
        if len(cells) < len(columns):
            self.add(line, len(cells) + 1, where, _(
                "this row has {count} cells but the first line names {expected} columns: a "
                "separator is missing, or a cell holding a line break is not in quotes").format(
                count=len(cells), expected=len(columns)), SYNTAX)
            return
        extra = next((index for index, cell in enumerate(cells[len(columns):], len(columns) + 1)
                      if cell), None)
        if extra is not None:
            self.add(line, extra, where, _(
                "this row has more cells than the first line names ({expected}): a cell holding "
                "a '{delimiter}' must be in quotes").format(
                expected=len(columns), delimiter=self.delimiter), SYNTAX)
            return
        if not code:
            self.add(line, positions["code"], (), _(
                "no user code: every row needs one in the `code` column"), VALUE)
            return
        if code in self.first_line:
            self.add(line, positions["code"], ("users", code), _(
                "user '{code}' is already listed on line {first}: keep one row per user")
                .format(code=_clip(code), first=self.first_line[code]),
                "csv-duplicate-user")
            return
        self.first_line[code] = line
        entry: dict[str, Any] = {}
        for index, (column, cell) in enumerate(zip(columns, cells, strict=False), 1):
            if column.field is None or column.field == "code":
                if column.field is None and cell and not column.title.strip():
                    self.unnamed(line, index, code)
                continue
            if not cell:
                continue
            value = self.value(column.field, cell, line, index, code)
            if value is not None:
                group, _dot, key = column.field.rpartition(".")
                (entry.setdefault(group, {}) if group else entry)[key] = value
        if self.errors == errors:
            self.users.append(CsvUser(code, entry, CsvPosition(self.file, line, positions)))

    def unnamed(self, line: int, index: int, code: str) -> None:
        if index in self.unnamed_reported:  # once per column, not once per row
            return
        self.unnamed_reported.add(index)
        self.add(line, index, ("users", code), _(
            "a value in a column without a name: name the column in the first line, or start "
            "its name with # to ignore it"), COLUMN)

    def value(self, field: str, cell: str, line: int, index: int, code: str) -> Any:
        path = ("users", code, *field.split("."))
        if field == "profile":
            names = [name.strip() for name in cell.split("|")]
            if not all(names):
                self.add(line, index, path, _(
                    "empty profile name in '{value}': separate several profiles with |, e.g. "
                    "staff|compta-shared").format(value=_clip(cell)), VALUE)
                return None
            return names[0] if len(names) == 1 else names
        if field == "smtp.port":
            if not _WHOLE_NUMBER.match(cell):
                self.add(line, index, path, _("the port must be a whole number (e.g. 587), "
                                              "got '{value}'").format(value=_clip(cell)), VALUE)
                return None
            return int(cell)
        if field == "smtp.ssl":
            word = cell.lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            self.add(line, index, path, _(
                "ssl must be true or false (or vrai/faux, oui/non, yes/no, 1/0), got '{value}'")
                .format(value=_clip(cell)), VALUE)
            return None
        return cell


_SAVE_AS = N_("in Excel: File > Save As, type \"CSV UTF-8 (Comma delimited) (*.csv)\", in French "
            "\"CSV UTF-8 (délimité par des virgules) (*.csv)\"")
_HOW_PASSWORDS = HOW_PASSWORDS_ARE_SET_COLUMN


def _not_utf8(data: bytes, offset: int) -> str:
    byte = data[offset]
    try:
        guess = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        guess = ""
    seen = (_(" ('{char}' in Windows-1252, the encoding of Excel's plain \"CSV\")")
            .format(char=guess) if guess.isprintable() and guess else "")
    return _("the file is not UTF-8 text: byte 0x{byte:02X}{seen} cannot be read; save it "
             "again as \"CSV UTF-8\" ({how})").format(byte=byte, seen=seen, how=_(_SAVE_AS))


def _byte_place(data: bytes, offset: int) -> tuple[int, int]:
    """(line, character column) of the byte at `offset`, both 1-based."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    before = data[line_start:offset]
    if line == 1 and before.startswith(b"\xef\xbb\xbf"):
        before = before[3:]
    return line, len(before.decode("utf-8", "replace")) + 1


def _delimiter(text: str) -> str:
    """`;` or `,`: whichever the first line (outside quotes) has more of; `,` on a tie."""
    counts = {";": 0, ",": 0}
    quoted = False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            break
        elif char in counts and not quoted:
            counts[char] += 1
    return ";" if counts[";"] > counts[","] else ","


def _unknown_column(title: str, name: str) -> str:
    choices = [*FIELDS, *_SHORTHANDS]
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6) if len(name) < 100 else []
    hint = _("; did you mean '{name}'?").format(name=close[0]) if close else ""
    return _("unknown column '{title}'{hint} (columns: {columns}; start a column's name with # "
             "to ignore it)").format(title=_clip(title), hint=hint, columns=", ".join(FIELDS))


def _clip(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def checked_at_rows(check: Callable[[Mapping[Path, bytes]], None], config_file: str,
                    rows: Mapping[str, CsvPosition], errors: Sequence[Problem]
                    ) -> Callable[[Mapping[Path, bytes]], None]:
    """`check` (config.edit.edit_check) for `users import`: the problems of the users the
    import adds to `config_file` are placed at their row and cell of the CSV file (the
    YAML lines they would take do not exist yet), and `errors`, the rows that could not
    be read, are added, so that every problem of the list is said at once."""

    def checked(replacements: Mapping[Path, bytes]) -> None:
        found: list[Problem] = []
        try:
            check(replacements)
        except ConfigError as exc:
            found = [_at_row(problem, config_file, rows) for problem in exc.problems]
        if errors or found:
            unique: dict[tuple[object, ...], Problem] = {}
            for problem in [*errors, *found]:  # a row's problem both may find: said once
                unique.setdefault((*problem.sort_key, problem.message), problem)
            raise ConfigError(list(unique.values()))

    return checked


def _at_row(problem: Problem, config_file: str, rows: Mapping[str, CsvPosition]) -> Problem:
    """`problem` at the CSV row and cell of the user it is about, when it is about a user
    the import adds to `config_file`; else as it is."""
    path = problem.path
    if (len(path) < 2 or path[0] != "users" or not isinstance(path[1], str)
            or path[1] not in rows or Path(problem.file).resolve() != Path(config_file).resolve()):
        return problem
    return rows[path[1]].problem(path, problem.message, problem.severity)._replace(
        code=problem.code)

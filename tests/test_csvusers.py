"""User lists from CSV files: what Excel writes is read; anything else is a problem at
FILE:LINE:CELL."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailprov.config.csvusers import (
    MAX_CSV_BYTES,
    MAX_PROBLEMS,
    CsvPosition,
    CsvUser,
    parse_users_csv,
    read_users_csv,
)
from mailprov.errors import Problem

SAVE_AS = ("in Excel: File > Save As, type \"CSV UTF-8 (Comma delimited) (*.csv)\", in French "
           "\"CSV UTF-8 (délimité par des virgules) (*.csv)\"")
COLUMNS = ("code, profile, smtp.username, smtp.from, smtp.server, smtp.port, smtp.ssl, "
           "smtp.provider, office365.email")


def parse(text: str | bytes) -> tuple[list[tuple[str, dict[str, object], int]], list[str]]:
    """(code, entry, line) of each user, and each problem as formatted for the terminal."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    result = parse_users_csv(data, "people.csv")
    return ([(user.code, user.entry, user.position.line) for user in result.users],
            [problem.format() for problem in result.problems])


def test_excel_quebec_export_with_bom_semicolons_and_crlf() -> None:
    data = ("\ufeffCode;Profile;SMTP.Username;Port;SSL;#Département\r\n"
            "JTREMBLAY;staff;jtremblay@acme.ca;587;VRAI;Chantiers\r\n"
            "COMPTA;staff|compta-shared;;;non;Comptabilité\r\n").encode("utf-8")
    result = parse_users_csv(data, "people.csv")
    assert result.problems == []
    columns = {"code": 1, "profile": 2, "smtp.username": 3, "smtp.port": 4, "smtp.ssl": 5}
    assert result.users == [
        CsvUser("JTREMBLAY", {"profile": "staff", "smtp": {"username": "jtremblay@acme.ca",
                                                           "port": 587, "ssl": True}},
                CsvPosition("people.csv", 2, columns)),
        CsvUser("COMPTA", {"profile": ["staff", "compta-shared"], "smtp": {"ssl": False}},
                CsvPosition("people.csv", 3, columns)),
    ]
    code, entry, position = result.users[0]  # unpacks like the (code, entry, position) tuple
    assert entry["profile"] == "staff"
    assert position.problem(("users", code, "smtp", "port"), "port refused") == Problem(
        "people.csv", 2, 4, ("users", "JTREMBLAY", "smtp", "port"), "port refused")
    assert position.problem(("users", code, "smtp", "from"), "no from") == Problem(
        "people.csv", 2, 1, ("users", "JTREMBLAY", "smtp", "from"), "no from")


def test_excel_english_export_with_commas_quotes_and_lf() -> None:
    data = ('code,profile,smtp.from,smtp.server,smtp.provider,office365.email\n'
            '"MROY","staff","Roy, Marie <mroy@acme.ca>",,office365,\n'
            'PAIE,,"paie@acme.ca",smtp.acme.ca,,paie@acme.ca\n')
    assert parse(data) == ([
        ("MROY", {"profile": "staff", "smtp": {"from": "Roy, Marie <mroy@acme.ca>",
                                               "provider": "office365"}}, 2),
        ("PAIE", {"smtp": {"from": "paie@acme.ca", "server": "smtp.acme.ca"},
                  "office365": {"email": "paie@acme.ca"}}, 3),
    ], [])


def test_separator_line_multiline_cells_and_trailing_empty_cells() -> None:
    data = ('sep=,\r\ncode,smtp.username\r\nA,"first\r\nsecond",,\r\nB ,  b@acme.ca  \r\n'
            ',,,\r\n')
    assert parse(data) == ([("A", {"smtp": {"username": "first\r\nsecond"}}, 3),
                            ("B", {"smtp": {"username": "b@acme.ca"}}, 5)], [])


def test_header_only_file_has_no_users_and_no_problem() -> None:
    assert parse("code;profile\r\n") == ([], [])


def test_windows_1252_export_is_refused_with_how_to_resave() -> None:
    data = "code;profile\r\nJDOE;Frédéric\r\n".encode("cp1252")
    assert parse(data) == ([], [
        "people.csv:2:8: the file is not UTF-8 text: byte 0xE9 ('é' in Windows-1252, the "
        f"encoding of Excel's plain \"CSV\") cannot be read; save it again as \"CSV UTF-8\" "
        f"({SAVE_AS})"])


def test_utf16_and_tab_separated_exports_are_refused() -> None:
    assert parse("code\tprofile\r\n".encode("utf-16")) == ([], [
        "people.csv:1:1: the file is UTF-16 text (Excel's \"Unicode text\"): save it again as "
        f"\"CSV UTF-8\" ({SAVE_AS})"])
    assert parse("code\tprofile\r\nA\tstaff\r\n") == ([], [
        f"people.csv:1:1: the columns are separated by tabs: save the file as \"CSV UTF-8\" "
        f"({SAVE_AS})"])


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n \r\n"])
def test_an_empty_file_is_a_problem(data: bytes) -> None:
    assert parse(data) == ([], [
        "people.csv:1:1: the file is empty: its first line must name the columns, e.g. "
        "code;profile;smtp.username"])


def test_header_problems() -> None:
    data = "Profile,smtp.prot,Mot de passe,port,smtp.port,pwd\nstaff,1,x,2,3,y\n"
    assert parse(data) == ([], [
        "people.csv:1:1: no `code` column: the first line must name the columns, e.g. "
        "code,profile,smtp.username",
        f"people.csv:1:2: unknown column 'smtp.prot'; did you mean 'smtp.port'? (columns: "
        f"{COLUMNS}; start a column's name with # to ignore it)",
        "people.csv:1:3: column 'Mot de passe' looks like a secret: passwords never go in "
        "mailprov files: each user types their own SMTP password in maestro* (Préférences > "
        "Courriel), and the database password comes from `mailprov login TARGET` or the "
        "MAILPROV_DB_PASSWORD environment variable; remove this column",
        "people.csv:1:5: column 'smtp.port' repeats column 4 (smtp.port): keep one",
        "people.csv:1:6: column 'pwd' looks like a secret: passwords never go in mailprov "
        "files: each user types their own SMTP password in maestro* (Préférences > Courriel), "
        "and the database password comes from `mailprov login TARGET` or the "
        "MAILPROV_DB_PASSWORD environment variable; remove this column",
    ])


def test_secret_cells_never_appear_in_problems() -> None:
    users, problems = parse("code;password;smtp.port\nJDOE;Hunter2-secret;99x\n")
    assert users == []
    assert problems == [
        "people.csv:1:2: column 'password' looks like a secret: passwords never go in mailprov "
        "files: each user types their own SMTP password in maestro* (Préférences > Courriel), "
        "and the database password comes from `mailprov login TARGET` or the "
        "MAILPROV_DB_PASSWORD environment variable; remove this column",
        "people.csv:2:3: users.JDOE.smtp.port: the port must be a whole number (e.g. 587), "
        "got '99x'",
    ]
    assert not any("Hunter2" in problem for problem in problems)


def test_row_problems_at_line_and_cell() -> None:
    data = ("code;profile;port;ssl\r\n"     # 1
            "A;staff;abc;peut-être\r\n"      # 2: both cells wrong
            "A;staff;587;oui\r\n"            # 3: duplicate of line 2
            ";staff;587;oui\r\n"             # 4: no code
            "\r\n"                            # 5: blank, more rows follow
            "B;staff;587;oui;extra\r\n"      # 6: too many cells
            "C;staff\r\n"                     # 7: too few cells
            "D;staff||x;25;1\r\n"            # 8: empty profile name
            "E;staff;587;0\r\n"              # 9: fine
            "\r\n")                           # 10: trailing blank: silent
    assert parse(data) == ([("E", {"profile": "staff", "smtp": {"port": 587, "ssl": False}}, 9)], [
        "people.csv:2:3: users.A.smtp.port: the port must be a whole number (e.g. 587), got 'abc'",
        "people.csv:2:4: users.A.smtp.ssl: ssl must be true or false (or vrai/faux, oui/non, "
        "yes/no, 1/0), got 'peut-être'",
        "people.csv:3:1: users.A: user 'A' is already listed on line 2: keep one row per user",
        "people.csv:4:1: no user code: every row needs one in the `code` column",
        "people.csv:5:1: warning: blank line skipped",
        "people.csv:6:5: users.B: this row has more cells than the first line names (4): a cell "
        "holding a ';' must be in quotes",
        "people.csv:7:3: users.C: this row has 2 cells but the first line names 4 columns: a "
        "separator is missing, or a cell holding a line break is not in quotes",
        "people.csv:8:2: users.D.profile: empty profile name in 'staff||x': separate several "
        "profiles with |, e.g. staff|compta-shared",
    ])


def test_a_broken_quote_stops_the_file_at_its_line() -> None:
    data = 'code,smtp.from\nA,a@acme.ca\nB,"unterminated\nC,c@acme.ca\n'
    assert parse(data) == ([("A", {"smtp": {"from": "a@acme.ca"}}, 2)], [
        "people.csv:4:1: this line is not valid CSV (unexpected end of data): a cell that holds "
        "a quote (\") must be in quotes, with the quote doubled (\"\")"])


def test_values_in_a_column_without_a_name_are_reported_once() -> None:
    data = "code;;profile\nA;;staff\nB;x;staff\nC;y;staff\n"
    users, problems = parse(data)
    assert [code for code, _entry, _line in users] == ["A", "C"]
    assert problems == [
        "people.csv:3:2: users.B: a value in a column without a name: name the column in the "
        "first line, or start its name with # to ignore it"]


@pytest.mark.parametrize(("cell", "value"), [
    ("true", True), ("TRUE", True), ("Vrai", True), ("oui", True), ("yes", True), ("1", True),
    ("false", False), ("FAUX", False), ("Non", False), ("no", False), ("0", False),
])
def test_ssl_words(cell: str, value: bool) -> None:
    assert parse(f"code;ssl\nA;{cell}\n") == ([("A", {"smtp": {"ssl": value}}, 2)], [])


def test_ports_become_whole_numbers_and_range_is_left_to_the_loader() -> None:
    assert parse("code,port\nA,587\nB,+25\nC,99999\n") == ([
        ("A", {"smtp": {"port": 587}}, 2), ("B", {"smtp": {"port": 25}}, 3),
        ("C", {"smtp": {"port": 99999}}, 4)], [])
    assert parse("code,port\nA,587.5\n")[1] == [
        "people.csv:2:2: users.A.smtp.port: the port must be a whole number (e.g. 587), "
        "got '587.5'"]


def test_too_many_problems_stop_being_reported() -> None:
    data = "code;port\n" + "".join(f"U{i};x\n" for i in range(MAX_PROBLEMS + 50))
    users, problems = parse(data)
    assert users == []
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == (f"people.csv:{MAX_PROBLEMS + 2}:1: more than {MAX_PROBLEMS} "
                            "problems: stopped reporting them; is this the right file?")


def test_the_file_size_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"code\n" + b"A" * MAX_CSV_BYTES)
    result = read_users_csv(path, "people.csv")
    assert result.users == []
    assert [p.format() for p in result.problems] == [
        "people.csv: the file is larger than 10 MB: a user list of ten thousand users takes "
        "about 1 MB; is this the right file?"]


def test_reading_files(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("\ufeffcode;profile\r\nA;staff\r\n".encode())
    assert read_users_csv(path, "people.csv").users == [
        CsvUser("A", {"profile": "staff"}, CsvPosition("people.csv", 2,
                                                        {"code": 1, "profile": 2}))]
    assert [p.format() for p in read_users_csv(tmp_path, "people").problems] == [
        "people: is a folder, not a file"]
    assert [p.format() for p in read_users_csv(tmp_path / "missing.csv", "missing.csv")
            .problems] == ["missing.csv: cannot read the file: No such file or directory"]


def test_ten_thousand_rows_read_quickly() -> None:
    import time

    data = ("code;profile;smtp.port\r\n"
            + "".join(f"U{i:05d};staff;587\r\n" for i in range(10_000))).encode()
    started = time.perf_counter()
    result = parse_users_csv(data, "people.csv")
    assert time.perf_counter() - started < 1.0
    assert len(result.users) == 10_000 and result.problems == []

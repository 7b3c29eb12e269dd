"""Editing `users:` of the configuration files in place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailprov.api.files import load_config
from mailprov.i18n import _

if TYPE_CHECKING:
    from mailprov.config.edit import EditResult


def add_users(codes: Sequence[str], entry: Mapping[str, Any], config_file: str = "mailprov.yaml",
              *, configs: Sequence[str] | None = None,
              variables: Mapping[str, Any] | Sequence[str] | None = None) -> EditResult:
    """Append one line per user (`CODE: {profile: staff}`) to `users:` of `config_file`,
    every other byte kept; the result is checked with `configs` (default: the file)
    before it is written. Raises ConfigError or EditError, writing nothing."""
    from pathlib import Path

    from mailprov.config.edit import EditResult, add_entries, edit_check, read_text, write_checked

    path = Path(config_file)
    text = add_entries(read_text(path), config_file, {code: dict(entry) for code in codes})
    write_checked(path, text, edit_check(configs or [config_file], variables))
    return EditResult(config_file, tuple(codes))


def remove_users(codes: Sequence[str], configs: Sequence[str] | None = None, *,
                 disable: bool = False,
                 variables: Mapping[str, Any] | Sequence[str] | None = None) -> EditResult:
    """Remove the entries of `codes` from the file that lists each (or, with `disable`,
    replace each with `CODE: {smtp: false}`, which removes the override at the next
    apply). Users of a CSV list are refused: edit the list."""
    from collections import defaultdict
    from pathlib import Path

    from mailprov.config.edit import (
        EditError,
        EditResult,
        edit_check,
        read_text,
        remove_entries,
        write_checked,
    )

    config = load_config(list(configs) if configs else None, variables)
    by_file: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        user = config.users.get(code)
        if user is None:
            from mailprov.plan.diff import did_you_mean

            raise EditError(_("{code} is not listed in the files{hint}").format(
                code=code, hint=did_you_mean(code, config.users)))
        if user.listed_by == "csv":
            raise EditError(_("{code} comes from the user list {file}: remove its row there")
                            .format(code=code, file=user.source.file))
        by_file[user.source.file].append(code)
    texts = {Path(file): remove_entries(read_text(Path(file)), file, file_codes,
                                        {"smtp": False} if disable else None)
             for file, file_codes in by_file.items()}
    check = edit_check(list(configs) if configs else ["mailprov.yaml"], variables)
    check({path: text.encode("utf-8") for path, text in texts.items()})
    for path, text in texts.items():
        write_checked(path, text, lambda _replacements: None)
    return EditResult(", ".join(by_file), tuple(codes))


def import_users(csv_file: str, config_file: str = "mailprov.yaml", *,
                 configs: Sequence[str] | None = None,
                 variables: Mapping[str, Any] | Sequence[str] | None = None) -> EditResult:
    """Add the users of a CSV list (as `users_from:` reads it) to `users:` of
    `config_file`, one line each; users the files list already are left as they are.

    Every problem of the list is reported at once, each at its row and cell of the
    CSV file (a row that cannot be read does not hide the others' problems), and
    nothing is written when there is any."""
    from pathlib import Path

    from mailprov.config.csvusers import checked_at_rows, read_users_csv
    from mailprov.config.edit import EditResult, add_entries, edit_check, read_text, write_checked
    from mailprov.errors import ConfigError

    rows = read_users_csv(csv_file)
    errors = [p for p in rows.problems if p.severity == "error"]
    config = load_config(list(configs) if configs else [config_file], variables)
    new = {code: entry for code, entry, _position in rows.users if code not in config.users}
    skipped = tuple(code for code, _entry, _position in rows.users if code in config.users)
    if not new:
        if errors:
            raise ConfigError(errors)
        return EditResult(config_file, (), skipped)
    path = Path(config_file)
    text = add_entries(read_text(path), config_file, new)
    rows_at = {code: position for code, _entry, position in rows.users if code in new}
    check = checked_at_rows(edit_check(configs or [config_file], variables), config_file,
                            rows_at, errors)
    write_checked(path, text, check)
    return EditResult(config_file, tuple(new), skipped)

"""Database URLs as people write them, in files and on the command line: find and
remove passwords before anything is printed, logged or saved."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from mailprov.errors import TargetError
from mailprov.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def redact(url: URL | str) -> str:
    """The URL with any password removed, safe to print, log or save."""
    if isinstance(url, str) and _PLAIN_SQLITE.fullmatch(url):
        return url  # no password, and SQLAlchemy would write it back as it is
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if isinstance(url, str):
        raw = _raw_password(url)
        if raw is not None:  # the parsers would split it inside the password
            scheme, user, after = raw
            return f"{scheme}://{user}@{after}"
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            return redact_text(str(url))
    # URL.set(password=None) leaves the password unchanged; _replace clears it. Drivers also
    # take a password as a query parameter (?password=..., ?passwd=...): drop those too.
    url = url._replace(password=None).difference_update_query(
        [k for k in url.query if k.lower() in _PASSWORD_QUERY_KEYS])
    return url.render_as_string(hide_password=False)


_PASSWORD_QUERY_KEYS = ("password", "passwd", "pwd")

# A SQLite URL naming a file with only the characters SQLAlchemy's URL parser and renderer
# keep as they are (no %-escape, query, `:` or `@`): what most people write.
_PLAIN_SQLITE = re.compile(r"sqlite(?:\+pysqlite)?:///([A-Za-z0-9+\-./_~ ]+)")


def plain_sqlite_path(url: str) -> str | None:
    """The file a plainly written SQLite URL names (`sqlite:///data/erp.db`,
    `sqlite:////srv/erp.db`), or None for any other URL: in memory, a `file:` URI, a
    query, %-escapes or characters SQLAlchemy would escape."""
    match = _PLAIN_SQLITE.fullmatch(url)
    return match.group(1) if match else None


def redact_text(raw: str) -> str:
    """Remove a `user:password@` part from text that may not parse as a URL."""
    found = _raw_password(raw)
    if found is not None:
        scheme, user, after = found
        return f"{scheme}://{user}@{after}"
    return re.sub(r"(//[^:/@\s]*):[^@\s]*@", r"\1@", raw)


def url_has_password(url: str) -> bool:
    """`user:password@` or a driver's `?password=` / `?passwd=` / `?pwd=` parameter."""
    if _raw_password(url) is not None:
        return True
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            return True
    except ValueError:
        return False
    return any(key.lower() in ("password", "passwd", "pwd")
               for key, _value in parse_qsl(parts.query, keep_blank_values=True))


# Characters that end or split the parts of a URL: in a password they must be written %XX.
_RESERVED = frozenset("@:/?#")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_PORT = re.compile(r"[^:@]*(?::\d*)?\Z")


def _raw_password(url: str) -> tuple[str, str, str] | None:
    """(scheme, user, what follows the password) when `url` holds a password that is not
    percent-encoded, else None.

    SQLAlchemy ends the password at the first `@` and urllib at the first `/`, `?` or `#`:
    a raw one of these sends the rest of the password to DNS as a host name, and to error
    messages. The password is taken to run to the last `@` before the query (database and
    host names hold no `@`), or, when the query holds the only `@`, to that `@` if what
    precedes the query cannot be a plain host[:port].
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.startswith("sqlite"):
        return None
    query_at = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head = rest[:query_at]
    if "@" in head:
        at = head.rfind("@")
    elif "/" in head or _HOST_PORT.match(head):
        return None
    else:
        at = rest.find("@", query_at)
        if at < 0:
            return None
    user, colon, password = rest[:at].partition(":")
    if not colon:
        return None
    if any(c in _RESERVED or c.isspace() for c in password) or _BAD_PERCENT.search(password):
        return scheme, user, rest[at + 1:]
    return None


def check_url_password(url: str) -> None:
    """Refuse a URL whose password is not percent-encoded, showing no part of it."""
    found = _raw_password(url)
    if found is None:
        return
    scheme, user, _after = found
    raise TargetError(_(
        "the password in the database URL {scheme}://{user}:...@... is not percent-encoded "
        "(a raw @, :, /, ?, #, % or space in it makes the URL ambiguous): encode it with "
        "urllib.parse.quote(password, safe=''), or leave it out of the URL and use "
        "`mailprov login TARGET` or MAILPROV_DB_PASSWORD").format(scheme=scheme, user=user))


def anchor_sqlite(url: str, folder: str) -> str:
    """A relative SQLite path is relative to `folder` (the file that names it, or the
    working folder for a URL typed on the command line), written out in full so that a
    saved plan names the same file wherever it is applied from."""
    import os

    prefix, _, rest = url.partition(":///")
    if not prefix.startswith("sqlite") or not rest or rest.startswith(":memory:") \
            or rest.startswith("file:"):
        return url
    path, query = rest.partition("?")[::2]
    full = os.path.normpath(os.path.join(folder, path))
    return f"{prefix}:///{full}" + (f"?{query}" if query else "")


def relative_sqlite(url: str, folder: str | os.PathLike[str], typed: str | None = None) -> str:
    """A SQLite path typed relative on the command line (`typed`, default `url`; `url` may
    be it resolved against the working folder) stays relative in a file written in
    `folder`: a path in a file is relative to the file's folder, and a configuration kept
    in Git must not name one machine's folders. A target of a configuration (`typed` is
    its name: its URL was anchored to the configuration's folder when read) is written
    relative when its file lies in `folder` or below. Other URLs are returned as they
    are."""
    import os

    prefix, sep, rest = url.partition(":///")
    typed_text = url if typed is None else typed
    typed_rest = typed_text.partition(":///")[2]
    if not sep or not prefix.startswith("sqlite") or not rest or rest.startswith(
            (":memory:", "file:")):
        return url
    path, query_sep, query = rest.partition("?")
    if ":///" not in typed_text:  # a configuration's target
        if not _inside_folder(os.path.abspath(path), os.path.abspath(folder)):
            return url
    elif not typed_rest or typed_rest.startswith("/"):
        return url
    rel = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(folder))).as_posix()
    return f"{prefix}:///{rel}{query_sep}{query}"


def _inside_folder(path: str, folder: str) -> bool:
    import os

    return os.path.commonpath([path, folder]) == folder


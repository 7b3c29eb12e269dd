"""Database URLs as people write them, in files and on the command line: find and
remove passwords before anything is printed, logged or saved."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


def redact(url: URL | str) -> str:
    """The URL with any password removed, safe to print, log or save."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if isinstance(url, str):
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


def redact_text(raw: str) -> str:
    """Remove a `user:password@` part from text that may not parse as a URL."""
    return re.sub(r"(//[^:/@\s]*):[^@\s]*@", r"\1@", raw)


def url_has_password(url: str) -> bool:
    """`user:password@` or a driver's `?password=` / `?passwd=` / `?pwd=` parameter."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            return True
    except ValueError:
        return False
    return any(key.lower() in ("password", "passwd", "pwd")
               for key, _ in parse_qsl(parts.query, keep_blank_values=True))

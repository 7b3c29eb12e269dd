"""Keep the password, and a hostile server's bytes, out of everything a check shows.

A server can echo what it was sent (some put the rejected AUTH line in their
error), so every text from the server and every transcript line goes through a
`Redactor` that knows the password in each form mailprov sends it: as typed,
and base64-encoded alone (AUTH LOGIN) or with the login (AUTH PLAIN).
"""

from __future__ import annotations

import base64
import re

MASK = "***"
REPLY_LIMIT = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"[ \t]+")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Redactor:
    """Replaces every known form of one password with `***`."""

    __slots__ = ("_forms",)

    def __init__(self, password: str | None, username: str | None = None) -> None:
        forms: set[str] = set()
        if password:
            secret = password.encode("utf-8")
            login = (username or "").encode("utf-8")
            forms.update({
                password,
                password.encode("unicode_escape").decode("ascii"),
                _b64(secret),
                _b64(b"\0" + login + b"\0" + secret),
                _b64(login + b"\0" + secret),
            })
        # longest first, so that a form containing another is masked whole
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} forms)"

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text


def clean(raw: bytes | str, redact: Redactor, limit: int = REPLY_LIMIT) -> str:
    """Server or error text fit for a terminal: decoded, one line, no control
    characters (escape sequences, bidi overrides), no secret, at most `limit` characters."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = redact(text)
    text = text.replace("\r\n", "\n").replace("\n", " | ")
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return redact(text)

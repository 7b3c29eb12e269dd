"""smtplib's SMTP, with a redacted transcript and password authentication done here.

smtplib's own debug output (`set_debuglevel`) prints the base64 AUTH payload,
so it is never used: `send` and `getreply` are wrapped instead, and what goes
into the transcript is redacted (AUTH payloads as `***`, the message as its
size). AUTH is done here rather than with `SMTP.login`, which encodes the
password as ASCII (a password with "é" fails) and falls through to the next
mechanism after a rejection, costing a second failed attempt on the account.
"""

from __future__ import annotations

import base64
import re
import smtplib
import time
from collections.abc import Callable

from mailprov.smtp.redact import MASK, Redactor, clean

# What maestro*'s .NET client sends with first; PLAIN where LOGIN is not offered.
MECHANISMS = ("LOGIN", "PLAIN")
_MAX_CHALLENGES = 5
_DOT_LINE = re.compile(rb"(?m)^\.")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class Client(smtplib.SMTP):
    """An SMTP client that records a redacted transcript when `record` is given."""

    def __init__(self, *, timeout: float, local_hostname: str, redact: Redactor,
                 record: Callable[[str], None] | None) -> None:
        super().__init__(timeout=timeout, local_hostname=local_hostname)
        self._redact = redact
        self._record = record
        self._started = time.perf_counter()
        self._secret = False
        self._payload = False

    def note(self, text: str) -> None:
        """A line of the transcript that is mailprov's own comment."""
        self._line("--", text)

    def _line(self, who: str, text: str) -> None:
        if self._record is not None:
            elapsed = (time.perf_counter() - self._started) * 1000
            self._record(f"{elapsed:7.1f} ms {who} {clean(text, self._redact, 1000)}")

    def send(self, s: str | bytes) -> None:  # type: ignore[override]
        if self._record is not None:
            raw = s if isinstance(s, bytes) else s.encode("utf-8", "replace")
            if self._payload:
                shown = f"<message, {len(raw)} bytes>"
            elif self._secret:
                words = raw.decode("ascii", "replace").split()
                if words and words[0].upper() == "AUTH":
                    shown = " ".join(words[:2] + [MASK] * (len(words) > 2))
                else:
                    shown = MASK
            else:
                shown = raw.decode("utf-8", "replace").rstrip("\r\n")
            self._line("C:", shown)
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        if self._record is not None:
            lines = message.split(b"\n") or [b""]
            for index, line in enumerate(lines):
                sep = " " if index == len(lines) - 1 else "-"
                self._line("S:", f"{code}{sep}{line.decode('utf-8', 'replace')}")
        return code, message

    def send_payload(self, payload: bytes) -> tuple[int, bytes]:
        """DATA with the message, shown in the transcript as its size only."""
        self._payload = False
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        self._payload = True
        try:
            quoted = _DOT_LINE.sub(b"..", payload)  # dot-stuffing, RFC 5321 4.5.2
            if not quoted.endswith(b"\r\n"):
                quoted += b"\r\n"
            self.send(quoted + b".\r\n")
        finally:
            self._payload = False
        return self.getreply()

    def authenticate(self, mechanism: str, username: str, password: str) -> tuple[int, bytes]:
        """AUTH LOGIN or PLAIN in UTF-8; raises SMTPAuthenticationError on refusal."""
        self._secret = True
        try:
            if mechanism == "PLAIN":
                code, reply = self.docmd("AUTH", "PLAIN " + _b64(f"\0{username}\0{password}"))
            else:
                code, reply = self.docmd("AUTH", "LOGIN")
                answers = iter((_b64(username), _b64(password)))
                for _ in range(_MAX_CHALLENGES):
                    if code != 334:
                        break
                    code, reply = self.docmd(next(answers, "*"))
        finally:
            self._secret = False
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)
        return code, reply

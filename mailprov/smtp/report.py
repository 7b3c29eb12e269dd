"""The result of one SMTP check: each step, the failure if any, and what to do about it.

Everything here is safe to print and to write to a file: server texts are
sanitized and clipped before they get here, and nothing holds a password.
The JSON form (`to_json`) has stable keys and stable `reason`/`code` values
for scripts; `advice` and notice messages are for people and may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["ok", "failed", "skipped"]

STEP_NAMES = ("resolve", "connect", "tls", "greeting", "ehlo", "starttls", "auth",
              "mail", "rcpt", "data", "quit")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the session: its name (see STEP_NAMES), how it went and how long it took.

    `code` and `reply` are the server's answer (reply sanitized, without the code);
    `detail` is mailprov's own note (the address connected to, the TLS version, ...).
    """

    name: str
    outcome: Outcome
    ms: float
    code: int | None = None
    reply: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "outcome": self.outcome, "ms": round(self.ms, 1),
                "code": self.code, "reply": self.reply, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Failure:
    """Why the check stopped.

    `reason` is a stable code for scripts (`bad-credentials`, `certificate-untrusted`,
    ...); `code` and `enhanced` (like "5.7.30") come from the server's reply when
    there was one; `exception` names the kind of error (`TimeoutError`,
    `ssl.SSLCertVerificationError`) when there was no reply; `text` is the server's
    reply or the error's own words, sanitized and clipped.
    """

    step: str
    reason: str
    code: int | None
    enhanced: str | None
    text: str
    exception: str | None

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "reason": self.reason, "code": self.code,
                "enhanced": self.enhanced, "text": self.text, "exception": self.exception}


@dataclass(frozen=True, slots=True)
class Notice:
    """Something worth knowing even when the check passed (stable `code`, human `message`)."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one check did and found; `ok` is True when every step it needed passed.

    `sent` is True only when the server accepted the message (never with
    `check_only`). `transcript` is the redacted SMTP dialogue, kept only when
    the check was asked for it (`debug=True`).
    """

    server: str
    port: int
    tls: str
    username: str | None
    from_address: str | None
    to: str | None
    user_code: str
    user_name: str
    check_only: bool
    authenticated: bool
    sent: bool
    message_id: str | None
    steps: tuple[Step, ...]
    failure: Failure | None
    advice: str | None
    notices: tuple[Notice, ...] = ()
    transcript: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def total_ms(self) -> float:
        return sum(step.ms for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (json.dumps it); the transcript only when one was kept."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "sent": self.sent,
            "check_only": self.check_only,
            "user": {"code": self.user_code, "name": self.user_name},
            "server": self.server,
            "port": self.port,
            "tls": self.tls,
            "username": self.username,
            "from": self.from_address,
            "to": self.to,
            "authenticated": self.authenticated,
            "message_id": self.message_id,
            "total_ms": round(self.total_ms, 1),
            "steps": [step.to_json() for step in self.steps],
            "failure": self.failure.to_json() if self.failure else None,
            "advice": self.advice,
            "notices": [notice.to_json() for notice in self.notices],
        }
        if self.transcript:
            data["transcript"] = list(self.transcript)
        return data

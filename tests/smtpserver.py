"""Real SMTP servers on 127.0.0.1 for the tests (aiosmtpd), with a test CA (trustme).

Each server behaves like the ones maestro* users meet, per login:

- accounts log in with their password (AUTH LOGIN and PLAIN); a wrong one gets
  `535 5.7.8`;
- logins listed in `AUTH_REPLIES` get Microsoft's refusals (`535 5.7.139`,
  `550 5.7.30`) whatever the password;
- a login may send as its own address and as the mailboxes `SEND_AS` grants it;
  anything else is refused at the end of DATA with Exchange's
  `554 5.2.0 ... SendAsDenied`;
- the STARTTLS server requires STARTTLS before AUTH and AUTH before MAIL
  (`530 5.7.0`); the implicit-TLS server speaks TLS from the first byte (like
  port 465); the plain server has no TLS at all and offers AUTH PLAIN only; the
  expired server's certificate expired a month ago;
- `ECHO_LOGIN` gets a refusal that quotes the password it was sent, as typed
  and in base64 (a hostile server, for the tests that no secret leaks).

Certificates are issued by a CA that only the tests trust, for `localhost`
only: connecting to `127.0.0.1` is a host-name mismatch.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
NAME = "localhost"  # the name in the servers' certificates

ACCOUNTS = {
    "compta@example.test": "Compta-pass-é-2024",
    "jtremblay@example.test": "jt-secret-1",
}
for _index in range(20):
    ACCOUNTS[f"user{_index:02d}@example.test"] = f"pw-{_index:02d}-secret"

SEND_AS = {("jtremblay@example.test", "compta@example.test")}

AUTH_REPLIES = {
    "basicoff@example.test": "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                             "is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled "
                             "for more information.",
    "tenant@example.test": "550 5.7.30 Basic authentication is not supported for Client "
                           "Submission.",
}

ECHO_LOGIN = "echo@example.test"

SEND_AS_DENIED = ("554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
                  "MapiExceptionSendAsDenied; Failed to process message due to a permanent "
                  "exception with message Cannot submit message.")


@dataclass
class Received:
    """One message the server accepted."""

    login: str | None
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps what it accepts, refuses what Exchange refuses."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = _login(session)
        sender = envelope.mail_from or ""
        if login is not None and sender != login and (login, sender) not in SEND_AS:
            return SEND_AS_DENIED
        content = envelope.original_content or b""
        with self.lock:
            self.received.append(Received(login, sender, list(envelope.rcpt_tos), content))
        return "250 2.0.0 OK queued"

    def by_message_id(self, message_id: str | None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.message["Message-ID"] == message_id]

    def from_login(self, login: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.login == login]


def _login(session: Session) -> str | None:
    data = session.auth_data
    return data.login.decode("utf-8") if isinstance(data, LoginPassword) else None


def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    """Checks LOGIN and PLAIN credentials against ACCOUNTS (UTF-8), answers AUTH_REPLIES."""
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    login = auth_data.login.decode("utf-8")
    if login in AUTH_REPLIES:
        return AuthResult(success=False, handled=False, message=AUTH_REPLIES[login])
    if login == ECHO_LOGIN:  # a hostile server that quotes what it was sent
        secret = auth_data.password
        return AuthResult(success=False, handled=False, message=(
            f"535 5.7.8 rejected {secret.decode('utf-8')} "
            f"({base64.b64encode(secret).decode()})"))
    if ACCOUNTS.get(login) == auth_data.password.decode("utf-8"):
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


def free_port() -> int:
    """A port nothing listens on (just closed)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server: where it listens, and what it received."""

    name: str
    port: int
    mailbox: Mailbox
    controller: Controller


@dataclass
class SmtpLab:
    """The test CA, the servers signed by it, and the CA file a client can trust."""

    ca: trustme.CA
    cafile: str
    starttls: Server
    implicit: Server
    plain: Server
    expired: Server


def _server_context(ca: trustme.CA, *, expired: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if expired:
        past = datetime.now(UTC) - timedelta(days=30)
        cert = ca.issue_cert(NAME, not_before=past - timedelta(days=60), not_after=past)
    else:
        cert = ca.issue_cert(NAME)
    cert.configure_cert(context)
    return context


def _start(name: str, mailbox: Mailbox, **kwargs: Any) -> Server:
    port = free_port()
    controller = Controller(mailbox, hostname=HOST, port=port, server_hostname=NAME,
                            authenticator=authenticator, ready_timeout=10, **kwargs)
    controller.start()
    return Server(name, port, mailbox, controller)


@contextmanager
def running_lab(folder: Path) -> Iterator[SmtpLab]:
    """Start the four servers (CA file written in `folder`), stop them all afterwards."""
    ca = trustme.CA()
    cafile = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    servers: list[Server] = []
    try:
        servers.append(_start("starttls", Mailbox(), tls_context=_server_context(ca),
                              require_starttls=True, auth_require_tls=True,
                              auth_required=True))
        servers.append(_start("implicit", Mailbox(), ssl_context=_server_context(ca),
                              auth_require_tls=False))
        servers.append(_start("plain", Mailbox(), auth_require_tls=False,
                              auth_exclude_mechanism=["LOGIN"]))
        servers.append(_start("expired", Mailbox(),
                              tls_context=_server_context(ca, expired=True),
                              require_starttls=True, auth_require_tls=True))
        yield SmtpLab(ca, str(cafile), *servers)
    finally:
        for server in servers:
            server.controller.stop()


@pytest.fixture(scope="session")
def smtp_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpLab]:
    """The SMTP servers, started once for the whole session (tests tell their messages
    apart by Message-ID or login)."""
    with running_lab(tmp_path_factory.mktemp("smtp-ca")) as lab:
        yield lab

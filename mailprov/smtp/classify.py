"""Name what went wrong under an SMTP step, from the exception Python raised.

smtplib wraps socket errors (a timeout while reading a reply becomes
`SMTPServerDisconnected("Connection unexpectedly closed: timed out")`), so the
chain of causes is searched for the error that says what really happened.
"""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl
from dataclasses import dataclass

# OpenSSL's verify codes (X509_V_ERR_*) that need their own advice.
_HOSTNAME_MISMATCH = 62
_IP_MISMATCH = 64
_EXPIRED = 10
# OpenSSL reasons meaning "what came back is not TLS": the port speaks plain text.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST",
                      "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"})


@dataclass(frozen=True, slots=True)
class Fault:
    """An error's kind for advice (`timeout`, `dns`, `certificate-untrusted`, ...),
    its own words (`detail`, unsanitized), and its Python type's name."""

    kind: str
    detail: str
    exception: str
    code: int | None = None
    reply: bytes = b""


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _kind(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
            return "certificate-name"
        if exc.verify_code == _EXPIRED:
            return "certificate-expired"
        return "certificate-untrusted"
    if isinstance(exc, ssl.SSLError):
        return "not-tls" if exc.reason in _NOT_TLS else "tls"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionError):
        return "disconnected"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH,
                                                  errno.EADDRNOTAVAIL):
        return "unreachable"
    return None


def classify(exc: BaseException) -> Fault:
    """The most telling error in `exc`'s chain of causes."""
    for cause in _causes(exc):
        kind = _kind(cause)
        if kind is not None:
            detail = getattr(cause, "verify_message", None) or str(cause)
            return Fault(kind, detail, _type_name(cause))
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        reply = error if isinstance(error, bytes) else str(error).encode()
        return Fault("reply", "", _type_name(exc), exc.smtp_code, reply)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Fault("disconnected", str(exc), _type_name(exc))
    if isinstance(exc, UnicodeError):
        return Fault("encoding", str(exc), _type_name(exc))
    if isinstance(exc, OSError):
        return Fault("network", str(exc), _type_name(exc))
    return Fault("error", str(exc), _type_name(exc))

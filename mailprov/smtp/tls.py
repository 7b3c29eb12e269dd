"""The TLS context a check verifies servers with, and a one-line account of a session."""

from __future__ import annotations

import ssl

from mailprov.errors import MailprovError
from mailprov.i18n import _


class CaFileError(MailprovError):
    """The --cafile given cannot be read as PEM certificates."""


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """Verify certificates and host names against the system trust store, plus `cafile`.

    A private CA is added to the system's authorities rather than replacing
    them, as when it is installed on maestro*'s workstations.
    """
    context = ssl.create_default_context()
    if cafile:
        try:
            context.load_verify_locations(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CaFileError(_("cannot read the CA file {path}: {reason}; give a CA "
                                "certificate in PEM format").format(path=cafile, reason=reason)
                              ) from None
    return context


def describe(sock: ssl.SSLSocket) -> str:
    """"TLSv1.3, TLS_AES_256_GCM_SHA384" for the step's detail."""
    cipher = sock.cipher()
    return ", ".join(part for part in (sock.version(), cipher[0] if cipher else None) if part)

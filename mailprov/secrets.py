"""Database passwords: from the environment (CI) or the OS keyring, never from files."""

from __future__ import annotations

import os

SERVICE = "mailprov"
ENV_PASSWORD = "MAILPROV_DB_PASSWORD"


def keyring_key(target: str) -> str:
    """The keyring user name under which a target's password is stored."""
    return f"target:{target}"


def get_db_password(target: str) -> str | None:
    """MAILPROV_DB_PASSWORD first, then the keyring entry saved by `mailprov login`."""
    value = os.environ.get(ENV_PASSWORD)
    if value:
        return value
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(SERVICE, keyring_key(target))
    except (KeyringError, RuntimeError):
        return None


def set_db_password(target: str, password: str) -> None:
    """Store a target's database password in the OS keyring."""
    import keyring
    from keyring.errors import KeyringError

    from mailprov.errors import MailprovError

    try:
        keyring.set_password(SERVICE, keyring_key(target), password)
    except (KeyringError, RuntimeError) as exc:
        raise MailprovError(
            f"cannot store the password in the OS keyring ({exc.__class__.__name__}): "
            f"set {ENV_PASSWORD} in the environment instead"
        ) from None

"""The OS keyring, the one way mailprov keeps secrets on the admin's machine.

Secrets are stored under the service ``mailprov`` by name: ``target:prod`` for a target's
database password (`mailprov login`), ``secret-key`` for the key of the ``fernet`` password
codec, ``plan-key`` for the key that signs saved plans. Each has an environment variable that
replaces the keyring where there is none (CI): ``MAILPROV_DB_PASSWORD``,
``MAILPROV_SECRET_KEY``, ``MAILPROV_PLAN_KEY``. Every call
goes through here so that a machine without a usable keyring (a headless Linux server, a CI
runner) gets one clear message saying what works there instead, and so that no keyring
error ever carries a secret: messages name the secret and the backend, never a value, and
the backend's own exception is dropped (its text is not ours to vouch for).

``keyring`` is imported inside the functions: loading it costs tens of milliseconds that
commands which never touch a secret should not pay.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mailprov.errors import MailprovError
from mailprov.i18n import _

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "mailprov"
SECRET_KEY_NAME = "secret-key"
PLAN_KEY_NAME = "plan-key"
TARGET_PREFIX = "target:"
ENV_SECRET_KEY = "MAILPROV_SECRET_KEY"
ENV_PLAN_KEY = "MAILPROV_PLAN_KEY"
ENV_DB_PASSWORD = "MAILPROV_DB_PASSWORD"
ENV_KEYRING_BACKEND = "PYTHON_KEYRING_BACKEND"
PLAINTEXT_BACKEND = "keyrings.alt.file.PlaintextKeyring"


class KeystoreError(MailprovError):
    """The OS keyring cannot be used: none on this machine, locked, or misconfigured."""


def target_secret_name(target: str) -> str:
    """The name under which a target's database password is stored (``target:prod``)."""
    return TARGET_PREFIX + target


def environment_variable_for(name: str) -> str | None:
    """The environment variable that replaces the keyring for this secret, if any."""
    if name == SECRET_KEY_NAME:
        return ENV_SECRET_KEY
    if name == PLAN_KEY_NAME:
        return ENV_PLAN_KEY
    if name.startswith(TARGET_PREFIX):
        return ENV_DB_PASSWORD
    return None


def describe_secret(name: str) -> str:
    """What the secret is, in words (for messages; never its value)."""
    if name == SECRET_KEY_NAME:
        return _("the secret key that encrypts SMTP passwords")
    if name == PLAN_KEY_NAME:
        return _("the key that signs saved plans")
    if name.startswith(TARGET_PREFIX):
        return _("the database password of target {target}").format(
            target=name[len(TARGET_PREFIX):]
        )
    return _("the secret {name}").format(name=name)


def backend_name(backend: KeyringBackend | None = None) -> str:
    """The keyring backend in use, as keyring names it (``keyring.backends.fail.Keyring``);
    KeystoreError if the configured one cannot even be loaded."""
    chosen = _backend("use") if backend is None else backend
    cls = type(chosen)
    return f"{cls.__module__}.{cls.__qualname__}"


def get_secret(name: str) -> str | None:
    """The secret stored under `name`, or None when there is none.

    Raises KeystoreError when no keyring is usable: a missing keyring must not look like a
    missing secret (the fix is different). The environment variable that replaces the
    keyring (``MAILPROV_SECRET_KEY``, ``MAILPROV_DB_PASSWORD``) is the caller's to check,
    before calling this.
    """
    backend = _usable_backend(name, "read")
    try:
        value = backend.get_password(SERVICE, name)
    except Exception as exc:  # any backend failure; its text may not be shown (see module)
        raise _failed(name, "read", backend, exc) from None
    return value if isinstance(value, str) else None


def set_secret(name: str, value: str) -> None:
    """Store `value` under `name`, replacing any previous value."""
    backend = _usable_backend(name, "store")
    try:
        backend.set_password(SERVICE, name, value)
    except Exception as exc:
        raise _failed(name, "store", backend, exc) from None


def delete_secret(name: str) -> bool:
    """Remove the secret stored under `name`; False when there was none."""
    from keyring.errors import PasswordDeleteError

    backend = _usable_backend(name, "delete")
    if get_secret(name) is None:
        return False
    try:
        backend.delete_password(SERVICE, name)
    except PasswordDeleteError as exc:
        if get_secret(name) is None:  # removed by someone else meanwhile: gone all the same
            return True
        raise _failed(name, "delete", backend, exc) from None
    except Exception as exc:
        raise _failed(name, "delete", backend, exc) from None
    return True


def require_keyring(name: str) -> None:
    """Fail now, with the "cannot store" message, when no keyring could store `name`:
    for commands whose purpose is to store it (``key init``), before they do anything."""
    _usable_backend(name, "store")


def keyring_usable() -> bool:
    """Whether a real keyring backend is configured (for status lines; never raises)."""
    try:
        _usable_backend(SECRET_KEY_NAME, "use")
    except KeystoreError:
        return False
    return True


# -- database passwords -------------------------------------------------------------------


def get_db_password(target: str) -> str | None:
    """A target's database password: MAILPROV_DB_PASSWORD first, then the keyring entry that
    `mailprov login` stored; None when neither has one.

    A machine without a usable keyring simply has no stored password (the database then
    says whether it needs one): most CI runners are such machines, and their databases are
    reached with MAILPROV_DB_PASSWORD or without a password. A keyring that exists but fails
    (locked, denied) is a KeystoreError: the password is probably there, and the fix is to
    unlock it.
    """
    value = os.environ.get(ENV_DB_PASSWORD)
    if value:
        return value
    name = target_secret_name(target)
    try:
        _usable_backend(name, "read")
    except KeystoreError:
        return None
    return get_secret(name)


def set_db_password(target: str, password: str) -> None:
    """Store a target's database password in the OS keyring (`mailprov login`)."""
    set_secret(target_secret_name(target), password)


# -- internals ----------------------------------------------------------------------------

_ACTIONS = {
    "read": lambda what: _("cannot read {what} from the OS keyring").format(what=what),
    "store": lambda what: _("cannot store {what} in the OS keyring").format(what=what),
    "delete": lambda what: _("cannot delete {what} from the OS keyring").format(what=what),
    "use": lambda what: _("cannot use the OS keyring for {what}").format(what=what),
}


def _backend(action: str, name: str = SECRET_KEY_NAME) -> KeyringBackend:
    """keyring's configured backend; a broken PYTHON_KEYRING_BACKEND or keyringrc.cfg is a
    user error naming what to fix."""
    import keyring

    try:
        return keyring.get_keyring()
    except Exception as exc:
        configured = os.environ.get(ENV_KEYRING_BACKEND)
        head = _ACTIONS[action](describe_secret(name))
        kind = exc.__class__.__name__
        if isinstance(exc, ImportError) and exc.name:
            kind = _("{error}: no module named {module}").format(error=kind, module=exc.name)
        if configured:
            reason = _(
                "{variable} is set to {backend}, which cannot be loaded ({error}); install "
                "the package that provides it, or unset {variable}"
            ).format(variable=ENV_KEYRING_BACKEND, backend=configured, error=kind)
        else:
            reason = _(
                "the keyring configuration (keyringrc.cfg) names a backend that cannot be "
                "loaded ({error}); fix or remove that file"
            ).format(error=kind)
        raise KeystoreError(head + ": " + reason + _fallback_sentence(name)) from None


def _is_usable(backend: KeyringBackend) -> bool:
    """False for keyring's stand-ins that store nothing: the fail and null backends, and the
    chainer when it has nothing to chain (it then silently drops what it is given)."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        try:
            return bool(backend.backends)
        except Exception:
            return False
    return True


def _usable_backend(name: str, action: str) -> KeyringBackend:
    backend = _backend(action, name)
    if not _is_usable(backend):
        raise KeystoreError(_("{where}: {message}").format(
            where=_ACTIONS[action](describe_secret(name)),
            message=_("no usable keyring backend on this machine (keyring chose {backend})"
                      ).format(backend=backend_name(backend)) + _fallback_sentence(name)))
    return backend


def _failed(name: str, action: str, backend: KeyringBackend, exc: Exception) -> KeystoreError:
    """A working backend refused (locked, denied, D-Bus gone): name it and its error class."""
    return KeystoreError(_("{where}: {message}").format(
        where=_ACTIONS[action](describe_secret(name)),
        message=_("the keyring backend {backend} failed ({error}); unlock the keyring or check "
                  "that it works").format(backend=backend_name(backend),
                                          error=exc.__class__.__name__)
        + _fallback_sentence(name)))


def _fallback_sentence(name: str) -> str:
    """What works on a machine without a keyring."""
    variable = environment_variable_for(name)
    alternative = _(
        "install the keyrings.alt package and set {variable}={backend} (that backend keeps "
        "secrets in a plaintext file in your home folder, unencrypted)"
    ).format(variable=ENV_KEYRING_BACKEND, backend=PLAINTEXT_BACKEND)
    if variable is None:
        return ". " + _("Instead, {alternative}.").format(alternative=alternative)
    return ". " + _("Instead, set {env} in the environment (CI), or {alternative}.").format(
        env=variable, alternative=alternative
    )

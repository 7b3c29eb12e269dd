"""The secret key of the ``fernet`` password codec: create, find, export and import it.

The key is 32 random bytes written as URL-safe base64 (44 characters, Fernet's own key
format). It lives in the OS keyring of the admin's machine under ``secret-key``, or comes
from ``MAILPROV_SECRET_KEY`` (CI), which wins when both are there. Everyone who sets or
tests SMTP passwords of one maestro* database needs the same key; ``export_key`` and
``import_key`` carry it from one machine (or CI secret store) to another.

A key is only ever shown by ``export_key``. Everywhere else it is named by its
*fingerprint*: the first 8 bytes of the SHA-256 of the key bytes, in hex, which tells two
keys apart without revealing anything usable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass, field

from mailprov.errors import MailprovError
from mailprov.i18n import _
from mailprov.keystore import (
    ENV_SECRET_KEY,
    SECRET_KEY_NAME,
    get_secret,
    require_keyring,
    set_secret,
)

KEY_BYTES = 32
KEY_TEXT_LENGTH = 44  # URL-safe base64 of 32 bytes, with its one "=" of padding
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

SOURCE_ENVIRONMENT = "environment"
SOURCE_KEYRING = "keyring"


class SecretKeyError(MailprovError):
    """Base of the secret-key errors."""


class MissingKeyError(SecretKeyError):
    """No secret key on this machine and none in the environment."""


class InvalidKeyError(SecretKeyError):
    """A text given as a key (import, environment, keyring entry) is not one."""


class KeyExistsError(SecretKeyError):
    """A different key is already stored; replacing it needs force."""


@dataclass(frozen=True, slots=True)
class SecretKey:
    """A key and where it came from. Its repr and str never show the key."""

    text: str = field(repr=False)  # canonical 44-character form
    source: str  # SOURCE_ENVIRONMENT or SOURCE_KEYRING

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.text)

    def raw(self) -> bytes:
        """The 32 key bytes."""
        return base64.urlsafe_b64decode(self.text)


@dataclass(frozen=True, slots=True)
class KeyChange:
    """What `init_key` or `import_key` did, for the CLI to report (fingerprints only)."""

    fingerprint: str  # the key now stored in the keyring
    previous: str | None  # the fingerprint of the key it replaced, if any ("" if unreadable)
    changed: bool  # False when the same key was already stored
    environment_key: str | None  # fingerprint of MAILPROV_SECRET_KEY when set: that one is used


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """Which key is in use, for status output; `problem` says why there is none usable."""

    source: str | None  # SOURCE_ENVIRONMENT, SOURCE_KEYRING, or None
    fingerprint: str | None
    problem: str | None


def generate_key() -> str:
    """A new random key in its canonical text form (not stored anywhere)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str) -> str:
    """The canonical text of a key given as `text`; InvalidKeyError if it is not one.

    Surrounding whitespace and a missing "=" are forgiven (copy and paste lose them). The
    error never quotes `text`: what was pasted may be some other secret.
    """
    candidate = "".join(text.split())
    if not candidate:
        raise InvalidKeyError(_("the key is empty"))
    if len(candidate) == KEY_TEXT_LENGTH - 1:
        candidate += "="
    body = candidate[:-1] if candidate.endswith("=") else candidate
    if len(candidate) != KEY_TEXT_LENGTH or not set(body) <= _ALPHABET:
        raise InvalidKeyError(
            # not even its length is told: what was pasted may be some other secret
            _("it is not a mailprov secret key (a key is the {expected}-character text that "
              "`mailprov key export` prints)").format(expected=KEY_TEXT_LENGTH)
        )
    try:
        raw = base64.urlsafe_b64decode(candidate)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES or base64.urlsafe_b64encode(raw).decode("ascii") != candidate:
        raise InvalidKeyError(
            _("it is not a mailprov secret key (not the base64 text of {count} bytes that "
              "`mailprov key export` prints)").format(count=KEY_BYTES)
        )
    return candidate


def key_fingerprint(text: str) -> str:
    """16 hex digits identifying a key (first 8 bytes of SHA-256 of its bytes); safe to show."""
    raw = base64.urlsafe_b64decode(parse_key(text))
    return hashlib.sha256(raw).hexdigest()[:16]


def load_key() -> SecretKey:
    """The key in use: MAILPROV_SECRET_KEY if set, else the one in the OS keyring.

    MissingKeyError says how to get one; a damaged value is an InvalidKeyError saying where
    it is; an unusable keyring is the keystore's error (which names MAILPROV_SECRET_KEY).
    """
    from_env = _environment_key()
    if from_env is not None:
        return from_env
    stored = get_secret(SECRET_KEY_NAME)
    if stored is None:
        raise MissingKeyError(
            _("no secret key to encrypt SMTP passwords on this machine: run `mailprov key "
              "init` to create one (or `mailprov key import` with the key exported where "
              "the passwords were set), or set {env} in CI").format(env=ENV_SECRET_KEY)
        )
    return SecretKey(_keyring_key(stored), SOURCE_KEYRING)


def key_status() -> KeyStatus:
    """The key in use and where it comes from; never raises (for status listings)."""
    try:
        key = load_key()
    except MailprovError as exc:
        return KeyStatus(None, None, exc.message)
    return KeyStatus(key.source, key.fingerprint, None)


def init_key(force: bool = False) -> KeyChange:
    """Create a key and store it in the OS keyring.

    An existing key is replaced only with `force`: SMTP passwords encrypted with it cannot
    be read with the new one, so the refusal says to export it first.
    """
    require_keyring(SECRET_KEY_NAME)
    previous = _stored_fingerprint()
    if previous is not None and not force:
        raise KeyExistsError(
            _("a secret key is already stored in the OS keyring (fingerprint {fingerprint}): "
              "a new key would make every SMTP password encrypted with it unreadable. Keep "
              "it; or save it first with `mailprov key export`, then run `mailprov key init "
              "--force`").format(fingerprint=previous or _("unreadable"))
        )
    environment = _environment_fingerprint()  # a bad MAILPROV_SECRET_KEY fails before any change
    text = generate_key()
    set_secret(SECRET_KEY_NAME, text)
    return KeyChange(key_fingerprint(text), previous, True, environment)


def export_key() -> str:
    """The text of the key in use, to carry to another machine or a CI secret store.

    The CLI prints it alone on stdout (so it can be piped into a password manager) and
    `export_warning` on stderr.
    """
    return load_key().text


def export_warning(fingerprint: str) -> str:
    """What the CLI must print beside an exported key: where it may go, and where not."""
    return _(
        "This is the secret key (fingerprint {fingerprint}) that decrypts every SMTP password "
        "mailprov stored with it. Keep it only in a password manager, or in your CI's secret "
        "store as {env}. Never put it in the repository, a ticket, a chat or an e-mail."
    ).format(fingerprint=fingerprint, env=ENV_SECRET_KEY)


def import_key(text: str, force: bool = False) -> KeyChange:
    """Store a key exported elsewhere in the OS keyring.

    Garbage is refused before anything is touched; a different key already stored is
    replaced only with `force` (its passwords would become unreadable).
    """
    try:
        canonical = parse_key(text)
    except InvalidKeyError as exc:
        raise InvalidKeyError(
            _("cannot import the key: {reason}; nothing was changed").format(reason=exc.message)
        ) from None
    fingerprint = key_fingerprint(canonical)
    environment = _environment_fingerprint()
    require_keyring(SECRET_KEY_NAME)
    previous = _stored_fingerprint()
    if previous == fingerprint:
        return KeyChange(fingerprint, previous, False, environment)
    if previous is not None and not force:
        raise KeyExistsError(
            _("another secret key is already stored in the OS keyring (fingerprint "
              "{previous}; the imported key is {fingerprint}): replacing it would make every "
              "SMTP password encrypted with it unreadable. Save it first with `mailprov key "
              "export` if you may need it, then import with `--force`").format(
                previous=previous or _("unreadable"), fingerprint=fingerprint
            )
        )
    set_secret(SECRET_KEY_NAME, canonical)
    return KeyChange(fingerprint, previous, True, environment)


# -- internals ----------------------------------------------------------------------------


def _environment_key() -> SecretKey | None:
    value = os.environ.get(ENV_SECRET_KEY)
    if not value:
        return None
    try:
        return SecretKey(parse_key(value), SOURCE_ENVIRONMENT)
    except InvalidKeyError as exc:
        raise InvalidKeyError(
            _("{env} is set but {reason}; set it to the output of `mailprov key export`, or "
              "unset it to use the OS keyring").format(env=ENV_SECRET_KEY, reason=exc.message)
        ) from None


def _environment_fingerprint() -> str | None:
    key = _environment_key()
    return key.fingerprint if key is not None else None


def _keyring_key(stored: str) -> str:
    try:
        return parse_key(stored)
    except InvalidKeyError as exc:
        raise InvalidKeyError(
            _("the secret key stored in the OS keyring is damaged: {reason}; import it again "
              "with `mailprov key import --force`").format(reason=exc.message)
        ) from None


def _stored_fingerprint() -> str | None:
    """Fingerprint of the key in the keyring; "" when something unreadable is stored there."""
    stored = get_secret(SECRET_KEY_NAME)
    if stored is None:
        return None
    try:
        return key_fingerprint(stored)
    except InvalidKeyError:
        return ""

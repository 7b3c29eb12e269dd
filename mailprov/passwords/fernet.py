"""The reference model's password codec: Fernet under mailprov's secret key.

Fernet (from ``cryptography``) is AES-128-CBC with an HMAC-SHA256 over the whole token, so
a stored value cannot be read or altered without the key, and a value encrypted with
another key is detected rather than decrypted into garbage. The key comes from
``MAILPROV_SECRET_KEY`` or the OS keyring (see `mailprov.passwords.keys`); it is looked up
at every call, never kept in the codec, so a key imported meanwhile is used at once.

``cryptography`` is imported inside the methods: it is heavy and most commands never store
or read a password.
"""

from __future__ import annotations

import base64
import binascii

from mailprov.i18n import _
from mailprov.keystore import ENV_SECRET_KEY
from mailprov.passwords.codec import CodecError, WrongKeyError
from mailprov.passwords.keys import SOURCE_ENVIRONMENT, key_status, load_key

# version byte, timestamp (8), IV (16), at least one AES block (16), HMAC-SHA256 (32)
_FERNET_VERSION = 0x80
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32
_TOKEN_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
)


class FernetCodec:
    """Stores a password as a Fernet token (URL-safe base64 text, about 100 characters)."""

    name = "fernet"

    def encode(self, password: str) -> str:
        from cryptography.fernet import Fernet

        key = load_key()
        return Fernet(key.text.encode("ascii")).encrypt(password.encode("utf-8")).decode("ascii")

    def decode(self, stored: str) -> str:
        from cryptography.fernet import Fernet, InvalidToken

        token = stored.strip()
        if not _looks_like_token(token):
            raise CodecError(
                _("the stored value is not a Fernet token, so mailprov's fernet codec did not "
                  "write it (maestro* itself or another codec did); set the password again "
                  "with `mailprov password set`, or name the right codec in the mapping file")
            )
        key = load_key()
        try:
            plain = Fernet(key.text.encode("ascii")).decrypt(token.encode("ascii"))
        except InvalidToken:
            raise WrongKeyError(_("import the right key with `mailprov key import`")) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise CodecError(
                _("it decrypts to bytes that are not UTF-8 text, so mailprov did not store it; "
                  "set the password again with `mailprov password set`")
            ) from None

    def describe(self) -> str:
        status = key_status()
        if status.fingerprint is None:
            return _("fernet: Fernet (AES-128-CBC + HMAC-SHA256); no usable key: {problem}"
                     ).format(problem=status.problem)
        where = (_("from {env}").format(env=ENV_SECRET_KEY)
                 if status.source == SOURCE_ENVIRONMENT else _("from the OS keyring"))
        return _("fernet: Fernet (AES-128-CBC + HMAC-SHA256), key {fingerprint} {where}").format(
            fingerprint=status.fingerprint, where=where
        )


def _looks_like_token(token: str) -> bool:
    """Fernet's framing, checked without the key: tells "not ours" from "another key"."""
    if not token or not set(token) <= _TOKEN_CHARACTERS:
        return False
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError):
        return False
    return (
        len(raw) >= _MIN_TOKEN_BYTES
        and raw[0] == _FERNET_VERSION
        and (len(raw) - (1 + 8 + 16 + 32)) % 16 == 0
    )

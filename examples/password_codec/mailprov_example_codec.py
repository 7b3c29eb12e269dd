"""An example password codec for mailprov: AES-256-GCM under a key from the environment.

THIS IS AN EXAMPLE. It is not how maestro* stores SMTP passwords; it shows the shape of a
codec that a real installation would write for its own format. Copy it, rename it, and
replace the format functions with what your maestro* version really does.

Stored format: ``aesgcm1:`` followed by URL-safe base64 of a 12-byte random nonce and the
AES-GCM ciphertext with its 16-byte tag. The associated data binds the value to its use,
so a value copied from another column does not decrypt. The key is 32 bytes, URL-safe
base64, in ``EXAMPLE_CODEC_KEY``; create one with
``python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets

from mailprov.passwords.codec import CodecError, WrongKeyError

KEY_VARIABLE = "EXAMPLE_CODEC_KEY"
PREFIX = "aesgcm1:"
ASSOCIATED_DATA = b"maestro smtp password"
NONCE_BYTES = 12
TAG_BYTES = 16


class AesGcmCodec:
    """`encode` and `decode` raise CodecError with a reason that never quotes a secret."""

    name = "example-aesgcm"

    def encode(self, password: str) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(_key()).encrypt(nonce, password.encode("utf-8"), ASSOCIATED_DATA)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decode(self, stored: str) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not stored.startswith(PREFIX):
            raise CodecError(f"the stored value does not start with {PREFIX!r}, so this "
                             "codec did not write it")
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise CodecError("the stored value is damaged (not base64)") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise CodecError("the stored value is damaged (too short)")
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            plain = AESGCM(_key()).decrypt(nonce, sealed, ASSOCIATED_DATA)
        except InvalidTag:
            # the tag does not match: another key (or a value altered in the database)
            raise WrongKeyError(f"set {KEY_VARIABLE} to the key it was stored with") from None
        return plain.decode("utf-8")

    def describe(self) -> str:
        value = os.environ.get(KEY_VARIABLE)
        if not value:
            return f"example-aesgcm: AES-256-GCM (example codec), {KEY_VARIABLE} is not set"
        try:
            fingerprint = hashlib.sha256(_key()).hexdigest()[:16]
        except CodecError as exc:
            return f"example-aesgcm: AES-256-GCM (example codec), {exc.reason}"
        return f"example-aesgcm: AES-256-GCM (example codec), key {fingerprint} from {KEY_VARIABLE}"


def _key() -> bytes:
    """The key from the environment; the reason for a bad one never quotes it."""
    value = os.environ.get(KEY_VARIABLE)
    if not value:
        raise CodecError(f"{KEY_VARIABLE} is not set; set it to the installation's key")
    try:
        key = base64.urlsafe_b64decode(value.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise CodecError(f"{KEY_VARIABLE} is not 32 bytes of URL-safe base64")
    return key

"""No password, stored value or key ever shows in an error, a repr, a status line or a log.

Every way the keystore, the keys and the codecs can fail is run with distinctive random
secrets, and everything a user or a log could see is collected: each error's str, repr,
args and formatted traceback (as --debug would print it), the reprs of every object the
API returns, the status and describe lines, and the log records at DEBUG level.
"""

from __future__ import annotations

import logging
import secrets as random_tokens
import traceback
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import KeyringLocked
from keyring_backend import MemoryKeyring
from passwords_support import keyring_installed

from mailprov.errors import MailprovError
from mailprov.keystore import get_secret, set_secret
from mailprov.passwords.codec import (
    available_codecs,
    decode_password,
    describe_codec,
    encode_password,
    get_codec,
)
from mailprov.passwords.keys import (
    export_key,
    export_warning,
    generate_key,
    import_key,
    init_key,
    key_status,
    load_key,
)

PASSWORD = f"smtppw-{random_tokens.token_hex(12)}"
OTHER_SECRET = f"dbpw-{random_tokens.token_hex(12)}"
STORED = ("mailprov", "secret-key")


class EchoingLockedKeyring(KeyringBackend):
    """A backend whose refusals quote what it was handed."""

    priority = -1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked(f"locked; you may have meant {OTHER_SECRET}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked(f"locked, cannot store {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("locked")


class Seen:
    """Everything shown to a user or a log, and the secrets that must not be in it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.secrets: set[str] = {PASSWORD, OTHER_SECRET}

    def error(self, call: Callable[[], object]) -> MailprovError:
        with pytest.raises(MailprovError) as caught:
            call()
        error = caught.value
        self.texts += [str(error), repr(error), repr(error.args),
                       "".join(traceback.format_exception(error))]
        return error

    def value(self, value: object) -> None:
        self.texts += [str(value), repr(value)]


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_SECRET_KEY", raising=False)


def test_no_secret_in_anything_shown(memory_keyring: MemoryKeyring,
                                     monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen = Seen()
    fernet = get_codec("fernet")

    # nothing yet: no key
    seen.error(lambda: encode_password(fernet, PASSWORD, user="COMPTA"))
    seen.value(key_status())
    seen.value(describe_codec(fernet))

    # a key, a password stored with it
    first = init_key()
    key = memory_keyring.secrets[STORED]
    stored = encode_password(fernet, PASSWORD, user="COMPTA")
    seen.secrets |= {key, stored}
    for value in (first, load_key(), key_status(), fernet, available_codecs(),
                  describe_codec(fernet), export_warning(first.fingerprint)):
        seen.value(value)
    seen.error(lambda: init_key())
    exported = export_key()
    assert exported == key

    # another key: the stored value no longer decrypts
    second = init_key(force=True)
    seen.secrets.add(memory_keyring.secrets[STORED])
    seen.value(second)
    assert "another key" in str(seen.error(lambda: decode_password(fernet, stored,
                                                                   user="COMPTA")))
    seen.error(lambda: import_key(key))  # refused: a different key is stored

    # the same password from another installation's key, and a legacy value
    foreign = Fernet(generate_key()).encrypt(PASSWORD.encode()).decode()
    legacy = f"legacy-{random_tokens.token_hex(16)}"
    seen.secrets |= {foreign, legacy}
    seen.error(lambda: decode_password(fernet, foreign, user="COMPTA"))
    seen.error(lambda: decode_password(fernet, legacy, user="COMPTA"))

    # secrets pasted where a key was expected
    seen.error(lambda: import_key(PASSWORD))
    seen.error(lambda: import_key(stored))
    monkeypatch.setenv("MAILPROV_SECRET_KEY", OTHER_SECRET)
    seen.error(lambda: load_key())
    seen.error(lambda: encode_password(fernet, PASSWORD, user="COMPTA"))
    seen.value(key_status())
    seen.value(describe_codec(fernet))
    monkeypatch.delenv("MAILPROV_SECRET_KEY")
    memory_keyring.secrets[STORED] = OTHER_SECRET
    seen.error(lambda: load_key())
    seen.error(lambda: init_key())

    # keyrings that refuse or do not exist
    with keyring_installed(EchoingLockedKeyring()):
        seen.error(lambda: set_secret("secret-key", key))
        seen.error(lambda: set_secret("target:prod", OTHER_SECRET))
        seen.error(lambda: get_secret("target:prod"))
        seen.error(lambda: decode_password(fernet, stored, user="COMPTA"))
        seen.value(key_status())
    with keyring_installed(fail.Keyring()):
        seen.error(lambda: set_secret("target:prod", OTHER_SECRET))
        seen.error(lambda: encode_password(fernet, PASSWORD, user="COMPTA"))
        seen.error(lambda: import_key(key))

    seen.texts += [record.getMessage() for record in caplog.records]
    seen.texts.append(caplog.text)
    assert len(seen.texts) > 80
    for text in seen.texts:
        for secret in seen.secrets:
            assert secret not in text, (secret, text)

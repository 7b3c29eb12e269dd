"""The fernet codec: real Fernet tokens under the key from MAILPROV_SECRET_KEY or the keyring.

Found through the registry (as mailprov will use it), with a real keyring backend.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from keyring.backends import fail
from keyring_backend import MemoryKeyring
from passwords_support import keyring_installed

from mailprov.keystore import KeystoreError
from mailprov.passwords.codec import (
    PasswordCodec,
    PasswordCodecError,
    decode_password,
    describe_codec,
    encode_password,
    get_codec,
)
from mailprov.passwords.fernet import FernetCodec
from mailprov.passwords.keys import MissingKeyError, generate_key, init_key, key_fingerprint

STORED = ("mailprov", "secret-key")
WRONG_KEY = ("the stored password of COMPTA was encrypted with another key: import the right "
             "key with `mailprov key import`, or set the password again")
NOT_A_TOKEN = (
    "cannot read the stored password of COMPTA with the password codec fernet: the stored "
    "value is not a Fernet token, so mailprov's fernet codec did not write it (maestro* itself "
    "or another codec did); set the password again with `mailprov password set`, or name the "
    "right codec in the mapping file"
)
NO_KEYRING = (
    "cannot read the secret key that encrypts SMTP passwords from the OS keyring: no usable "
    "keyring backend on this machine (keyring chose keyring.backends.fail.Keyring). Instead, "
    "set MAILPROV_SECRET_KEY in the environment (CI), or install the keyrings.alt package and "
    "set PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring (that backend keeps secrets "
    "in a plaintext file in your home folder, unencrypted)."
)


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_SECRET_KEY", raising=False)


@pytest.fixture
def fernet() -> PasswordCodec:
    codec = get_codec("fernet")
    assert isinstance(codec, FernetCodec)
    return codec


def test_round_trip_with_the_keyring_key(memory_keyring: MemoryKeyring,
                                         fernet: PasswordCodec) -> None:
    init_key()
    key = memory_keyring.secrets[STORED]
    stored = encode_password(fernet, "s3cr3t Été", user="COMPTA")
    assert "s3cr3t" not in stored
    assert Fernet(key).decrypt(stored).decode() == "s3cr3t Été"  # a real Fernet token
    assert base64.urlsafe_b64decode(stored)[0] == 0x80
    assert decode_password(fernet, stored, user="COMPTA") == "s3cr3t Été"
    assert encode_password(fernet, "s3cr3t Été", user="COMPTA") != stored  # fresh IV


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.text(min_size=1, max_size=200))
def test_round_trip_of_any_text(password: str) -> None:
    codec = get_codec("fernet")
    with keyring_installed(MemoryKeyring()):
        init_key()
        assert decode_password(codec, encode_password(codec, password, user="U"),
                               user="U") == password


def test_environment_key_beats_the_keyring(memory_keyring: MemoryKeyring,
                                           fernet: PasswordCodec,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    init_key()
    keyring_key = memory_keyring.secrets[STORED]
    from_keyring = encode_password(fernet, "pw-keyring", user="COMPTA")
    env_key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", env_key)
    from_env = encode_password(fernet, "pw-env", user="COMPTA")
    assert Fernet(env_key).decrypt(from_env) == b"pw-env"
    assert decode_password(fernet, from_env, user="COMPTA") == "pw-env"
    with pytest.raises(PasswordCodecError) as wrong:
        decode_password(fernet, from_keyring, user="COMPTA")
    assert str(wrong.value) == WRONG_KEY
    monkeypatch.delenv("MAILPROV_SECRET_KEY")
    assert Fernet(keyring_key).decrypt(from_keyring) == b"pw-keyring"
    assert decode_password(fernet, from_keyring, user="COMPTA") == "pw-keyring"


def test_a_value_from_another_key(memory_keyring: MemoryKeyring,
                                  fernet: PasswordCodec) -> None:
    init_key()
    other = Fernet(generate_key()).encrypt(b"written elsewhere").decode()
    with pytest.raises(PasswordCodecError) as wrong:
        decode_password(fernet, other, user="COMPTA")
    assert str(wrong.value) == WRONG_KEY
    assert wrong.value.exit_code == 1
    assert wrong.value.__cause__ is None and wrong.value.__suppress_context__


def test_a_tampered_value_is_not_decrypted(memory_keyring: MemoryKeyring,
                                           fernet: PasswordCodec) -> None:
    init_key()
    stored = bytearray(base64.urlsafe_b64decode(encode_password(fernet, "pw", user="COMPTA")))
    stored[30] ^= 1
    with pytest.raises(PasswordCodecError) as wrong:
        decode_password(fernet, base64.urlsafe_b64encode(bytes(stored)).decode(),
                        user="COMPTA")
    assert str(wrong.value) == WRONG_KEY


@pytest.mark.parametrize("stored", ["hunter2", "", "gAAAAA==", "{AES}bm90IGEgdG9rZW4=",
                                    "gAAAAABrDchy8KZ0 gnK7rS7S1VUHa5i1CILaCP7lg3Hjv"])
def test_a_value_that_is_not_a_fernet_token(memory_keyring: MemoryKeyring,
                                            fernet: PasswordCodec, stored: str) -> None:
    init_key()
    with pytest.raises(PasswordCodecError) as refused:
        decode_password(fernet, stored, user="COMPTA")
    assert str(refused.value) == NOT_A_TOKEN


def test_no_key(memory_keyring: MemoryKeyring, fernet: PasswordCodec) -> None:
    with pytest.raises(MissingKeyError) as missing:
        encode_password(fernet, "pw", user="COMPTA")
    assert str(missing.value) == (
        "no secret key to encrypt SMTP passwords on this machine: run `mailprov key init` to "
        "create one (or `mailprov key import` with the key exported where the passwords were "
        "set), or set MAILPROV_SECRET_KEY in CI"
    )


def test_no_keyring(fernet: PasswordCodec) -> None:
    token = Fernet(generate_key()).encrypt(b"pw").decode()
    with keyring_installed(fail.Keyring()):
        with pytest.raises(KeystoreError) as on_encode:
            encode_password(fernet, "pw", user="COMPTA")
        with pytest.raises(KeystoreError) as on_decode:
            decode_password(fernet, token, user="COMPTA")
    assert str(on_encode.value) == NO_KEYRING
    assert str(on_decode.value) == NO_KEYRING


def test_no_keyring_but_a_key_in_the_environment(fernet: PasswordCodec,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILPROV_SECRET_KEY", generate_key())
    with keyring_installed(fail.Keyring()):
        stored = encode_password(fernet, "pw", user="COMPTA")
        assert decode_password(fernet, stored, user="COMPTA") == "pw"


def test_describe(memory_keyring: MemoryKeyring, fernet: PasswordCodec,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert describe_codec(fernet) == (
        "fernet: Fernet (AES-128-CBC + HMAC-SHA256); no usable key: no secret key to encrypt "
        "SMTP passwords on this machine: run `mailprov key init` to create one (or `mailprov "
        "key import` with the key exported where the passwords were set), or set "
        "MAILPROV_SECRET_KEY in CI"
    )
    change = init_key()
    assert describe_codec(fernet) == (
        f"fernet: Fernet (AES-128-CBC + HMAC-SHA256), key {change.fingerprint} from the OS "
        "keyring"
    )
    env_key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", env_key)
    assert describe_codec(fernet) == (
        f"fernet: Fernet (AES-128-CBC + HMAC-SHA256), key {key_fingerprint(env_key)} from "
        "MAILPROV_SECRET_KEY"
    )

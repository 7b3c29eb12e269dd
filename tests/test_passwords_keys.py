"""mailprov.passwords.keys: the fernet codec's key, created, found, exported and imported.

The keyring is real (MemoryKeyring, keyring's fail backend); the environment is the real
process environment, set per test.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from keyring.backends import fail
from keyring_backend import MemoryKeyring
from passwords_support import keyring_installed

from mailprov.keystore import KeystoreError
from mailprov.passwords.codec import decode_password, encode_password, get_codec
from mailprov.passwords.keys import (
    InvalidKeyError,
    KeyChange,
    KeyExistsError,
    KeyStatus,
    MissingKeyError,
    SecretKey,
    export_key,
    export_warning,
    generate_key,
    import_key,
    init_key,
    key_fingerprint,
    key_status,
    load_key,
    parse_key,
)

STORED = ("mailprov", "secret-key")
ZERO_KEY = base64.urlsafe_b64encode(bytes(32)).decode()
NOT_A_KEY = ("it is not a mailprov secret key (a key is the 44-character text that "
             "`mailprov key export` prints)")
NOT_32_BYTES = ("it is not a mailprov secret key (not the base64 text of 32 bytes that "
                "`mailprov key export` prints)")
MISSING = (
    "no secret key to encrypt SMTP passwords on this machine: run `mailprov key init` to "
    "create one (or `mailprov key import` with the key exported where the passwords were "
    "set), or set MAILPROV_SECRET_KEY in CI"
)


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_SECRET_KEY", raising=False)


def fingerprint_of(text: str) -> str:
    """Computed here from the definition, independently of the code under test."""
    return hashlib.sha256(base64.urlsafe_b64decode(text)).hexdigest()[:16]


def test_fingerprint_is_the_start_of_sha256_of_the_key_bytes() -> None:
    assert key_fingerprint(ZERO_KEY) == "66687aadf862bd77"
    key = generate_key()
    assert key_fingerprint(key) == fingerprint_of(key)
    assert len(key) == 44 and len(base64.urlsafe_b64decode(key)) == 32
    assert generate_key() != key


def test_init_creates_and_stores_a_key(memory_keyring: MemoryKeyring) -> None:
    change = init_key(force=False)
    stored = memory_keyring.secrets[STORED]
    assert parse_key(stored) == stored
    assert change == KeyChange(fingerprint_of(stored), None, True, None)
    key = load_key()
    assert key == SecretKey(stored, "keyring")
    assert key.fingerprint == change.fingerprint
    assert key.raw() == base64.urlsafe_b64decode(stored)
    assert key_status() == KeyStatus("keyring", change.fingerprint, None)


def test_init_refuses_to_replace_a_key_without_force(memory_keyring: MemoryKeyring) -> None:
    first = init_key(force=False)
    stored = memory_keyring.secrets[STORED]
    with pytest.raises(KeyExistsError) as refused:
        init_key(force=False)
    assert str(refused.value) == (
        f"a secret key is already stored in the OS keyring (fingerprint {first.fingerprint}): "
        "a new key would make every SMTP password encrypted with it unreadable. Keep it; or "
        "save it first with `mailprov key export`, then run `mailprov key init --force`"
    )
    assert memory_keyring.secrets[STORED] == stored
    replaced = init_key(force=True)
    assert memory_keyring.secrets[STORED] != stored
    assert replaced.previous == first.fingerprint
    assert replaced.fingerprint == fingerprint_of(memory_keyring.secrets[STORED])
    assert replaced.changed is True


def test_init_refuses_to_replace_a_damaged_entry_without_force(
        memory_keyring: MemoryKeyring) -> None:
    memory_keyring.secrets[STORED] = "not a key"
    with pytest.raises(KeyExistsError) as refused:
        init_key()
    assert str(refused.value).startswith(
        "a secret key is already stored in the OS keyring (fingerprint unreadable): ")
    assert init_key(force=True).previous == ""


def test_init_without_a_keyring_says_what_works(no_keyring) -> None:
    with pytest.raises(KeystoreError) as refused:
        init_key(force=False)
    assert str(refused.value) == (
        "cannot store the secret key that encrypts SMTP passwords in the OS keyring: no usable "
        "keyring backend on this machine (keyring chose keyring.backends.fail.Keyring). "
        "Instead, set MAILPROV_SECRET_KEY in the environment (CI), or install the keyrings.alt "
        "package and set PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring (that "
        "backend keeps secrets in a plaintext file in your home folder, unencrypted)."
    )


@pytest.fixture
def no_keyring():
    with keyring_installed(fail.Keyring()) as backend:
        yield backend


def test_init_reports_an_environment_key_that_takes_precedence(
        memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", env_key)
    change = init_key()
    assert change.environment_key == fingerprint_of(env_key)
    assert change.fingerprint != change.environment_key
    assert load_key() == SecretKey(env_key, "environment")


def test_export_then_import_on_another_machine(memory_keyring: MemoryKeyring) -> None:
    init_key()
    exported = export_key()
    assert exported == memory_keyring.secrets[STORED]
    fernet = get_codec("fernet")
    stored = encode_password(fernet, "Été-2024!", user="COMPTA")

    other_machine = MemoryKeyring()
    with keyring_installed(other_machine):
        with pytest.raises(MissingKeyError):
            decode_password(fernet, stored, user="COMPTA")
        change = import_key(exported + "\n", force=False)
        assert other_machine.secrets[STORED] == exported
        assert change == KeyChange(fingerprint_of(exported), None, True, None)
        assert decode_password(fernet, stored, user="COMPTA") == "Été-2024!"
        again = import_key(exported, force=False)
        assert again == KeyChange(change.fingerprint, change.fingerprint, False, None)


def test_export_warning_says_where_a_key_may_go() -> None:
    assert export_warning("66687aadf862bd77") == (
        "This is the secret key (fingerprint 66687aadf862bd77) that decrypts every SMTP "
        "password mailprov stored with it. Keep it only in a password manager, or in your CI's "
        "secret store as MAILPROV_SECRET_KEY. Never put it in the repository, a ticket, a chat "
        "or an e-mail."
    )


def test_export_exports_the_key_in_use(memory_keyring: MemoryKeyring,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingKeyError) as missing:
        export_key()
    assert str(missing.value) == MISSING
    init_key()
    env_key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", f"  {env_key}\n")
    assert export_key() == env_key


def test_import_refuses_to_replace_a_different_key_without_force(
        memory_keyring: MemoryKeyring) -> None:
    first = init_key()
    stored = memory_keyring.secrets[STORED]
    other = generate_key()
    with pytest.raises(KeyExistsError) as refused:
        import_key(other, force=False)
    assert str(refused.value) == (
        f"another secret key is already stored in the OS keyring (fingerprint "
        f"{first.fingerprint}; the imported key is {fingerprint_of(other)}): replacing it "
        "would make every SMTP password encrypted with it unreadable. Save it first with "
        "`mailprov key export` if you may need it, then import with `--force`"
    )
    assert memory_keyring.secrets[STORED] == stored
    change = import_key(other, force=True)
    assert memory_keyring.secrets[STORED] == other
    assert change == KeyChange(fingerprint_of(other), first.fingerprint, True, None)


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        ("", "the key is empty"),
        ("   \n", "the key is empty"),
        ("correct horse battery staple", NOT_A_KEY),
        ("hunter2", NOT_A_KEY),
        # a Fernet token is not a key
        ("gAAAAABrDchy8KZ0gnK7rS7S1VUHa5i1CILaCP7lg3HjvsLnskqE4HkI-XG17L3OERDFMEElX12Cj6eeF8"
         "ER6_ZQDYhhI0CtAw==", NOT_A_KEY),
        (ZERO_KEY.replace("A", "+", 1), NOT_A_KEY),  # standard base64 alphabet
        ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", NOT_A_KEY),  # padding in the body
        ("A" * 44, NOT_32_BYTES),  # 33 bytes
        (ZERO_KEY[:42] + "B=", NOT_32_BYTES),  # stray bits after the 32 bytes
    ],
)
def test_import_refuses_garbage_and_changes_nothing(memory_keyring: MemoryKeyring,
                                                    garbage: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError) as refused:
        import_key(garbage, force=True)
    assert str(refused.value) == f"cannot import the key: {reason}; nothing was changed"
    assert memory_keyring.secrets == {}


def test_import_forgives_whitespace_and_a_lost_padding(memory_keyring: MemoryKeyring) -> None:
    key = generate_key()
    import_key(f"  {key[:20]}\n{key[20:-1]}  \n", force=False)
    assert memory_keyring.secrets[STORED] == key


def test_environment_key_beats_the_keyring(memory_keyring: MemoryKeyring,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    init_key()
    env_key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", env_key)
    assert load_key() == SecretKey(env_key, "environment")
    assert key_status() == KeyStatus("environment", fingerprint_of(env_key), None)
    monkeypatch.setenv("MAILPROV_SECRET_KEY", "")  # empty is unset, as for the DB password
    assert load_key().source == "keyring"


def test_environment_key_works_without_any_keyring(no_keyring,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = generate_key()
    monkeypatch.setenv("MAILPROV_SECRET_KEY", env_key)
    assert load_key() == SecretKey(env_key, "environment")


def test_a_bad_environment_key_says_so(memory_keyring: MemoryKeyring,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILPROV_SECRET_KEY", "my-database-password")
    with pytest.raises(InvalidKeyError) as bad:
        load_key()
    assert str(bad.value) == (
        f"MAILPROV_SECRET_KEY is set but {NOT_A_KEY}; set it to the output of `mailprov key "
        "export`, or unset it to use the OS keyring"
    )
    with pytest.raises(InvalidKeyError):
        init_key()  # fails before storing anything
    assert memory_keyring.secrets == {}
    assert key_status() == KeyStatus(None, None, str(bad.value))


def test_a_damaged_keyring_entry_says_so(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.secrets[STORED] = "half a key"
    with pytest.raises(InvalidKeyError) as damaged:
        load_key()
    assert str(damaged.value) == (
        f"the secret key stored in the OS keyring is damaged: {NOT_A_KEY}; import it again "
        "with `mailprov key import --force`"
    )


def test_missing_key_and_no_keyring_in_status(no_keyring) -> None:
    status = key_status()
    assert status.source is None and status.fingerprint is None
    assert status.problem is not None
    assert status.problem.startswith(
        "cannot read the secret key that encrypts SMTP passwords from the OS keyring: no "
        "usable keyring backend on this machine")


def test_missing_key(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(MissingKeyError) as missing:
        load_key()
    assert str(missing.value) == MISSING
    assert key_status() == KeyStatus(None, None, MISSING)

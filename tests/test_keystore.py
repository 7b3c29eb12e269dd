"""mailprov.keystore: secrets in the OS keyring, and one clear message when there is none.

Real keyring backends throughout: the MemoryKeyring and FileKeyring of keyring_backend.py,
keyring's own fail and null backends, its chainer, and a backend that refuses like a
locked keyring does.
"""

from __future__ import annotations

import os
import secrets as random_tokens
import subprocess
import sys
import traceback
from pathlib import Path

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked
from keyring_backend import KEYRING_FILE_ENV, FileKeyring, MemoryKeyring
from passwords_support import keyring_installed

from mailprov.keystore import (
    KeystoreError,
    backend_name,
    delete_secret,
    describe_secret,
    environment_variable_for,
    get_db_password,
    get_secret,
    keyring_usable,
    require_keyring,
    set_db_password,
    set_secret,
    target_secret_name,
)

TESTS_DIR = Path(__file__).resolve().parent
SECRET = f"kspw-{random_tokens.token_hex(12)}"

FALLBACK_KEY = (
    ". Instead, set MAILPROV_SECRET_KEY in the environment (CI), or install the keyrings.alt "
    "package and set PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring (that backend "
    "keeps secrets in a plaintext file in your home folder, unencrypted)."
)
FALLBACK_DB = FALLBACK_KEY.replace("MAILPROV_SECRET_KEY", "MAILPROV_DB_PASSWORD")
FALLBACK_OTHER = (
    ". Instead, install the keyrings.alt package and set "
    "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring (that backend keeps secrets in "
    "a plaintext file in your home folder, unencrypted)."
)
NO_BACKEND = "no usable keyring backend on this machine (keyring chose {backend})"


class LockedKeyring(KeyringBackend):
    """Refuses every operation the way a locked Secret Service does, and puts the secret it
    was handed in its exception text: mailprov must not repeat that text."""

    priority = -1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked(f"Failed to unlock the collection for {username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked(f"Failed to unlock the collection to store {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection")


@pytest.fixture
def no_keyring():
    """keyring's real fail backend: what keyring picks on a machine without any keyring."""
    with keyring_installed(fail.Keyring()) as backend:
        yield backend


def test_round_trip_under_service_mailprov(memory_keyring: MemoryKeyring) -> None:
    set_secret("target:prod", SECRET)
    assert memory_keyring.secrets == {("mailprov", "target:prod"): SECRET}
    assert get_secret("target:prod") == SECRET
    set_secret("target:prod", SECRET + "2")
    assert get_secret("target:prod") == SECRET + "2"
    assert delete_secret("target:prod") is True
    assert memory_keyring.secrets == {}
    assert get_secret("target:prod") is None


def test_missing_secret_is_none_and_delete_says_false(memory_keyring: MemoryKeyring) -> None:
    assert get_secret("secret-key") is None
    assert delete_secret("secret-key") is False
    memory_keyring.secrets[("other-service", "secret-key")] = SECRET
    assert get_secret("secret-key") is None  # another service's entry is not ours


def test_names_and_what_replaces_the_keyring() -> None:
    assert target_secret_name("prod") == "target:prod"
    assert environment_variable_for("secret-key") == "MAILPROV_SECRET_KEY"
    assert environment_variable_for("target:prod") == "MAILPROV_DB_PASSWORD"
    assert environment_variable_for("something") is None
    assert describe_secret("secret-key") == "the secret key that encrypts SMTP passwords"
    assert describe_secret("target:prod") == "the database password of target prod"
    assert describe_secret("something") == "the secret something"
    assert environment_variable_for("plan-key") == "MAILPROV_PLAN_KEY"
    assert describe_secret("plan-key") == "the key that signs saved plans"


def test_database_passwords(memory_keyring: MemoryKeyring,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_DB_PASSWORD", raising=False)
    assert get_db_password("prod") is None
    set_db_password("prod", SECRET)
    assert memory_keyring.secrets == {("mailprov", "target:prod"): SECRET}
    assert get_db_password("prod") == SECRET
    assert get_db_password("test") is None
    monkeypatch.setenv("MAILPROV_DB_PASSWORD", "from-the-environment")
    assert get_db_password("prod") == "from-the-environment"  # CI's variable wins
    monkeypatch.delenv("MAILPROV_DB_PASSWORD")
    # no keyring: no stored password (the database says whether it needs one)...
    with keyring_installed(fail.Keyring()):
        assert get_db_password("prod") is None
    # ... but a keyring that refuses is said, not taken for a missing password
    with keyring_installed(LockedKeyring()), pytest.raises(KeystoreError) as locked:
        get_db_password("prod")
    assert str(locked.value).startswith(
        "cannot read the database password of target prod from the OS keyring: the keyring "
        "backend test_keystore.LockedKeyring failed (KeyringLocked)")


@pytest.mark.parametrize(
    ("name", "what", "fallback"),
    [
        ("secret-key", "the secret key that encrypts SMTP passwords", FALLBACK_KEY),
        ("target:prod", "the database password of target prod", FALLBACK_DB),
        ("something", "the secret something", FALLBACK_OTHER),
    ],
)
def test_no_keyring_says_what_works_instead(no_keyring, name: str, what: str,
                                            fallback: str) -> None:
    reason = NO_BACKEND.format(backend="keyring.backends.fail.Keyring")
    with pytest.raises(KeystoreError) as read:
        get_secret(name)
    assert str(read.value) == f"cannot read {what} from the OS keyring: {reason}{fallback}"
    with pytest.raises(KeystoreError) as store:
        set_secret(name, SECRET)
    assert str(store.value) == f"cannot store {what} in the OS keyring: {reason}{fallback}"
    with pytest.raises(KeystoreError) as delete:
        delete_secret(name)
    assert str(delete.value) == f"cannot delete {what} from the OS keyring: {reason}{fallback}"
    with pytest.raises(KeystoreError) as required:
        require_keyring(name)
    assert str(required.value) == str(store.value)
    assert keyring_usable() is False
    for error in (read.value, store.value, delete.value):
        assert error.exit_code == 1
        assert error.__cause__ is None and error.__context__ is None  # raised, not chained


def test_null_keyring_is_refused_rather_than_losing_the_secret() -> None:
    """keyring's null backend accepts a secret and drops it: storing there would seem to
    work and lose the key."""
    with keyring_installed(null.Keyring()):
        with pytest.raises(KeystoreError) as store:
            set_secret("secret-key", SECRET)
        assert keyring_usable() is False
    assert str(store.value) == (
        "cannot store the secret key that encrypts SMTP passwords in the OS keyring: "
        + NO_BACKEND.format(backend="keyring.backends.null.Keyring") + FALLBACK_KEY
    )


def test_chainer_with_nothing_to_chain_is_refused() -> None:
    """The chainer with no backends behind it also drops what it is given."""
    previous = keyring.get_keyring()
    keyring.core.init_backend(limit=lambda backend: False)  # keyring's own way to limit
    try:
        empty = chainer.ChainerBackend()
        assert list(empty.backends) == []
        keyring.set_keyring(empty)
        with pytest.raises(KeystoreError) as store:
            set_secret("target:prod", SECRET)
    finally:
        keyring.core.init_backend()
        keyring.set_keyring(previous)
    assert str(store.value) == (
        "cannot store the database password of target prod in the OS keyring: "
        + NO_BACKEND.format(backend="keyring.backends.chainer.ChainerBackend") + FALLBACK_DB
    )


def test_a_failing_backend_is_named_but_its_text_is_not_repeated() -> None:
    with keyring_installed(LockedKeyring()):
        with pytest.raises(KeystoreError) as store:
            set_secret("secret-key", SECRET)
        with pytest.raises(KeystoreError) as read:
            get_secret("target:prod")
        assert keyring_usable() is True  # configured and real; it is only refusing
    backend = "test_keystore.LockedKeyring"
    assert str(store.value) == (
        "cannot store the secret key that encrypts SMTP passwords in the OS keyring: the "
        f"keyring backend {backend} failed (KeyringLocked); unlock the keyring or check that "
        "it works" + FALLBACK_KEY
    )
    assert str(read.value) == (
        "cannot read the database password of target prod from the OS keyring: the keyring "
        f"backend {backend} failed (KeyringLocked); unlock the keyring or check that it "
        "works" + FALLBACK_DB
    )
    shown = "".join(traceback.format_exception(store.value)) + repr(store.value)
    assert SECRET not in shown
    assert "Failed to unlock" not in shown


def test_backend_name(memory_keyring: MemoryKeyring) -> None:
    assert backend_name() == "keyring_backend.MemoryKeyring"
    assert backend_name(fail.Keyring()) == "keyring.backends.fail.Keyring"
    assert keyring_usable() is True


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHON_KEYRING_BACKEND", "MAILPROV_SECRET_KEY")}
    environment.update(env)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR),
                                                              environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, timeout=60, check=False)


PRINT_ERROR = """
from mailprov.errors import MailprovError
from mailprov.keystore import get_secret
try:
    get_secret("secret-key")
except MailprovError as exc:
    print(exc)
"""


def test_backend_named_in_the_environment_that_cannot_be_loaded() -> None:
    """PYTHON_KEYRING_BACKEND naming keyrings.alt when it is not installed (in a fresh
    process: keyring reads the variable once)."""
    result = run_python(PRINT_ERROR,
                        {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "cannot read the secret key that encrypts SMTP passwords from the OS keyring: "
        "PYTHON_KEYRING_BACKEND is set to keyrings.alt.file.PlaintextKeyring, which cannot be "
        "loaded (ModuleNotFoundError: no module named keyrings); install the package that "
        "provides it, or unset PYTHON_KEYRING_BACKEND" + FALLBACK_KEY + "\n"
    )


def test_secrets_are_shared_with_another_process_through_a_file_keyring(tmp_path: Path,
                                                                        monkeypatch) -> None:
    store = tmp_path / "keyring.json"
    monkeypatch.setenv(KEYRING_FILE_ENV, str(store))
    result = run_python(
        "from mailprov.keystore import set_secret; set_secret('target:prod', "
        f"{SECRET!r})",
        {"PYTHON_KEYRING_BACKEND": "keyring_backend.FileKeyring", KEYRING_FILE_ENV: str(store)},
    )
    assert result.returncode == 0, result.stderr
    with keyring_installed(FileKeyring()):
        assert get_secret("target:prod") == SECRET
        assert delete_secret("target:prod") is True
        assert get_secret("target:prod") is None

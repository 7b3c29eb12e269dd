"""`mailprov key init|export|import|status`, for the secret key of SMTP passwords and for the
plan key (--plan), with real keyring backends: MemoryKeyring, one per "machine", and
keyring's own fail backend for a machine without any keyring."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cli_support import mailprov
from dbhelpers import sandbox, smtp_user, write_config
from keyring.backends import fail
from keyring_backend import MemoryKeyring
from passwords_support import keyring_installed

SECRET = ("mailprov", "secret-key")
PLAN = ("mailprov", "plan-key")
NO_KEYRING = (
    "no usable keyring backend on this machine (keyring chose keyring.backends.fail.Keyring). "
    "Instead, set {env} in the environment (CI), or install the keyrings.alt package and set "
    "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring (that backend keeps secrets in "
    "a plaintext file in your home folder, unencrypted).")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAILPROV_SECRET_KEY", "MAILPROV_DB_URL", "MAILPROV_PLAN_KEY",
                 "MAILPROV_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def secret_fingerprint(key: str) -> str:
    return hashlib.sha256(base64.urlsafe_b64decode(key)).hexdigest()[:16]


def plan_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def test_secret_key_from_one_machine_to_another(memory_keyring: MemoryKeyring) -> None:
    result = mailprov("key", "init")
    assert result.exit_code == 0
    key = memory_keyring.secrets[SECRET]
    fingerprint = secret_fingerprint(key)
    assert result.stdout == f"Created the secret key {fingerprint} in the OS keyring.\n"
    assert result.stderr == "Carry it to other machines and CI with `mailprov key export`.\n"

    result = mailprov("key", "init")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: a secret key is already stored in the OS keyring (fingerprint {fingerprint}): "
        "a new key would make every SMTP password encrypted with it unreadable. Keep it; or "
        "save it first with `mailprov key export`, then run `mailprov key init --force`\n")

    result = mailprov("key", "export")
    assert (result.exit_code, result.stdout) == (0, key + "\n")  # only the key on stdout
    assert result.stderr == (
        f"This is the secret key (fingerprint {fingerprint}) that decrypts every SMTP "
        "password mailprov stored with it. Keep it only in a password manager, or in your "
        "CI's secret store as MAILPROV_SECRET_KEY. Never put it in the repository, a ticket, "
        "a chat or an e-mail.\n")

    with keyring_installed(MemoryKeyring()) as other:
        result = mailprov("key", "import", input=f"  {key}\n")
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout == f"Imported the secret key {fingerprint} into the OS keyring.\n"
        assert other.secrets == {SECRET: key}
        result = mailprov("key", "import", input=key + "\n")
        assert result.stdout == (f"This secret key (fingerprint {fingerprint}) is already in "
                                 "the OS keyring; nothing was changed.\n")
        result = mailprov("key", "import", input="hunter2\n")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == (
            "Error: cannot import the key: it is not a mailprov secret key (a key is the "
            "44-character text that `mailprov key export` prints); nothing was changed\n")
        assert other.secrets == {SECRET: key}


def test_plan_key_init_export_import_and_signed_plans(sqlite_url: str, tmp_path: Path,
                                                      memory_keyring: MemoryKeyring) -> None:
    sandbox(sqlite_url, users=10)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    result = mailprov("plan", "--out", "unsigned.json")
    assert result.stderr == ("Saved the plan to unsigned.json (not signed: no plan key is "
                             "set); apply it with `mailprov apply unsigned.json`.\n")
    result = mailprov("key", "export", "--plan")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: no plan key on this machine (nor MAILPROV_PLAN_KEY in the environment): "
        "create one with `mailprov key init --plan`, or import the one your team uses with "
        "`mailprov key import --plan`\n")

    result = mailprov("key", "init", "--plan")
    assert result.exit_code == 0
    key = memory_keyring.secrets[PLAN]
    assert result.stdout == f"Created the plan key {plan_fingerprint(key)} in the OS keyring.\n"
    assert result.stderr == ("Carry it to other machines and CI with `mailprov key export "
                             "--plan`.\n")
    assert SECRET not in memory_keyring.secrets  # one key does not touch the other
    result = mailprov("key", "export", "--plan")
    assert result.stdout == key + "\n"
    assert result.stderr == (
        f"This is the plan key (fingerprint {plan_fingerprint(key)}): whoever has it can sign "
        "a plan that `mailprov apply` will trust. Keep it only in a password manager, or in "
        "your CI's secret store as MAILPROV_PLAN_KEY. Never put it in the repository, a ticket, "
        "a chat or an e-mail.\n")

    result = mailprov("plan", "--out", "signed.json")
    assert result.stderr == ("Saved the plan to signed.json (signed with the plan key); apply "
                             "it with `mailprov apply signed.json`.\n")
    assert mailprov("show", "signed.json").stderr == "Signature: valid.\n"
    # this machine now only applies plans signed with its key
    result = mailprov("apply", "unsigned.json")
    assert (result.exit_code, result.stderr) == (3, (
        "Error: unsigned.json is not signed, and this machine has a plan key: only plans saved "
        "with that key are applied here. Plan again with the key set. Nothing was changed.\n"))

    # another machine: without the key it cannot check the signature; with it, it applies
    with keyring_installed(MemoryKeyring()) as other:
        result = mailprov("apply", "signed.json")
        assert (result.exit_code, result.stderr) == (3, (
            "Error: signed.json is signed, but no plan key is available to check it: set "
            "MAILPROV_PLAN_KEY (CI) or store the key with `mailprov key import --plan`. "
            "Nothing was changed.\n"))
        result = mailprov("key", "import", "--plan", input="short\n")
        assert result.stderr == (
            "Error: cannot import the plan key: it is not a plan key: a plan key is one line of "
            "16 to 4096 characters without spaces, like the one `mailprov key export --plan` "
            "prints; nothing was changed\n")
        result = mailprov("key", "import", "--plan", input=key + "\n")
        assert result.stdout == (f"Imported the plan key {plan_fingerprint(key)} into the OS "
                                 "keyring.\n")
        assert other.secrets == {PLAN: key}
        result = mailprov("apply", "signed.json")
        assert result.exit_code == 0, result.output
        # a different plan key is not replaced without --force
        result = mailprov("key", "init", "--plan")
        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"Error: a plan key is already stored in the OS keyring (fingerprint "
            f"{plan_fingerprint(key)}): a new key would make every plan signed with it "
            "unusable here")
        assert mailprov("key", "init", "--plan", "--force").exit_code == 0
        assert other.secrets[PLAN] != key


def test_status_shows_fingerprints_and_sources(memory_keyring: MemoryKeyring,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    result = mailprov("key", "status")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "secret key: none (no secret key to encrypt SMTP passwords on this machine: run "
        "`mailprov key init` to create one (or `mailprov key import` with the key exported "
        "where the passwords were set), or set MAILPROV_SECRET_KEY in CI)\n"
        "plan key:   none; saved plans are not signed (`mailprov key init --plan` creates "
        "one)\n"
        "keyring:    keyring_backend.MemoryKeyring\n")
    assert mailprov("key", "init").exit_code == 0
    key = memory_keyring.secrets[SECRET]
    monkeypatch.setenv("MAILPROV_PLAN_KEY", "a-plan-key-from-the-ci-secret-store")
    result = mailprov("key", "status")
    assert result.stdout == (
        f"secret key: {secret_fingerprint(key)} (from the OS keyring)\n"
        f"plan key:   {plan_fingerprint('a-plan-key-from-the-ci-secret-store')} (from "
        "MAILPROV_PLAN_KEY); saved plans are signed\n"
        "keyring:    keyring_backend.MemoryKeyring\n")
    assert key not in result.output


def test_without_a_keyring_one_clear_message(sqlite_url: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mailprov.cli.secrets._stdin_is_terminal", lambda: True)  # for `login`
    with keyring_installed(fail.Keyring()):
        result = mailprov("key", "init")
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == ("Error: cannot store the secret key that encrypts SMTP "
                                 "passwords in the OS keyring: "
                                 + NO_KEYRING.format(env="MAILPROV_SECRET_KEY") + "\n")
        result = mailprov("key", "init", "--plan")
        assert result.stderr == ("Error: cannot store the key that signs saved plans in the OS "
                                 "keyring: " + NO_KEYRING.format(env="MAILPROV_PLAN_KEY") + "\n")
        sandbox(sqlite_url, users=10)
        write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
        assert mailprov("apply", "--auto-approve").exit_code == 0  # plans: no secret needed
        result = mailprov("login", "postgresql://mailprov@db.example.com/maestro",
                          input="pw\npw\n")
        assert result.exit_code == 1
        assert result.stderr == ("Error: cannot store the database password of target "
                                 "postgresql://mailprov@db.example.com/maestro in the OS keyring: "
                                 + NO_KEYRING.format(env="MAILPROV_DB_PASSWORD") + "\n")
        result = mailprov("password", "set", "COMPTA", "--stdin", input="x\n")
        assert "Traceback" not in result.output
        assert result.stderr == ("Error: cannot read the secret key that encrypts SMTP "
                                 "passwords from the OS keyring: "
                                 + NO_KEYRING.format(env="MAILPROV_SECRET_KEY") + "\n")
        # commands that need no secret still work, plans are saved unsigned
        assert mailprov("plan", "--out", "p.json").stderr == (
            "Saved the plan to p.json (not signed: no plan key is set); apply it with "
            "`mailprov apply p.json`.\n")
        result = mailprov("key", "status")
        assert result.exit_code == 0
        assert result.stdout.splitlines()[-1] == (
            "keyring:    not usable: cannot store the secret key that encrypts SMTP passwords "
            "in the OS keyring: " + NO_KEYRING.format(env="MAILPROV_SECRET_KEY"))
        data = json.loads(mailprov("password", "status", "--format", "json").stdout)
        assert data["codec"] == "fernet"

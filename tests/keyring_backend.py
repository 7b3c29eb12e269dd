"""Keyring backends for tests: real ``KeyringBackend`` subclasses, no mocks.

``MemoryKeyring`` keeps secrets in a dict; it is what the ``memory_keyring`` fixture installs.
It can also be loaded in a child process with
``PYTHON_KEYRING_BACKEND=keyring_backend.MemoryKeyring``, but then it starts empty and dies
with that process.

``FileKeyring`` keeps secrets in the JSON file named by ``MAILPROV_TEST_KEYRING_FILE``, so
several processes (the test and a ``mailprov`` subprocess) can share them. Load it with
``PYTHON_KEYRING_BACKEND=keyring_backend.FileKeyring`` and this directory on ``PYTHONPATH``.

Both have priority -1 (like ``keyring.backends.null.Keyring``): defining a backend class
registers it with keyring, and a negative priority keeps keyring's auto-detection from ever
choosing one of these by itself. They are used only when asked for by name or instance.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

KEYRING_FILE_ENV = "MAILPROV_TEST_KEYRING_FILE"


class MemoryKeyring(KeyringBackend):
    """Secrets in a dict owned by this instance."""

    priority = -1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}") from None


class FileKeyring(KeyringBackend):
    """Secrets in a JSON file ``{service: {username: password}}`` named by an env variable.

    The path is read at each operation, not at construction: keyring constructs every
    registered backend while detecting a default, and that must not fail.
    """

    priority = -1

    @staticmethod
    def path() -> Path:
        try:
            return Path(os.environ[KEYRING_FILE_ENV])
        except KeyError:
            raise RuntimeError(
                f"FileKeyring needs the environment variable {KEYRING_FILE_ENV} "
                "set to the path of its JSON file"
            ) from None

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self.path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        path = self.path()
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        partial.chmod(0o600)
        os.replace(partial, path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        try:
            del data[service][username]
        except KeyError:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}") from None
        if not data[service]:
            del data[service]
        self._save(data)

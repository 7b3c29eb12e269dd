"""Helpers for the keystore and password tests: keyring backends installed for a block, and
installed packages made of real distribution metadata in a folder put on sys.path.

Nothing here replaces what is under test: keyring runs its real backends (MemoryKeyring,
FileKeyring, keyring's own fail and null backends), and importlib.metadata reads real
``*.dist-info`` folders exactly as it reads those pip writes.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend

from mailprov.passwords.codec import ENTRY_POINT_GROUP, clear_codec_cache

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CODEC_DIR = REPO / "examples" / "password_codec"


@contextmanager
def keyring_installed(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """`backend` is keyring's backend inside the block; the previous one after it."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


class SitePackages:
    """A folder on sys.path where tests install packages by writing their files and their
    ``NAME-VERSION.dist-info`` (METADATA, entry_points.txt), as an installer would."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.modules: list[str] = []

    def install(self, name: str, version: str, codecs: dict[str, str],
                modules: dict[str, str] | None = None) -> Path:
        """A distribution declaring `codecs` ({entry name: "module:attr"}) and shipping
        `modules` ({module name: source})."""
        for module, source in (modules or {}).items():
            (self.folder / f"{module}.py").write_text(source, encoding="utf-8")
            self.modules.append(module)
        dist_info = self.folder / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in codecs.items()]
        (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        importlib.invalidate_caches()
        clear_codec_cache()
        return dist_info

    def install_example_codec(self) -> Path:
        """The package in examples/password_codec, with the entry points its own
        pyproject.toml declares (so a wrong declaration there fails the tests)."""
        project = tomllib.loads((EXAMPLE_CODEC_DIR / "pyproject.toml").read_text("utf-8"))
        meta = project["project"]
        codecs = meta["entry-points"][ENTRY_POINT_GROUP]
        modules = {
            module: (EXAMPLE_CODEC_DIR / f"{module}.py").read_text("utf-8")
            for module in project["tool"]["setuptools"]["py-modules"]
        }
        return self.install(meta["name"], meta["version"], codecs, modules)


@contextmanager
def site_packages(folder: Path) -> Iterator[SitePackages]:
    """`folder` on sys.path for the block; its modules forgotten and the codec registry
    cleared after it."""
    folder.mkdir(parents=True, exist_ok=True)
    site = SitePackages(folder)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    clear_codec_cache()
    try:
        yield site
    finally:
        sys.path.remove(str(folder))
        for module in site.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        clear_codec_cache()

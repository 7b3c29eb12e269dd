"""Fleets of SQLite targets for the tests: copies of one sandbox (each file its own
database) and the mailprov.yaml that lists them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from mailprov import api
from mailprov.db.sandbox import sample_users

SMTP = {"server": "smtp.example.com", "port": 587, "ssl": True}


def codes(count: int) -> list[str]:
    return [u.code for u in sample_users(count)]


def make_fleet(folder: Path, names: list[str], user_count: int = 5, *,
               extra: dict[str, Any] | None = None,
               targets: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """SQLite targets (copies of one sandbox: each its own file, so its own database)
    and mailprov.yaml listing them, with an override for every user. Returns URLs."""
    base = folder / "base.sqlite"
    if not base.exists():
        api.sandbox(f"sqlite:///{base}", users=user_count, model=1)
    urls = {}
    spec: dict[str, Any] = {}
    for name in names:
        shutil.copyfile(base, folder / f"{name}.db")
        urls[name] = f"sqlite:///{folder / f'{name}.db'}"
        spec[name] = {"url": f"sqlite:///{name}.db", **(targets or {}).get(name, {})}
    data: dict[str, Any] = {
        "version": 1, "targets": spec, "general": {"client": "smtp", "smtp": dict(SMTP)},
        "users": {code: {"smtp": {"username": f"{code.lower()}@example.com"}}
                  for code in codes(user_count)}}
    data.update(extra or {})
    (folder / "mailprov.yaml").write_text(yaml.safe_dump(data, sort_keys=False),
                                          encoding="utf-8")
    return urls

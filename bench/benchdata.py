"""Deterministic data for the benchmarks, and the hand-written "floors" they are compared to.

Only the standard library is imported at module level: the memory child
process imports this module too, and must not pay for what it does not use.

The generated files are what a real installation would write: a general SMTP
account, and per-user overrides with an SMTP login and a From address (shared
mailboxes for some), a few users with their own port or relay server.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SEED = 2024
DOMAIN = "example.com"
GENERAL_SMTP = {"server": "smtp.example.com", "port": 587, "ssl": True}
SHARED_FROM = ("comptabilite@example.com", "coordination@example.com", "paie@example.com")
CHANGED_SHARE = 10  # percent of users changed between the live database and the next file

REPO = Path(__file__).resolve().parent.parent

# The columns the plan reads, in the reference model (docs/database.md).
USER_COLUMNS = ("code", "name", "mail_override", "smtp_username", "from_address",
                "smtp_server", "smtp_port", "smtp_ssl")
WRITE_COLUMNS = ("smtp_username", "from_address", "smtp_server", "smtp_port", "smtp_ssl")


def ensure_mailprov() -> None:
    """Re-run this script with the project's venv when mailprov is not importable here."""
    try:
        import mailprov  # noqa: F401
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable).absolute() != venv_python:
            os.execv(venv_python, [str(venv_python), *sys.argv])
        sys.exit("mailprov is not importable: run this with the project's venv, e.g. "
                 ".venv/bin/python " + " ".join(sys.argv))


def clear_run_caches() -> None:
    """Forget what a fresh `mailprov` process would not know yet.

    Bounded memo caches (functools.lru_cache with a maxsize, e.g. the e-mail
    address checks) fill with the data of a run, so a second run in the same
    process would look faster than any real `mailprov` command. Unbounded
    ones (functools.cache: the schema compiled once) are per-process set-up
    and are kept; the plan-cold figure shows them.
    """
    for name, module in list(sys.modules.items()):
        if not (name == "mailprov" or name.startswith("mailprov.")) or module is None:
            continue
        for value in list(vars(module).values()):
            if type(value).__name__ != "_lru_cache_wrapper":  # e.g. sqlalchemy's `func`
                continue
            if value.cache_parameters().get("maxsize") is not None:
                value.cache_clear()


def user_codes(count: int) -> list[str]:
    """The codes of the sandbox's users (mailprov.db.sandbox.sample_users)."""
    from mailprov.db.sandbox import sample_users

    return [user.code for user in sample_users(count)]


def changed_indexes(count: int) -> set[int]:
    """Exactly CHANGED_SHARE percent of the users (at least one), chosen reproducibly."""
    wanted = max(1, count * CHANGED_SHARE // 100)
    return set(random.Random(SEED + count).sample(range(count), wanted))


# Accented first names, as in a Quebec company's addresses (frédéric.u12@example.com).
ACCENTED = ("frédéric", "hélène", "françois", "amélie", "jérôme", "chloé", "noël", "josée")


def local_part(index: int, code: str, script: str = "ascii") -> str:
    """The local part of a user's addresses: the code, or an accented name before it."""
    local = code.lower()
    if script == "non-ascii":
        return f"{ACCENTED[index % len(ACCENTED)]}.{local}"
    return local


def base_override(index: int, code: str, script: str = "ascii") -> dict[str, Any]:
    """The smtp section of a user in the base state."""
    local = local_part(index, code, script)
    smtp: dict[str, Any] = {"username": f"{local}@{DOMAIN}"}
    smtp["from"] = SHARED_FROM[index % len(SHARED_FROM)] if index % 9 == 0 else f"{local}@{DOMAIN}"
    if index % 10 == 4:
        smtp["port"] = 2525
    if index % 50 == 7:
        smtp["server"] = "relay.example.com"
        smtp["ssl"] = False
    return smtp


def next_override(index: int, code: str, script: str = "ascii") -> dict[str, Any]:
    """The changed smtp section: a new From address, or another port (alternately)."""
    smtp = base_override(index, code, script)
    if index % 2 == 0:
        smtp["from"] = f"{local_part(index, code, script)}@mail.{DOMAIN}"
    else:
        smtp["port"] = 587 if smtp.get("port") == 2525 else 2525
    return smtp


def users_section(codes: Sequence[str], changed: Iterable[int] = (),
                  script: str = "ascii") -> dict[str, dict[str, Any]]:
    changed = set(changed)
    return {code: (next_override(i, code, script) if i in changed
                   else base_override(i, code, script))
            for i, code in enumerate(codes)}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if all(c.isalnum() or c in "@.-_" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _flow(mapping: dict[str, Any]) -> str:
    """A mapping on one line, in YAML's flow style: {key: value, key: {key: value}}."""
    items = (f"{_scalar(k)}: {_flow(v) if isinstance(v, dict) else _scalar(v)}"
             for k, v in mapping.items())
    return "{" + ", ".join(items) + "}"


# How the same configuration can be laid out; each is a line of the benchmark.
#   block        one key a line, as a person writes it
#   flow-header  `targets:` and `general:` as one-line flow mappings, users in block style
#   flow-users   one line a user: `U1: {smtp: {username: ..., from: ...}}`, as a generator
#                would write them
#   doc-start    block style after a `---` first line
#   non-ascii    block style, every address with an accented local part (frédéric.u1@...)
LAYOUTS = ("block", "flow-header", "flow-users", "doc-start", "non-ascii")


def render_config(url: str | None, users: dict[str, dict[str, Any]],
                  layout: str = "block") -> str:
    """A mailprov.yaml as a person (or a generator) lays it out; see LAYOUTS."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    lines = [f"# generated by bench/benchdata.py: {len(users)} users"]
    if layout == "doc-start":
        lines.append("---")
    lines.append("version: 1")
    flow_header = layout == "flow-header"
    if url is not None:
        if flow_header:
            lines.append(f"targets: {_flow({'bench': {'url': url}})}")
        else:
            lines += ["targets:", "  bench:", f"    url: {_scalar(url)}"]
        lines.append("default_target: bench")
    if flow_header:
        lines.append(f"general: {_flow({'client': 'outlook', 'smtp': GENERAL_SMTP})}")
    else:
        lines += ["general:", "  client: outlook", "  smtp:"]
        lines += [f"    {key}: {_scalar(value)}" for key, value in GENERAL_SMTP.items()]
    lines.append("users:")
    for code, smtp in users.items():
        if layout == "flow-users":
            lines.append(f"  {_scalar(code)}: {_flow({'smtp': smtp})}")
            continue
        lines += [f"  {_scalar(code)}:", "    smtp:"]
        lines += [f"      {key}: {_scalar(value)}" for key, value in smtp.items()]
    return "\n".join(lines) + "\n"


def write_config(path: Path, url: str | None, codes: Sequence[str],
                 changed: Iterable[int] = (), layout: str = "block") -> Path:
    script = "non-ascii" if layout == "non-ascii" else "ascii"
    users = users_section(codes, changed, script)
    path.write_text(render_config(url, users, layout), encoding="utf-8")
    return path


def render_onboarding(codes: Sequence[str]) -> str:
    """The base state's file written with profiles and templates: the same settings as
    render_config(None, users_section(codes)) once rendered for each user."""
    lines = [f"# generated by bench/benchdata.py: {len(codes)} users, profiles and templates",
             "version: 1", "vars:", f"  domain: {DOMAIN}", "general:", "  client: outlook",
             "  smtp:"]
    lines += [f"    {key}: {_scalar(value)}" for key, value in GENERAL_SMTP.items()]
    login = '"{{ user.code | lower }}@{{ vars.domain }}"'
    lines += ["profiles:", "  staff:", "    smtp:", f"      username: {login}"]
    for index, address in enumerate(SHARED_FROM):
        lines += [f"  shared{index}:", "    smtp:", f"      username: {login}",
                  f"      from: {address}"]
    lines += ["  relay:", "    smtp:", "      server: relay.example.com", "      ssl: false",
              "users:"]
    for index, code in enumerate(codes):
        profiles = [f"shared{index % len(SHARED_FROM)}" if index % 9 == 0 else "staff"]
        if index % 50 == 7:
            profiles.append("relay")
        entry = f"profile: {profiles[0]}" if len(profiles) == 1 else \
            f"profile: [{', '.join(profiles)}]"
        if index % 10 == 4:
            entry += ", smtp: {port: 2525}"
        lines.append(f"  {_scalar(code)}: {{{entry}}}")
    return "\n".join(lines) + "\n"


# --- floors: the least any tool could do for the same result ------------------------


def floor_validate(path: str | Path) -> dict[str, Any]:
    """Parse the file with libyaml's C loader, nothing else."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=yaml.CSafeLoader)


def raw_connect(backend: str, dsn: str) -> Any:
    """A plain DB-API connection: sqlite3 on a file path, psycopg on a conninfo string."""
    if backend == "sqlite":
        import sqlite3

        return sqlite3.connect(dsn)
    import psycopg

    return psycopg.connect(dsn)


def floor_plan(path: str | Path, backend: str, dsn: str) -> list[str]:
    """C-loader YAML + one SELECT of the users (raw driver) + a dict comparison.

    Returns the codes whose override differs, as the plan would.
    """
    data = floor_validate(path)
    general = data["general"]["smtp"]
    desired = {}
    for code, user in data["users"].items():
        smtp = user["smtp"]
        desired[code] = (smtp.get("username"), smtp.get("from"),
                         smtp.get("server", general["server"]), smtp.get("port", general["port"]),
                         smtp.get("ssl", general["ssl"]))
    conn = raw_connect(backend, dsn)
    try:
        rows = conn.execute(f"SELECT {', '.join(USER_COLUMNS)} FROM app_user").fetchall()
    finally:
        conn.close()
    live = {}
    for code, _name, override, username, from_address, server, port, ssl in rows:
        if override:
            live[code] = (username, from_address, server, port, None if ssl is None else bool(ssl))
    return [code for code, wanted in desired.items() if live.get(code) != wanted]


def floor_apply(backend: str, dsn: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """The same result, raw driver, in one transaction: read the state of every row the
    files manage (the bench files list every user), as any tool must to know that none
    changed since the plan, then one executemany of the UPDATEs.

    `rows` are (username, from, server, port, ssl, code) tuples.
    """
    mark = "?" if backend == "sqlite" else "%s"
    sets = ", ".join(f"{column} = {mark}" for column in WRITE_COLUMNS)
    conn = raw_connect(backend, dsn)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT user_no, code, mail_override, " + ", ".join(WRITE_COLUMNS)
                       + " FROM app_user")
        cursor.fetchall()
        cursor.executemany(f"UPDATE app_user SET {sets} WHERE code = {mark}", rows)
        conn.commit()
    finally:
        conn.close()

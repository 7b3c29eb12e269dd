"""The typed library API. The CLI only parses arguments and renders what these return.

Heavy dependencies (SQLAlchemy, jsonschema, keyring) are imported inside the
functions that need them, so importing this module stays cheap.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailprov.errors import ConfigError, PlanFileError, SafetyError, UnknownUserError
from mailprov.gitinfo import git_commit
from mailprov.model import Config, LiveState
from mailprov.plan import Plan
from mailprov.targets import (
    ENV_DB_URL,
    Database,
    ResolvedTarget,
    open_database,
    read_live,
    resolve_target,
)

__all__ = [
    "ApplyResult", "Database", "Explanation", "Plan", "ResolvedTarget", "apply", "check_safety",
    "compute_plan", "explain", "export_config", "history", "load_config", "load_plan", "login",
    "open_database", "plan", "read_live", "resolve_target", "sandbox", "save_plan", "schema_text",
    "target_of_plan",
]

if TYPE_CHECKING:
    from sqlalchemy import Connection


def load_config(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
) -> Config:
    """Load, validate and merge configuration files (see mailprov.config)."""
    from mailprov.config import DEFAULT_CONFIG
    from mailprov.config import load_config as _load

    if isinstance(paths, (str, os.PathLike)):  # one file, not a sequence of characters
        paths = [paths]
    return _load(list(paths) if paths else [DEFAULT_CONFIG])


def schema_text() -> str:
    from mailprov.config.schema import schema_text as _text

    return _text()


# --- plan ---------------------------------------------------------------------------


def compute_plan(config: Config, target: ResolvedTarget, live: LiveState,
                 mapping: dict[str, Any] | None = None) -> Plan:
    """Pure: the plan that makes `live` match `config` on `target`.

    Raises ConfigError for edition rules that need the live edition, and
    UnknownUserError for user codes the target does not have.
    """
    from mailprov.config.semantic import edition_problems
    from mailprov.diff import describe_lookalikes, diff, suggest_codes
    from mailprov.digest import base_digest
    from mailprov.safety import evaluate

    edition = live.general.edition
    problems = []
    if target.edition and target.edition != edition:
        assert config.problem_at is not None
        spec = config.targets[target.name]
        problems.append(config.problem_at(
            spec.source.file if spec.source else config.files[0],
            ("targets", target.name, "edition"),
            f"target '{target.name}' is declared `{target.edition}` but its database says "
            f"`{edition}`: fix the edition"))
    problems.extend(edition_problems(config, edition, target.name))
    if problems:
        raise ConfigError(problems)
    result = diff(config, live)
    if result.unknown_users:
        lines = []
        for code in result.unknown_users:
            user = config.users[code]
            assert config.problem_at is not None
            hints = suggest_codes(code, live.users)
            hint = f"; did you mean {', '.join(hints)}?" if hints else "."
            lines.append(config.problem_at(
                user.source.file, ("users", code),
                f"no user '{code}' in target '{target.name}'{describe_lookalikes(code)}{hint} "
                "mailprov configures existing maestro* users; it never creates them",
                True).format())
        raise UnknownUserError("\n".join(lines))
    addresses = [c.address for c in result.changes]
    safety = evaluate(result.changes, live.override_count, config.safety)
    warnings = list(result.warnings)
    if safety.exceeded:
        warnings.append("apply will refuse this plan without --force: "
                        + "; ".join(safety.reasons))
    return Plan(
        target=target.name,
        target_url=target.display_url,
        edition=edition,
        changes=result.changes,
        base_digest=base_digest(live, addresses),
        config_digest=config.digest,
        unmanaged_overrides=result.unmanaged_overrides,
        safety=safety,
        warnings=tuple(warnings),
        mapping=mapping,
    )


def plan(config: Config, target: ResolvedTarget) -> Plan:
    """Read the target and compute the plan."""
    with open_database(target) as db:
        live = read_live(db)
        return compute_plan(config, target, live, db.tables.mapping.to_json())


def save_plan(plan_: Plan, path: str | os.PathLike[str]) -> None:
    """Write a plan as JSON (atomically: a partial file never replaces a good one)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(plan_.dumps(), encoding="utf-8")
    os.replace(tmp, target)


def load_plan(path: str | os.PathLike[str]) -> Plan:
    from mailprov.plan import plan_from_json

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PlanFileError(f"{path}: cannot read the plan file: {reason}") from None
    return plan_from_json(text, str(path))


def target_of_plan(plan_: Plan, db_url: str | None = None) -> ResolvedTarget:
    """Where a saved plan applies: its own target, unless --db/MAILPROV_DB_URL says otherwise."""
    url = db_url or os.environ.get(ENV_DB_URL) or plan_.target_url
    return ResolvedTarget(plan_.target, url, plan_.edition, None,
                          dict(plan_.mapping) if plan_.mapping else None)


# --- apply ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    history_id: int | None


def check_safety(plan_: Plan, force: bool) -> None:
    if plan_.safety.exceeded and not force:
        raise SafetyError(
            "refused for safety: " + "; ".join(plan_.safety.reasons) + ". Review the plan, "
            "then apply with --force, or raise the limits under `safety:` in the configuration."
        )


def apply(plan_: Plan, target: ResolvedTarget, *, force: bool = False,
          lock_timeout: float = 10.0, config_dir: str | None = None,
          before_commit: Callable[[Connection], None] | None = None) -> ApplyResult:
    """Apply a plan in one transaction under the target's lock.

    Raises SafetyError (thresholds), LockError (another apply), StalePlanError
    (rows changed since the plan). An empty plan changes nothing and records nothing.
    """
    check_safety(plan_, force)
    if not plan_.changes:
        return ApplyResult(plan_, None)
    from mailprov.db.connect import translate_errors
    from mailprov.db.write import HistoryEntry, execute_plan

    entry = HistoryEntry(
        target=plan_.target,
        os_user=_os_user(),
        host=socket.gethostname(),
        config_digest=plan_.config_digest,
        git_commit=git_commit(config_dir or os.getcwd()),
    )
    with open_database(target, lock_timeout=lock_timeout) as db, \
            translate_errors(db.url, "applying to"):
        history_id = execute_plan(db.engine, db.tables, plan_, entry,
                                  lock_timeout=lock_timeout, before_commit=before_commit)
    return ApplyResult(plan_, history_id)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- history, import, explain, sandbox, login ----------------------------------------------


def history(target: ResolvedTarget, limit: int = 50) -> list[dict[str, Any]]:
    from mailprov.db.connect import translate_errors
    from mailprov.db.history import read_history

    with open_database(target) as db, translate_errors(db.url, "reading history from"), \
            db.engine.connect() as conn:
        return [dict(row) for row in read_history(conn, db.tables, limit)]


def export_config(target: ResolvedTarget, schema: str | None = None) -> str:
    """The live configuration as a mailprov YAML file (see mailprov.export).

    `schema` is what the editor modeline points at (default: the schema's $id).
    """
    from mailprov.export import SCHEMA_URL, render_yaml

    with open_database(target) as db:
        live = read_live(db)
    return render_yaml(live, target, schema or SCHEMA_URL)


@dataclass(frozen=True)
class Explanation:
    code: str
    name: str
    edition: str
    mode: str  # "override" or the general client
    reason: str
    server: str | None
    port: int | None
    ssl: bool | None
    username: str | None
    from_address: str | None
    password_set: bool
    notes: tuple[str, ...] = ()


def explain(code: str, target: ResolvedTarget) -> Explanation:
    """The effective mail settings of one user, and why (general default or bi-mode override)."""
    from mailprov.db.connect import translate_errors
    from mailprov.db.read import password_is_set, read_general, read_users
    from mailprov.diff import suggest_codes

    with open_database(target) as db, translate_errors(db.url, "reading"), \
            db.engine.connect() as conn:
        general = read_general(conn, db.tables)
        users = read_users(conn, db.tables, [code])
        if code not in users:
            all_codes = read_users(conn, db.tables)
            hints = suggest_codes(code, all_codes)
            hint = f"; did you mean {', '.join(hints)}?" if hints else ""
            raise UnknownUserError(f"no user '{code}' in target '{target.name}'{hint}")
        has_password = password_is_set(conn, db.tables, code)
    from mailprov.explain import explain_user

    return explain_user(users[code], general, has_password)


def sandbox(url: str, *, users: int = 25, edition: str = "standard",
            force: bool = False) -> int:
    """Create a reference-model database with `users` sample users; returns the count."""
    from mailprov.db.connect import translate_errors
    from mailprov.db.sandbox import create_sandbox

    target = ResolvedTarget(url, url)
    with open_database(target) as db, translate_errors(db.url, "creating the sandbox in"):
        return len(create_sandbox(db.engine, db.tables, users=users, edition=edition,
                                  force=force))


def login(target_name: str, password: str) -> None:
    from mailprov.secrets import set_db_password

    set_db_password(target_name, password)

"""The front door: one function per command, each delegating to the module that owns
the work (as alembic's `command.py` does). The CLI only parses arguments and renders
what these return.

Heavy dependencies (SQLAlchemy, jsonschema, keyring) are imported inside the
functions that need them, so importing this module stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from mailprov.config.targets import ResolvedTarget, resolve_target
from mailprov.model import Config, LiveState, Policy, Safety

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mailprov.apply.executor import ApplyResult
    from mailprov.apply.passwords import PasswordChange, PasswordUser
    from mailprov.config.edit import EditResult
    from mailprov.config.fleet import Shard
    from mailprov.config.migrate import Migration
    from mailprov.config.roots import Validation
    from mailprov.db.database import Database
    from mailprov.fleet.runner import FleetRun, Outcome
    from mailprov.live.explain import Explanation
    from mailprov.live.importer import Export
    from mailprov.live.office365 import Office365Status
    from mailprov.live.passwords import PasswordStatus
    from mailprov.passwords.keys import KeyChange
    from mailprov.plan.drift import DriftReport
    from mailprov.plan.fleetfile import SavedFleetPlan
    from mailprov.plan.format import Plan
    from mailprov.plan.planfile import SavedPlan
    from mailprov.plan.plankey import KeysStatus
    from mailprov.plan.records import Applied, HistoryRecord
    from mailprov.smtp.report import SendReport
    from mailprov.smtp.settings import SmtpSettings, TlsMode

__all__ = [
    "ApplyResult", "Database", "EditResult", "Explanation", "Export", "PasswordChange",
    "PasswordStatus", "PasswordUser", "Plan", "ResolvedTarget", "SavedPlan", "add_users",
    "apply", "apply_config", "apply_fleet", "apply_saved", "apply_saved_fleet", "check_login",
    "check_safety", "clear_password", "compute_plan", "drift", "drift_fleet", "explain",
    "export_config", "fleet_requested", "history", "history_applies", "history_record",
    "import_live", "import_users", "init", "key_export", "key_import", "key_init",
    "key_status", "load_config", "load_plan", "load_policies", "login", "migrate_office365",
    "office365_status", "open_database", "password_status", "password_user", "plan",
    "plan_fleet", "read_any_plan", "read_live", "read_saved_plan", "remove_users",
    "resolve_target", "rollback", "run_fleet", "sandbox", "save_fleet_plan", "save_plan",
    "schema_text", "select_targets", "set_password", "signature_status", "target_of_plan",
    "test_send", "test_send_all", "validate",
]

R = TypeVar("R")


def __getattr__(name: str) -> Any:
    """Types re-exported lazily, so `import mailprov.api` does not import SQLAlchemy."""
    if name == "ApplyResult":
        from mailprov.apply.executor import ApplyResult

        return ApplyResult
    if name == "Database":
        from mailprov.db.database import Database

        return Database
    if name == "Explanation":
        from mailprov.live.explain import Explanation

        return Explanation
    if name == "Export":
        from mailprov.live.importer import Export

        return Export
    if name == "EditResult":
        from mailprov.config.edit import EditResult

        return EditResult
    if name == "Plan":
        from mailprov.plan.format import Plan

        return Plan
    if name == "SavedPlan":
        from mailprov.plan.planfile import SavedPlan

        return SavedPlan
    if name in ("PasswordChange", "PasswordUser"):
        from mailprov.apply import passwords

        return getattr(passwords, name)
    if name == "PasswordStatus":
        from mailprov.live.passwords import PasswordStatus

        return PasswordStatus
    raise AttributeError(name)


def load_config(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
    variables: Mapping[str, Any] | Sequence[str] | None = None, *,
    policy_files: Sequence[str | os.PathLike[str]] = (),
) -> Config:
    """Load, validate and merge configuration files (see mailprov.config).

    `variables` override the files' `vars` for templates: a mapping, or `KEY=VALUE`
    texts as `--var` gives them (`site.city=Québec` sets a group's value).
    `policy_files` are policies kept in files of their own (`--policy`), in force
    beside the files' `policy:` section (`Config.policies`)."""
    from mailprov.config import DEFAULT_CONFIG
    from mailprov.config import load_config as _load
    from mailprov.config.load import parse_variables

    if isinstance(paths, (str, os.PathLike)):  # one file, not a sequence of characters
        paths = [paths]
    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)
    return _load(list(paths) if paths else [DEFAULT_CONFIG], variables,
                 policy_files=policy_files)


def load_policies(paths: Sequence[str | os.PathLike[str]]) -> tuple[Policy, ...]:
    """Policies kept in files of their own (`--policy`), for a command that reads no
    configuration (`apply PLAN`); ConfigError names every problem of the files."""
    from mailprov.config.policy import load_policy_files
    from mailprov.errors import ConfigError

    policies, problems = load_policy_files(paths)
    if problems:
        raise ConfigError(problems)
    return policies


def schema_text(mapping: bool = False) -> str:
    """The JSON Schema of configuration files (or of mapping files)."""
    from mailprov.config.schema import mapping_schema_text, schema_text

    return mapping_schema_text() if mapping else schema_text()


def open_database(target: ResolvedTarget, *, lock_timeout: float = 10.0,
                  read_only: bool = False, create: bool = False) -> Database:
    """An open engine on the target, with its tables and backend. `read_only`: a SQLite
    file is opened read-only; sessions wait for no lock. A missing SQLite file is an
    error, and is created only when asked (`create`, for `sandbox`)."""
    from mailprov.db.database import open_database as _open

    return _open(target.name, target.url, target.mapping(), lock_timeout=lock_timeout,
                 read_only=read_only, create=create)


def read_live(db: Database) -> LiveState:
    """The live state of an open target (read-only)."""
    from mailprov.db.database import read_live as _read

    return _read(db)


# --- plan ---------------------------------------------------------------------------


def compute_plan(config: Config, target: ResolvedTarget, live: LiveState,
                 mapping: Mapping[str, Any] | None = None, *,
                 git_commit: str | None = None) -> Plan:
    """Pure: the plan that makes `live` match `config` on `target` (mailprov.plan.planner).

    Users the files list but the target lacks are in `Plan.errors`, not raised."""
    from mailprov.plan.planner import build_plan

    return build_plan(config.for_target(target.name), target.name, target.display_url,
                      target.edition, live, mapping, git_commit=git_commit)


def plan(config: Config, target: ResolvedTarget, *, with_commit: bool = False,
         commit: str | None = None) -> Plan:
    """Read the target and compute the plan; `with_commit` records the git commit of the
    files (with `+dirty` for uncommitted changes), as a saved plan does (`commit`: that
    commit, already read)."""
    if with_commit and commit is None:
        commit = _config_commit(config)
    with open_database(target, read_only=True) as db:
        live = read_live(db)
        return compute_plan(config, target, live, db.tables.mapping.to_json(),
                            git_commit=commit)


def _config_commit(config: Config) -> str | None:
    from mailprov.config.gitinfo import git_commit

    return git_commit(_config_dir(config))


def _config_dir(config: Config) -> str:
    return os.path.dirname(os.path.abspath(config.files[0])) if config.files else os.getcwd()


def save_plan(plan_: Plan, path: str | os.PathLike[str]) -> bool:
    """Write a plan as JSON, atomically, signed with the plan key when one is set
    (MAILPROV_PLAN_KEY or the keyring); returns whether it was signed. A plan with
    errors is refused (PlanFileError)."""
    from mailprov.plan.planfile import plan_key
    from mailprov.plan.planfile import save_plan as _save

    key = plan_key()
    _save(plan_, path, key)
    return key is not None


def read_saved_plan(path: str | os.PathLike[str]) -> SavedPlan:
    """Read and check a saved plan (shape and every value), not yet its signature."""
    from mailprov.plan.planfile import read_plan

    return read_plan(path)


def signature_status(saved: SavedPlan) -> str:
    """What a saved plan's signature says, without refusing: `valid`, `unsigned`, or why
    it cannot be trusted."""
    from mailprov.errors import TamperedPlanError
    from mailprov.plan.planfile import plan_key

    key = plan_key()
    if key is None and saved.signature is not None:
        return "signed, not checked (no plan key on this machine)"
    try:
        return saved.verify(key)
    except TamperedPlanError as exc:
        return f"NOT VALID: {exc.message.rstrip('.')}"


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a saved plan; any problem is a PlanFileError naming the file."""
    return read_saved_plan(path).plan


def target_of_plan(plan_: Plan, db_url: str | None = None, *, target: str | None = None,
                   plan_file: str = "the plan") -> ResolvedTarget:
    """Where a saved plan applies: its own target (`target`, from -t, must agree)."""
    from mailprov.config.targets import target_of_plan as _target_of_plan

    return _target_of_plan(plan_.target, plan_.target_url, plan_.edition, plan_.mapping,
                           plan_file=plan_file, target=target, db_url=db_url)


# --- apply ----------------------------------------------------------------------------


def check_safety(plan_: Plan, force: bool) -> None:
    """Raise SafetyError when the plan exceeds a safety limit and is not forced."""
    from mailprov.apply.executor import check_safety as _check

    _check(plan_, force)


def apply(plan_: Plan, target: ResolvedTarget, *, force: bool = False,
          lock_timeout: float = 10.0, config_dir: str | None = None,
          policies: Sequence[Policy] = (),
          before_commit: Callable[[Connection], None] | None = None) -> ApplyResult:
    """Apply a plan exactly, in one transaction under the target's lock, if the database
    is the one it was made from and nothing it manages changed since (mailprov.apply).

    A plan that breaks a policy is refused (PolicyError), `force` or not: the policies
    it carries and `policies` are checked again under the lock on what it writes.
    The history records the plan's git commit, or that of `config_dir` when the plan
    has none."""
    from mailprov.apply.executor import apply_plan, check_safety
    from mailprov.errors import UnknownUserError
    from mailprov.plan.policy import policy_error

    if plan_.errors:
        raise UnknownUserError("\n".join(p.format() for p in plan_.errors))
    if plan_.policy_violations:
        raise policy_error(plan_.policy_violations, done="Nothing was changed.")
    check_safety(plan_, force)
    commit = plan_.git_commit
    if commit is None and config_dir is not None:
        from mailprov.config.gitinfo import git_commit

        commit = git_commit(config_dir)
    with open_database(target, lock_timeout=lock_timeout) as db:
        return apply_plan(plan_, db, force=force, lock_timeout=lock_timeout, commit=commit,
                          policies=policies, before_commit=before_commit)


def apply_saved(saved: SavedPlan, *, target: str | None = None, db_url: str | None = None,
                force: bool = False, lock_timeout: float = 10.0,
                policies: Sequence[Policy] = ()) -> ApplyResult:
    """Apply a plan read from a file: its signature checked against the plan key, then
    applied to its own target (`target`, from -t, must agree; `db_url` may name the same
    database another way). `policies` (`--policy`, MAILPROV_POLICY) are checked on what
    it writes beside those it carries: a hand-edited plan cannot drop them."""
    from mailprov.plan.planfile import plan_key

    saved.verify(plan_key())
    resolved = target_of_plan(saved.plan, db_url, target=target, plan_file=saved.source)
    return apply(saved.plan, resolved, force=force, lock_timeout=lock_timeout,
                 policies=policies)


def apply_config(config: Config, target: ResolvedTarget, *, approved: Plan | None = None,
                 show: Callable[[Plan], None] | None = None, force: bool = False,
                 lock_timeout: float = 10.0,
                 before_commit: Callable[[Connection], None] | None = None,
                 commit: str | None = None) -> ApplyResult:
    """Plan the files under the target's lock and apply that plan (mailprov.apply).

    `approved`: the plan a person said yes to; if the database changed so that the plan
    made under the lock differs, nothing is written. `show` receives the plan first.
    `commit`: the git commit of the files, when already read (a fleet reads it once)."""
    from mailprov.apply.executor import apply_config as _apply_config

    with open_database(target, lock_timeout=lock_timeout) as db:
        mapping = db.tables.mapping.to_json()
        return _apply_config(
            lambda live: compute_plan(config, target, live, mapping), db, target.name,
            approved=approved, show=show, force=force, lock_timeout=lock_timeout,
            config_dir=_config_dir(config), before_commit=before_commit, commit=commit)


# --- history, import, explain, sandbox, login ----------------------------------------------


def history(target: ResolvedTarget, limit: int = 50) -> list[dict[str, Any]]:
    """The latest applies recorded on the target, newest first."""
    from mailprov.db.history import read_history

    with open_database(target, read_only=True) as db, db.connect() as conn, \
            db.errors("reading history from"):
        return [dict(row) for row in read_history(conn, db.tables, limit)]


def import_live(target: ResolvedTarget, schema: str | None = None, *,
                folder: str | os.PathLike[str] | None = None) -> Export:
    """The live configuration as a mailprov YAML file, and the live values that cannot be
    written as valid configuration (commented out in the text; see mailprov.live.importer).

    `schema` is what the editor modeline points at (default: the schema's $id); `folder`
    is where the file will be written (default: the working folder): relative SQLite
    URLs and mapping paths are written relative to it.
    """
    from mailprov.live.importer import SCHEMA_URL, build_export

    with open_database(target, read_only=True) as db:
        live = read_live(db)
    return build_export(live, target, schema=schema or SCHEMA_URL,
                        folder=os.fspath(folder) if folder is not None else None)


def export_config(target: ResolvedTarget, schema: str | None = None, *,
                  folder: str | os.PathLike[str] | None = None,
                  allow_invalid: bool = False) -> str:
    """The text of import_live; LiveDataError when live values cannot be written as valid
    configuration, unless `allow_invalid` (then they are written commented out)."""
    return import_live(target, schema, folder=folder).checked(allow_invalid)


def explain(code: str, target: ResolvedTarget, config: Config | None = None) -> Explanation:
    """The effective mail settings of one user, and why (general default or bi-mode override).

    With `config`, also what the files make of the user and where each value comes from
    (user entry, CSV row, profile, defaults, selection, preset, template, general.smtp)."""
    from mailprov.db.read import read_general, read_users
    from mailprov.db.version import versioned
    from mailprov.live.explain import explain_user
    from mailprov.plan.diff import unknown_user_error

    with open_database(target, read_only=True) as db, db.connect() as conn, \
            db.errors("reading"):
        general = read_general(conn, db.tables, db.backend)
        tables = versioned(conn, db.tables, db.backend)
        users = read_users(conn, tables, db.backend, [code])
        if code not in users:
            raise unknown_user_error(code, target.name, read_users(conn, tables, db.backend))
    explanation = explain_user(users[code], general, users[code].password_set, tables.version)
    if config is None:
        return explanation
    config = config.for_target(target.name)
    from dataclasses import replace

    from mailprov.live.explain import configured_user

    return replace(explanation, configured=configured_user(config, users[code], general),
                   locator=config.locator)


def sandbox(url: str, *, users: int = 25, edition: str = "standard",
            force: bool = False, model: int = 2) -> int:
    """Create a reference-model database with `users` sample users; returns the count.

    `model` is the reference model version: 2 (maestro* 3.05, the default: one person in
    four sends with Office 365, some of them authenticated already) or 1 (before 3.05)."""
    from mailprov.db.sandbox import create_sandbox
    from mailprov.db.tables import build_tables
    from mailprov.model.versions import version

    version(model)  # ValueError for a version mailprov does not know
    target = ResolvedTarget(url, url)
    with open_database(target, create=True) as db, db.errors("creating the sandbox in"):
        tables = build_tables(db.tables.mapping, model)
        return len(create_sandbox(db.engine, tables, users=users, edition=edition,
                                  force=force))


def check_login(target: ResolvedTarget) -> None:
    """Refuse `mailprov login` for a target whose database takes no password (SQLite)."""
    from mailprov.db.connect import parse_url
    from mailprov.errors import TargetError
    from mailprov.i18n import _

    if parse_url(target.url).get_backend_name() == "sqlite":
        raise TargetError(_("target '{name}' is a SQLite database, which has no password: "
                            "there is nothing to store").format(name=target.name))
    from mailprov.keystore import require_keyring, target_secret_name

    require_keyring(target_secret_name(target.name))  # before the password is typed


def login(target_name: str, password: str) -> None:
    """Store a target's database password in the OS keyring."""
    from mailprov.keystore import set_db_password

    set_db_password(target_name, password)


# --- the pull-request workflow: validate by file, drift, history records ------------------


def validate(files: Sequence[str] = (), configs: Sequence[str] = (), *,
             variables: Mapping[str, Any] | Sequence[str] | None = None,
             policy_files: Sequence[str] = ()) -> Validation:
    """Check files offline (no database): `configs` as one configuration (default
    ./mailprov.yaml), and each of `files` through the root that includes it, as
    pre-commit passes them (mailprov.config.roots). `variables` as for load_config;
    `policy_files` are policies kept apart (--policy), checked beside the files' own."""
    from mailprov.config.load import parse_variables
    from mailprov.config.roots import validate_files

    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)
    return validate_files(list(files), list(configs), variables, list(policy_files))


def drift(config: Config, target: ResolvedTarget) -> DriftReport:
    """Where the target differs from the files, with the apply that last set each file
    value: the live state and one history query, whatever the number of users
    (mailprov.plan.drift)."""
    from mailprov.db.connect import translate_errors
    from mailprov.db.history import iter_history
    from mailprov.plan.drift import build_drift
    from mailprov.plan.records import record_from_row

    with open_database(target, read_only=True) as db:
        live = read_live(db)
        current = compute_plan(config, target, live, db.tables.mapping.to_json())
        with translate_errors(db.url, "reading history from"), db.engine.connect() as conn:
            rows = iter_history(conn, db.tables)
            try:
                return build_drift(current, config.for_target(target.name), live,
                                   map(record_from_row, rows))
            finally:
                rows.close()  # the rest of the history is left unread, on this connection


def history_applies(target: ResolvedTarget, limit: int = 50) -> list[Applied]:
    """The latest applies on the target, newest first, without their changes."""
    from mailprov.plan.records import applied_from_row

    return [applied_from_row(row) for row in history(target, limit)]


def history_record(target: ResolvedTarget, history_id: int) -> HistoryRecord:
    """One apply and the changes it made, from either history layout."""
    from mailprov.db.connect import translate_errors
    from mailprov.db.history import read_history_row
    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.plan.records import record_from_row

    with open_database(target, read_only=True) as db, \
            translate_errors(db.url, "reading history from"), db.engine.connect() as conn:
        row = read_history_row(conn, db.tables, history_id)
    if row is None:
        raise MailprovError(_("no apply #{id} is recorded on target '{target}': "
                              "`mailprov history` lists them").format(
                                  id=history_id, target=target.name))
    return record_from_row(row)


def rollback(target: ResolvedTarget, history_id: int, *, include_later: bool = False,
             policies: Sequence[Policy] = (), safety: Safety | None = None) -> Plan:
    """The plan that restores every row history entry `history_id` changed to its value
    before it (mailprov.plan.rollback): shown, saved and applied like any plan. Rows
    changed again since are conflicts, left out unless `include_later`. `policies` are
    checked on what it writes; `safety` holds the limits apply will hold it to."""
    from mailprov.db.history import read_history_after, read_history_row
    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.plan.records import record_from_row
    from mailprov.plan.rollback import build_rollback

    with open_database(target, read_only=True) as db:
        live = read_live(db)
        with db.connect() as conn, db.errors("reading history from"):
            row = read_history_row(conn, db.tables, history_id)
            later = read_history_after(conn, db.tables, history_id) if row else []
        mapping = db.tables.mapping.to_json()
    if row is None:
        raise MailprovError(_("no apply #{id} is recorded on target '{target}': "
                              "`mailprov history` lists them").format(
                                  id=history_id, target=target.name))
    return build_rollback(record_from_row(row), [record_from_row(r) for r in later], live,
                          target=target.name, target_url=target.display_url, mapping=mapping,
                          include_later=include_later, safety=safety, policies=policies)


def init(folder: str | os.PathLike[str], *, target: str = "prod", ci: str | None = None,
         from_db: str | None = None, force: bool = False,
         allow_invalid: bool = False) -> list[str]:
    """Scaffold a configuration repository in `folder` (mailprov.scaffold); with
    `from_db`, mailprov.yaml is the live configuration of that database (as `import`
    writes it). Returns the files written, relative to `folder`."""
    from mailprov.scaffold import SCHEMA_PATH, scaffold, with_include, write_scaffold

    config_text = None
    if from_db:
        from mailprov.live.importer import render_yaml

        with open_database(ResolvedTarget(target, from_db), read_only=True) as db:
            live = read_live(db)
        written = ResolvedTarget(target, _relative_sqlite(from_db, folder))
        config_text = with_include(render_yaml(live, written, "./" + SCHEMA_PATH,
                                               allow_invalid=allow_invalid))
    return write_scaffold(folder, scaffold(target, ci, schema_text(), config_text, from_db),
                          force)


def _relative_sqlite(url: str, folder: str | os.PathLike[str]) -> str:
    """A relative SQLite path given on the command line is relative to the shell's
    folder; in a file it is relative to the file's: rewrite it for the new file."""
    prefix, sep, rest = url.partition(":///")
    if not prefix.startswith("sqlite") or not sep or not rest or rest.startswith("/") \
            or rest.startswith((":memory:", "file:")):
        return url
    return f"{prefix}:///{os.path.relpath(os.path.abspath(rest), os.path.abspath(folder))}"


# --- editing the files: users add, remove, import ---------------------------------------------


def _edit_check(configs: Sequence[str | os.PathLike[str]],
                variables: Mapping[str, Any] | Sequence[str] | None
                ) -> Callable[[Mapping[Any, bytes]], None]:
    from mailprov.config.load import load_config as _load
    from mailprov.config.load import parse_variables

    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)

    def check(replacements: Mapping[Any, bytes]) -> None:
        _load(list(configs), variables, replacements=replacements)

    return check


def add_users(codes: Sequence[str], entry: Mapping[str, Any], config_file: str = "mailprov.yaml",
              *, configs: Sequence[str] | None = None,
              variables: Mapping[str, Any] | Sequence[str] | None = None) -> EditResult:
    """Append one line per user (`CODE: {profile: staff}`) to `users:` of `config_file`,
    every other byte kept; the result is checked with `configs` (default: the file)
    before it is written. Raises ConfigError or EditError, writing nothing."""
    from pathlib import Path

    from mailprov.config.edit import EditResult, add_entries, read_text, write_checked

    path = Path(config_file)
    text = add_entries(read_text(path), config_file, {code: dict(entry) for code in codes})
    write_checked(path, text, _edit_check(configs or [config_file], variables))
    return EditResult(config_file, tuple(codes))


def remove_users(codes: Sequence[str], configs: Sequence[str] | None = None, *,
                 disable: bool = False,
                 variables: Mapping[str, Any] | Sequence[str] | None = None) -> EditResult:
    """Remove the entries of `codes` from the file that lists each (or, with `disable`,
    replace each with `CODE: {smtp: false}`, which removes the override at the next
    apply). Users of a CSV list are refused: edit the list."""
    from collections import defaultdict
    from pathlib import Path

    from mailprov.config.edit import EditError, EditResult, read_text, remove_entries, write_checked
    from mailprov.i18n import _

    config = load_config(list(configs) if configs else None, variables)
    by_file: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        user = config.users.get(code)
        if user is None:
            from mailprov.plan.diff import did_you_mean

            raise EditError(_("{code} is not listed in the files{hint}").format(
                code=code, hint=did_you_mean(code, config.users)))
        if user.listed_by == "csv":
            raise EditError(_("{code} comes from the user list {file}: remove its row there")
                            .format(code=code, file=user.source.file))
        by_file[user.source.file].append(code)
    texts = {Path(file): remove_entries(read_text(Path(file)), file, file_codes,
                                        {"smtp": False} if disable else None)
             for file, file_codes in by_file.items()}
    check = _edit_check(list(configs) if configs else ["mailprov.yaml"], variables)
    check({path: text.encode("utf-8") for path, text in texts.items()})
    for path, text in texts.items():
        write_checked(path, text, lambda _replacements: None)
    return EditResult(", ".join(by_file), tuple(codes))


def import_users(csv_file: str, config_file: str = "mailprov.yaml", *,
                 configs: Sequence[str] | None = None,
                 variables: Mapping[str, Any] | Sequence[str] | None = None) -> EditResult:
    """Add the users of a CSV list (as `users_from:` reads it) to `users:` of
    `config_file`, one line each; users the files list already are left as they are."""
    from pathlib import Path

    from mailprov.config.csvusers import read_users_csv
    from mailprov.config.edit import EditResult, add_entries, read_text, write_checked
    from mailprov.errors import ConfigError

    rows = read_users_csv(csv_file)
    errors = [p for p in rows.problems if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
    config = load_config(list(configs) if configs else [config_file], variables)
    new = {code: entry for code, entry, _position in rows.users if code not in config.users}
    skipped = tuple(code for code, _entry, _position in rows.users if code in config.users)
    if new:
        path = Path(config_file)
        text = add_entries(read_text(path), config_file, new)
        write_checked(path, text, _edit_check(configs or [config_file], variables))
    return EditResult(config_file, tuple(new), skipped)


# --- passwords ------------------------------------------------------------------------------


def password_user(code: str, target: ResolvedTarget) -> PasswordUser:
    """Check that `code` can have an SMTP password set on the target (an SMTP login of
    its own, a codec and key that can store it); say for which login. Writes nothing."""
    from mailprov.apply.passwords import password_user as _password_user

    with open_database(target, read_only=True) as db:
        return _password_user(db, code)


def set_password(code: str, target: ResolvedTarget,
                 password: str | Callable[[PasswordUser], str], *,
                 lock_timeout: float = 10.0) -> PasswordChange:
    """Store the SMTP password of `code` with the target's password codec, set its
    `password_set_at`, and record it in the history (never the password).

    `password` may be a callable that asks for it: it is called after every check, so
    nobody types a password that cannot be stored (mailprov.apply.passwords)."""
    from mailprov.apply.passwords import set_password as _set_password

    with open_database(target, lock_timeout=lock_timeout) as db:
        return _set_password(db, code, password, lock_timeout=lock_timeout)


def clear_password(code: str, target: ResolvedTarget, *,
                   lock_timeout: float = 10.0) -> PasswordChange:
    """Remove the stored SMTP password of `code` (`PasswordChange.changed` is False when
    there was none); recorded in the history."""
    from mailprov.apply.passwords import clear_password as _clear_password

    with open_database(target, lock_timeout=lock_timeout) as db:
        return _clear_password(db, code, lock_timeout=lock_timeout)


def password_status(target: ResolvedTarget) -> PasswordStatus:
    """Per SMTP user: password stored or not, when, and whether it predates the last login
    change; plus orphaned passwords. Reads whether a password is stored, never its value."""
    from mailprov.db.history import read_history_since
    from mailprov.db.read import read_general, read_users
    from mailprov.db.version import versioned
    from mailprov.errors import MailprovError
    from mailprov.live.passwords import history_since
    from mailprov.live.passwords import password_status as _status
    from mailprov.passwords.codec import describe_codec, get_codec

    with open_database(target, read_only=True) as db, db.connect() as conn, \
            db.errors("reading"):
        tables = versioned(conn, db.tables, db.backend)
        live = LiveState(read_general(conn, tables, db.backend),
                         read_users(conn, tables, db.backend), model_version=tables.version)
        needed, since = history_since(live)
        rows = read_history_since(conn, db.tables, since) if needed else []
        codec_name = db.tables.mapping.password_codec
    try:
        description = describe_codec(get_codec(codec_name))
    except MailprovError as exc:
        description = exc.message
    return _status(target.name, live, rows, codec=codec_name, codec_description=description)


# --- test-send --------------------------------------------------------------------------------


def test_send(code: str, target: ResolvedTarget, *, to: str | None = None,
              check_only: bool = False, tls: TlsMode | None = None,
              cafile: str | None = None, timeout: float | None = None,
              password_prompt: Callable[[SmtpSettings], str] | None = None,
              debug: bool = False) -> SendReport:
    """Connect, log in and (unless `check_only`) send a test message to `to` with the
    effective SMTP settings of `code`, as maestro* would (mailprov.smtp.session).

    The password is the stored one, decrypted by the target's codec, or what
    `password_prompt` returns (then the stored one is not read, and nothing is stored).
    Failures of the session are in the report (never raised); a user who does not send
    through SMTP of their own is a NotSendingError."""
    from mailprov.db.passwords import read_stored_passwords
    from mailprov.db.read import read_general, read_users
    from mailprov.live.sending import sending_settings
    from mailprov.passwords.codec import decode_password, get_codec
    from mailprov.plan.diff import unknown_user_error
    from mailprov.smtp.session import DEFAULT_TIMEOUT, check_smtp
    from mailprov.smtp.tls import tls_context

    _check_recipient(to, check_only)
    context = tls_context(cafile)  # an unreadable --cafile fails before anything else
    with open_database(target, read_only=True) as db:
        with db.connect() as conn, db.errors("reading"):
            general = read_general(conn, db.tables, db.backend)
            users = read_users(conn, db.tables, db.backend, [code])
            if code not in users:
                raise unknown_user_error(code, target.name,
                                         read_users(conn, db.tables, db.backend))
            settings = sending_settings(users[code], general, target.name)
            stored = None
            if password_prompt is None and settings.username and users[code].password_set:
                stored = read_stored_passwords(conn, db.tables, [code]).get(code)
        codec_name = db.tables.mapping.password_codec
    if password_prompt is not None:
        password: str | None = password_prompt(settings)
    elif stored is not None:
        password = decode_password(get_codec(codec_name), stored, user=code)
    else:
        password = None
    return check_smtp(settings, password=password, to=to, tls=tls, check_only=check_only,
                      timeout=timeout or DEFAULT_TIMEOUT, target=target.name, debug=debug,
                      context=context)


def test_send_all(target: ResolvedTarget, *, to: str | None = None, check_only: bool = False,
                  tls: TlsMode | None = None, cafile: str | None = None,
                  timeout: float | None = None, parallel: int = 4, debug: bool = False,
                  progress: Callable[[int, int, SendReport], None] | None = None
                  ) -> list[SendReport]:
    """`test_send` for every user of the target who sends through SMTP of their own, at
    most `parallel` at a time; reports by user code. A user whose settings are incomplete
    or whose stored password the codec cannot read gets a failed report, not an error.
    `progress(done, total, report)` is called as each one ends."""
    from mailprov.db.passwords import read_stored_passwords
    from mailprov.db.read import read_general, read_users
    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.live.sending import incomplete, sending_settings, smtp_users, unusable_report
    from mailprov.model.sending import smtp_identity
    from mailprov.passwords.codec import decode_password, get_codec
    from mailprov.smtp.batch import CheckRequest, check_many
    from mailprov.smtp.session import DEFAULT_TIMEOUT
    from mailprov.smtp.tls import tls_context

    _check_recipient(to, check_only)
    tls_context(cafile)
    with open_database(target, read_only=True) as db:
        with db.connect() as conn, db.errors("reading"):
            live = LiveState(read_general(conn, db.tables, db.backend),
                             read_users(conn, db.tables, db.backend))
            users = smtp_users(live)
            stored = read_stored_passwords(conn, db.tables, [
                u.code for u in users if u.password_set])
        codec_name = db.tables.mapping.password_codec
    if not users:
        raise MailprovError(_(
            "no user sends through SMTP with settings of their own on target '{target}': "
            "nothing to test. Give users an `smtp` section under `users:` and run `mailprov "
            "apply`").format(target=target.name))
    codec = get_codec(codec_name) if stored else None
    reports: dict[str, SendReport] = {}
    requests: list[CheckRequest] = []
    for user in users:
        identity = smtp_identity(user, live.general)
        assert identity is not None
        problem = incomplete(identity, user.code, target.name)
        if problem is not None:
            reports[user.code] = unusable_report(
                user, live.general, reason="incomplete-settings", message=problem, to=to,
                tls=tls, check_only=check_only)
            continue
        password = None
        if identity.login and user.code in stored and codec is not None:
            try:
                password = decode_password(codec, stored[user.code], user=user.code)
            except MailprovError as exc:
                reports[user.code] = unusable_report(
                    user, live.general, reason="password-unreadable", message=exc.message,
                    to=to, tls=tls, check_only=check_only)
                continue
        requests.append(CheckRequest(sending_settings(user, live.general, target.name),
                                     password=password, to=to, tls=tls,
                                     check_only=check_only))
    total, done_before = len(users), len(reports)
    if progress is not None:
        for done, report in enumerate(reports.values(), start=1):
            progress(done, total, report)

    def step(done: int, _count: int, report: SendReport) -> None:
        if progress is not None:
            progress(done_before + done, total, report)

    for report in check_many(requests, parallel=parallel, cafile=cafile,
                             timeout=timeout or DEFAULT_TIMEOUT, target=target.name,
                             debug=debug, progress=step):
        reports[report.user_code] = report
    return [reports[user.code] for user in users]


def _check_recipient(to: str | None, check_only: bool) -> None:
    """A recipient is needed to send, and must be an address (no line breaks that could
    smuggle SMTP commands). Test domains (`.test`) are accepted: a lab server is a fair
    place to send a test message."""
    from email_validator import EmailNotValidError, validate_email

    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.render.values import show

    if to is None:
        if not check_only:
            raise MailprovError(_("no recipient: give --to ADDRESS to send the test message, "
                                  "or --check to connect and log in without sending"))
        return
    try:
        validate_email(to, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise MailprovError(_("--to {address} is not an e-mail address: {reason}").format(
            address=show(to), reason=exc)) from None


# --- keys ---------------------------------------------------------------------------------------


def key_status() -> KeysStatus:
    """The password codec's key and the plan key: where each comes from, by fingerprint."""
    from mailprov.plan.plankey import keys_status

    return keys_status()


def key_init(*, plan: bool = False, force: bool = False) -> KeyChange:
    """Create the password codec's secret key (or, with `plan`, the plan key) in the OS
    keyring; an existing one is replaced only with `force`."""
    if plan:
        from mailprov.plan.plankey import init_plan_key

        return init_plan_key(force)
    from mailprov.passwords.keys import init_key

    return init_key(force)


def key_export(*, plan: bool = False) -> tuple[str, str]:
    """The key in use (the codec's, or the plan key) and the warning to show beside it
    about where it may go."""
    if plan:
        from mailprov.plan.plankey import (
            export_plan_key,
            export_plan_warning,
            plan_key_fingerprint,
        )

        text = export_plan_key()
        return text, export_plan_warning(plan_key_fingerprint(text))
    from mailprov.passwords.keys import export_key, export_warning, key_fingerprint

    text = export_key()
    return text, export_warning(key_fingerprint(text))


def key_import(text: str, *, plan: bool = False, force: bool = False) -> KeyChange:
    """Store a key exported elsewhere (the codec's, or the plan key) in the OS keyring."""
    if plan:
        from mailprov.plan.plankey import import_plan_key

        return import_plan_key(text, force)
    from mailprov.passwords.keys import import_key

    return import_key(text, force)


# --- fleets: several targets in one command ---------------------------------------------


def fleet_requested(names: Sequence[str] = (), *, all_targets: bool = False,
                    shard: str | Shard | None = None) -> bool:
    """Whether `-t`/`--all-targets`/`--shard` ask for a fleet (output in sections with a
    summary) rather than one target: several `-t`, a glob, --all-targets or --shard."""
    from mailprov.config.fleet import is_pattern
    from mailprov.config.targets import looks_like_url

    # a URL is one database, whatever `?` or `[` it holds (a query, an IPv6 address)
    return len(names) > 1 or all_targets or shard is not None \
        or any(is_pattern(n) and not looks_like_url(n) for n in names)


def select_targets(config: Config | None, names: Sequence[str] = (), *,
                   all_targets: bool = False, shard: str | Shard | None = None,
                   db_url: str | None = None) -> list[ResolvedTarget]:
    """The targets a command works on: `names` from `-t` (names, globs, or one database
    URL), `all_targets`, then the slice `shard` (`K/N`) takes (mailprov.config.fleet).

    `db_url` (`--db`, MAILPROV_DB_URL) names one database: it is refused when several
    targets are selected, rather than pointing all of them at it."""
    from mailprov.config.fleet import parse_shard, select_names
    from mailprov.config.targets import ENV_DB_URL, looks_like_url
    from mailprov.errors import TargetError
    from mailprov.i18n import _

    urls = [name for name in names if looks_like_url(name)]
    if urls:
        if len(names) > 1 or all_targets or shard is not None:
            raise TargetError(_("-t {url} names one database: it cannot be combined with other "
                                "targets, --all-targets or --shard; define the databases under "
                                "`targets` to work on several").format(url=_redacted(urls[0])))
        return [resolve_target(config, urls[0], db_url)]
    if isinstance(shard, str):
        shard = parse_shard(shard)
    defined = list(config.targets) if config else []
    if not defined and not names and not all_targets and shard is None:
        return [resolve_target(config, None, db_url)]  # --db alone, or the error saying so
    chosen = select_names(defined, names, all_targets=all_targets, shard=shard,
                          default=config.default_target if config else None)
    replacing = db_url or os.environ.get(ENV_DB_URL)
    if replacing and len(chosen) > 1:
        raise TargetError(_("--db (or MAILPROV_DB_URL) names one database, and {count} targets "
                            "are selected: unset it to work on several targets, or select one "
                            "with -t NAME").format(count=len(chosen)))
    return [resolve_target(config, name, db_url) for name in chosen]


def _redacted(url: str) -> str:
    from mailprov.config.urls import redact_text

    return redact_text(url)


def run_fleet(targets: Sequence[ResolvedTarget], task: Callable[[ResolvedTarget], R], *,
              exit_code: Callable[[R], int] = lambda _value: 0, parallel: int = 4,
              fail_fast: bool = False,
              on_done: Callable[[Outcome[R], int, int], None] | None = None) -> FleetRun[R]:
    """Run `task` on each target, `parallel` at a time (mailprov.fleet): any command of
    one target becomes a fleet command with its own `exit_code` for a value."""
    from mailprov.fleet.runner import run_fleet as _run

    return _run(targets, task, name=lambda target: target.name, exit_code=exit_code,
                parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def plan_fleet(config: Config, targets: Sequence[ResolvedTarget], *, parallel: int = 4,
               with_commit: bool = False, detailed_exitcode: bool = False,
               fail_fast: bool = False,
               on_done: Callable[[Outcome[Plan], int, int], None] | None = None
               ) -> FleetRun[Plan]:
    """Plan every target with the files loaded once. A target's exit code is what `plan`
    gives for it alone: 1 when its plan has errors, 2 for changes under
    `detailed_exitcode`, else 0 (a database error is 1, and that target's message)."""
    commit = _config_commit(config) if with_commit else None

    def code(result: Plan) -> int:
        if result.errors or result.policy_violations:
            return 1
        return 2 if detailed_exitcode and result.changes_present else 0

    return run_fleet(targets, lambda target: plan(config, target, with_commit=with_commit,
                                                  commit=commit),
                     exit_code=code, parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def apply_fleet(config: Config, targets: Sequence[ResolvedTarget], *, parallel: int = 4,
                approved: Mapping[str, Plan] | None = None, force: bool = False,
                lock_timeout: float = 10.0, fail_fast: bool = False,
                on_done: Callable[[Outcome[ApplyResult], int, int], None] | None = None
                ) -> FleetRun[ApplyResult]:
    """Apply the files to every target, each in its own transaction under its own lock
    (as `apply_config`). `approved`: the plan each target's person said yes to (a target
    missing from it is not applied). A failing target does not stop the others unless
    `fail_fast`."""
    from mailprov.errors import MailprovError
    from mailprov.i18n import _

    commit = _config_commit(config)

    def task(target: ResolvedTarget) -> ApplyResult:
        reviewed = None
        if approved is not None:
            reviewed = approved.get(target.name)
            if reviewed is None:
                raise MailprovError(_("not applied: target '{name}' has no approved plan").format(
                    name=target.name))
        return apply_config(config, target, approved=reviewed, force=force,
                            lock_timeout=lock_timeout, commit=commit)

    return run_fleet(targets, task, parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def drift_fleet(config: Config, targets: Sequence[ResolvedTarget], *, parallel: int = 4,
                strict: bool = False, fail_fast: bool = False,
                on_done: Callable[[Outcome[DriftReport], int, int], None] | None = None
                ) -> FleetRun[DriftReport]:
    """Report drift on every target: exit code 2 for a target that drifted (with
    `strict`, also for overrides no file lists), as `drift` gives it."""
    return run_fleet(targets, lambda target: drift(config, target),
                     exit_code=lambda r: 2 if r.drifted or (strict and r.unlisted) else 0,
                     parallel=parallel, fail_fast=fail_fast, on_done=on_done)


def save_fleet_plan(run: FleetRun[Plan], path: str | os.PathLike[str], *,
                    shard: str | None = None) -> bool:
    """Write a fleet's plans to one file, each signed with the plan key when one is set
    (returns whether they were); targets that could not be planned are named in it."""
    from mailprov.i18n import _
    from mailprov.plan.fleetfile import NotPlanned
    from mailprov.plan.fleetfile import save_fleet_plan as _save
    from mailprov.plan.planfile import plan_key

    key = plan_key()
    plans = [o.value for o in run.outcomes if o.value is not None]
    skipped = [NotPlanned(o.target, o.exit_code or 1, o.error or "")
               for o in run.outcomes if o.value is None and o.ran]
    skipped += [NotPlanned(o.target, 1, _("not planned: the run stopped first (--fail-fast)"))
                for o in run.outcomes if not o.ran]
    _save(plans, path, not_planned=skipped, key=key, shard=shard,
          order=[o.target for o in run.outcomes])
    return key is not None


def read_any_plan(path: str | os.PathLike[str]) -> SavedPlan | SavedFleetPlan:
    """A saved plan file: one target's plan, or a fleet's (mailprov.plan.fleetfile)."""
    from mailprov.plan.fleetfile import read_any_plan as _read

    return _read(path)


def apply_saved_fleet(saved: SavedFleetPlan, *, names: Sequence[str] = (),
                      db_url: str | None = None, parallel: int = 4, force: bool = False,
                      lock_timeout: float = 10.0, fail_fast: bool = False,
                      policies: Sequence[Policy] = (),
                      on_done: Callable[[Outcome[ApplyResult], int, int], None] | None = None
                      ) -> FleetRun[ApplyResult]:
    """Apply each plan of a fleet's file to its own target, each checked alone: its
    signature, its database, its staleness (a refused plan is that target's exit 3), and
    what it writes against its own policies and `policies` (a violation: exit 1).
    `names` (`-t`, globs allowed) keeps some of the file's targets. A target the file
    says could not be planned is reported as not applied (exit 1). `db_url` (`--db`,
    MAILPROV_DB_URL) may name the database of one target only."""
    from mailprov.config.fleet import select_names
    from mailprov.config.targets import ENV_DB_URL
    from mailprov.errors import MailprovError, TargetError
    from mailprov.i18n import _

    wanted = set(select_names(saved.targets, names)) if names else set(saved.targets)
    plans = {s.plan.target: s for s in saved.plans}
    skipped = {n.target: n for n in saved.not_planned}
    order = [name for name in saved.targets if name in wanted]
    if (db_url or os.environ.get(ENV_DB_URL)) and len(order) > 1:
        raise TargetError(_("--db (or MAILPROV_DB_URL) names one database, and {file} holds "
                            "the plans of {count} targets: unset it, or apply one of them "
                            "with -t NAME").format(file=saved.source, count=len(order)))

    def task(name: str) -> ApplyResult:
        if name in skipped:
            raise MailprovError(_("not applied: the plan file has no plan for this target, "
                                  "which could not be planned ({reason})").format(
                                      reason=skipped[name].message.split("\n", 1)[0]))
        return apply_saved(plans[name], db_url=db_url, force=force, lock_timeout=lock_timeout,
                           policies=policies)

    from mailprov.fleet.runner import run_fleet as _run

    return _run(order, task, name=lambda name: name, parallel=parallel, fail_fast=fail_fast,
                on_done=on_done)


# --- Office 365 – Modern Authentication ---------------------------------------------------


def office365_status(target: ResolvedTarget) -> Office365Status:
    """Who sends with Office 365 – Modern Authentication on the target, and whether each
    has authenticated in maestro* (mailprov.live.office365)."""
    from mailprov.live.office365 import office365_status as _status

    with open_database(target, read_only=True) as db:
        live = read_live(db)
    return _status(live, target.name, target.display_url)


def migrate_office365(configs: Sequence[str] | None = None, users: Sequence[str] | None = None,
                      *, variables: Mapping[str, Any] | Sequence[str] | None = None,
                      dry_run: bool = False) -> Migration:
    """Move every user the files send through smtp.office365.com with a password (those
    whose code matches one of the `users` globs, when given) to Office 365 – Modern
    Authentication, editing the files in place (mailprov.config.migrate). The edited files
    are checked first: they load, the users that move have the Office 365 mode with their
    login as account, every other user is as before. `dry_run`: nothing is written."""
    from pathlib import Path

    from mailprov.config.edit import write_checked
    from mailprov.config.load import load_config as _load
    from mailprov.config.load import parse_variables
    from mailprov.config.migrate import check_migration
    from mailprov.config.migrate import migrate_office365 as _migrate

    if variables is not None and not isinstance(variables, Mapping):
        variables = parse_variables(variables)
    names = list(configs) if configs else ["mailprov.yaml"]
    config = load_config(names, variables)
    migration = _migrate(config, users)
    if not migration.texts:
        return migration
    replacements = {Path(file): after.encode("utf-8")
                    for file, (_before, after) in migration.texts.items()}
    check_migration(config, _load(names, variables, replacements=replacements), migration)
    if not dry_run:
        for file, (_before, after) in migration.texts.items():
            write_checked(Path(file), after, lambda _replacements: None)
    return migration

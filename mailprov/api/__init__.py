"""The front door: one function per command, each delegating to the module that owns
the work (as alembic's `command.py` does). The CLI only parses arguments and renders
what these return.

The functions live in modules by job (plans, saved plans, secrets, fleets...) and are
all re-exported here: `from mailprov import api; api.plan(...)`. Heavy dependencies
(SQLAlchemy, jsonschema, keyring) are imported inside the functions that need them,
so importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

from mailprov.api.database import open_database, read_live, read_target
from mailprov.api.files import load_config, load_policies, schema_text, validate
from mailprov.api.fleet import (
    apply_fleet,
    apply_saved_fleet,
    drift_fleet,
    fleet_requested,
    plan_fleet,
    run_fleet,
    save_fleet_plan,
    select_targets,
)
from mailprov.api.live import explain, export_config, import_live
from mailprov.api.office365 import migrate_office365, office365_status
from mailprov.api.onboarding import init, sandbox
from mailprov.api.plans import apply, apply_config, check_safety, compute_plan, plan
from mailprov.api.saved import (
    apply_saved,
    load_plan,
    read_any_plan,
    read_saved_plan,
    save_plan,
    signature_status,
    target_of_plan,
)
from mailprov.api.secrets import (
    check_login,
    clear_password,
    key_export,
    key_import,
    key_init,
    key_status,
    login,
    password_status,
    password_user,
    set_password,
    test_send,
    test_send_all,
)
from mailprov.api.tracking import drift, history, history_applies, history_record, rollback
from mailprov.api.users import add_users, import_users, remove_users
from mailprov.config.targets import ResolvedTarget, resolve_target

__all__ = [
    "ApplyResult", "Database", "EditResult", "Explanation", "Export", "PasswordChange",
    "PasswordStatus", "PasswordUser", "Plan", "ResolvedTarget", "SavedPlan", "add_users",
    "apply", "apply_config", "apply_fleet", "apply_saved", "apply_saved_fleet", "check_login",
    "check_safety", "clear_password", "compute_plan", "drift", "drift_fleet", "explain",
    "export_config", "fleet_requested", "history", "history_applies", "history_record",
    "import_live", "import_users", "init", "key_export", "key_import", "key_init",
    "key_status", "load_config", "load_plan", "load_policies", "login", "migrate_office365",
    "office365_status", "open_database", "password_status", "password_user", "plan",
    "plan_fleet", "read_any_plan", "read_live", "read_saved_plan", "read_target", "remove_users",
    "resolve_target", "rollback", "run_fleet", "sandbox", "save_fleet_plan", "save_plan",
    "schema_text", "select_targets", "set_password", "signature_status", "target_of_plan",
    "test_send", "test_send_all", "validate",
]


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


"""What happened on a target: its history, drift from the files, rollbacks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mailprov.api.database import open_database, read_live
from mailprov.api.plans import compute_plan
from mailprov.config.targets import ResolvedTarget
from mailprov.i18n import _
from mailprov.model import Config, Policy, Safety

if TYPE_CHECKING:
    from mailprov.plan.drift import DriftReport
    from mailprov.plan.format import Plan
    from mailprov.plan.records import Applied, HistoryRecord


def history(target: ResolvedTarget, limit: int = 50) -> list[dict[str, Any]]:
    """The latest applies recorded on the target, newest first."""
    from mailprov.db.history import read_history

    with open_database(target, read_only=True) as db, db.connect() as conn, \
            db.errors(_("reading history from")):
        return [dict(row) for row in read_history(conn, db.tables, limit)]


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
        with translate_errors(db.url, _("reading history from")), db.engine.connect() as conn:
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
            translate_errors(db.url, _("reading history from")), db.engine.connect() as conn:
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
        with db.connect() as conn, db.errors(_("reading history from")):
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


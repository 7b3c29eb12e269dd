"""The base digest: a fingerprint of the general row and of every user row the
configuration manages.

Plan computes it from the live state it diffed; apply recomputes it inside its lock,
from the rows it re-reads with a row lock, and refuses the plan when it differs. The
managed rows are every user the files list (every user, with `prune: true`), not only
the rows the plan changes: two configurations that each change a different user of
the same set must not both apply on top of each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from mailprov.model import GeneralSettings, LiveState, LiveUser, MailSettings, stored_values

MISSING = "<missing user>"


def general_state(general: GeneralSettings) -> list[Any]:
    return [general.edition, general.client, general.server, general.port, general.ssl]


def user_state(override: MailSettings | None) -> list[Any] | None:
    """A user's override as fingerprinted: its values, or None when it is off."""
    return None if override is None else override.values()


def row_state(user: LiveUser) -> list[Any]:
    """A user row as fingerprinted: its code and its override."""
    return [user.code, user_state(user.override)]


def row_state_from_columns(code: Any, override: Any, *values: Any) -> list[Any]:
    """The same state straight from stored columns (code, override flag, then the
    OVERRIDE columns): apply's re-check reads rows, not model objects."""
    return [code, stored_values(values) if override else None]


def digest_rows(general: list[Any], rows: Iterable[tuple[int, Any]]) -> str:
    """Fingerprint the general row's state and the given `(number, state)` rows.

    Positional lists, not objects: the digest is recomputed at apply, under the lock,
    for every managed row, so its cost counts twice."""
    payload = [general, sorted(rows, key=itemgetter(0))]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def users_by_number(live: LiveState) -> Mapping[int, LiveUser]:
    return {u.number: u for u in live.users.values() if u.number is not None}


def base_digest(live: LiveState, managed: Iterable[int] | None) -> str:
    """Fingerprint of the general row and the user rows `managed` (None: every user)."""
    by_number = users_by_number(live)
    numbers = by_number.keys() if managed is None else managed
    rows = []
    for number in numbers:
        user = by_number.get(number)
        rows.append((number, MISSING if user is None else row_state(user)))
    return digest_rows(general_state(live.general), rows)


def states_digest(general: GeneralSettings, states: Mapping[int, Any],
                  managed: Iterable[int] | None) -> str:
    """The digest from re-read states (`number -> state`), as base_digest computes it.
    Every user: every row with a code (a row without one is not in the live state, see
    mailprov.db.read, and no plan can manage it)."""
    numbers = ([n for n, state in states.items() if state[0] is not None]
               if managed is None else managed)
    return digest_rows(general_state(general),
                       [(n, states.get(n, MISSING)) for n in numbers])

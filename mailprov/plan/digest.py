"""The base digest: a fingerprint of exactly the rows a plan changes, plus the general row.

Plan computes it from the live state it diffed; apply recomputes it inside its lock
from the rows it is about to write. A concurrent edit of an unrelated user therefore
does not make a saved plan stale, and an edit of a planned row always does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from mailprov.model import GeneralSettings, LiveState, MailSettings, stored_values
from mailprov.plan.format import GENERAL, USER_PREFIX

MISSING = "<missing user>"


def general_state(general: GeneralSettings) -> list[Any]:
    return [general.edition, general.client, general.server, general.port, general.ssl]


def user_state(override: MailSettings | None) -> list[Any] | None:
    """A user's fingerprinted state: its override's values, or None when it is off."""
    return None if override is None else override.values()


def user_state_from_row(override: Any, *values: Any) -> list[Any] | None:
    """The same state straight from stored column values in OVERRIDE order (apply's
    re-check reads rows, not model objects); agrees with
    `user_state(read.user_from_row(...).override)`."""
    return stored_values(values) if override else None


def row_state(live: LiveState, address: str) -> Any:
    """The logical state of one row, as fingerprinted."""
    if address == GENERAL:
        return general_state(live.general)
    user = live.users.get(address[len(USER_PREFIX):])
    return MISSING if user is None else user_state(user.override)


def digest_rows(general: list[Any], rows: Iterable[tuple[str, Any]]) -> str:
    """Fingerprint the general row's state and the given `(address, state)` rows.

    Positional lists, not objects: the digest is recomputed for every changed row at
    apply, under the lock, so its cost counts twice."""
    payload = [general, sorted(rows, key=itemgetter(0))]
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def base_digest(live: LiveState, addresses: Iterable[str]) -> str:
    """Fingerprint of the general row and the rows at `addresses`."""
    rows = [(a, row_state(live, a)) for a in addresses if a != GENERAL]
    return digest_rows(general_state(live.general), rows)

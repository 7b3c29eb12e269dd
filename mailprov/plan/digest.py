"""The base digest: a fingerprint of the general row and of every user row the
configuration manages.

Plan computes it from the rows it read; apply recomputes it inside its lock, from the
rows it re-reads, and refuses the plan when it differs. The managed rows are every user
the files list (every user, with `prune: true`), not only the rows the plan changes: two
configurations that each change a different user of the same set must not both apply
on top of each other. A managed user deleted since the plan drops out of the rows,
which changes the digest too.

User rows are fingerprinted as the database returned them, `(number, code, override
flag, *override columns)` (db.read.STATE_FIELDS), sorted by number: plan and apply read
the same columns of the same database (apply checks that first), so apply hashes the
driver's rows as they come, and its re-check costs little more than the read.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from mailprov.model import GeneralSettings, LiveState

Row = tuple[Any, ...]
_BY_NUMBER = itemgetter(0)


def general_state(general: GeneralSettings) -> tuple[Any, ...]:
    return (general.edition, general.client, general.server, general.port, general.ssl)


def digest_rows(general: GeneralSettings, rows: Iterable[Row]) -> str:
    """Fingerprint the general row and stored user rows (sorted here by number).

    marshal's version 2 writes text, numbers, booleans and None without references, so
    equal rows give equal bytes, three times faster than repr; anything else a driver
    might return falls back to repr."""
    payload = (general_state(general), sorted(rows, key=_BY_NUMBER))
    try:
        data = marshal.dumps(payload, 2)
    except ValueError:
        data = repr(payload).encode("utf-8", "surrogatepass")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def managed_rows(live: LiveState, managed: Sequence[int] | None) -> list[Row]:
    """The stored rows of the users `managed` (None: every user) that exist."""
    rows = live.stored_rows
    if managed is None:
        return list(rows.values())
    return [rows[n] for n in managed if n in rows]


def base_digest(live: LiveState, managed: Sequence[int] | None) -> str:
    """Fingerprint of the general row and the user rows `managed` (None: every user)."""
    return digest_rows(live.general, managed_rows(live, managed))

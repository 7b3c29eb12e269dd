"""Keys that look like secrets are forbidden in files: recognise them, and say how
passwords are given instead."""

from __future__ import annotations

import re

from mailprov.i18n import N_

_CONTAINS = ("password", "passwd", "passphrase", "secret", "token", "motdepasse",
             "credential", "apikey", "privatekey")
_EXACT_OR_SUFFIX = ("pwd", "pass", "mdp")
_NORMALISE = re.compile(r"[^a-z0-9]")

HOW_PASSWORDS_ARE_SET = N_(
    "passwords never go in mailprov files: each user types their own SMTP password "
    "in maestro* (Préférences > Courriel), and the database password comes from "
    "`mailprov login TARGET` or the MAILPROV_DB_PASSWORD environment variable; remove this key"
)
"""Marked only: translated (`_()`) where it is shown."""
HOW_PASSWORDS_ARE_SET_COLUMN = N_(
    "passwords never go in mailprov files: each user types their own SMTP password "
    "in maestro* (Préférences > Courriel), and the database password comes from "
    "`mailprov login TARGET` or the MAILPROV_DB_PASSWORD environment variable; remove this "
    "column"
)
"""The same, for a column of a CSV user list."""


def looks_like_secret(key: str) -> bool:
    """True for `password`, `smtp_pwd`, `mot_de_passe`, `api-token`, ..."""
    norm = _NORMALISE.sub("", key.lower())
    if any(word in norm for word in _CONTAINS):
        return True
    return any(norm == word or norm.endswith(word) for word in _EXACT_OR_SUFFIX)

"""A reference-model database filled with plausible users, for trying mailprov safely."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, inspect

from mailprov.db.tables import Tables
from mailprov.errors import MailprovError
from mailprov.i18n import _

FIRST_NAMES = (
    "Jean", "Marie", "Luc", "Sylvie", "Martin", "Isabelle", "Éric", "Nathalie", "Stéphane",
    "Julie", "François", "Geneviève", "Mathieu", "Mélanie", "Simon", "Caroline", "Patrick",
    "Chantal", "Alexandre", "Véronique", "Maxime", "Annie", "Guillaume", "Josée", "Sébastien",
    "Karine", "Olivier", "Émilie", "Frédéric", "Audrey", "Benoît", "Catherine", "Denis",
    "Hélène", "Gabriel", "Louise", "Philippe", "Manon", "Yves", "Chloé", "Réjean", "Ginette",
    "Gaétan", "Lise", "Normand", "Diane", "Samuel", "Léa", "Antoine", "Camille",
)
LAST_NAMES = (
    "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin",
    "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "Paquette",
    "Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé", "Poirier",
    "Fournier", "Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault", "St-Pierre", "Nadeau",
    "Martin", "Landry", "Martel", "Bédard", "Grenier", "Lessard", "Bernier", "Richard",
    "Michaud", "Hébert", "Desjardins", "Couture", "Turcotte", "Lachance", "Parent", "Blais",
    "Gosselin", "Savard", "Proulx", "Beaudoin", "Demers", "Perreault", "Boudreau", "Lemieux",
    "Cyr", "Perron", "Dufour", "Dion", "Mercier", "Bolduc", "Bérubé", "Boivin", "Langlois",
    "Ménard", "Drouin", "Vachon", "Tanguay",
)
SHARED_MAILBOXES = (
    ("COMPTA", "Comptabilité"), ("COORD", "Coordination de chantier"),
    ("RECEPTION", "Réception"), ("PAIE", "Paie"), ("ACHATS", "Achats"),
    ("ESTIMATION", "Estimation"),
)
DOMAIN = "example.com"


@dataclass(frozen=True)
class SandboxUser:
    user_no: int
    code: str
    name: str
    shared: bool = False  # a shared mailbox (COMPTA, PAIE...), not a person
    # model version 2: the Office 365 account of a user who sends with Office 365 – Modern
    # Authentication, and when they authenticated in maestro* (None: not yet)
    office365: str | None = None
    authenticated_at: datetime | None = None


OFFICE365_EVERY = 4
"""In a version-2 sandbox, one person in four sends with Office 365 (shared mailboxes never)."""
AUTHENTICATED_FROM = datetime(2026, 11, 2, 8, 30)


def with_office365(users: list[SandboxUser], edition: str) -> list[SandboxUser]:
    """The sample users as a version-2 sandbox holds them: every OFFICE365_EVERY-th person
    sends with Office 365 (account: their address; maestro*CLOUD: the user code), and
    every other one of those has authenticated already."""
    out = []
    people = 0
    for user in users:
        if user.shared:
            out.append(user)
            continue
        people += 1
        if people % OFFICE365_EVERY:
            out.append(user)
            continue
        nth = people // OFFICE365_EVERY
        email = user.code if edition == "cloud" else f"{user.code.lower()}@{DOMAIN}"
        when = AUTHENTICATED_FROM + timedelta(days=nth, minutes=7 * nth) if nth % 2 else None
        out.append(replace(user, office365=email, authenticated_at=when))
    return out


def _ascii_upper(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.upper() if c.isalnum())


def sample_users(count: int, edition: str = "standard", seed: int = 7) -> list[SandboxUser]:
    """Exactly `count` users: shared mailboxes first, then people (JTREMBLAY, JTREMBLAY2...)."""
    rng = random.Random(seed)
    users: list[SandboxUser] = []
    taken: set[str] = set()
    cloud = edition == "cloud"

    def add(code: str, name: str, shared: bool = False) -> None:
        if cloud:
            code = f"{code.lower()}@{DOMAIN}"
        base, n = code, 2
        while code in taken:
            code = (f"{base.split('@')[0]}{n}@{DOMAIN}" if cloud else f"{base}{n}")
            n += 1
        taken.add(code)
        users.append(SandboxUser(len(users) + 1, code, name, shared))

    for code, name in SHARED_MAILBOXES[: max(0, min(len(SHARED_MAILBOXES), count // 5 or 1))]:
        if len(users) < count:
            add(code, name, shared=True)
    while len(users) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if cloud:
            add(f"{_ascii_upper(first)}.{_ascii_upper(last)}", f"{first} {last}")
        else:
            add(_ascii_upper(first)[0] + _ascii_upper(last)[:11], f"{first} {last}")
    return users


def create_sandbox(engine: Engine, tables: Tables, *, users: int, edition: str,
                   force: bool) -> list[SandboxUser]:
    """Create the reference tables of `tables`' model version and fill them; refuse
    existing tables unless `force`. Version 2 has some Office 365 users (with_office365)."""
    from mailprov.db.read import mode_value
    from mailprov.db.version import forget_detected

    names = (tables.general.name, tables.users.name, tables.history.name)
    with engine.connect() as conn:
        existing = [n for n in names if inspect(conn).has_table(n, schema=tables.mapping.schema)]
    if existing and not force:
        raise MailprovError(_(
            "the database already has table(s) {tables}: refusing to overwrite. Use another "
            "database, or `--force` to drop and re-create them.").format(
                tables=", ".join(existing)))
    metadata = tables.general.metadata
    sample = sample_users(users, edition)
    if tables.version >= 2:
        sample = with_office365(sample, edition)
    forget_detected()  # the database's tables are about to change
    with engine.begin() as conn:
        metadata.drop_all(conn, checkfirst=True)
        metadata.create_all(conn)
        g = tables.mapping.general_columns
        conn.execute(insert(tables.general).values({
            tables.mapping.general_key_column: tables.mapping.general_key_value,
            g["edition"]: edition, g["client"]: "smtp" if edition == "cloud" else "outlook",
            g["ssl"]: False,
        }))
        u = tables.mapping.user_columns
        rows = []
        for user in sample:
            row = {u["number"]: user.user_no, u["code"]: user.code, u["name"]: user.name,
                   u["override"]: False}
            if tables.version >= 2:
                mode = "office365" if user.office365 else None
                row.update({u["mode"]: mode_value(tables, mode), u["email"]: user.office365,
                            u["authenticated_at"]: user.authenticated_at})
            rows.append(row)
        for start in range(0, len(rows), 1000):
            conn.execute(insert(tables.users), rows[start:start + 1000])
    forget_detected()
    return sample

"""A reference-model database filled with plausible users, for trying mailprov safely."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import Engine, insert, inspect

from mailprov.db.tables import Tables
from mailprov.errors import MailprovError

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

    def add(code: str, name: str) -> None:
        if cloud:
            code = f"{code.lower()}@{DOMAIN}"
        base, n = code, 2
        while code in taken:
            code = (f"{base.split('@')[0]}{n}@{DOMAIN}" if cloud else f"{base}{n}")
            n += 1
        taken.add(code)
        users.append(SandboxUser(len(users) + 1, code, name))

    for code, name in SHARED_MAILBOXES[: max(0, min(len(SHARED_MAILBOXES), count // 5 or 1))]:
        if len(users) < count:
            add(code, name)
    while len(users) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if cloud:
            add(f"{_ascii_upper(first)}.{_ascii_upper(last)}", f"{first} {last}")
        else:
            add(_ascii_upper(first)[0] + _ascii_upper(last)[:11], f"{first} {last}")
    return users


def create_sandbox(engine: Engine, tables: Tables, *, users: int, edition: str,
                   force: bool) -> list[SandboxUser]:
    """Create the reference tables and fill them; refuse existing tables unless `force`."""
    names = (tables.general.name, tables.users.name, tables.history.name)
    with engine.connect() as conn:
        existing = [n for n in names if inspect(conn).has_table(n, schema=tables.mapping.schema)]
    if existing and not force:
        raise MailprovError(
            f"the database already has table(s) {', '.join(existing)}: refusing to overwrite. "
            "Use another database, or `--force` to drop and re-create them."
        )
    metadata = tables.general.metadata
    sample = sample_users(users, edition)
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
        rows = [{u["number"]: s.user_no, u["code"]: s.code, u["name"]: s.name,
                 u["override"]: False} for s in sample]
        for start in range(0, len(rows), 1000):
            conn.execute(insert(tables.users), rows[start:start + 1000])
    return sample

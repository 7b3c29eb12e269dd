"""What each version of the reference model offers, so that a feature a target lacks is
refused before anything is written, with a message that names the version.

Version 1 is the model of the seed (maestro* before 3.05): clients other, outlook,
lotus_notes, smtp; one per-user mode, the SMTP section. Version 2 is maestro* 3.05:
Office 365 – Modern Authentication as a default client and as a per-user mode (the
optional columns `mail_mode`, `o365_email`, `o365_authenticated_at`), and no Lotus
Notes. A target's version is read from its schema (mailprov.db.version) unless its
mapping file declares it (`model_version:`).
"""

from __future__ import annotations

import msgspec

from mailprov.i18n import N_, _
from mailprov.model.settings import OFFICE365_MODE, SMTP_MODE


class ModelVersion(msgspec.Struct, frozen=True):
    """One version of the reference model: the maestro* releases it stands for, the
    default mail clients they offer, and the per-user modes."""

    number: int
    maestro: str
    clients: tuple[str, ...]
    modes: tuple[str, ...]

    def offers_client(self, client: str) -> bool:
        return client in self.clients

    def offers_mode(self, mode: str) -> bool:
        return mode in self.modes

    def cloud_clients(self) -> tuple[str, ...]:
        """maestro*CLOUD has no desktop mail program (and so no Outlook mode): SMTP, and
        from 3.05 on Office 365 – Modern Authentication, which sends through Exchange
        Online's SMTP service with OAuth 2.0."""
        return tuple(c for c in self.clients if c in ("smtp", "office365"))


VERSIONS: dict[int, ModelVersion] = {
    1: ModelVersion(1, "before 3.05", ("other", "outlook", "lotus_notes", "smtp"),
                    (SMTP_MODE.name,)),
    2: ModelVersion(2, "3.05", ("other", "outlook", "office365", "smtp"),
                    (SMTP_MODE.name, OFFICE365_MODE.name)),
}

CLIENT_LABELS = {
    "other": N_("Other e-mail software (Autre logiciel de courriel)"),
    "outlook": "Microsoft Outlook",
    "lotus_notes": "Lotus Notes",
    "smtp": N_("SMTP – Other (SMTP – Autre)"),
    "office365": N_("Office 365 – Modern Authentication (Office 365 – Authentification "
                    "moderne)"),
}
"""The clients as maestro*'s own list names them (the French label in brackets), marked
for translation: show them with client_label()."""


def client_label(client: str) -> str:
    """maestro*'s name of `client` in the chosen language (in French, its French label
    alone); an unknown client as it is."""
    label = CLIENT_LABELS.get(client)
    return _(label) if label else client


def version(number: int) -> ModelVersion:
    """The ModelVersion `number` (1 or 2); ValueError for any other."""
    try:
        return VERSIONS[number]
    except KeyError:
        raise ValueError(_("no reference model version {number}").format(
            number=number)) from None

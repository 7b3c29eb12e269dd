"""Where each setting is seen in maestro*, and what people call it.

An approver who does not read YAML checks a change in maestro* itself: every setting
a plan shows comes with its menu path (the French labels are maestro*'s own).
"""

from __future__ import annotations

from mailprov.i18n import N_, _
from mailprov.render.values import show

GENERAL_CLIENT = (N_("General configurations"), "Généralités", "« Logiciel de courriel »")
GENERAL_SMTP = (N_("General configurations"), "Divers",
                "« Configuration du compte de courriel SMTP »")
USER_SECTION = (N_("Security management"), "", "Description",
                "« Configuration de courriel spécifique à cet usager »")
PASSWORD = (N_("Preferences"), "Courriel", "Gestion de mon compte")
USER_MODE = (N_("Security management"), "", "Description", "« Configuration d'envoi »")
AUTHENTICATE = (N_("Preferences"), "Courriel", "Authentifier")

_LABELS = {
    "client": N_("Mail client (Logiciel de courriel)"),
    "smtp.server": N_("SMTP server"),
    "smtp.port": N_("Port"),
    "smtp.ssl": N_("SSL (Utiliser l'encodage SSL)"),
    "username": N_("SMTP login"),
    "from": N_("From address"),
    "server": N_("Server"),
    "port": N_("Port"),
    "ssl": N_("SSL"),
    "mode": N_("Sending mode (Configuration d'envoi)"),
    "email": N_("Office 365 account"),
}


def label(setting: str) -> str:
    """The name people know a setting by (`from` -> From address)."""
    text = _LABELS.get(setting)
    return _(text) if text else setting


def menu_path(setting: str, user: str | None = None) -> str:
    """`General configurations > Divers > « Configuration du compte de courriel SMTP »`
    for `smtp.port`; a user's own settings name the user."""
    steps: tuple[str, ...]
    if setting == "client":
        steps = GENERAL_CLIENT
    elif setting.startswith("smtp."):
        steps = GENERAL_SMTP
    elif setting == "password":
        steps = PASSWORD
    elif setting == "authenticate":
        steps = AUTHENTICATE
    elif setting in ("mode", "email"):
        steps = USER_MODE
    else:
        steps = USER_SECTION
    shown = [_(step) if step else step for step in steps]
    if steps in (USER_SECTION, USER_MODE):  # the user by number or name
        shown[1] = show(user) if user else _("the user")
    return " > ".join(shown)

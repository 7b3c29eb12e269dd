"""Where each setting is seen in maestro*, and what people call it.

An approver who does not read YAML checks a change in maestro* itself: every setting
a plan shows comes with its menu path. The names are maestro*'s own French UI names
(its guide, « Configurer les envois de courriels à partir de maestro* »): in English
next to an English name, in French alone and followed by the YAML key. A whole path is
one message, so that a translation may give every step maestro*'s menus go through.
"""

from __future__ import annotations

from mailprov.i18n import N_, _, language
from mailprov.render.values import show

# Translators: a menu path in maestro*'s French UI; in French give the whole path from
# maestro*'s main menu, with maestro*'s own names (guillemets around a section's title).
GENERAL_CLIENT = N_("General configurations > Généralités > « Logiciel de courriel »")
# Translators: a menu path in maestro*'s French UI (see above).
GENERAL_SMTP = N_("General configurations > Divers > « Configuration du compte de courriel "
                  "SMTP »")
# Translators: a menu path in maestro*'s French UI; {user} is a user code, or "the user".
USER_SECTION = N_("Security management > {user} > Description > « Configuration de courriel "
                  "spécifique à cet usager »")
# Translators: a menu path in maestro*'s French UI; {user} is a user code, or "the user".
USER_MODE = N_("Security management > {user} > Description > « Configuration d'envoi »")
# Translators: a menu path in maestro*'s French UI (each user's own preferences).
PASSWORD = N_("Préférences > Courriel > Gestion de mon compte")
# Translators: a menu path in maestro*'s French UI (each user's own preferences).
AUTHENTICATE = N_("Préférences > Courriel > Authentifier")

# Each setting: its English name (as English plans have always said it), maestro*'s own
# French name for the field (not a translation: what maestro*'s screens say, in every
# language) and its YAML key.
_SETTINGS = {
    "client": (N_("Mail client (Logiciel de courriel)"), "Logiciel de courriel",
               "general.client"),
    "smtp.server": (N_("SMTP server"), "Serveur", "general.smtp.server"),
    "smtp.port": (N_("Port"), "Port", "general.smtp.port"),
    "smtp.ssl": (N_("SSL (Utiliser l'encodage SSL)"), "Utiliser l’encodage SSL",
                 "general.smtp.ssl"),
    "username": (N_("SMTP login"), "Nom d’usager", "smtp.username"),
    "from": (N_("From address"), "Adresse «\u00a0de\u00a0»", "smtp.from"),
    "server": (N_("Server"), "Serveur", "smtp.server"),
    "port": (N_("Port"), "Port", "smtp.port"),
    "ssl": (N_("SSL"), "Utiliser l’encodage SSL", "smtp.ssl"),
    "mode": (N_("Sending mode (Configuration d'envoi)"), "Configuration d’envoi",
             "smtp / office365"),
    "email": (N_("Office 365 account"), "Compte Office 365", "office365.email"),
}


def label(setting: str) -> str:
    """The name people know a setting by: `From address` in English; in French
    maestro*'s own name next to the YAML key, `Adresse « de » (smtp.from)`."""
    entry = _SETTINGS.get(setting)
    if entry is None:
        return setting
    english, maestro, key = entry
    if language() == "en":
        return english
    # Translators: a setting named as maestro*'s screens do, then its YAML key
    return _("{name} ({key})").format(name=maestro, key=key)


def setting_name(setting: str) -> str:
    """How a text plan or `explain` names a setting: the bare YAML key in English (the
    output scripts and habits know), maestro*'s name and the key in other languages."""
    return setting if language() == "en" or setting not in _SETTINGS else label(setting)


def menu_path(setting: str, user: str | None = None) -> str:
    """`General configurations > Divers > « Configuration du compte de courriel SMTP »`
    for `smtp.port`; a user's own settings name the user."""
    if setting == "client":
        path = GENERAL_CLIENT
    elif setting.startswith("smtp."):
        path = GENERAL_SMTP
    elif setting == "password":
        path = PASSWORD
    elif setting == "authenticate":
        path = AUTHENTICATE
    elif setting in ("mode", "email"):
        path = USER_MODE
    else:
        path = USER_SECTION
    # the user by code (escaped as values are); never a translation's placeholder
    return _(path).format(user=show(user) if user else _("the user"))

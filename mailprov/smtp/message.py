"""The test message: what a person who receives it needs to know, in French and English.

It is bilingual on purpose (maestro*'s users read French, many IT teams
English), so its text is not translated. It names the maestro* user, the
target and the settings tested, never the password.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailprov.smtp.settings import SmtpSettings, TlsMode

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_TLS_LABELS = {"starttls": "STARTTLS", "implicit": "TLS implicite / implicit TLS",
               "none": "aucun / none"}


def _safe(text: str | None, default: str = "-") -> str:
    """One line, no control characters: values come from a database and go into headers."""
    cleaned = _UNSAFE.sub(" ", text or "").strip()
    return cleaned or default


def message_domain(settings: SmtpSettings) -> str:
    """The right-hand side of the Message-ID: the From address's domain (the sender's
    own, as mail programs do), else the SMTP server's name; never a DNS look-up."""
    address = settings.from_address or settings.username or ""
    if "@" in address:
        domain = _safe(address.rsplit("@", 1)[1], "")
        if domain and all(c.isalnum() or c in ".-" for c in domain):
            return domain
    return _safe(settings.server, "localhost").replace(" ", "")


def build_test_message(settings: SmtpSettings, *, to: str, tls: TlsMode,
                       target: str | None = None, now: datetime | None = None) -> EmailMessage:
    """A MIME message (Date, Message-ID, From, To, UTF-8 subject, text body)."""
    if not settings.from_address:
        raise ValueError("the test message needs a From address")
    sent = (now or datetime.now()).astimezone()
    code = _safe(settings.user_code)
    name = _safe(settings.user_name, "")
    who = f"{code} ({name})" if name else code
    where = _safe(target, "")
    facts = [
        ("Serveur", "Server", _safe(settings.server)),
        ("Port", "Port", str(settings.port)),
        ("Chiffrement", "Encryption", _TLS_LABELS[tls]),
        ("Nom d'usager SMTP", "SMTP login", _safe(settings.username)),
        ("Expéditeur (From)", "From", _safe(settings.from_address)),
        ("Envoyé le", "Sent", format_datetime(sent)),
    ]
    if where:
        facts.insert(0, ("Base maestro*", "maestro* database", where))
    width = max(len(fr) for fr, _en, _v in facts)
    width_en = max(len(en) for _fr, en, _v in facts)
    body = "\n".join([
        f"Ceci est un message de test envoyé par mailprov avec les paramètres SMTP de "
        f"l'usager maestro* {who}.",
        "Si vous le recevez, maestro* peut envoyer du courriel avec ces paramètres.",
        "",
        *(f"  {fr.ljust(width)} : {value}" for fr, _en, value in facts),
        "",
        "Le mot de passe n'est jamais inclus dans ce message.",
        "",
        "---",
        "",
        f"This is a test message sent by mailprov with the SMTP settings of maestro* "
        f"user {who}.",
        "If you receive it, maestro* can send e-mail with these settings.",
        "",
        *(f"  {en.ljust(width_en)}: {value}" for _fr, en, value in facts),
        "",
        "The password is never included in this message.",
        "",
    ])
    message = EmailMessage()
    message["Subject"] = f"Test d'envoi maestro* – {who} / maestro* test message"
    message["From"] = settings.from_address
    message["To"] = to
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid("mailprov", domain=message_domain(settings))
    message["Auto-Submitted"] = "auto-generated"
    message["X-Mailer"] = "mailprov test-send"
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message

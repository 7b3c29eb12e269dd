"""The test message on its own: headers, encodings, and what values from a database cannot do."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email import message_from_bytes

import pytest

from mailprov.smtp.message import build_test_message, message_domain
from mailprov.smtp.settings import SmtpSettings

SETTINGS = SmtpSettings(server="smtp.office365.com", port=587, ssl=True,
                        username="jtremblay@acme-construction.ca",
                        from_address="comptabilite@acme-construction.ca",
                        user_code="JTREMBLAY", user_name="Jérôme Tremblay")
NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def test_headers_and_body() -> None:
    message = build_test_message(SETTINGS, to="it@acme-construction.ca", tls="starttls",
                                 target="prod", now=NOW)
    raw = message.as_bytes(policy=email.policy.SMTP)
    parsed = message_from_bytes(raw, policy=email.policy.default)

    assert raw.isascii() and b"\r\n" in raw
    assert parsed["Subject"] == ("Test d'envoi maestro* – JTREMBLAY (Jérôme Tremblay) / "
                                 "maestro* test message")
    assert parsed["From"] == "comptabilite@acme-construction.ca"
    assert parsed["To"] == "it@acme-construction.ca"
    assert parsed["Date"].datetime == NOW
    assert parsed["Message-ID"].endswith(".mailprov@acme-construction.ca>")
    assert parsed["Auto-Submitted"] == "auto-generated"
    body = parsed.get_content()
    assert body.splitlines()[:3] == [
        "Ceci est un message de test envoyé par mailprov avec les paramètres SMTP de l'usager "
        "maestro* JTREMBLAY (Jérôme Tremblay).",
        "Si vous le recevez, maestro* peut envoyer du courriel avec ces paramètres.",
        "",
    ]
    assert "  Serveur           : smtp.office365.com" in body.splitlines()
    assert "  Expéditeur (From) : comptabilite@acme-construction.ca" in body.splitlines()
    assert "  SMTP login       : jtremblay@acme-construction.ca" in body.splitlines()
    assert "  Encryption       : STARTTLS" in body.splitlines()


def test_two_messages_have_different_message_ids() -> None:
    first = build_test_message(SETTINGS, to="a@b.ca", tls="none")
    second = build_test_message(SETTINGS, to="a@b.ca", tls="none")
    assert first["Message-ID"] != second["Message-ID"]


def test_a_name_with_line_breaks_cannot_add_headers() -> None:
    hostile = SmtpSettings("smtp.example.com", 587, True, "a@example.com", "a@example.com",
                           user_code="X\r\nBcc: victim@example.com", user_name="N\nY")
    message = build_test_message(hostile, to="it@example.com", tls="starttls", now=NOW)
    parsed = message_from_bytes(message.as_bytes(policy=email.policy.SMTP),
                                policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == ("Test d'envoi maestro* – X Bcc: victim@example.com (N Y) / "
                                 "maestro* test message")


def test_message_id_domain_falls_back_to_the_server() -> None:
    no_address = SmtpSettings("mail.example.org", 25, False, "COMPTA", None)
    assert message_domain(no_address) == "mail.example.org"
    assert message_domain(SETTINGS) == "acme-construction.ca"


def test_no_from_address_no_message() -> None:
    with pytest.raises(ValueError, match="needs a From address"):
        build_test_message(SmtpSettings("s", 25, False, None, None), to="a@b.ca", tls="none")

"""Who sends through SMTP, and with what (mailprov.model.sending): pure, no database."""

from __future__ import annotations

from mailprov.model import GeneralSettings, LiveUser, MailSettings
from mailprov.model.sending import SmtpIdentity, smtp_identity

GENERAL = GeneralSettings("standard", "outlook", "smtp.example.com", 587, True)
CLOUD = GeneralSettings("cloud", "smtp", "smtp.office365.com", 587, True)


def user(code: str, override: MailSettings | None = None) -> LiveUser:
    return LiveUser(code, code.title(), override, 1)


def test_an_override_sends_with_its_own_values() -> None:
    own = MailSettings("compta@example.com", "compta@example.com", "relay.example.com", 25,
                       False)
    assert smtp_identity(user("COMPTA", own), GENERAL) == SmtpIdentity(
        "override", "compta@example.com", "compta@example.com", "relay.example.com", 25, False)


def test_what_an_override_leaves_empty_is_the_general_accounts() -> None:
    partial = MailSettings("compta@example.com", "compta@example.com", None, None, None)
    assert smtp_identity(user("COMPTA", partial), GENERAL) == SmtpIdentity(
        "override", "compta@example.com", "compta@example.com", "smtp.example.com", 587, True)


def test_an_override_without_a_login_needs_no_password() -> None:
    relay = MailSettings(None, "relay@example.com", "relay.example.com", 25, False)
    identity = smtp_identity(user("RECEPTION", relay), GENERAL)
    assert identity is not None and identity.login is None


def test_outside_the_cloud_only_an_override_gives_a_login() -> None:
    assert smtp_identity(user("JTREMBLAY"), GENERAL) is None
    smtp_general = GeneralSettings("standard", "smtp", "smtp.example.com", 587, True)
    assert smtp_identity(user("JTREMBLAY"), smtp_general) is None  # no From of their own


def test_in_the_cloud_the_user_code_is_login_and_from() -> None:
    code = "compta@example.com"
    assert smtp_identity(user(code), CLOUD) == SmtpIdentity(
        "general", code, code, "smtp.office365.com", 587, True)
    section = MailSettings(None, None, None, 465, None)
    assert smtp_identity(user(code, section), CLOUD) == SmtpIdentity(
        "override", code, code, "smtp.office365.com", 465, True)

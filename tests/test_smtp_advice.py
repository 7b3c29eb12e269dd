"""The advice table: failures users meet, from symptom to reason and whole advice text.

The servers of test_smtp_session.py produce most of these for real; the ones a test server
cannot (port 465 itself, Microsoft's 530 5.7.57, a relay refusal) are checked here.
"""

from __future__ import annotations

import string

import pytest

from mailprov.smtp.advice import FALLBACK, RULES, Symptom, diagnose, enhanced_status


def symptom(step: str, kind: str, **kwargs: object) -> Symptom:
    base: dict[str, object] = {"server": "smtp.office365.com", "port": 587, "tls": "starttls",
                               "username": "paie@acme.ca", "from_address": "paie@acme.ca",
                               "to": "it@acme.ca", "timeout": 30.0, "password_given": True}
    base.update(kwargs)
    return Symptom(step=step, kind=kind, **base)  # type: ignore[arg-type]


def test_starttls_on_port_465_says_use_587() -> None:
    assert diagnose(symptom("greeting", "timeout", port=465)) == (
        "implicit-tls-port",
        "Port 465 expects implicit TLS (SMTPS), which maestro* does not speak: its SSL "
        "checkbox means STARTTLS, so it waits until it times out. Use port 587 with SSL "
        "checked.")


def test_implicit_tls_that_times_out_is_not_blamed_on_465() -> None:
    reason, _advice = diagnose(symptom("greeting", "timeout", port=465, tls="implicit"))
    assert reason == "timeout"


@pytest.mark.parametrize(("step", "code", "text", "reason"), [
    ("auth", 535, "5.7.8 Authentication credentials invalid", "bad-credentials"),
    ("auth", 535, "5.7.3 Authentication unsuccessful", "bad-credentials"),
    ("auth", 535, "Authentication failed", "bad-credentials"),
    ("auth", 535, "5.7.139 Authentication unsuccessful, the user credentials were incorrect",
     "basic-auth-disabled"),
    ("auth", 550, "5.7.30 Basic authentication is not supported for Client Submission.",
     "basic-auth-disabled"),
    ("mail", 530, "5.7.57 Client not authenticated to send mail.", "auth-required"),
    ("mail", 530, "5.7.0 Authentication required", "auth-required"),
    ("auth", 538, "5.7.11 Encryption required for requested authentication mechanism",
     "auth-needs-tls"),
    ("data", 554, "5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException."
     "MapiExceptionSendAsDenied; Failed to process message", "send-as-denied"),
    ("mail", 550, "5.7.60 SMTP; Client does not have permissions to send as this sender",
     "send-as-denied"),
    ("mail", 553, "5.7.1 <paie@acme.ca>: Sender address rejected: not owned by user x",
     "send-as-denied"),
    ("mail", 550, "5.1.8 Bad sender domain", "sender-rejected"),
    ("rcpt", 554, "5.7.1 <it@acme.ca>: Relay access denied", "relay-denied"),
    ("rcpt", 550, "5.1.1 User unknown", "recipient-rejected"),
    ("auth", 454, "4.7.0 Temporary authentication failure", "temporary-failure"),
    ("data", 552, "5.3.4 Message size exceeds fixed limit", "message-rejected"),
    ("ehlo", 502, "5.5.2 Error: command not recognized", "smtp-error"),
])
def test_server_replies(step: str, code: int, text: str, reason: str) -> None:
    got, advice = diagnose(symptom(step, "reply", code=code, enhanced=enhanced_status(text),
                                   text=text, username=None if code == 530 else "paie@acme.ca"),
                           text)
    assert got == reason
    assert "{" not in advice and advice.endswith(".")


def test_whole_texts_for_the_microsoft_cases() -> None:
    assert diagnose(symptom("mail", "reply", code=530, enhanced="5.7.57", username=None,
                            password_given=False)) == (
        "auth-required",
        "smtp.office365.com requires authentication before sending: set the SMTP login "
        "(username) for this user, and check that maestro* has their password.")
    assert diagnose(symptom("rcpt", "reply", code=550, enhanced="5.7.1",
                            text="5.7.1 Unable to relay")) == (
        "relay-denied",
        "smtp.office365.com refuses to relay to it@acme.ca: it sends only for authenticated "
        "users or known addresses. Set an SMTP login and password, or have this machine's "
        "address allowed.")
    assert diagnose(symptom("auth", "no-auth-mechanism", mechanisms=("XOAUTH2",))) == (
        "no-auth-mechanism",
        "smtp.office365.com offers no password mechanism maestro* can use (it offers: "
        "XOAUTH2). An Office 365 account that allows only modern authentication needs "
        "maestro*'s \"Office 365 – Modern Authentication\" mode.")


@pytest.mark.parametrize(("step", "kind", "reason"), [
    ("resolve", "dns", "dns-failure"),
    ("connect", "refused", "connection-refused"),
    ("connect", "timeout", "connect-timeout"),
    ("connect", "unreachable", "network-unreachable"),
    ("tls", "not-tls", "plain-port-with-implicit-tls"),
    ("starttls", "certificate-untrusted", "certificate-untrusted"),
    ("starttls", "certificate-name", "certificate-name-mismatch"),
    ("starttls", "certificate-expired", "certificate-expired"),
    ("starttls", "tls", "tls-failed"),
    ("starttls", "starttls-not-offered", "starttls-not-offered"),
    ("auth", "auth-not-offered", "auth-not-offered"),
    ("mail", "no-from-address", "no-from-address"),
    ("data", "timeout", "timeout"),
    ("rcpt", "disconnected", "disconnected"),
    ("mail", "encoding", "smtp-error"),
])
def test_errors_without_a_reply(step: str, kind: str, reason: str) -> None:
    assert diagnose(symptom(step, kind))[0] == reason


def test_auth_not_offered_in_plain_text_points_at_starttls() -> None:
    assert diagnose(symptom("auth", "auth-not-offered", tls="none", starttls_offered=True)) == (
        "auth-needs-tls",
        "smtp.office365.com accepts the password only over an encrypted connection: check "
        "\"Utiliser l'encodage SSL\" (ssl: true) so that maestro* uses STARTTLS.")


def test_every_advice_uses_only_known_placeholders() -> None:
    known = {"server", "port", "tls", "step", "code", "username", "from_address", "to",
             "timeout", "mechanisms", "detail"}
    for rule in (*RULES, FALLBACK):
        fields = {name for _text, name, _spec, _conv in string.Formatter().parse(rule.advice)
                  if name}
        assert fields <= known, rule.reason
    reasons = [rule.reason for rule in RULES]
    assert len(reasons) == len(set(reasons))


@pytest.mark.parametrize(("text", "expected"), [
    ("5.7.30 Basic authentication is not supported", "5.7.30"),
    ("5.7.139 Authentication unsuccessful", "5.7.139"),
    ("  2.0.0 OK", "2.0.0"),
    ("5.7.1339 nope", None),
    ("OK queued", None),
    ("6.1.1 not a class", None),
    ("", None),
])
def test_enhanced_status(text: str, expected: str | None) -> None:
    assert enhanced_status(text) == expected

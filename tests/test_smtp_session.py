"""check_smtp against real SMTP servers on 127.0.0.1: what succeeds, what fails, and the advice."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from smtpserver import ACCOUNTS, NAME, Server, SmtpLab, free_port

from mailprov.smtp.session import check_smtp
from mailprov.smtp.settings import SmtpSettings
from mailprov.smtp.text import format_report
from mailprov.smtp.tls import CaFileError

TO = "destinataire@example.test"
COMPTA = "compta@example.test"


def settings(server: Server | int, login: str | None = COMPTA, sender: str | None = None, *,
             host: str = NAME, ssl: bool = True) -> SmtpSettings:
    port = server if isinstance(server, int) else server.port
    return SmtpSettings(server=host, port=port, ssl=ssl, username=login,
                        from_address=sender or login, user_code="COMPTA",
                        user_name="Comptabilité")


def step_names(report) -> list[str]:
    return [step.name for step in report.steps]


def test_starttls_and_auth_send_the_message_the_way_maestro_does(smtp_lab: SmtpLab) -> None:
    before = datetime.now().astimezone() - timedelta(seconds=1)
    report = check_smtp(settings(smtp_lab.starttls), password=ACCOUNTS[COMPTA], to=TO,
                        cafile=smtp_lab.cafile, target="prod")

    assert report.ok and report.sent and report.authenticated
    assert report.failure is None and report.advice is None and report.notices == ()
    assert step_names(report) == ["resolve", "connect", "greeting", "ehlo", "starttls", "ehlo",
                                  "auth", "mail", "rcpt", "data", "quit"]
    assert {step.outcome for step in report.steps} == {"ok"}
    assert report.steps[4].detail.startswith("TLSv1.")
    assert report.steps[6].detail == "LOGIN compta@example.test"  # password with "é": UTF-8
    assert [s.code for s in report.steps[7:]] == [250, 250, 250, 221]

    [received] = smtp_lab.starttls.mailbox.by_message_id(report.message_id)
    assert received.login == COMPTA
    assert received.mail_from == COMPTA and received.rcpt_tos == [TO]
    message = received.message
    assert message["Subject"] == ("Test d'envoi maestro* – COMPTA (Comptabilité) / "
                                  "maestro* test message")
    assert b"=?utf-8?" in received.content  # the subject travels RFC 2047-encoded
    assert received.content.isascii()
    assert message["From"] == COMPTA and message["To"] == TO
    assert message["Message-ID"] == report.message_id
    assert report.message_id is not None and report.message_id.endswith("@example.test>")
    sent_at = parsedate_to_datetime(message["Date"])
    assert before <= sent_at <= datetime.now().astimezone() + timedelta(seconds=1)
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "l'usager maestro* COMPTA (Comptabilité)" in body
    assert "maestro* user COMPTA (Comptabilité)" in body
    for line in ("  Base maestro*     : prod", "  Serveur           : localhost",
                 f"  Port              : {smtp_lab.starttls.port}",
                 "  Chiffrement       : STARTTLS",
                 "  Nom d'usager SMTP : compta@example.test",
                 "  maestro* database: prod", "  Encryption       : STARTTLS",
                 "  SMTP login       : compta@example.test"):
        assert line in body.splitlines()
    assert ACCOUNTS[COMPTA] not in body


def test_implicit_tls_on_its_own_port(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.implicit), password=ACCOUNTS[COMPTA], to=TO,
                        cafile=smtp_lab.cafile, tls="implicit")

    assert report.ok and report.sent and report.tls == "implicit"
    assert step_names(report) == ["resolve", "connect", "tls", "greeting", "ehlo", "auth",
                                  "mail", "rcpt", "data", "quit"]
    assert report.steps[2].detail.startswith("TLSv1.")
    assert [(n.code, n.message) for n in report.notices] == [(
        "tls-override", "This check used implicit where maestro* uses starttls: maestro* "
        "itself would not connect this way.")]
    assert len(smtp_lab.implicit.mailbox.by_message_id(report.message_id)) == 1


def test_wrong_password_is_535_5_7_8_with_advice(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls, "jtremblay@example.test"),
                        password="not-the-password", to=TO, cafile=smtp_lab.cafile)

    assert not report.ok and not report.sent and not report.authenticated
    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.code, failure.enhanced, failure.text) == (
        "auth", "bad-credentials", 535, "5.7.8", "5.7.8 Authentication credentials invalid")
    assert failure.exception == "smtplib.SMTPAuthenticationError"
    assert report.advice == (
        "localhost rejected the login jtremblay@example.test or its password. Check the login "
        "(often the full e-mail address) and have the user enter the password again in "
        "maestro* (Préférences > Courriel > Gestion de mon compte) or with "
        "`mailprov password set`.")
    assert step_names(report)[-2:] == ["auth", "quit"]  # a clean QUIT after a refusal
    assert report.steps[-1].outcome == "ok"
    assert format_report(report)[-2:] == [
        "Error: 535 5.7.8 Authentication credentials invalid", f"Advice: {report.advice}"]


MICROSOFT_ADVICE = (
    "Microsoft 365 refuses password (basic) authentication for this mailbox or for the whole "
    "tenant. An Exchange administrator can allow SMTP AUTH for the mailbox with "
    "`Set-CASMailbox -Identity {login} -SmtpClientAuthenticationDisabled $false` (security "
    "defaults must be off for the tenant), or move the user to maestro*'s \"Office 365 – "
    "Modern Authentication\" mode.")


@pytest.mark.parametrize(("login", "code", "enhanced"), [
    ("basicoff@example.test", 535, "5.7.139"),
    ("tenant@example.test", 550, "5.7.30"),
])
def test_microsoft_basic_auth_disabled(smtp_lab: SmtpLab, login: str, code: int,
                                       enhanced: str) -> None:
    report = check_smtp(settings(smtp_lab.starttls, login), password="whatever-it-is",
                        to=TO, cafile=smtp_lab.cafile)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.code, failure.enhanced) == (
        "auth", "basic-auth-disabled", code, enhanced)
    assert report.advice == MICROSOFT_ADVICE.format(login=login)


def test_send_as_granted_goes_through_and_refused_gets_advice(smtp_lab: SmtpLab) -> None:
    granted = check_smtp(settings(smtp_lab.starttls, "jtremblay@example.test", COMPTA),
                         password=ACCOUNTS["jtremblay@example.test"], to=TO,
                         cafile=smtp_lab.cafile)
    assert granted.ok and granted.sent

    refused = check_smtp(settings(smtp_lab.starttls, "user05@example.test", COMPTA),
                         password=ACCOUNTS["user05@example.test"], to=TO,
                         cafile=smtp_lab.cafile)
    failure = refused.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.code, failure.enhanced) == (
        "data", "send-as-denied", 554, "5.2.0")
    assert "SendAsDeniedException" in failure.text
    assert refused.advice == (
        "localhost refuses to send as compta@example.test for the login user05@example.test: "
        "the From address must be the login's own mailbox or one it may send as. Grant the "
        "login \"Send As\" rights on that mailbox (Exchange: `Add-RecipientPermission "
        "-Identity compta@example.test -Trustee user05@example.test -AccessRights SendAs`), "
        "or use the login's own address as From.")
    assert smtp_lab.starttls.mailbox.by_message_id(refused.message_id) == []


CERT_UNTRUSTED = (
    "The certificate of localhost is not signed by an authority this machine trusts "
    "(self-signed, or a private CA). Install that CA in the trust store of maestro*'s "
    "workstations, and test again with --cafile FILE (the CA certificate, PEM).")


def test_untrusted_certificate_is_refused_without_cafile(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls), password=ACCOUNTS[COMPTA], to=TO)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.code, failure.exception, failure.text) == (
        "starttls", "certificate-untrusted", None, "ssl.SSLCertVerificationError",
        "unable to get local issuer certificate")
    assert report.advice == CERT_UNTRUSTED
    assert not report.authenticated
    assert "auth" not in step_names(report) and "quit" not in step_names(report)


def test_host_name_mismatch_is_refused_even_with_the_ca(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls, host="127.0.0.1"),
                        password=ACCOUNTS[COMPTA], to=TO, cafile=smtp_lab.cafile)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.text) == (
        "starttls", "certificate-name-mismatch",
        "IP address mismatch, certificate is not valid for '127.0.0.1'.")
    assert report.advice == (
        "The certificate of the server is not valid for the name 127.0.0.1: use the server "
        "name the certificate was issued for (the provider's documented name), or have the "
        "certificate fixed. maestro* checks the name the same way.")


def test_expired_certificate(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.expired), password=ACCOUNTS[COMPTA], to=TO,
                        cafile=smtp_lab.cafile)

    assert report.failure is not None
    assert (report.failure.reason, report.failure.text) == (
        "certificate-expired", "certificate has expired")
    assert report.advice == ("The certificate of localhost has expired (or this machine's "
                             "clock is wrong): the server's administrator must renew it.")


def test_starttls_on_an_implicit_tls_port_times_out_with_advice(smtp_lab: SmtpLab) -> None:
    started = time.perf_counter()
    report = check_smtp(settings(smtp_lab.implicit), password=ACCOUNTS[COMPTA], to=TO,
                        cafile=smtp_lab.cafile, timeout=1.0)
    elapsed = time.perf_counter() - started

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.exception, failure.text) == (
        "greeting", "no-greeting", "TimeoutError", "timed out")
    assert report.advice == (
        f"localhost accepted the connection on port {smtp_lab.implicit.port} but said nothing "
        "for 1 s. The port probably expects implicit TLS (like 465), which maestro* does not "
        "speak: use port 587 with SSL checked (STARTTLS).")
    assert 0.9 <= report.steps[-1].ms / 1000 <= 2.5
    assert step_names(report) == ["resolve", "connect", "greeting"]  # no QUIT into the void
    assert elapsed < 3


def test_closed_port_is_connection_refused(smtp_lab: SmtpLab) -> None:
    port = free_port()
    report = check_smtp(settings(port), password=ACCOUNTS[COMPTA], to=TO)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.exception) == (
        "connect", "connection-refused", "ConnectionRefusedError")
    assert report.advice == (
        f"localhost refused the connection on port {port}: nothing listens there. Check the "
        "port (587 for submission with STARTTLS) and the server name.")


def test_unknown_host_is_a_dns_failure() -> None:
    report = check_smtp(settings(587, host="nohost.invalid"), password="x-secret", to=TO)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.exception) == (
        "resolve", "dns-failure", "socket.gaierror")
    assert report.advice == (
        "The server name nohost.invalid does not resolve (DNS): check its spelling, and that "
        "this machine uses the same DNS servers as maestro*'s workstations.")


def test_check_only_logs_in_and_sends_nothing(smtp_lab: SmtpLab) -> None:
    login = "jtremblay@example.test"
    before = len(smtp_lab.starttls.mailbox.from_login(login))
    report = check_smtp(settings(smtp_lab.starttls, login), password=ACCOUNTS[login],
                        check_only=True, cafile=smtp_lab.cafile)

    assert report.ok and report.authenticated and not report.sent
    assert report.check_only and report.to is None and report.message_id is None
    assert step_names(report) == ["resolve", "connect", "greeting", "ehlo", "starttls", "ehlo",
                                  "auth", "quit"]
    assert len(smtp_lab.starttls.mailbox.from_login(login)) == before
    assert format_report(report)[0] == (
        f"COMPTA (Comptabilité): localhost:{smtp_lab.starttls.port} STARTTLS: "
        "connection and login OK")


def test_server_without_starttls(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.plain), password="x-secret", to=TO)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.text) == (
        "starttls", "starttls-not-offered", "the server's EHLO reply does not list STARTTLS")
    assert report.advice == (
        f"localhost does not offer STARTTLS on port {smtp_lab.plain.port}, so maestro* with "
        "SSL checked cannot send there. Use the submission port 587; uncheck SSL only for a "
        "relay on a trusted network.")


def test_auth_not_offered_over_plain_text(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls, ssl=False), password=ACCOUNTS[COMPTA],
                        to=TO, cafile=smtp_lab.cafile)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason) == ("auth", "auth-needs-tls")
    assert report.advice == (
        "localhost accepts the password only over an encrypted connection: check \"Utiliser "
        "l'encodage SSL\" (ssl: true) so that maestro* uses STARTTLS.")


def test_authentication_required_when_no_password_is_stored(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls), password=None, to=TO,
                        cafile=smtp_lab.cafile)

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.code, failure.enhanced) == (
        "mail", "auth-required-no-password", 530, "5.7.0")
    assert report.advice == (
        "localhost requires authentication before sending, and no password was given for this "
        "user: set the SMTP login (username) and have the user enter their password.")
    auth = next(step for step in report.steps if step.name == "auth")
    assert (auth.outcome, auth.detail) == ("skipped", "no password given: not logged in")
    assert [n.code for n in report.notices] == ["auth-skipped"]


def test_plain_server_works_with_auth_plain_and_warns_about_clear_text(
        smtp_lab: SmtpLab) -> None:
    login = "user03@example.test"
    report = check_smtp(settings(smtp_lab.plain, login, ssl=False), password=ACCOUNTS[login],
                        to=TO)

    assert report.ok and report.sent
    assert next(s for s in report.steps if s.name == "auth").detail == f"PLAIN {login}"
    assert [(n.code, n.message) for n in report.notices] == [(
        "password-in-clear", "The password crossed the network unencrypted (no TLS): anyone "
        "on the path can read it. Check \"Utiliser l'encodage SSL\" if the server offers "
        "STARTTLS.")]
    [received] = smtp_lab.plain.mailbox.by_message_id(report.message_id)
    assert received.login == login


def test_implicit_tls_against_a_plain_text_port(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.plain), password="x-secret", to=TO, tls="implicit")

    failure = report.failure
    assert failure is not None
    assert (failure.step, failure.reason, failure.exception) == (
        "tls", "plain-port-with-implicit-tls", "ssl.SSLError")
    assert report.advice == (
        f"The server on port {smtp_lab.plain.port} does not speak implicit TLS; it answers "
        "in plain text. Test it the way maestro* sends, with STARTTLS (SSL checked).")


def test_report_json_is_complete_and_serializable(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls), password="bad-one", to=TO,
                        cafile=smtp_lab.cafile)
    data = json.loads(json.dumps(report.to_json()))

    assert list(data) == ["ok", "sent", "check_only", "user", "server", "port", "tls",
                          "username", "from", "to", "authenticated", "message_id",
                          "total_ms", "steps", "failure", "advice", "notices"]
    assert data["failure"] == {"step": "auth", "reason": "bad-credentials", "code": 535,
                               "enhanced": "5.7.8",
                               "text": "5.7.8 Authentication credentials invalid",
                               "exception": "smtplib.SMTPAuthenticationError"}
    assert data["user"] == {"code": "COMPTA", "name": "Comptabilité"}
    assert data["steps"][0]["step"] == "resolve" and data["steps"][0]["outcome"] == "ok"
    assert "transcript" not in data


def test_debug_transcript_shows_the_dialogue_without_secrets(smtp_lab: SmtpLab) -> None:
    report = check_smtp(settings(smtp_lab.starttls), password=ACCOUNTS[COMPTA], to=TO,
                        cafile=smtp_lab.cafile, debug=True)

    said = [line.split(" ms ", 1)[1] for line in report.transcript]
    assert said[:2] == [f"-- connected to localhost port {smtp_lab.starttls.port}",
                        "S: 220 localhost Python SMTP 1.4.6"]
    auth = said.index("C: AUTH LOGIN")
    assert said[auth:auth + 5] == ["C: AUTH LOGIN", "S: 334 VXNlciBOYW1lAA==", "C: ***",
                                   "S: 334 UGFzc3dvcmQA", "C: ***"]
    assert any(line.startswith("C: <message, ") and line.endswith(" bytes>") for line in said)
    assert said[-2:] == ["C: QUIT", "S: 221 Bye"]
    assert report.to_json()["transcript"] == list(report.transcript)


def test_unreadable_cafile_is_a_user_error(tmp_path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(CaFileError) as caught:
        check_smtp(settings(587), password="x", to=TO, cafile=str(missing))
    assert str(caught.value) == (f"cannot read the CA file {missing}: No such file or "
                                 "directory; give a CA certificate in PEM format")

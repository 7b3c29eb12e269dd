"""No SMTP password leaves a check: not in reports, JSON, text, transcripts, errors or logs.

The password is a random token with an accented letter (so its UTF-8 base64 forms differ
from ASCII ones). Every way a check can end is run with it, with the debug transcript on,
against the real servers, including a hostile one that quotes the password back in its
refusal. Everything produced is then searched for the password as typed and in each base64
form that AUTH LOGIN and AUTH PLAIN send (padded and not).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import warnings

import pytest
from smtpserver import ACCOUNTS, ECHO_LOGIN, NAME, SmtpLab

from mailprov.smtp.batch import CheckRequest, check_many
from mailprov.smtp.report import SendReport
from mailprov.smtp.session import check_smtp
from mailprov.smtp.settings import SmtpSettings
from mailprov.smtp.text import format_report

LOGIN = "secret-holder@example.test"
PASSWORD = f"pw-{secrets.token_hex(10)}-é"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def forms(login: str) -> set[str]:
    secret = PASSWORD.encode("utf-8")
    encoded = {b64(secret), b64(b"\0" + login.encode() + b"\0" + secret),
               b64(login.encode() + b"\0" + secret)}
    return {PASSWORD, *encoded, *(text.rstrip("=") for text in encoded)}


def texts_of(report: SendReport) -> list[str]:
    return [repr(report), str(report), json.dumps(report.to_json(), ensure_ascii=False),
            json.dumps(report.to_json()), *format_report(report), *report.transcript,
            report.advice or "", report.failure.text if report.failure else ""]


def settings(port: int, login: str, *, host: str = NAME, ssl: bool = True) -> SmtpSettings:
    return SmtpSettings(host, port, ssl, login, login, user_code="SECRET", user_name="S")


def test_the_password_appears_nowhere(smtp_lab: SmtpLab, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(ACCOUNTS, LOGIN, PASSWORD)
    caplog.set_level(logging.DEBUG)
    ca = smtp_lab.cafile
    starttls, implicit, plain = smtp_lab.starttls.port, smtp_lab.implicit.port, smtp_lab.plain.port
    to = "it@example.test"
    reports: dict[str, SendReport] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reports["starttls-login"] = check_smtp(settings(starttls, LOGIN), password=PASSWORD,
                                               to=to, cafile=ca, debug=True)
        reports["implicit"] = check_smtp(settings(implicit, LOGIN), password=PASSWORD, to=to,
                                         cafile=ca, tls="implicit", debug=True)
        reports["plain-auth-plain"] = check_smtp(settings(plain, LOGIN, ssl=False),
                                                 password=PASSWORD, to=to, debug=True)
        reports["check-only"] = check_smtp(settings(starttls, LOGIN), password=PASSWORD,
                                           check_only=True, cafile=ca, debug=True)
        reports["wrong-password"] = check_smtp(settings(starttls, "compta@example.test"),
                                               password=PASSWORD, to=to, cafile=ca, debug=True)
        reports["echo"] = check_smtp(settings(starttls, ECHO_LOGIN), password=PASSWORD, to=to,
                                     cafile=ca, debug=True)
        reports["echo-plain"] = check_smtp(settings(plain, ECHO_LOGIN, ssl=False),
                                           password=PASSWORD, to=to, debug=True)
        reports["basic-off"] = check_smtp(settings(starttls, "basicoff@example.test"),
                                          password=PASSWORD, to=to, cafile=ca, debug=True)
        reports["untrusted"] = check_smtp(settings(starttls, LOGIN), password=PASSWORD, to=to,
                                          debug=True)
        reports["no-auth-in-clear"] = check_smtp(settings(starttls, LOGIN, ssl=False),
                                                 password=PASSWORD, to=to, cafile=ca,
                                                 debug=True)
        reports["dns"] = check_smtp(settings(25, LOGIN, host="nohost.invalid"),
                                    password=PASSWORD, to=to, debug=True)
        requests = [CheckRequest(settings(starttls, LOGIN), password=PASSWORD, to=to),
                    CheckRequest(settings(starttls, ECHO_LOGIN), password=PASSWORD, to=to)]
        batch = check_many(requests, cafile=ca, debug=True)

    # the scenarios did what they are meant to exercise
    assert reports["starttls-login"].sent and reports["implicit"].sent
    assert reports["plain-auth-plain"].sent
    auth = next(s for s in reports["plain-auth-plain"].steps if s.name == "auth")
    assert auth.detail == f"PLAIN {LOGIN}"
    assert reports["check-only"].authenticated
    for name in ("echo", "echo-plain"):
        failure = reports[name].failure
        assert failure is not None and failure.text == "5.7.8 rejected *** (***)", name
    assert [r.ok for r in batch] == [True, False]

    produced: list[str] = [repr(request) for request in requests]
    for report in [*reports.values(), *batch]:
        produced.extend(texts_of(report))
    out, err = capsys.readouterr()
    produced += [out, err, *(str(w.message) for w in caught)]
    # the test server's own log ("mail.log") is not mailprov's; everything else is
    produced += [record.getMessage() for record in caplog.records if record.name != "mail.log"]
    everything = "\n".join(produced)
    assert "C: ***" in everything  # the transcripts were really collected
    for form in forms(LOGIN) | forms(ECHO_LOGIN) | forms("compta@example.test"):
        assert form not in everything, f"password form {form!r} leaked"

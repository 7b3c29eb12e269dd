"""One SMTP session the way maestro* would run it, step by step, timed and explained.

`check_smtp` never raises for anything the server or the network does: every
failure ends up in the returned `SendReport`, with the step it happened at,
the server's reply (or the kind of error) and advice. The password is used
for AUTH only and is kept out of the report, its JSON, the transcript and
every text taken from an exception.
"""

from __future__ import annotations

import email.policy
import socket
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import NoReturn

from mailprov.i18n import _
from mailprov.smtp.advice import Symptom, diagnose, enhanced_status
from mailprov.smtp.classify import Fault, classify
from mailprov.smtp.client import MECHANISMS, Client
from mailprov.smtp.message import build_test_message
from mailprov.smtp.redact import Redactor, clean
from mailprov.smtp.report import Failure, Notice, Outcome, SendReport, Step
from mailprov.smtp.settings import SmtpSettings, TlsMode, effective_tls, maestro_tls
from mailprov.smtp.tls import describe, tls_context

DEFAULT_TIMEOUT = 30.0


class _Stop(Exception):
    """Ends the session at the failing step (the failure is already recorded)."""


def ehlo_name() -> str:
    """This machine's name for EHLO, as maestro*'s client sends it; no DNS look-up
    (socket.getfqdn can take seconds on a machine without reverse DNS)."""
    name = socket.gethostname()
    if name and name.isascii() and all(c.isalnum() or c in ".-" for c in name):
        return name
    return "localhost"


class _Session:
    """The state of one check while it runs; `report()` freezes it."""

    def __init__(self, settings: SmtpSettings, *, password: str | None, to: str | None,
                 tls: TlsMode, check_only: bool, timeout: float,
                 context: ssl.SSLContext, debug: bool) -> None:
        self.settings = settings
        self.password = password
        self.to = to
        self.tls: TlsMode = tls
        self.check_only = check_only
        self.timeout = timeout
        self.context = context
        self.redact = Redactor(password, settings.username)
        self.transcript: list[str] = []
        self.record: Callable[[str], None] | None = self.transcript.append if debug else None
        self.steps: list[Step] = []
        self.notices: list[Notice] = []
        self.failure: Failure | None = None
        self.advice: str | None = None
        self.sane = True  # False once the connection is in an unknown state: no QUIT then
        self.authenticated = False
        self.sent = False
        self.starttls_offered = False
        self.mechanisms: tuple[str, ...] = ()

    # --- recording -----------------------------------------------------------

    def add(self, name: str, outcome: Outcome, started: float, code: int | None = None,
             reply: bytes = b"", detail: str = "") -> None:
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        self.steps.append(Step(name, outcome, ms, code, clean(reply, self.redact),
                               clean(detail, self.redact)))

    def skip(self, name: str, detail: str) -> None:
        self.add(name, "skipped", 0.0, detail=detail)

    def fail(self, name: str, started: float, kind: str, *, code: int | None = None,
             reply: bytes = b"", detail: str = "", exception: str | None = None) -> NoReturn:
        """Record the failed step and its diagnosis, and stop the session."""
        self.add(name, "failed", started, code, reply, detail)
        text = clean(reply, self.redact) if code is not None else clean(detail, self.redact)
        enhanced = enhanced_status(text) if code is not None else None
        symptom = Symptom(
            step=name, kind=kind, server=self.settings.server, port=self.settings.port,
            tls=self.tls, code=code, enhanced=enhanced, text=text,
            username=self.settings.username, from_address=self.settings.from_address,
            to=self.to, timeout=self.timeout, password_given=bool(self.password),
            starttls_offered=self.starttls_offered, mechanisms=self.mechanisms)
        reason, advice = diagnose(symptom, text)
        self.failure = Failure(name, reason, code, enhanced, text, exception)
        self.advice = self.redact(advice)
        raise _Stop

    def run(self, name: str, action: Callable[[], tuple[int, bytes]],
            expect: tuple[int, ...], detail: Callable[[], str] | str = "") -> tuple[int, bytes]:
        """Time one command; fail the session on an unexpected reply or an error."""
        started = time.perf_counter()
        try:
            code, reply = action()
        except _Stop:
            raise
        except Exception as exc:  # every error becomes a reported failure, never a crash
            self.fault(name, started, classify(exc))
        shown = detail() if callable(detail) else detail
        if code not in expect:
            self.fail(name, started, "reply", code=code, reply=reply, detail=shown)
        self.add(name, "ok", started, code, reply, shown)
        return code, reply

    def fault(self, name: str, started: float, fault: Fault) -> NoReturn:
        if fault.kind == "reply":
            self.fail(name, started, "reply", code=fault.code, reply=fault.reply,
                      exception=fault.exception)
        self.sane = False
        self.fail(name, started, fault.kind, detail=fault.detail, exception=fault.exception)

    def report(self, message_id: str | None) -> SendReport:
        s = self.settings
        return SendReport(
            server=s.server, port=s.port, tls=self.tls, username=s.username,
            from_address=s.from_address, to=self.to, user_code=s.user_code,
            user_name=s.user_name, check_only=self.check_only,
            authenticated=self.authenticated, sent=self.sent, message_id=message_id,
            steps=tuple(self.steps), failure=self.failure, advice=self.advice,
            notices=tuple(self.notices), transcript=tuple(self.transcript))


# --- the steps ---------------------------------------------------------------


def _connect(run: _Session) -> socket.socket:
    server, port = run.settings.server, run.settings.port
    started = time.perf_counter()
    try:
        infos = socket.getaddrinfo(server, port, type=socket.SOCK_STREAM)
    except Exception as exc:
        run.fault("resolve", started, classify(exc))
    addresses = [info for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    run.add("resolve", "ok", started,
             detail=", ".join(dict.fromkeys(str(info[4][0]) for info in addresses)))
    started = time.perf_counter()
    last: Exception | None = None
    for family, kind, proto, _name, address in addresses:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(run.timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        host = str(address[0])
        shown = f"[{host}]" if ":" in host else host
        run.add("connect", "ok", started, detail=f"{shown}:{run.settings.port}")
        return sock
    run.fault("connect", started, classify(last or OSError("no address to connect to")))


def _handshake(run: _Session, client: Client, step: str) -> None:
    started = time.perf_counter()
    assert client.sock is not None
    try:
        tls_sock = run.context.wrap_socket(client.sock, server_hostname=run.settings.server)
    except Exception as exc:
        run.fault(step, started, classify(exc))
    client.sock = tls_sock
    client.file = None
    # RFC 3207: forget what the server said before TLS
    client.helo_resp = client.ehlo_resp = None
    client.esmtp_features = {}
    client.does_esmtp = False
    detail = describe(tls_sock)
    client.note(f"TLS {detail}")
    run.add(step, "ok", started, detail=detail)


def _ehlo(run: _Session, client: Client) -> None:
    run.run("ehlo", client.ehlo, (250,),
            detail=lambda: "TLS" if isinstance(client.sock, ssl.SSLSocket) else "")


def _starttls(run: _Session, client: Client) -> None:
    started = time.perf_counter()
    if not client.has_extn("starttls"):
        run.fail("starttls", started, "starttls-not-offered",
                 detail=_("the server's EHLO reply does not list STARTTLS"))
    started = time.perf_counter()
    try:
        code, reply = client.docmd("STARTTLS")
    except Exception as exc:
        run.fault("starttls", started, classify(exc))
    if code != 220:
        run.fail("starttls", started, "reply", code=code, reply=reply)
    _handshake(run, client, "starttls")


def _auth(run: _Session, client: Client) -> None:
    username, password = run.settings.username, run.password
    if not username:
        run.skip("auth", _("no SMTP login: maestro* sends without authentication"))
        return
    if not password:
        run.skip("auth", _("no password given: not logged in"))
        run.notices.append(Notice("auth-skipped", _(
            "No password was given for {username}: the check did not log in, as maestro* "
            "would.").format(username=username)))
        return
    started = time.perf_counter()
    if not client.has_extn("auth"):
        run.fail("auth", started, "auth-not-offered",
                 detail=_("the server's EHLO reply does not list AUTH"))
    offered = tuple(client.esmtp_features.get("auth", "").upper().split())
    run.mechanisms = offered
    mechanism = next((m for m in MECHANISMS if m in offered), None)
    if mechanism is None:
        run.fail("auth", started, "no-auth-mechanism",
                 detail=_("the server offers AUTH {offered}, not LOGIN or PLAIN").format(
                     offered=" ".join(offered)))
    run.run("auth", lambda: client.authenticate(mechanism, username, password), (235,),
            detail=f"{mechanism} {username}")
    run.authenticated = True
    if run.tls == "none":
        run.notices.append(Notice("password-in-clear", _(
            "The password crossed the network unencrypted (no TLS): anyone on the path can "
            "read it. Check \"Utiliser l'encodage SSL\" if the server offers STARTTLS.")))


def _send(run: _Session, client: Client, message: EmailMessage | None) -> None:
    sender, to = run.settings.from_address, run.to
    assert to is not None
    if not sender:
        run.fail("mail", time.perf_counter(), "no-from-address",
                 detail=_("no From address"))
    assert message is not None  # check_smtp builds one whenever there is a From address
    payload = message.as_bytes(policy=email.policy.SMTP)
    options = ["SMTPUTF8"] if (not (sender + to).isascii()
                               and client.has_extn("smtputf8")) else []
    run.run("mail", lambda: client.mail(sender, options), (250,), detail=sender)
    run.run("rcpt", lambda: client.rcpt(to), (250, 251), detail=to)
    run.run("data", lambda: client.send_payload(payload), (250,),
            detail=f"{len(payload)} bytes")
    run.sent = True


def _quit(run: _Session, client: Client) -> None:
    started = time.perf_counter()
    try:
        code, reply = client.docmd("QUIT")
    except Exception as exc:  # the work is done; a lost QUIT is only recorded
        run.add("quit", "failed", started, detail=classify(exc).kind)
        return
    run.add("quit", "ok" if code == 221 else "failed", started, code, reply)


def _session(run: _Session, client: Client, message: EmailMessage | None) -> None:
    sock = _connect(run)
    client.sock = sock
    client.file = None
    client.note(f"connected to {run.settings.server} port {run.settings.port}")
    if run.tls == "implicit":
        _handshake(run, client, "tls")
    run.run("greeting", client.getreply, (220,))
    _ehlo(run, client)
    run.starttls_offered = client.has_extn("starttls")
    if run.tls == "starttls":
        _starttls(run, client)
        _ehlo(run, client)
    _auth(run, client)
    if not run.check_only:
        _send(run, client, message)


def check_smtp(settings: SmtpSettings, *, password: str | None = None, to: str | None = None,
               tls: TlsMode | None = None, check_only: bool = False,
               cafile: str | None = None, timeout: float = DEFAULT_TIMEOUT,
               message: EmailMessage | None = None, target: str | None = None,
               debug: bool = False, context: ssl.SSLContext | None = None,
               local_hostname: str | None = None) -> SendReport:
    """Connect, greet, secure, log in and (unless `check_only`) send one message.

    `tls` overrides the mode maestro* would use (`settings.ssl`: True is STARTTLS)
    to try alternatives. Certificates and host names are verified against the
    system's authorities plus `cafile`; `context` (from `tls.tls_context`) is for
    callers that check many users with one context. `message` defaults to the
    bilingual test message (`target` names the maestro* database in it). With
    `debug`, the report keeps a redacted transcript. `timeout` bounds each
    network operation, in seconds. Raises `tls.CaFileError` for an unreadable
    `cafile` and ValueError when a message is to be sent without `to`.
    """
    if not check_only and not to:
        raise ValueError("a recipient (to) is needed unless check_only is set")
    mode = effective_tls(settings, tls)
    if context is None:
        context = tls_context(cafile)
    if message is None and not check_only and to and settings.from_address:
        message = build_test_message(settings, to=to, tls=mode, target=target)
    run = _Session(settings, password=password, to=to, tls=mode, check_only=check_only,
                   timeout=timeout, context=context, debug=debug)
    if mode != maestro_tls(settings):
        run.notices.append(Notice("tls-override", _(
            "This check used {tls} where maestro* uses {maestro}: maestro* itself would not "
            "connect this way.").format(tls=mode, maestro=maestro_tls(settings))))
    client = Client(timeout=timeout, local_hostname=local_hostname or ehlo_name(),
                    redact=run.redact, record=run.record)
    try:
        _session(run, client, message)
    except _Stop:
        pass
    finally:
        if client.sock is not None and run.sane:
            _quit(run, client)
        client.close()
    message_id = message.get("Message-ID") if message is not None else None
    return run.report(str(message_id) if message_id else None)

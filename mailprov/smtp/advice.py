"""From what failed to what to do about it: one table of rules, first match wins.

A `Symptom` says where the check stopped and what it saw (the reply code and
enhanced status code, or the kind of error when there was no reply) and the
settings tested. Each `Rule` names a stable `reason` (for scripts and tests)
and the advice, an English template translated at display time; placeholders
are filled from the symptom (`{server}`, `{port}`, `{username}`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mailprov.i18n import N_, _

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")


def enhanced_status(text: str) -> str | None:
    """The enhanced status code (RFC 3463) a reply starts with: "5.7.30" from
    "5.7.30 Basic authentication is not supported", else None."""
    match = _ENHANCED.match(text.strip())
    return ".".join(match.groups()) if match else None


@dataclass(frozen=True, slots=True)
class Symptom:
    """Where a check stopped and what it saw, with the settings it tested.

    `kind` is `reply` when the server answered with an error code, else what
    happened instead: `timeout`, `dns`, `refused`, `unreachable`, `disconnected`,
    `not-tls`, `tls`, `certificate-untrusted`, `certificate-name`,
    `certificate-expired`, `starttls-not-offered`, `auth-not-offered`,
    `no-auth-mechanism`, `no-from-address`, `encoding`, `network` or `error`.
    """

    step: str
    kind: str
    server: str
    port: int
    tls: str
    code: int | None = None
    enhanced: str | None = None
    text: str = ""
    username: str | None = None
    from_address: str | None = None
    to: str | None = None
    timeout: float = 0.0
    password_given: bool = False
    starttls_offered: bool = False
    mechanisms: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Rule:
    reason: str
    when: Callable[[Symptom], bool]
    advice: str


def _microsoft_basic_auth_off(s: Symptom) -> bool:
    return s.enhanced in ("5.7.139", "5.7.30")


def _send_as(s: Symptom) -> bool:
    text = s.text.lower()
    return s.kind == "reply" and (
        "sendas" in text or s.enhanced == "5.7.60"
        or (s.step == "mail" and ("not owned" in text
                                  or (s.enhanced == "5.7.1" and "sender" in text))))


def _reply(*steps: str, codes: tuple[int, ...] = (), enhanced: tuple[str, ...] = ()
           ) -> Callable[[Symptom], bool]:
    def match(s: Symptom) -> bool:
        return (s.kind == "reply" and (not steps or s.step in steps)
                and (not codes or s.code in codes)
                and (not enhanced or s.enhanced in enhanced))
    return match


def _kind(kind: str, *steps: str) -> Callable[[Symptom], bool]:
    return lambda s: s.kind == kind and (not steps or s.step in steps)


RULES: tuple[Rule, ...] = (
    Rule("dns-failure", _kind("dns"), N_(
        "The server name {server} does not resolve (DNS): check its spelling, and that this "
        "machine uses the same DNS servers as maestro*'s workstations.")),
    Rule("connection-refused", _kind("refused"), N_(
        "{server} refused the connection on port {port}: nothing listens there. Check the port "
        "(587 for submission with STARTTLS) and the server name.")),
    Rule("connect-timeout", _kind("timeout", "connect"), N_(
        "{server} did not answer on port {port} within {timeout} s: a firewall drops the "
        "connection, or the port is wrong. Many networks block port 25; use 587.")),
    Rule("network-unreachable", _kind("unreachable"), N_(
        "{server} cannot be reached from this machine (no route): check the network, the "
        "VPN or the proxy between this machine and the server.")),
    Rule("implicit-tls-port",
         lambda s: s.kind == "timeout" and s.step == "greeting" and s.port == 465
         and s.tls != "implicit", N_(
        "Port 465 expects implicit TLS (SMTPS), which maestro* does not speak: its SSL "
        "checkbox means STARTTLS, so it waits until it times out. Use port 587 with SSL "
        "checked.")),
    Rule("no-greeting", lambda s: s.kind == "timeout" and s.step == "greeting"
         and s.tls != "implicit", N_(
        "{server} accepted the connection on port {port} but said nothing for {timeout} s. "
        "The port probably expects implicit TLS (like 465), which maestro* does not speak: "
        "use port 587 with SSL checked (STARTTLS).")),
    Rule("plain-port-with-implicit-tls", _kind("not-tls", "tls"), N_(
        "The server on port {port} does not speak implicit TLS; it answers in plain text. "
        "Test it the way maestro* sends, with STARTTLS (SSL checked).")),
    Rule("certificate-name-mismatch", _kind("certificate-name"), N_(
        "The certificate of the server is not valid for the name {server}: use the server "
        "name the certificate was issued for (the provider's documented name), or have the "
        "certificate fixed. maestro* checks the name the same way.")),
    Rule("certificate-expired", _kind("certificate-expired"), N_(
        "The certificate of {server} has expired (or this machine's clock is wrong): the "
        "server's administrator must renew it.")),
    Rule("certificate-untrusted", _kind("certificate-untrusted"), N_(
        "The certificate of {server} is not signed by an authority this machine trusts "
        "(self-signed, or a private CA). Install that CA in the trust store of maestro*'s "
        "workstations, and test again with --cafile FILE (the CA certificate, PEM).")),
    Rule("tls-failed", _kind("tls"), N_(
        "The TLS handshake with {server} failed ({detail}): the server may require a TLS "
        "version or cipher this machine does not offer.")),
    Rule("starttls-not-offered", _kind("starttls-not-offered"), N_(
        "{server} does not offer STARTTLS on port {port}, so maestro* with SSL checked cannot "
        "send there. Use the submission port 587; uncheck SSL only for a relay on a trusted "
        "network.")),
    Rule("auth-needs-tls",
         lambda s: (s.kind == "auth-not-offered" and s.tls == "none" and s.starttls_offered)
         or (s.kind == "reply" and s.code == 538), N_(
        "{server} accepts the password only over an encrypted connection: check \"Utiliser "
        "l'encodage SSL\" (ssl: true) so that maestro* uses STARTTLS.")),
    Rule("auth-not-offered", _kind("auth-not-offered"), N_(
        "{server} does not offer authentication on port {port}: use the submission port 587, "
        "or, if this server relays by IP address, leave the SMTP user name empty.")),
    Rule("no-auth-mechanism", _kind("no-auth-mechanism"), N_(
        "{server} offers no password mechanism maestro* can use (it offers: {mechanisms}). "
        "An Office 365 account that allows only modern authentication needs maestro*'s "
        "\"Office 365 – Modern Authentication\" mode.")),
    Rule("basic-auth-disabled", _microsoft_basic_auth_off, N_(
        "Microsoft 365 refuses password (basic) authentication for this mailbox or for the "
        "whole tenant. An Exchange administrator can allow SMTP AUTH for the mailbox with "
        "`Set-CASMailbox -Identity {username} -SmtpClientAuthenticationDisabled $false` "
        "(security defaults must be off for the tenant), or move the user to maestro*'s "
        "\"Office 365 – Modern Authentication\" mode.")),
    Rule("bad-credentials", _reply("auth", codes=(535,)), N_(
        "{server} rejected the login {username} or its password. Check the login (often the "
        "full e-mail address) and have the user enter the password again in maestro* "
        "(Préférences > Courriel > Gestion de mon compte) or with `mailprov password set`.")),
    Rule("auth-required-no-password",
         lambda s: s.kind == "reply" and s.code == 530 and bool(s.username)
         and not s.password_given, N_(
        "{server} requires authentication before sending, and no password was given for "
        "this user: set the SMTP login (username) and have the user enter their password.")),
    Rule("auth-required", _reply(codes=(530,)), N_(
        "{server} requires authentication before sending: set the SMTP login (username) "
        "for this user, and check that maestro* has their password.")),
    Rule("send-as-denied", _send_as, N_(
        "{server} refuses to send as {from_address} for the login {username}: the From "
        "address must be the login's own mailbox or one it may send as. Grant the login "
        "\"Send As\" rights on that mailbox (Exchange: `Add-RecipientPermission -Identity "
        "{from_address} -Trustee {username} -AccessRights SendAs`), or use the login's own "
        "address as From.")),
    Rule("sender-rejected", _reply("mail", codes=tuple(range(500, 600))), N_(
        "{server} refused the sender {from_address}: check the From address, and that the "
        "login {username} may send from it.")),
    Rule("no-from-address", _kind("no-from-address"), N_(
        "maestro* has no From address for this user, so it cannot send: give the user an "
        "`smtp` section with `from` (or check the SMTP section in Security management).")),
    Rule("relay-denied", lambda s: s.kind == "reply" and s.step == "rcpt"
         and (s.enhanced == "5.7.1" or "relay" in s.text.lower()), N_(
        "{server} refuses to relay to {to}: it sends only for authenticated users or known "
        "addresses. Set an SMTP login and password, or have this machine's address allowed.")),
    Rule("recipient-rejected", _reply("rcpt"), N_(
        "{server} rejected the recipient {to}: check the address.")),
    Rule("temporary-failure", lambda s: s.kind == "reply" and s.code is not None
         and 400 <= s.code < 500, N_(
        "{server} answered with a temporary failure ({code}): try again in a few minutes; "
        "if it persists, its reply says why.")),
    Rule("message-rejected", _reply("data"), N_(
        "{server} refused the message ({code}): its reply says why (content policy, size, "
        "sending limits).")),
    Rule("timeout", _kind("timeout"), N_(
        "{server} stopped answering for {timeout} s during {step}: try again; a firewall or "
        "antivirus that inspects mail traffic can cause this.")),
    Rule("disconnected", _kind("disconnected"), N_(
        "{server} closed the connection during {step}: it may limit connections or reject "
        "this machine's address.")),
)

FALLBACK = Rule("smtp-error", lambda s: True, N_(
    "{server} stopped the session at {step} ({detail})."))


def diagnose(symptom: Symptom, detail: str = "") -> tuple[str, str]:
    """The reason code and the advice (in the chosen language) for a symptom.

    `detail` is the sanitized reply or error text, for the rules that quote it.
    """
    rule = next((r for r in RULES if r.when(symptom)), FALLBACK)
    values = {
        "server": symptom.server, "port": symptom.port, "tls": symptom.tls,
        "step": symptom.step, "code": symptom.code if symptom.code is not None else "-",
        "username": symptom.username or "-", "from_address": symptom.from_address or "-",
        "to": symptom.to or "-", "timeout": f"{symptom.timeout:g}",
        "mechanisms": ", ".join(symptom.mechanisms) or "-",
        "detail": detail or symptom.kind,
    }
    return rule.reason, _(rule.advice).format(**values)

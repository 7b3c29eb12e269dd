"""What `mailprov test-send` connects with: a user's effective SMTP settings, from the
database, as maestro* would use them.

A user sends with their own SMTP section when it is enabled (bi-mode), else with the
general default. Only SMTP with a login or From address of the user's own can be tested:
another mail program (Outlook, MAPI) is not mailprov's to drive, and outside
maestro*CLOUD the general SMTP account names no login or From address for a user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mailprov.errors import MailprovError
from mailprov.i18n import _
from mailprov.live.explain import CLIENT_LABELS
from mailprov.model import GeneralSettings, LiveState, LiveUser
from mailprov.model.sending import SmtpIdentity, smtp_identity
from mailprov.smtp.report import Failure, SendReport, Step
from mailprov.smtp.settings import SmtpSettings, TlsMode, effective_tls

if TYPE_CHECKING:
    from mailprov.passwords.codec import PasswordCodec
    from mailprov.smtp.batch import CheckRequest


class NotSendingError(MailprovError):
    """The user does not send through SMTP with settings mailprov can test."""


def sending_settings(user: LiveUser, general: GeneralSettings, target: str) -> SmtpSettings:
    """The settings maestro* sends `user`'s mail with; NotSendingError saying why there
    are none to test, and what to change."""
    identity = smtp_identity(user, general)
    if identity is None:
        if user.office365 is not None or (user.mode is None and general.client == "office365"):
            account = user.office365.email if user.office365 is not None else None
            raise NotSendingError(_(
                "{code} sends with Office 365 – Modern Authentication on target '{target}'"
                "{account}: maestro* sends with the user's own Office 365 sign-in (OAuth 2.0), "
                "which mailprov never holds, so test-send cannot send as them. `mailprov "
                "office365 status` shows whether they have signed in to it in maestro*"
            ).format(code=user.code, target=target,
                     account=_(" (account {email})").format(email=account) if account else ""))
        if general.client == "smtp":
            raise NotSendingError(_(
                "{code} has no SMTP section of its own on target '{target}': it follows the "
                "general SMTP account ({server}), which gives maestro* no login or From "
                "address for this user, so there is nothing to send with. Give the user an "
                "`smtp` section (username and from) under `users:` and run `mailprov apply`, "
                "then test again"
            ).format(code=user.code, target=target, server=_where(general.server,
                                                                 general.port)))
        raise NotSendingError(_(
            "{code} does not send through SMTP on target '{target}': it follows the general "
            "default, {client} ({label}), which mailprov cannot test. Give the user an `smtp` "
            "section under `users:` (bi-mode) and run `mailprov apply` to make it send "
            "through SMTP"
        ).format(code=user.code, target=target, client=general.client,
                 label=_(CLIENT_LABELS.get(general.client, general.client))))
    problem = incomplete(identity, user.code, target)
    if problem is not None:
        raise NotSendingError(problem)
    assert identity.server is not None and identity.port is not None
    return SmtpSettings(identity.server, identity.port, identity.ssl, identity.login,
                        identity.from_address, user_code=user.code, user_name=user.name or "")


def smtp_users(live: LiveState) -> list[LiveUser]:
    """Every user of the target who sends through SMTP with settings of their own, by
    code: what `test-send --all` checks."""
    return [live.users[code] for code in sorted(live.users)
            if smtp_identity(live.users[code], live.general) is not None]


def incomplete(identity: SmtpIdentity, code: str, target: str) -> str | None:
    """Why maestro* could not connect with these settings (no server or port), if so."""
    if identity.server and identity.port:
        return None
    if identity.via == "override":
        what = _("neither the SMTP section of {code} nor the general SMTP account on target "
                 "'{target}' has a server and a port").format(code=code, target=target)
    else:
        what = _("the general SMTP account on target '{target}' has no server or port").format(
            target=target)
    return _("{what}, so maestro* cannot send: set `server` and `port` (under `general.smtp`, "
             "or in the user's `smtp` section) and run `mailprov apply`").format(what=what)


def unusable_report(user: LiveUser, general: GeneralSettings, *, reason: str, message: str,
                    to: str | None, tls: TlsMode | None, check_only: bool) -> SendReport:
    """The report of a check that could not start (incomplete settings, a stored password
    the codec cannot read), so that `--all` reports it beside the others."""
    identity = smtp_identity(user, general)
    settings = SmtpSettings(
        (identity.server if identity else None) or "", (identity.port if identity else None)
        or 0, bool(identity.ssl) if identity else False, identity.login if identity else None,
        identity.from_address if identity else None, user_code=user.code, user_name=user.name or "")
    step = "settings" if reason == "incomplete-settings" else "password"
    return SendReport(
        server=settings.server, port=settings.port, tls=effective_tls(settings, tls),
        username=settings.username, from_address=settings.from_address, to=to,
        user_code=user.code, user_name=user.name or "", check_only=check_only,
        authenticated=False, sent=False, message_id=None,
        steps=(Step(step, "failed", 0.0, detail=reason),),
        failure=Failure(step, reason, None, None, message, None), advice=message)


def _where(server: str | None, port: int | None) -> str:
    if not server:
        return _("no server")
    return f"{server}:{port}" if port else server


def batch_checks(live: LiveState, users: Sequence[LiveUser], stored: Mapping[str, str],
                 codec: PasswordCodec | None, target: str, *, to: str | None,
                 tls: TlsMode | None, check_only: bool
                 ) -> tuple[dict[str, SendReport], list[CheckRequest]]:
    """What `test-send --all` does for each of `users`: a failed report, by user code, for
    one whose settings are incomplete or whose stored password (`stored`, by code) the
    codec cannot read; else the check to run, with the password decoded."""
    from mailprov.passwords.codec import decode_password
    from mailprov.smtp.batch import CheckRequest

    reports: dict[str, SendReport] = {}
    requests: list[CheckRequest] = []
    for user in users:
        identity = smtp_identity(user, live.general)
        assert identity is not None
        problem = incomplete(identity, user.code, target)
        if problem is not None:
            reports[user.code] = unusable_report(
                user, live.general, reason="incomplete-settings", message=problem, to=to,
                tls=tls, check_only=check_only)
            continue
        password = None
        if identity.login and user.code in stored and codec is not None:
            try:
                password = decode_password(codec, stored[user.code], user=user.code)
            except MailprovError as exc:
                reports[user.code] = unusable_report(
                    user, live.general, reason="password-unreadable", message=exc.message,
                    to=to, tls=tls, check_only=check_only)
                continue
        requests.append(CheckRequest(sending_settings(user, live.general, target),
                                     password=password, to=to, tls=tls,
                                     check_only=check_only))
    return reports, requests


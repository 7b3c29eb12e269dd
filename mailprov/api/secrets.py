"""Passwords and keys: database logins, users' SMTP passwords, the secret and plan
keys, and test messages sent with those passwords."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mailprov.api.database import open_database
from mailprov.config.targets import ResolvedTarget
from mailprov.i18n import _
from mailprov.model import LiveState

if TYPE_CHECKING:
    from mailprov.apply.passwords import PasswordChange, PasswordUser
    from mailprov.live.passwords import PasswordStatus
    from mailprov.passwords.keys import KeyChange
    from mailprov.plan.plankey import KeysStatus
    from mailprov.smtp.report import SendReport
    from mailprov.smtp.settings import SmtpSettings, TlsMode


def check_login(target: ResolvedTarget) -> None:
    """Refuse `mailprov login` for a target whose database takes no password (SQLite)."""
    from mailprov.db.connect import parse_url
    from mailprov.errors import TargetError
    from mailprov.i18n import _

    if parse_url(target.url).get_backend_name() == "sqlite":
        raise TargetError(_("target '{name}' is a SQLite database, which has no password: "
                            "there is nothing to store").format(name=target.name))
    from mailprov.keystore import require_keyring, target_secret_name

    require_keyring(target_secret_name(target.name))  # before the password is typed


def login(target_name: str, password: str) -> None:
    """Store a target's database password in the OS keyring."""
    from mailprov.keystore import set_db_password

    set_db_password(target_name, password)


def password_user(code: str, target: ResolvedTarget) -> PasswordUser:
    """Check that `code` can have an SMTP password set on the target (an SMTP login of
    its own, a codec and key that can store it); say for which login. Writes nothing."""
    from mailprov.apply.passwords import password_user as _password_user

    with open_database(target, read_only=True) as db:
        return _password_user(db, code)


def set_password(code: str, target: ResolvedTarget,
                 password: str | Callable[[PasswordUser], str], *,
                 lock_timeout: float = 10.0) -> PasswordChange:
    """Store the SMTP password of `code` with the target's password codec, set its
    `password_set_at`, and record it in the history (never the password).

    `password` may be a callable that asks for it: it is called after every check, so
    nobody types a password that cannot be stored (mailprov.apply.passwords)."""
    from mailprov.apply.passwords import set_password as _set_password

    with open_database(target, lock_timeout=lock_timeout) as db:
        return _set_password(db, code, password, lock_timeout=lock_timeout)


def clear_password(code: str, target: ResolvedTarget, *,
                   lock_timeout: float = 10.0) -> PasswordChange:
    """Remove the stored SMTP password of `code` (`PasswordChange.changed` is False when
    there was none); recorded in the history."""
    from mailprov.apply.passwords import clear_password as _clear_password

    with open_database(target, lock_timeout=lock_timeout) as db:
        return _clear_password(db, code, lock_timeout=lock_timeout)


def password_status(target: ResolvedTarget) -> PasswordStatus:
    """Per SMTP user: password stored or not, when, and whether it predates the last login
    change; plus orphaned passwords. Reads whether a password is stored, never its value."""
    from mailprov.db.history import read_history_since
    from mailprov.db.read import read_live_state
    from mailprov.errors import MailprovError
    from mailprov.live.passwords import history_since
    from mailprov.live.passwords import password_status as _status
    from mailprov.passwords.codec import describe_codec, get_codec

    with open_database(target, read_only=True) as db, db.connect() as conn, \
            db.errors(_("reading")):
        live = read_live_state(conn, db.tables, db.backend)
        needed, since = history_since(live)
        rows = read_history_since(conn, db.tables, since) if needed else []
        codec_name = db.tables.mapping.password_codec
    try:
        description = describe_codec(get_codec(codec_name))
    except MailprovError as exc:
        description = exc.message
    return _status(target.name, live, rows, codec=codec_name, codec_description=description)


def test_send(code: str, target: ResolvedTarget, *, to: str | None = None,
              check_only: bool = False, tls: TlsMode | None = None,
              cafile: str | None = None, timeout: float | None = None,
              password_prompt: Callable[[SmtpSettings], str] | None = None,
              debug: bool = False) -> SendReport:
    """Connect, log in and (unless `check_only`) send a test message to `to` with the
    effective SMTP settings of `code`, as maestro* would (mailprov.smtp.session).

    The password is the stored one, decrypted by the target's codec, or what
    `password_prompt` returns (then the stored one is not read, and nothing is stored).
    Failures of the session are in the report (never raised); a user who does not send
    through SMTP of their own is a NotSendingError."""
    from mailprov.db.passwords import read_stored_passwords
    from mailprov.db.read import read_general, read_users
    from mailprov.live.sending import sending_settings
    from mailprov.passwords.codec import decode_password, get_codec
    from mailprov.plan.diff import unknown_user_error
    from mailprov.smtp.recipient import check_recipient
    from mailprov.smtp.session import DEFAULT_TIMEOUT, check_smtp
    from mailprov.smtp.tls import tls_context

    check_recipient(to, check_only)
    context = tls_context(cafile)  # an unreadable --cafile fails before anything else
    with open_database(target, read_only=True) as db:
        with db.connect() as conn, db.errors(_("reading")):
            general = read_general(conn, db.tables, db.backend)
            users = read_users(conn, db.tables, db.backend, [code])
            if code not in users:
                raise unknown_user_error(code, target.name,
                                         read_users(conn, db.tables, db.backend))
            settings = sending_settings(users[code], general, target.name)
            stored = None
            if password_prompt is None and settings.username and users[code].password_set:
                stored = read_stored_passwords(conn, db.tables, [code]).get(code)
        codec_name = db.tables.mapping.password_codec
    if password_prompt is not None:
        password: str | None = password_prompt(settings)
    elif stored is not None:
        password = decode_password(get_codec(codec_name), stored, user=code)
    else:
        password = None
    return check_smtp(settings, password=password, to=to, tls=tls, check_only=check_only,
                      timeout=timeout or DEFAULT_TIMEOUT, target=target.name, debug=debug,
                      context=context)


def test_send_all(target: ResolvedTarget, *, to: str | None = None, check_only: bool = False,
                  tls: TlsMode | None = None, cafile: str | None = None,
                  timeout: float | None = None, parallel: int = 4, debug: bool = False,
                  progress: Callable[[int, int, SendReport], None] | None = None
                  ) -> list[SendReport]:
    """`test_send` for every user of the target who sends through SMTP of their own, at
    most `parallel` at a time; reports by user code. A user whose settings are incomplete
    or whose stored password the codec cannot read gets a failed report, not an error.
    `progress(done, total, report)` is called as each one ends."""
    from mailprov.db.passwords import read_stored_passwords
    from mailprov.db.read import read_general, read_users
    from mailprov.errors import MailprovError
    from mailprov.i18n import _
    from mailprov.live.sending import batch_checks, smtp_users
    from mailprov.passwords.codec import get_codec
    from mailprov.smtp.batch import check_many
    from mailprov.smtp.recipient import check_recipient
    from mailprov.smtp.session import DEFAULT_TIMEOUT
    from mailprov.smtp.tls import tls_context

    check_recipient(to, check_only)
    tls_context(cafile)
    with open_database(target, read_only=True) as db:
        with db.connect() as conn, db.errors(_("reading")):
            live = LiveState(read_general(conn, db.tables, db.backend),
                             read_users(conn, db.tables, db.backend))
            users = smtp_users(live)
            stored = read_stored_passwords(conn, db.tables, [
                u.code for u in users if u.password_set])
        codec_name = db.tables.mapping.password_codec
    if not users:
        raise MailprovError(_(
            "no user sends through SMTP with settings of their own on target '{target}': "
            "nothing to test. Give users an `smtp` section under `users:` and run `mailprov "
            "apply`").format(target=target.name))
    codec = get_codec(codec_name) if stored else None
    reports, requests = batch_checks(live, users, stored, codec, target.name, to=to, tls=tls,
                                     check_only=check_only)
    total, done_before = len(users), len(reports)
    if progress is not None:
        for done, report in enumerate(reports.values(), start=1):
            progress(done, total, report)

    def step(done: int, _count: int, report: SendReport) -> None:
        if progress is not None:
            progress(done_before + done, total, report)

    for report in check_many(requests, parallel=parallel, cafile=cafile,
                             timeout=timeout or DEFAULT_TIMEOUT, target=target.name,
                             debug=debug, progress=step):
        reports[report.user_code] = report
    return [reports[user.code] for user in users]


def key_status() -> KeysStatus:
    """The password codec's key and the plan key: where each comes from, by fingerprint."""
    from mailprov.plan.plankey import keys_status

    return keys_status()


def key_init(*, plan: bool = False, force: bool = False) -> KeyChange:
    """Create the password codec's secret key (or, with `plan`, the plan key) in the OS
    keyring; an existing one is replaced only with `force`."""
    if plan:
        from mailprov.plan.plankey import init_plan_key

        return init_plan_key(force)
    from mailprov.passwords.keys import init_key

    return init_key(force)


def key_export(*, plan: bool = False) -> tuple[str, str]:
    """The key in use (the codec's, or the plan key) and the warning to show beside it
    about where it may go."""
    if plan:
        from mailprov.plan.plankey import (
            export_plan_key,
            export_plan_warning,
            plan_key_fingerprint,
        )

        text = export_plan_key()
        return text, export_plan_warning(plan_key_fingerprint(text))
    from mailprov.passwords.keys import export_key, export_warning, key_fingerprint

    text = export_key()
    return text, export_warning(key_fingerprint(text))


def key_import(text: str, *, plan: bool = False, force: bool = False) -> KeyChange:
    """Store a key exported elsewhere (the codec's, or the plan key) in the OS keyring."""
    if plan:
        from mailprov.plan.plankey import import_plan_key

        return import_plan_key(text, force)
    from mailprov.passwords.keys import import_key

    return import_key(text, force)


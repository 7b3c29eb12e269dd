"""The plan key: the secret that signs saved plans, created, carried and checked.

`mailprov plan --out` signs a plan with it and `apply PLAN` refuses a plan whose signature
does not match (mailprov.plan.planfile). It comes from ``MAILPROV_PLAN_KEY`` (CI), else the
OS keyring entry ``plan-key``. Everyone who saves or applies plans for one target (and
the CI that does) needs the same key: ``export_plan_key`` and ``import_plan_key`` carry
it. Like the password codec's key, it is only ever shown by an export; elsewhere it is
named by a fingerprint (the first 8 bytes of the SHA-256 of its text, in hex).

Unlike that key, any text of at least 16 characters is accepted, so a CI secret store's
existing value can be used as it is; `init_plan_key` makes a random 256-bit one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from mailprov.errors import MailprovError
from mailprov.i18n import _
from mailprov.keystore import (
    ENV_PLAN_KEY,
    PLAN_KEY_NAME,
    SECRET_KEY_NAME,
    backend_name,
    get_secret,
    require_keyring,
    set_secret,
)
from mailprov.passwords.keys import (
    SOURCE_ENVIRONMENT,
    SOURCE_KEYRING,
    KeyChange,
    KeyExistsError,
    KeyStatus,
    generate_key,
    key_status,
)

MIN_PLAN_KEY_LENGTH = 16
MAX_PLAN_KEY_LENGTH = 4096


class PlanKeyError(MailprovError):
    """No plan key, or a text that cannot be one."""


@dataclass(frozen=True, slots=True)
class PlanKeyStatus:
    """Which plan key signs plans here and where it comes from (None: plans are saved
    unsigned); `problem` says why the keyring could not be read."""

    source: str | None
    fingerprint: str | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class KeysStatus:
    """`mailprov key status`: the key of the password codec, the plan key, and the OS
    keyring they are kept in (`keyring_problem` says why it cannot be used, if so)."""

    secret_key: KeyStatus
    plan_key: PlanKeyStatus
    keyring_backend: str | None
    keyring_problem: str | None


def keys_status() -> KeysStatus:
    """Where each key comes from, by fingerprint; never raises, never shows a key."""
    try:
        backend: str | None = backend_name()
    except MailprovError:
        backend = None
    try:
        require_keyring(SECRET_KEY_NAME)
        problem = None
    except MailprovError as exc:
        problem = exc.message
    return KeysStatus(key_status(), plan_key_status(), backend, problem)


def plan_key_fingerprint(text: str) -> str:
    """16 hex digits that tell two plan keys apart; safe to show."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_plan_key(text: str) -> str:
    """The key in `text` (surrounding whitespace dropped); PlanKeyError when it cannot be
    one. The error never quotes `text`: what was pasted may be another secret."""
    key = text.strip()
    if (len(key) < MIN_PLAN_KEY_LENGTH or len(key) > MAX_PLAN_KEY_LENGTH
            or not key.isprintable() or any(c.isspace() for c in key)):
        raise PlanKeyError(_(
            "it is not a plan key: a plan key is one line of {minimum} to {maximum} characters "
            "without spaces, like the one `mailprov key export --plan` prints").format(
                minimum=MIN_PLAN_KEY_LENGTH, maximum=MAX_PLAN_KEY_LENGTH))
    return key


def plan_key_status() -> PlanKeyStatus:
    """The plan key in use: MAILPROV_PLAN_KEY, else the keyring's; never raises."""
    value = os.environ.get(ENV_PLAN_KEY)
    if value:
        return PlanKeyStatus(SOURCE_ENVIRONMENT, plan_key_fingerprint(value))
    try:
        stored = get_secret(PLAN_KEY_NAME)
    except MailprovError as exc:
        return PlanKeyStatus(None, None, exc.message)
    if not stored:
        return PlanKeyStatus(None, None)
    return PlanKeyStatus(SOURCE_KEYRING, plan_key_fingerprint(stored))


def init_plan_key(force: bool = False) -> KeyChange:
    """Create a plan key and store it in the OS keyring. An existing one is replaced only
    with `force`: plans signed with it would no longer be accepted here."""
    require_keyring(PLAN_KEY_NAME)
    previous = _stored_fingerprint()
    if previous is not None and not force:
        raise KeyExistsError(_(
            "a plan key is already stored in the OS keyring (fingerprint {fingerprint}): a new "
            "key would make every plan signed with it unusable here, and other machines and "
            "CI would no longer accept plans signed here. Keep it; or run `mailprov key init "
            "--plan --force`, then carry the new key with `mailprov key export --plan`"
        ).format(fingerprint=previous))
    text = generate_key()
    set_secret(PLAN_KEY_NAME, text)
    return KeyChange(plan_key_fingerprint(text), previous, True, _environment_fingerprint())


def export_plan_key() -> str:
    """The plan key in use, to carry to another machine or a CI secret store."""
    value = os.environ.get(ENV_PLAN_KEY)
    if value:
        return value
    stored = get_secret(PLAN_KEY_NAME)
    if not stored:
        raise PlanKeyError(_(
            "no plan key on this machine (nor {env} in the environment): create one with "
            "`mailprov key init --plan`, or import the one your team uses with `mailprov key "
            "import --plan`").format(env=ENV_PLAN_KEY))
    return stored


def export_plan_warning(fingerprint: str) -> str:
    """What the CLI prints beside an exported plan key: where it may go, and where not."""
    return _(
        "This is the plan key (fingerprint {fingerprint}): whoever has it can sign a plan that "
        "`mailprov apply` will trust. Keep it only in a password manager, or in your CI's "
        "secret store as {env}. Never put it in the repository, a ticket, a chat or an "
        "e-mail."
    ).format(fingerprint=fingerprint, env=ENV_PLAN_KEY)


def import_plan_key(text: str, force: bool = False) -> KeyChange:
    """Store a plan key exported elsewhere in the OS keyring; a different one already
    there is replaced only with `force`."""
    try:
        key = parse_plan_key(text)
    except PlanKeyError as exc:
        raise PlanKeyError(_("cannot import the plan key: {reason}; nothing was changed")
                           .format(reason=exc.message)) from None
    fingerprint = plan_key_fingerprint(key)
    require_keyring(PLAN_KEY_NAME)
    previous = _stored_fingerprint()
    if previous == fingerprint:
        return KeyChange(fingerprint, previous, False, _environment_fingerprint())
    if previous is not None and not force:
        raise KeyExistsError(_(
            "another plan key is already stored in the OS keyring (fingerprint {previous}; "
            "the imported key is {fingerprint}): replacing it would make plans signed with "
            "it unusable here. Import with `--force` if the new key is the one to use"
        ).format(previous=previous, fingerprint=fingerprint))
    set_secret(PLAN_KEY_NAME, key)
    return KeyChange(fingerprint, previous, True, _environment_fingerprint())


def _stored_fingerprint() -> str | None:
    stored = get_secret(PLAN_KEY_NAME)
    return plan_key_fingerprint(stored) if stored else None


def _environment_fingerprint() -> str | None:
    value = os.environ.get(ENV_PLAN_KEY)
    return plan_key_fingerprint(value) if value else None

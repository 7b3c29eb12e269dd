"""Password codecs: how an SMTP password is turned into the text stored in maestro*'s row.

mailprov does not know how a given maestro* installation stores its SMTP passwords, so the
storage format is a plug-in: a *password codec*, named by the target's mapping and found
through the ``mailprov.password_codecs`` entry-point group. Any installed package can provide
one without changing mailprov (see docs/password-codecs.md). ``fernet`` is mailprov's own,
for the reference model.

Codecs are loaded on first use and kept for the process. Whatever a codec does wrong, the
user sees one message naming the codec and the user, never a traceback, and never the
password, the stored value, or the text of the codec's own exception (which could hold
either): codecs that want to explain a failure raise ``CodecError`` with a safe reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mailprov.errors import MailprovError
from mailprov.i18n import _

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "mailprov.password_codecs"

# mailprov's own codecs, used when the package metadata is not there (a source checkout
# on PYTHONPATH); an installed mailprov declares the same ones as entry points.
BUILTIN_CODECS = {"fernet": "mailprov.passwords.fernet:FernetCodec"}


@runtime_checkable
class PasswordCodec(Protocol):
    """What a codec provides. The entry point names a zero-argument callable (usually the
    class) that returns one; `name` is the entry point's name."""

    name: str

    def encode(self, password: str) -> str:
        """The text to store in the user's password column for `password`."""
        ...

    def decode(self, stored: str) -> str:
        """The password that `encode` turned into `stored`."""
        ...

    def describe(self) -> str:
        """One line for status output: the format, and where its key comes from. Nothing
        secret (a key fingerprint is fine)."""
        ...


class CodecError(Exception):
    """Raised by a codec for a value it cannot handle.

    `reason` is shown to the user as is, so it must hold nothing secret: no password, no
    stored value, no key. Say what is wrong and how to fix it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WrongKeyError(CodecError):
    """The stored value is in the codec's format but was encrypted under another key.

    `hint` says how to get the right key (``import the right key with `mailprov key
    import```); mailprov adds the user and "or set the password again".
    """

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


class PasswordCodecError(MailprovError):
    """A password codec is missing, broken, or could not encode or decode a password."""


class UnknownCodecError(PasswordCodecError):
    """No installed package provides a codec of that name."""


@dataclass(frozen=True, slots=True)
class CodecInfo:
    """An available codec, before it is loaded: for listings and messages."""

    name: str
    value: str  # "module:attribute"
    package: str  # the distribution that declares it ("mailprov", or "" for a built-in)
    version: str


_entries: dict[str, CodecInfo] | None = None
_loaded: dict[str, PasswordCodec] = {}


def clear_codec_cache() -> None:
    """Forget the codecs found and loaded (after packages were installed; in tests)."""
    global _entries
    _entries = None
    _loaded.clear()


def available_codecs() -> tuple[CodecInfo, ...]:
    """Every codec that can be named, by name: built-ins and installed entry points."""
    return tuple(info for _, info in sorted(_codec_entries().items()))


def get_codec(name: str) -> PasswordCodec:
    """The codec called `name`, loaded once per process.

    Raises UnknownCodecError (naming the installed codecs) when nothing provides it, and
    PasswordCodecError when its package cannot be imported or does not give a codec.
    """
    codec = _loaded.get(name)
    if codec is not None:
        return codec
    entries = _codec_entries()
    info = entries.get(name)
    if info is None:
        raise UnknownCodecError(_unknown_message(name, sorted(entries)))
    codec = _load(info)
    _loaded[name] = codec
    return codec


def encode_password(codec: PasswordCodec, password: str, *, user: str) -> str:
    """`codec.encode(password)`, with any failure turned into a message naming `user`."""
    try:
        stored = codec.encode(password)
    except MailprovError:
        raise  # mailprov's own messages (no key, no keyring) already say what to do
    except CodecError as exc:
        reason = _safe_reason(exc.reason, password)
        raise PasswordCodecError(
            _("cannot store the password of {user} with the password codec {codec}: "
              "{reason}").format(user=user, codec=_name_of(codec), reason=reason)
        ) from None
    except Exception as exc:
        raise PasswordCodecError(_broken_message(codec, "encode", user, exc)) from None
    if not isinstance(stored, str):
        raise PasswordCodecError(_broken_message(codec, "encode", user, None))
    return stored


def decode_password(codec: PasswordCodec, stored: str, *, user: str) -> str:
    """`codec.decode(stored)`, with any failure turned into a message naming `user`."""
    try:
        password = codec.decode(stored)
    except MailprovError:
        raise
    except WrongKeyError as exc:
        hint = _safe_reason(exc.hint, stored)
        raise PasswordCodecError(
            _("the stored password of {user} was encrypted with another key: {hint}, or set "
              "the password again").format(user=user, hint=hint)
        ) from None
    except CodecError as exc:
        reason = _safe_reason(exc.reason, stored)
        raise PasswordCodecError(
            _("cannot read the stored password of {user} with the password codec {codec}: "
              "{reason}").format(user=user, codec=_name_of(codec), reason=reason)
        ) from None
    except Exception as exc:
        raise PasswordCodecError(_broken_message(codec, "decode", user, exc)) from None
    if not isinstance(password, str):
        raise PasswordCodecError(_broken_message(codec, "decode", user, None))
    return password


def describe_codec(codec: PasswordCodec) -> str:
    """`codec.describe()`, or a plain line if it fails (a status listing must not die)."""
    try:
        line = codec.describe()
    except MailprovError as exc:
        return _("{codec} (unavailable: {reason})").format(codec=_name_of(codec), reason=exc)
    except Exception as exc:
        return _("{codec} (describe() failed: {error})").format(
            codec=_name_of(codec), error=exc.__class__.__name__
        )
    return line if isinstance(line, str) else _name_of(codec)


# -- internals ----------------------------------------------------------------------------


def _codec_entries() -> dict[str, CodecInfo]:
    """Entry points of the group, read once; two packages claiming one name is an error
    when that name is used (see `_load`), so both are remembered."""
    global _entries
    if _entries is None:
        from importlib.metadata import entry_points

        found: dict[str, CodecInfo] = {}
        for name, value in BUILTIN_CODECS.items():
            found[name] = CodecInfo(name, value, "", "")
        claimed: dict[str, list[CodecInfo]] = {}
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            info = _info(entry)
            claimed.setdefault(info.name, []).append(info)
        for name, infos in claimed.items():
            packages = {i.package for i in infos}
            found[name] = infos[0] if len(packages) == 1 else _conflict(name, infos)
        _entries = found
    return _entries


def _info(entry: EntryPoint) -> CodecInfo:
    dist = entry.dist
    package = dist.name if dist is not None else "?"
    version = dist.version if dist is not None else ""
    return CodecInfo(entry.name, entry.value, package, version)


_CONFLICT = "<conflict>"


def _conflict(name: str, infos: list[CodecInfo]) -> CodecInfo:
    packages = ", ".join(sorted({i.package for i in infos}))
    return CodecInfo(name, _CONFLICT, packages, "")


def _package_label(info: CodecInfo) -> str:
    if not info.package:
        return "mailprov"
    return f"{info.package} {info.version}".strip()


def _load(info: CodecInfo) -> PasswordCodec:
    """Import the entry point's object, call it, and check that it is a codec."""
    from importlib.metadata import EntryPoint

    if info.value == _CONFLICT:
        raise PasswordCodecError(
            _("several packages provide the password codec {codec}: {packages}; uninstall "
              "all but one").format(codec=info.name, packages=info.package)
        )
    where = _package_label(info)
    try:
        factory = EntryPoint(info.name, info.value, ENTRY_POINT_GROUP).load()
    except ImportError as exc:
        # an import error's text names a module, never a secret: worth showing
        raise PasswordCodecError(
            _("the password codec {codec} (from {package}) cannot be imported: {error}; "
              "reinstall that package").format(codec=info.name, package=where,
                                               error=_import_error_text(exc))
        ) from None
    except Exception as exc:
        raise PasswordCodecError(
            _("the password codec {codec} (from {package}) cannot be loaded ({error}); "
              "reinstall that package").format(codec=info.name, package=where,
                                               error=exc.__class__.__name__)
        ) from None
    codec = _instantiate(info, where, factory)
    if not isinstance(codec, PasswordCodec) or not all(
        callable(getattr(codec, method, None)) for method in ("encode", "decode", "describe")
    ):
        raise PasswordCodecError(
            _("{value} (from {package}) is not a password codec: it needs a name and the "
              "methods encode, decode and describe").format(value=info.value, package=where)
        )
    if codec.name != info.name:
        raise PasswordCodecError(
            _("the password codec registered as {codec} (from {package}) calls itself "
              "{other}; the two names must be the same").format(
                codec=info.name, package=where, other=str(codec.name)
            )
        )
    return codec


def _instantiate(info: CodecInfo, where: str, factory: object) -> object:
    if not callable(factory):
        return factory
    call: Callable[[], object] = factory
    try:
        return call()
    except MailprovError:
        raise
    except Exception as exc:
        raise PasswordCodecError(
            _("the password codec {codec} (from {package}) failed to start ({error})").format(
                codec=info.name, package=where, error=exc.__class__.__name__
            )
        ) from None


def _import_error_text(exc: ImportError) -> str:
    if exc.name:
        return _("no module named {module}").format(module=exc.name)
    return exc.__class__.__name__


def _unknown_message(name: str, installed: list[str]) -> str:
    close = difflib.get_close_matches(name, installed, n=1, cutoff=0.6)
    hint = _("; did you mean {codec}?").format(codec=close[0]) if close else ""
    return _(
        "no password codec named {codec}{hint} Installed codecs: {installed}. Install the "
        "package that provides {codec} (it declares it in the entry-point group {group}), "
        "or correct the codec name in the mapping file."
    ).format(codec=name, hint=hint or ".", installed=", ".join(installed), group=ENTRY_POINT_GROUP)


def _name_of(codec: object) -> str:
    name = getattr(codec, "name", None)
    return name if isinstance(name, str) else type(codec).__name__


def _broken_message(codec: PasswordCodec, operation: str, user: str,
                    exc: Exception | None) -> str:
    """A codec failed in a way it did not explain: name its exception class, not its text."""
    error = exc.__class__.__name__ if exc is not None else _("it did not return text")
    if operation == "encode":
        text = _("the password codec {codec} failed while storing the password of {user} "
                 "({error}); the codec or its package is broken: ask its maintainer")
    else:
        text = _("the password codec {codec} failed while reading the stored password of "
                 "{user} ({error}); the stored value may not be in this codec's format, or "
                 "the codec is broken: check the codec named in the mapping file")
    return text.format(codec=_name_of(codec), user=user, error=error)


def _safe_reason(reason: object, *secrets: str) -> str:
    """A codec's reason, unless it quotes one of the secrets it was handed."""
    text = str(reason)
    if any(secret and secret in text for secret in secrets):
        return _("the codec's explanation quoted the secret and was withheld")
    return text

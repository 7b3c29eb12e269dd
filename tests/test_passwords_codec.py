"""The codec registry: codecs found through the mailprov.password_codecs entry points of real
distribution metadata, and every way a codec can go wrong told in one message.

Packages are "installed" by writing their modules and a NAME-VERSION.dist-info folder
(METADATA, entry_points.txt) into a folder on sys.path, which importlib.metadata reads as it
reads what pip writes. importlib itself is not replaced.
"""

from __future__ import annotations

import base64
import os
import secrets as random_tokens
import sys
import tomllib
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from passwords_support import EXAMPLE_CODEC_DIR, REPO, SitePackages, site_packages

from mailprov.passwords.codec import (
    BUILTIN_CODECS,
    ENTRY_POINT_GROUP,
    CodecInfo,
    PasswordCodec,
    PasswordCodecError,
    UnknownCodecError,
    available_codecs,
    clear_codec_cache,
    decode_password,
    describe_codec,
    encode_password,
    get_codec,
)

EXAMPLE_KEY_VARIABLE = "EXAMPLE_CODEC_KEY"
PASSWORD = f"pw-{random_tokens.token_hex(12)}"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SitePackages]:
    with site_packages(tmp_path / "site-packages") as folder:
        yield folder


@pytest.fixture
def example_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv(EXAMPLE_KEY_VARIABLE, key)
    return key


def names() -> list[str]:
    return [info.name for info in available_codecs()]


def test_fernet_is_declared_by_mailprovs_own_metadata() -> None:
    from importlib.metadata import version

    clear_codec_cache()
    fernet = [info for info in available_codecs() if info.name == "fernet"]
    assert fernet == [CodecInfo("fernet", "mailprov.passwords.fernet:FernetCodec", "mailprov",
                                version("mailprov"))]
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    declared = project["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert declared == BUILTIN_CODECS == {"fernet": "mailprov.passwords.fernet:FernetCodec"}


def test_codecs_are_loaded_once() -> None:
    assert get_codec("fernet") is get_codec("fernet")


def test_unknown_codec_names_the_installed_ones(site: SitePackages) -> None:
    site.install("acme-codec", "1.0", {"acme-maestro": "acme_codec:Codec"})
    with pytest.raises(UnknownCodecError) as unknown:
        get_codec("maestro-legacy")
    installed = ", ".join(names())  # more if the venv has other codecs installed
    assert "acme-maestro, " in installed and "fernet" in installed
    assert str(unknown.value) == (
        f"no password codec named maestro-legacy. Installed codecs: {installed}. Install the "
        "package that provides maestro-legacy (it declares it in the entry-point group "
        "mailprov.password_codecs), or correct the codec name in the mapping file."
    )
    with pytest.raises(UnknownCodecError) as close:
        get_codec("fernett")
    assert str(close.value).startswith("no password codec named fernett; did you mean fernet? "
                                       f"Installed codecs: {installed}. ")


def test_the_example_codec_is_found_through_its_metadata(site: SitePackages,
                                                         example_key: str) -> None:
    before = names()
    site.install_example_codec()
    assert names() == sorted({*before, "example-aesgcm"})
    assert available_codecs()[0] == CodecInfo(
        "example-aesgcm", "mailprov_example_codec:AesGcmCodec", "mailprov-example-codec",
        "0.1.0")
    codec = get_codec("example-aesgcm")
    assert codec.name == "example-aesgcm"
    assert type(codec).__module__ == "mailprov_example_codec"
    stored = encode_password(codec, PASSWORD, user="COMPTA")
    assert stored.startswith("aesgcm1:") and PASSWORD not in stored
    assert decode_password(codec, stored, user="COMPTA") == PASSWORD
    assert describe_codec(codec).startswith("example-aesgcm: AES-256-GCM (example codec), key ")
    assert example_key not in describe_codec(codec)


def test_the_example_codec_is_found_only_when_installed(tmp_path: Path) -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    with pytest.raises(PackageNotFoundError):
        distribution("mailprov-example-codec")  # the suite expects it not installed
    with pytest.raises(UnknownCodecError):
        get_codec("example-aesgcm")
    with site_packages(tmp_path / "site") as site:
        site.install_example_codec()
        assert "example-aesgcm" in names()
    assert "mailprov_example_codec" not in sys.modules
    assert "example-aesgcm" not in names()
    with pytest.raises(UnknownCodecError):
        get_codec("example-aesgcm")


def test_the_example_codecs_own_errors(site: SitePackages, example_key: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    site.install_example_codec()
    codec = get_codec("example-aesgcm")
    stored = encode_password(codec, PASSWORD, user="COMPTA")
    monkeypatch.setenv(EXAMPLE_KEY_VARIABLE, base64.urlsafe_b64encode(os.urandom(32)).decode())
    with pytest.raises(PasswordCodecError) as wrong:
        decode_password(codec, stored, user="COMPTA")
    assert str(wrong.value) == (
        "the stored password of COMPTA was encrypted with another key: set EXAMPLE_CODEC_KEY "
        "to the key it was stored with, or set the password again"
    )
    with pytest.raises(PasswordCodecError) as not_ours:
        decode_password(codec, "gAAAAABrDchy8KZ0", user="COMPTA")
    assert str(not_ours.value) == (
        "cannot read the stored password of COMPTA with the password codec example-aesgcm: the "
        "stored value does not start with 'aesgcm1:', so this codec did not write it"
    )
    monkeypatch.delenv(EXAMPLE_KEY_VARIABLE)
    with pytest.raises(PasswordCodecError) as no_key:
        encode_password(codec, PASSWORD, user="COMPTA")
    assert str(no_key.value) == (
        "cannot store the password of COMPTA with the password codec example-aesgcm: "
        "EXAMPLE_CODEC_KEY is not set; set it to the installation's key"
    )


def test_two_packages_claiming_one_name(site: SitePackages) -> None:
    site.install("acme-codec", "1.0", {"maestro": "acme_codec:Codec"})
    site.install("other-codec", "2.0", {"maestro": "other_codec:Codec"})
    with pytest.raises(PasswordCodecError) as conflict:
        get_codec("maestro")
    assert str(conflict.value) == (
        "several packages provide the password codec maestro: acme-codec, other-codec; "
        "uninstall all but one"
    )


GOOD_CODEC = '''
class Codec:
    name = "rot"

    def encode(self, password):
        return password[::-1]

    def decode(self, stored):
        return stored[::-1]

    def describe(self):
        return "rot: reversed text (test codec)"

codec = Codec()
'''


def test_an_entry_point_may_name_an_instance(site: SitePackages) -> None:
    site.install("rot-codec", "1.0", {"rot": "rot_codec:codec"}, {"rot_codec": GOOD_CODEC})
    codec = get_codec("rot")
    assert isinstance(codec, PasswordCodec)
    assert decode_password(codec, encode_password(codec, "abc", user="U"), user="U") == "abc"


BROKEN = {
    "missing_module": ("gone_codec:Codec", None,
                       "the password codec broken (from broken-codec 1.0) cannot be imported: "
                       "no module named gone_codec; reinstall that package"),
    "missing_attribute": ("rot_codec:Nothing", GOOD_CODEC,
                          "the password codec broken (from broken-codec 1.0) cannot be loaded "
                          "(AttributeError); reinstall that package"),
    "import_fails": ("bad_codec:Codec", "raise ValueError('boom at import')\n",
                     "the password codec broken (from broken-codec 1.0) cannot be loaded "
                     "(ValueError); reinstall that package"),
    "not_a_codec": ("bad_codec:thing", "thing = 42\n",
                    "bad_codec:thing (from broken-codec 1.0) is not a password codec: it needs "
                    "a name and the methods encode, decode and describe"),
    "no_describe": ("bad_codec:Codec",
                    "class Codec:\n    name = 'broken'\n    def encode(self, p): return p\n"
                    "    def decode(self, s): return s\n",
                    "bad_codec:Codec (from broken-codec 1.0) is not a password codec: it needs "
                    "a name and the methods encode, decode and describe"),
    "other_name": ("rot_codec:Codec", GOOD_CODEC,
                   "the password codec registered as broken (from broken-codec 1.0) calls "
                   "itself rot; the two names must be the same"),
    "factory_fails": ("bad_codec:make",
                      "def make():\n    raise KeyError('ACME_KEY=sekrit')\n",
                      "the password codec broken (from broken-codec 1.0) failed to start "
                      "(KeyError)"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_codec_package_is_one_message(site: SitePackages, case: str) -> None:
    value, source, message = BROKEN[case]
    module = value.split(":")[0]
    site.install("broken-codec", "1.0", {"broken": value},
                 {module: source} if source is not None else None)
    with pytest.raises(PasswordCodecError) as broken:
        get_codec("broken")
    assert str(broken.value) == message
    assert "sekrit" not in "".join(traceback.format_exception(broken.value))


LEAKY_CODEC = '''
from mailprov.passwords.codec import CodecError

class Codec:
    name = "leaky"

    def encode(self, password):
        if password.startswith("quote-"):
            raise CodecError("cannot encode " + password)
        raise ValueError("cannot encode " + password)

    def decode(self, stored):
        if stored.startswith("quote-"):
            raise CodecError("cannot decode " + stored)
        if stored.startswith("bytes-"):
            return stored.encode()
        raise ValueError("cannot decode " + stored)

    def describe(self):
        raise RuntimeError("describe failed")
'''


def test_a_failing_codec_never_shows_the_values_it_was_given(site: SitePackages) -> None:
    site.install("leaky-codec", "1.0", {"leaky": "leaky_codec:Codec"},
                 {"leaky_codec": LEAKY_CODEC})
    codec = get_codec("leaky")
    cases = [
        (lambda: encode_password(codec, PASSWORD, user="COMPTA"),
         "the password codec leaky failed while storing the password of COMPTA (ValueError); "
         "the codec or its package is broken: ask its maintainer"),
        (lambda: encode_password(codec, "quote-" + PASSWORD, user="COMPTA"),
         "cannot store the password of COMPTA with the password codec leaky: the codec's "
         "explanation quoted the secret and was withheld"),
        (lambda: decode_password(codec, "stored-" + PASSWORD, user="COMPTA"),
         "the password codec leaky failed while reading the stored password of COMPTA "
         "(ValueError); the stored value may not be in this codec's format, or the codec is "
         "broken: check the codec named in the mapping file"),
        (lambda: decode_password(codec, "quote-" + PASSWORD, user="COMPTA"),
         "cannot read the stored password of COMPTA with the password codec leaky: the codec's "
         "explanation quoted the secret and was withheld"),
        (lambda: decode_password(codec, "bytes-" + PASSWORD, user="COMPTA"),
         "the password codec leaky failed while reading the stored password of COMPTA (it did "
         "not return text); the stored value may not be in this codec's format, or the codec "
         "is broken: check the codec named in the mapping file"),
    ]
    for call, message in cases:
        with pytest.raises(PasswordCodecError) as failed:
            call()
        assert str(failed.value) == message
        shown = "".join(traceback.format_exception(failed.value)) + repr(failed.value)
        assert PASSWORD not in shown
    assert describe_codec(codec) == "leaky (describe() failed: RuntimeError)"


def test_the_example_package_is_complete() -> None:
    """What the README promises is there: an installable project declaring the entry point."""
    project = tomllib.loads((EXAMPLE_CODEC_DIR / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["entry-points"] == {
        ENTRY_POINT_GROUP: {"example-aesgcm": "mailprov_example_codec:AesGcmCodec"}}
    assert "mailprov" in project["project"]["dependencies"]
    readme = (EXAMPLE_CODEC_DIR / "README.md").read_text("utf-8")
    assert "**This is an example.** It is not how maestro* stores SMTP passwords" in readme

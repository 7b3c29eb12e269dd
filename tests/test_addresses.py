"""The address check gives email-validator's answer, and does not ask it for ordinary ones.

mailprov.config.addresses accepts plainly valid addresses itself (ASCII or not) and
sends everything else to email-validator: on generated addresses, ASCII and
international, valid and not, both must give the same decision and message.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailprov.config.addresses import address_error


def reference(address: str) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


ATEXT = "abcxyzABZ0189_!#$%&'*+-/=?^`{|}~"
UNICODE = (
    "éèçôïÉàœß"  # French, as in Quebec
    "ωΣλ" "жЯд" "日本語" "한국" "עב" "عربي" "हिन्दी"  # other scripts, Devanagari with marks
    "\u0301\u0308"  # combining marks, alone or after a letter (not NFC when composable)
    "\u1100\u1161"  # Hangul jamo that NFC composes
    "\u212b\u2126"  # Angstrom and Ohm signs: NFC maps them to other letters
    "\u3002\uff0e\uff20\ufe6b"  # ideographic and full-width full stops, at-sign look-alikes
    "\u200b\u200d\u00ad\u2060"  # zero-width and soft hyphen: format characters
    "\u00a0\u3000\u2028"  # spaces and a line separator
    "\u0085\x7f\x00\t"  # controls
    "\ue000\U000f0000\u0378\ud800"  # private use, unassigned, a lone surrogate
    "①²½" "©™€"  # numbers and symbols
)
SPECIAL = " .@<>\"\\()[],;:"

local_chars = st.sampled_from(ATEXT + ATEXT + UNICODE + SPECIAL + "..")
locals_ = st.one_of(
    st.text(local_chars, min_size=0, max_size=12),
    st.sampled_from(["compta", "frédéric.tremblay", "françois", "jérôme", "chloé", "noël",
                     "\u7528\u6237", "\u0440\u0443\u0441", "\u0905\u0928\u0941", "e\u0301",
                     "\u0301a", "a..b", ".a", "a.", '"quoted"', "a b", "Info", "POSTMASTER"]),
    st.integers(55, 260).map(lambda n: "a" * n),
    st.integers(25, 130).map(lambda n: "é" * n),
)
labels = st.one_of(
    st.text(st.sampled_from("abcxyzABZ0189-"), min_size=1, max_size=8),
    st.sampled_from(["example", "com", "ca", "qc", "co", "uk", "xn--bcher-kva", "xn--x",
                     "ab--cd", "a--b", "-a", "a-", "123", "localhost", "local", "test", "onion",
                     "invalid", "arpa", "TEST", "Com", "société", "bücher", "日本", "пример",
                     "exa_mple", "ex ample", "é", "\u0301a", "\u2488", "xn--société",
                     "a" * 63, "b" * 64]),
)
domains = st.one_of(
    st.lists(labels, min_size=1, max_size=4).map(".".join),
    st.lists(labels, min_size=1, max_size=3).map("。".join),
    st.sampled_from(["example.com", "mail.example.com", "EXAMPLE.COM", "example.com.",
                     ".example.com", "example..com", "example.c0m", "example.1", "[127.0.0.1]",
                     "", "société.ca", "bücher.example", "例え.jp", "xn--bcher-kva.example",
                     "exämple.com", "ex\u200bample.com"]),
    st.integers(60, 125).map(lambda n: "d" * 63 + "." + "e" * n + ".com"),
)
# Mostly valid: letters of several scripts (and marks) on ordinary domains.
plausible = st.tuples(
    st.text(st.sampled_from("abcxyz019._+-éçôÉœ日本жЯहि\u0301"), min_size=1, max_size=14),
    st.lists(st.text(st.sampled_from("abcxyzAZ019-"), min_size=1, max_size=6), min_size=2,
             max_size=3).map(".".join),
).map("@".join)
addresses = st.one_of(
    plausible,
    plausible,
    st.tuples(locals_, domains).map("@".join),
    st.tuples(locals_, domains, domains).map(lambda t: f"{t[0]}@{t[1]}@{t[2]}"),
    st.tuples(locals_, domains).map(lambda t: f"Name <{t[0]}@{t[1]}>"),
    st.text(local_chars, max_size=20),
)


@settings(max_examples=3000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(addresses)
@example("frédéric.tremblay@example.com")
@example("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 59 + ".ca")  # 254 bytes
@example("a" * 65 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 59 + ".ca")  # 255
@example("é" * 60 + "@" + "société" * 8 + ".ca")  # long once the domain is Punycode
@example("compta@example.test")
def test_the_address_check_agrees_with_email_validator(address: str) -> None:
    assert address_error(address) == reference(address), address


ORDINARY = ["comptabilite@example.com", "Frederic.Tremblay+paie@mail.example.qc.ca",
            "frédéric.tremblay@exemple.ca", "françois-xavier@exemple.ca", "noël.côté@exemple.ca",
            "用户@example.cn", "пользователь@example.ru", "उपयोगकर्ता@example.in",
            "مستخدم@example.sa", "ユーザー@example.jp", "o'brien@example.ie"]


def test_ordinary_addresses_of_any_script_are_checked_without_email_validator() -> None:
    """No per-address call: email-validator is not even imported for these."""
    code = textwrap.dedent(f"""
        import sys
        from mailprov.config.addresses import address_error
        assert [address_error(a) for a in {ORDINARY!r}] == [None] * {len(ORDINARY)}
        print("email_validator" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
    assert [reference(a) for a in ORDINARY] == [None] * len(ORDINARY)


def test_an_international_domain_is_asked_once_and_its_addresses_are_not() -> None:
    code = textwrap.dedent("""
        import email_validator
        from mailprov.config import addresses
        calls = []
        real = email_validator.validate_email
        def counted(address, **kw):
            calls.append(address)
            return real(address, **kw)
        email_validator.validate_email = counted
        for n in range(50):
            assert addresses.address_error(f"employé{n}@société.ca") is None
        assert addresses.address_error("x y@société.ca") is not None
        print(calls)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "['a@société.ca', 'x y@société.ca']"

"""Is this an e-mail address? email-validator's answer, without asking it for ordinary ones.

email-validator (RFC 5322 / 6531 syntax, IDNA 2008 domains, no DNS lookup) is the
reference: every refusal, and so every message, is its own. It costs 20 ms to import
and tens of microseconds an address, which a 10,000-user file pays twice a user. So
an address is accepted here without it when it is plainly valid by email-validator's
own rules, written out below:

- the part before the @ is a dot-atom of RFC 5322 characters, or (RFC 6531) of those
  and of letters, digits, punctuation, symbols and combining marks of any script
  (not a mark first), already in Unicode NFC form;
- the domain is an ASCII host name that email-validator accepts (checked once per
  domain), or an international one that it accepted once (`a@domain`) with the
  address's length then checked in each of its forms;
- the address is at most 254 bytes of UTF-8 in each of those forms.

Anything else (quotes, odd dots, special-use domains, Punycode, unusual characters)
goes to email-validator itself. tests/test_addresses.py checks on generated
addresses, ASCII and not, that both give the same answer and the same message.
"""

from __future__ import annotations

import re
from functools import lru_cache

# RFC 5322 3.2.3 atext, as email_validator.rfc_constants.ATEXT
_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_ASCII_LOCAL = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*\Z")
# ... and any character from U+0080 on (RFC 6531): everything but the ASCII that atext
# leaves out (written so, it compiles in a fraction of the time of the range)
_INTL_ATOM = r'[^\x00-\x20"(),.:;<>@\[\\\]\x7f]+'
_INTL_LOCAL = re.compile(rf"{_INTL_ATOM}(?:\.{_INTL_ATOM})*\Z")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Labels of letters, digits and inner hyphens; the last one ends with a letter (every
# top-level domain does); at least two labels.
_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z0-9][a-z0-9-]*)?[a-z]\Z")
_RESERVED_LDH = re.compile(r"(?:^|\.)..--")  # xn-- (Punycode) and other R-LDH labels
# email_validator.SPECIAL_USE_DOMAIN_NAMES: refused, with their own message
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
MAX_ADDRESS = 254  # bytes of UTF-8 (RFC 5321 4.5.3.1.3)
MAX_DOMAIN = 253
MAX_LABEL = 63


def address_error(address: str) -> str | None:
    """Why `address` is not a usable e-mail address (email-validator's message), or None.

    No DNS lookup."""
    local, at, domain = address.rpartition("@")
    if at and _local_ok(local):
        if domain.isascii():
            if _ascii_domain_ok(domain) and len(address.encode("utf-8")) <= MAX_ADDRESS:
                return None
        else:
            forms = _domain_forms(domain)
            if forms is not None and all(len(f"{local}@{form}".encode()) <= MAX_ADDRESS
                                         for form in (domain, *forms)):
                return None
    return _full_check(address)


def _local_ok(local: str) -> bool:
    """A dot-atom email-validator accepts as it is (no quoting, no normalisation)."""
    if local.isascii():
        return _ASCII_LOCAL.match(local) is not None
    import unicodedata

    if not _INTL_LOCAL.match(local) or not unicodedata.is_normalized("NFC", local):
        return False
    if unicodedata.category(local[0])[0] == "M":  # would combine with what comes before
        return False
    return all(_safe_char(c) for c in _NON_ASCII.findall(local))


@lru_cache(maxsize=1024)
def _safe_char(char: str) -> bool:
    """Letters, digits, punctuation, symbols and marks: not spaces, controls, formats,
    private-use or unassigned code points (email-validator's check_unsafe_chars)."""
    import unicodedata

    return unicodedata.category(char)[0] in "LNPSM"


@lru_cache(maxsize=1024)
def _ascii_domain_ok(domain: str) -> bool:
    """An ASCII domain email-validator accepts without Punycode: RFC 952/1123 labels, a
    period, a top-level domain ending with a letter, no special-use name."""
    domain = domain.lower()  # as IDNA's UTS 46 mapping leaves an ASCII name
    if len(domain) > MAX_DOMAIN or not _HOSTNAME.match(domain) or _RESERVED_LDH.search(domain):
        return False
    labels = domain.split(".")
    return all(len(label) <= MAX_LABEL for label in labels) and labels[-1] not in _SPECIAL_USE


@lru_cache(maxsize=1024)
def _domain_forms(domain: str) -> tuple[str, str] | None:
    """An international domain's normalised and ASCII (IDNA) forms, if email-validator
    accepts the domain; None if not (the whole address is then checked for its message)."""
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


@lru_cache(maxsize=4096)
def _full_check(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None

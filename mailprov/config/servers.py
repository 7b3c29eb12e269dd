"""Server names: a host name or an IP address, and nothing else (no scheme, port or path).

maestro* hands the server to its SMTP client as a host to connect to, so a URL
or `host:587` in that field fails only when mail is sent. Checked offline, with
the fix in the message; cached per distinct value (a configuration of 10,000
users names a handful of servers).
"""

from __future__ import annotations

import re
from functools import lru_cache

from mailprov.errors import SHOWN_CHARS, quoted, visible
from mailprov.i18n import _

# ASCII host names: labels of letters, digits, '-' (not at either end) and '_' (Windows
# networks use it, and resolvers accept it), dot-separated, with an optional final dot.
_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_ASCII_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?\Z")
_HOST_CHARS = re.compile(r"[A-Za-z0-9_.-]")
_MAX_HOST = 253


def server_error(server: str) -> str | None:
    """Why `server` is not a host name or an IP address, or None.

    Accepted: host names (ASCII, international as written or in punycode), IPv4
    addresses, and IPv6 addresses without brackets (this is an address, not a
    URL). Refused with a way out: URLs, a port written after the name, a path.
    """
    verdict = _server_verdict(server)
    if verdict is None:
        return None
    kind, host, detail = verdict
    value = quoted(server, SHOWN_CHARS)
    if kind in ("url", "port"):
        text = (_("{value} is a URL: write the server alone ({host})") if kind == "url"
                else _("{value} includes a port: write the server alone ({host})"))
        text = text.format(value=value, host=visible(host))
        if detail:
            text += _(" and the port under `port:` ({port})").format(port=detail)
        return text
    if kind == "brackets":
        return _("{value}: write an IPv6 address without brackets ({address})").format(
            value=value, address=visible(host))
    if kind == "path":
        return _("{value} has a path: write the server alone ({host})").format(
            value=value, host=visible(host))
    if kind == "ipv4":
        return _("{value} is not an IP address: an IPv4 address is four numbers from 0 to 255 "
                 "separated by dots, such as 192.0.2.10").format(value=value)
    if kind == "ipv6":
        return _("{value} is not an IP address: an IPv6 address is written as in "
                 "2001:db8::1").format(value=value)
    reasons = {
        "empty": _("it has an empty part between dots"),
        "hyphen": _("a part between dots starts or ends with '-'"),
        "label": _("a part between dots is longer than 63 characters"),
        "long": _("it is longer than {count} characters").format(count=_MAX_HOST),
        "char": _("{char} is not allowed (a host name has letters, digits, '-', '_' and "
                  "dots)").format(char=quoted(detail)),
    }
    reason = reasons.get(kind, detail)  # "idna": the idna package's own reason
    return _("{value} is not a host name: {reason}").format(value=value, reason=reason)


@lru_cache(maxsize=1024)
def _server_verdict(server: str) -> tuple[str, str, str] | None:
    """(kind, host, detail) of what is wrong with `server`, None when it is fine.

    Cached: a configuration names few servers, however many users it has.
    """
    if _ASCII_HOST.match(server) and len(server) <= _MAX_HOST + 1 \
            and "xn--" not in server.lower():
        if not server.rstrip(".").rsplit(".", 1)[-1].isdigit():
            return None  # a host name: the common case
        return None if _is_ip(server, 4) else ("ipv4", "", "")
    if "://" in server:
        from urllib.parse import urlsplit

        host, port = _split_port(urlsplit(server).netloc.rpartition("@")[2])
        return ("url", host, port)
    if server.startswith("["):
        host, port = _split_port(server)
        if port:
            return ("port", host, port)
        if server.endswith("]"):
            return ("brackets", server[1:-1], "")
    if "/" in server:
        return ("path", server.split("/", 1)[0], "")
    if server.count(":") == 1:
        host, port = _split_port(server)
        if port:
            return ("port", host, port)
    elif ":" in server:
        return None if _is_ip(server, 6) else ("ipv6", "", "")
    if re.fullmatch(r"[0-9.]+", server):
        return ("ipv4", "", "")
    return _host_name_verdict(server)


def _split_port(hostport: str) -> tuple[str, str]:
    """`host:587` -> (host, '587'); `[::1]:25` -> ('::1', '25'); no port -> (host, '')."""
    if hostport.startswith("["):
        inner, _bracket, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inner, port if port.isdigit() else ""
    host, colon, port = hostport.rpartition(":")
    if colon and port.isdigit() and ":" not in host:
        return host, port
    return hostport, ""


def _is_ip(text: str, version: int) -> bool:
    import ipaddress

    try:
        (ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address)(text)
    except ValueError:
        return False
    return True


def _host_name_verdict(server: str) -> tuple[str, str, str] | None:
    labels = (server[:-1] if server.endswith(".") else server).split(".")
    if any(not label for label in labels):
        return ("empty", "", "")
    for char in server:
        if char.isascii() and not _HOST_CHARS.match(char):
            return ("char", "", char)
    if any(label[0] == "-" or label[-1] == "-" for label in labels):
        return ("hyphen", "", "")
    if any(len(label) > 63 for label in labels):
        return ("label", "", "")
    import idna

    try:  # an international name, or punycode: as the resolver will encode it
        encoded = idna.encode(server, uts46=True)
        if server.isascii():
            idna.decode(server)
    except idna.IDNAError as exc:
        return ("idna", "", str(exc))
    return ("long", "", "") if len(encoded.rstrip(b".")) > _MAX_HOST else None

"""How values from files and databases are shown safely in Markdown and HTML.

A user code or an SMTP login comes from a pull request or from maestro* itself: it may
hold `|`, `<script>`, a link, an `@mention` or a right-to-left override. Everything
such a value could do is neutralised here, once, for every renderer.
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import quote

from mailprov.render.values import show

# Every ASCII punctuation character is backslash-escaped in Markdown (CommonMark allows
# it for all of them): no table cell split (`|`), no emphasis, no raw HTML (`<`), no link
# (`[`, `(`), and no autolink either, because `.`, `:` and `@` escaped apart break the
# `www.`, `scheme:` and `user@host` runs that GitHub's extended autolinks look for.
_MD_ESCAPES = {ord(c): "\\" + c for c in string.punctuation}


class MdSafe(str):
    """Markdown that mailprov wrote itself: templates print it as is."""

    __slots__ = ()


def display(value: Any) -> str:
    """A value as people read it (mailprov.render.values.show): `(none)`, `true`/`false`,
    and text that could hide (a space at either end, empty, a control character) quoted,
    so that a trailing space in a login is seen rather than lost."""
    return show(value)


def md_escape(text: str) -> str:
    """Backslash-escape every ASCII punctuation character of already displayable text."""
    return text.translate(_MD_ESCAPES)


def md(value: Any) -> MdSafe:
    """A value as Markdown text that renders exactly as `display(value)` reads."""
    if isinstance(value, MdSafe):
        return value
    return MdSafe(md_escape(display(value)))


def md_code(value: Any) -> MdSafe:
    """A value in a `<code>` element: monospace, and out of reach of GitHub's mention,
    issue-reference and emoji filters, which skip code."""
    return MdSafe(f"<code>{md(value)}</code>")


def marker_text(kind: str, target: str) -> str:
    """The hidden marker that lets CI find and update its own comment or issue:
    `<!-- mailprov:plan target=prod -->`. The target is percent-encoded outside
    `A-Za-z0-9._-`, and never holds `--`, so it cannot close the comment early."""
    name = quote(target, safe="._-").replace("--", "-%2D")
    return f"<!-- mailprov:{kind} target={name} -->"

"""Jinja2 environments for the Markdown and HTML pages.

Our own templates ship in the package (`mailprov/render/templates`, read with
importlib.resources). A team's template (`--template FILE`) is code from a repository,
so it runs in Jinja's sandbox and is given the plan's data and nothing else. In both,
every value printed with `{{ ... }}` is escaped for the output format unless it is
text mailprov wrote itself: a template cannot forget to escape a user code.

Jinja2 is imported here, and this module only by the renderers that need it, so the
commands that print no page never load it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailprov.errors import MailprovError
from mailprov.i18n import _, ngettext
from mailprov.render.escape import MdSafe, display, md, md_code

if TYPE_CHECKING:
    from jinja2 import Environment, Template

TEMPLATE_PACKAGE = "mailprov.render"
TEMPLATE_FOLDER = "templates"
MAX_TEMPLATE_BYTES = 256 * 1024


class TemplateError(MailprovError):
    """A team's template cannot be read or rendered."""


def _md_finalize(value: Any) -> Any:
    """What `{{ value }}` prints in Markdown: mailprov's own text as is, anything else
    escaped (an empty result stays empty)."""
    if isinstance(value, MdSafe) or value == "":
        return value
    return md(value)


def _md_tr(message: str, /, **values: Any) -> MdSafe:
    """Translated text of mailprov's own, with its `{placeholders}` escaped."""
    return MdSafe(_(message).format(**{k: md(v) for k, v in values.items()}))


def _md_trn(singular: str, plural: str, n: int, **values: Any) -> MdSafe:
    values.setdefault("n", n)
    return MdSafe(ngettext(singular, plural, n).format(
        **{k: md(v) for k, v in values.items()}))


def _html_tr(message: str, /, **values: Any) -> Any:
    from markupsafe import escape

    return escape(_(message)).format(**{k: display(v) if not hasattr(v, "__html__") else v
                                        for k, v in values.items()})


def _html_trn(singular: str, plural: str, n: int, **values: Any) -> Any:
    from markupsafe import escape

    values.setdefault("n", n)
    return escape(ngettext(singular, plural, n)).format(
        **{k: display(v) if not hasattr(v, "__html__") else v for k, v in values.items()})


_SAFE_URL = re.compile(r"https://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+\Z")


def _md_url(value: Any) -> MdSafe:
    """A link target: an https URL without spaces, parentheses or angle brackets is
    printed as is; anything else is escaped text (a broken link, never an injected one)."""
    text = str(value)
    if _SAFE_URL.match(text) and "(" not in text and ")" not in text:
        return MdSafe(text)
    return md(text)


def _md_html(value: Any) -> MdSafe:
    """A value inside raw HTML of a Markdown page (a `<summary>`), where Markdown
    escapes are not read: HTML-escaped instead."""
    import html

    return MdSafe(html.escape(display(value)))


def _html_finalize(value: Any) -> Any:
    """Every value printed in a page is shown as people must read it (a space at either
    end quoted, control and bidi characters written out) before it is HTML-escaped:
    a template cannot forget it."""
    if hasattr(value, "__html__") or (isinstance(value, (int, float)) \
            and not isinstance(value, bool)):
        return value
    return display(value)


def _load_packaged(name: str) -> str:
    return (resources.files(TEMPLATE_PACKAGE) / TEMPLATE_FOLDER / name).read_text("utf-8")


def _common(env: Environment, fmt: str) -> None:
    """Filters and translation shared by our templates and a team's. `_()` and
    `ngettext()` (jinja2.ext.i18n; what `pybabel extract` reads in templates) are
    mailprov.i18n's, with `{name}` placeholders filled from keyword arguments and escaped
    for the output format; `tr`/`trn` are their older names, kept for teams' templates.
    `{% trans %}` blocks would use `%(name)s` placeholders and skip that escaping: our
    templates do not use them."""
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.keep_trailing_newline = True
    env.filters["display"] = display
    env.add_extension("jinja2.ext.i18n")
    if fmt == "md":
        env.filters["md"] = md
        env.filters["code"] = md_code
        env.filters["url"] = _md_url
        env.filters["h"] = _md_html
        gettext, plural = _md_tr, _md_trn
    else:
        gettext, plural = _html_tr, _html_trn
    # newstyle=False: the callables are called as they are (they format and escape)
    env.install_gettext_callables(gettext, plural, newstyle=False)  # type: ignore[attr-defined]
    env.globals["tr"] = gettext
    env.globals["trn"] = plural


def _bounded_sandbox_class() -> type:
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedSandbox(SandboxedEnvironment):
        """Jinja's sandbox, with `*`, `**` and `+` on text and lists bounded: a template
        cannot build a string of gigabytes in one expression."""

        intercepted_binops = frozenset({"*", "**", "+"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int) and abs(right) > 100:
                raise TemplateError(_("exponents over 100 are not allowed in a template"))
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                            and len(seq) * times > TEAM_MAX_OUTPUT:
                        raise TemplateError(_("a text or list of more than {n} items is not "
                                              "allowed in a template").format(
                            n=TEAM_MAX_OUTPUT))
            return super().call_binop(context, operator, left, right)

    return BoundedSandbox


@cache
def packaged_environment(fmt: str) -> Environment:
    """The environment of mailprov's own templates: `md` (escaped by finalize) or
    `html` (autoescaped)."""
    from jinja2 import Environment, FunctionLoader, StrictUndefined

    env = Environment(loader=FunctionLoader(_load_packaged), undefined=StrictUndefined,
                      autoescape=fmt == "html",
                      finalize=_md_finalize if fmt == "md" else _html_finalize)
    _common(env, fmt)
    return env


def packaged_template(name: str) -> Template:
    return packaged_environment("html" if name.endswith(".html.j2") else "md") \
        .get_template(name)


def team_template(path: str) -> Callable[[Mapping[str, Any]], str]:
    """A team's Markdown template, compiled in Jinja's sandbox: it can format the data
    it is given, not reach Python objects, files or the network. Values are escaped
    like ours; `{{ value | code }}` shows one as code."""
    from jinja2 import StrictUndefined, TemplateSyntaxError

    try:
        raw = Path(path).read_bytes()[: MAX_TEMPLATE_BYTES + 1]
    except OSError as exc:
        raise TemplateError(_("cannot read the template {path}: {reason}").format(
            path=path, reason=exc.strerror)) from None
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateError(_("the template {path} is larger than {size} KiB").format(
            path=path, size=MAX_TEMPLATE_BYTES // 1024))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(_("the template {path} is not UTF-8 text").format(
            path=path)) from None
    env = _bounded_sandbox_class()(autoescape=False, undefined=StrictUndefined,
                                   finalize=_md_finalize)
    _common(env, "md")
    env.globals["range"] = _bounded_range
    try:
        template = env.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateError(_("{path}:{line}: the template is not valid Jinja: {reason}")
                            .format(path=path, line=exc.lineno, reason=exc.message)) from None

    def render(context: Mapping[str, Any]) -> str:
        chunks: list[str] = []
        size = 0
        try:
            with _time_limit(TEAM_RENDER_SECONDS):
                for chunk in template.generate(**context):
                    size += len(chunk)
                    if size > TEAM_MAX_OUTPUT:
                        raise _TooLong
                    chunks.append(chunk)
        except _TooLong:
            raise TemplateError(_("{path}: the template writes more than {size} MB: "
                                  "make it shorter").format(
                path=path, size=TEAM_MAX_OUTPUT // 1_000_000)) from None
        except _TookTooLong:
            raise TemplateError(_("{path}: the template took more than {seconds} s to "
                                  "render: simplify its loops").format(
                path=path, seconds=TEAM_RENDER_SECONDS)) from None
        except Exception as exc:  # the template is the team's code: any failure is theirs
            raise TemplateError(_("{path}: the template failed: {reason}").format(
                path=path, reason=f"{exc.__class__.__name__}: {exc}")) from None
        return "".join(chunks)

    return render


# A team template renders a plan: it may loop over thousands of users, but a loop that
# runs for minutes, or a page of hundreds of megabytes, is a mistake (or an attack).
TEAM_RENDER_SECONDS = 10
TEAM_MAX_OUTPUT = 20_000_000
TEAM_MAX_RANGE = 100_000


class _TooLong(Exception):
    pass


class _TookTooLong(Exception):
    pass


def _bounded_range(*args: int) -> Iterator[int]:
    """`range` for team templates: at most TEAM_MAX_RANGE numbers."""
    numbers = range(*args)
    if len(numbers) > TEAM_MAX_RANGE:
        raise TemplateError(_("range() of more than {n} numbers is not allowed in a "
                              "template").format(n=TEAM_MAX_RANGE))
    return iter(numbers)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a render that runs longer than `seconds` (a timer signal, where the
    platform has one and this is the main thread; elsewhere the other limits hold)."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: Any) -> None:
        raise _TookTooLong

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

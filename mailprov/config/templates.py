"""Templated values (`"{{ user.code | lower }}@{{ vars.domain }}"`), compiled and rendered safely.

A configuration is reviewed in pull requests but written by many hands, and a
template runs on the admin's machine with database access: it must not reach
files, the environment or Python internals, and must not hang or eat memory.
So templates are a small language on purpose:

- Jinja2's ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``, no
  autoescape, no loader, no globals (no ``range``, ``cycler``, ``lipsum``...),
  no constant folding at compile time, and a curated set of filters and tests;
- a template is expressions, ``{% if %}`` and comments: no loops, macros,
  ``{% set %}``, includes, imports or function/method calls (checked on the
  syntax tree, so ``validate`` reports them offline with their line);
- attributes exist only on ``user`` and ``vars``; names starting with ``_`` are
  refused; text and numbers have no attributes at all;
- every operator that can grow a value (``*``, ``**``, ``+``, ``%``...) and every
  filter checks the size of its result *before* building it: no text in a
  template exceeds ``MAX_TEXT_LENGTH`` characters, no number ``MAX_NUMBER_BITS``;
- a render has a deadline (``RENDER_SECONDS``) checked at every operation.

Templates see ``user.code``, ``user.name``, ``user.number`` (from the live
database at plan time; a stand-in user for offline checks) and ``vars.NAME``.
Each distinct template text is compiled once (``compile_template`` is cached):
ten thousand users share a handful of templates.
"""

from __future__ import annotations

import difflib
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

import msgspec

from mailprov.errors import MailprovError, Problem, quoted
from mailprov.i18n import _

if TYPE_CHECKING:
    from jinja2 import Environment, Template

MAX_TEMPLATE_LENGTH = 2000
"""Characters in a template's source: a value is a line, not a program."""
MAX_TEXT_LENGTH = 1000
"""Characters in any text a template builds, and in its result."""
MAX_NUMBER_BITS = 128
"""Size of any number a template computes (``10 ** 38`` fits, ``10 ** 40`` does not)."""
RENDER_SECONDS = 0.25
"""Time one render may take."""

USER_FIELDS = ("code", "name", "number")
UNKNOWN_NAME = "template-unknown-name"
"""The code of a template that names a variable or user field that does not exist."""
RENDER = "template-render"
"""The code of a template that compiles but fails when rendered."""
_MARKERS = ("{{", "{%", "{#")
_ALLOWED_TAGS = "{{ ... }}, {% if %} / {% elif %} / {% else %} / {% endif %}, {# ... #}"
_EXAMPLE = "{{ user.code | lower }}@{{ vars.domain }}"


class TemplateError(MailprovError):
    """A template that cannot be compiled or rendered: what is wrong and how to fix it.

    `line` is the 1-based line inside the value (1 for a one-line value), so the
    loader can point at the file line of a multi-line value.
    """

    def __init__(self, message: str, line: int = 1, code: str = "template-syntax") -> None:
        super().__init__(message)
        self.line = line
        self.code = code

    def problem(self, file: str, line: int, column: int, path: tuple[str | int, ...],
                user: str | None = None) -> Problem:
        """The Problem for a value found at `file:line:column`; `user` names the user rendered."""
        message = self.message
        if user is not None:
            message = _("{message} (user {code})").format(message=message, code=user)
        if self.line > 1 and line:
            line, column = line + self.line - 1, 1
        return Problem(file, line, column, path, message, code=self.code)


class TemplateUser(msgspec.Struct, frozen=True):
    """What a template knows of a maestro* user: code, name and number (`user_no`)."""

    code: str
    name: str
    number: int


STAND_IN_USER = TemplateUser("JDOE", "Jane Doe", 1)
"""The user `validate` renders every template for, offline."""


class NameUse(msgspec.Struct, frozen=True):
    """A dotted name a template reads (``("vars", "domain")``), where, and whether it
    may be missing (under ``| default`` or ``is defined``)."""

    parts: tuple[str, ...]
    line: int
    optional: bool


class CompiledTemplate(msgspec.Struct, frozen=True):
    """A checked, compiled template; `names` are the dotted names it reads."""

    source: str
    names: tuple[NameUse, ...]
    jinja: Template


class TemplateVars:
    """`vars` as templates see them: read-only, nested mappings become groups.

    Build it once per configuration and share it between users.
    """

    __slots__ = ("namespace",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.namespace = _Namespace("vars", values)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.namespace.values))


class TemplateContext(msgspec.Struct, frozen=True):
    """The values one render sees (see `make_context`)."""

    values: Mapping[str, Any]


def make_context(user: TemplateUser,
                 variables: TemplateVars | Mapping[str, Any]) -> TemplateContext:
    """The context for rendering `user`'s values; pass a prebuilt TemplateVars for speed."""
    if not isinstance(variables, TemplateVars):
        variables = TemplateVars(variables)
    facts = {"code": user.code, "name": user.name, "number": user.number}
    return TemplateContext({"user": _Namespace("user", facts, frozen=True),
                            "vars": variables.namespace})


def is_template(text: str) -> bool:
    """True when `text` holds template markup (``{{``, ``{%`` or ``{#``); cheap."""
    return "{" in text and any(marker in text for marker in _MARKERS)


@lru_cache(maxsize=1024)
def compile_template(text: str) -> CompiledTemplate:
    """Parse, check and compile `text`; raises TemplateError. Cached by text."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(_("the template is {length} characters long (at most {limit}): "
                              "a templated value is one short expression, e.g. {example}")
                            .format(length=len(text), limit=MAX_TEMPLATE_LENGTH,
                                    example=_EXAMPLE))
    from jinja2 import TemplateSyntaxError

    env = _environment()
    try:
        tree = env.parse(text)
        names = _Checker().check(tree)
        jinja = env.from_string(tree)
    except TemplateSyntaxError as exc:
        raise TemplateError(_syntax_message(exc), exc.lineno or 1) from None
    except RecursionError:
        raise TemplateError(_("the template is nested too deeply: simplify it")) from None
    return CompiledTemplate(text, names, jinja)


def check_names(template: CompiledTemplate, variables: TemplateVars | Mapping[str, Any]) -> None:
    """Every `vars.NAME` the template reads exists (or is guarded); raises TemplateError."""
    if not isinstance(variables, TemplateVars):
        variables = TemplateVars(variables)
    for use in template.names:
        if use.parts[0] != "vars" or use.optional:
            continue
        node: Any = variables.namespace
        for depth in range(1, len(use.parts)):
            if not isinstance(node, _Namespace):
                raise TemplateError(_not_a_group(".".join(use.parts[:depth]),
                                                 use.parts[depth]), use.line, UNKNOWN_NAME)
            if use.parts[depth] not in node.values:
                raise TemplateError(node.unknown(use.parts[depth]), use.line, UNKNOWN_NAME)
            node = node.values[use.parts[depth]]


def check_offline(template: CompiledTemplate,
                  variables: TemplateVars | Mapping[str, Any]) -> None:
    """What `validate` runs: the names check, then a render for the stand-in user."""
    if not isinstance(variables, TemplateVars):
        variables = TemplateVars(variables)
    check_names(template, variables)
    render(template, make_context(STAND_IN_USER, variables))


def render(template: CompiledTemplate, context: TemplateContext) -> str:
    """The text of `template` for `context`; raises TemplateError (with the line)."""
    budget = _BUDGET
    budget.deadline = time.monotonic() + RENDER_SECONDS
    jinja = template.jinja
    try:
        parts: list[str] = []
        length = 0
        for chunk in jinja.root_render_func(jinja.new_context(dict(context.values))):
            length += len(chunk)
            if length > MAX_TEXT_LENGTH:
                raise _Refused(_("the value is longer than {limit} characters: a templated "
                                 "value must stay short").format(limit=MAX_TEXT_LENGTH))
            parts.append(chunk)
            _tick()
        return "".join(parts)
    except _Refused as exc:
        raise TemplateError(exc.message, _template_line(jinja, exc.__traceback__),
                            RENDER) from None
    except Exception as exc:  # any failure inside the template is the template's
        raise TemplateError(_runtime_message(exc), _template_line(jinja, exc.__traceback__),
                            RENDER) from None
    finally:
        budget.deadline = None


def render_value(text: str, context: TemplateContext) -> str:
    """`text` itself when it is no template, else its rendering."""
    return render(compile_template(text), context) if is_template(text) else text


# --- filters --------------------------------------------------------------------------------

_TRANSLITERATE = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                                "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L",
                                "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
                                "’": "'", "ʼ": "'", "‘": "'", "«": '"', "»": '"'})
_APOSTROPHES = re.compile(r"['’`ʼ]")
_NOT_SLUG = re.compile(r"[^a-z0-9-]+")


def to_ascii(value: Any) -> str:
    """"Frédéric Côté" -> "Frederic Cote": accents and ligatures to plain letters."""
    text = str(value).translate(_TRANSLITERATE)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def to_slug(value: Any, separator: str = ".") -> str:
    """"Frédéric Côté" -> "frederic.cote", "Jean-François D'Amours" -> "jean-francois.damours".

    Lower-case ASCII letters, digits and hyphens; apostrophes vanish; any other run
    of characters becomes `separator`: a ready local part for an e-mail address.
    """
    if not isinstance(separator, str) or len(separator) > 5:
        raise _Refused(_("slug takes a separator of at most 5 characters, e.g. "
                         "`| slug('-')`"))
    text = _APOSTROPHES.sub("", to_ascii(value).lower())
    return _NOT_SLUG.sub(separator, text).strip(separator + "-") if separator else \
        _NOT_SLUG.sub("", text).strip("-")


def _text(value: Any) -> str:
    _tick()
    text = value if isinstance(value, str) else str(value)
    _check_length(len(text))
    return text


def _check_length(length: int) -> None:
    if length > MAX_TEXT_LENGTH:
        raise _Refused(_("the value would be {length} characters long; a template may build "
                         "at most {limit} characters").format(length=length,
                                                              limit=MAX_TEXT_LENGTH))


def _checked(result: Any) -> Any:
    if isinstance(result, (str, list, tuple)):
        _check_length(len(result))
    return result


def _join(value: Any, separator: str = "") -> str:
    _tick()
    items = [_text(item) for item in _items(value)]
    _check_length(sum(map(len, items)) + len(str(separator)) * max(len(items) - 1, 0))
    return str(separator).join(items)


def _items(value: Any) -> list[Any]:
    if isinstance(value, _Namespace):
        return sorted(value.values)
    if isinstance(value, (str, list, tuple)):
        _check_length(len(value))
        return list(value)
    raise _Refused(_("`join` needs text or a list, not {kind}").format(kind=_kind(value)))


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = _text(value), _text(old), _text(new)
    found = text.count(old) if old else len(text) + 1
    if count is not None:
        found = min(found, max(int(count), 0))
    _check_length(len(text) + found * (len(new) - len(old)))
    return text.replace(old, new) if count is None else text.replace(old, new, int(count))


def _truncate(value: Any, length: int = 255, killwords: bool = False, end: str = "...") -> str:
    text = _text(value)
    length = int(length)
    if len(text) <= length:
        return text
    if killwords:
        return text[: max(length - len(end), 0)] + end
    cut = text[: max(length - len(end), 0) + 1].rsplit(" ", 1)[0]
    return _checked(cut + end)  # type: ignore[no-any-return]


def _zfill(value: Any, width: int) -> str:
    width = int(width)
    _check_length(width)
    return _text(value).zfill(width)


def _split(value: Any, separator: str | None = None) -> list[str]:
    return _text(value).split(separator)


def _first(value: Any) -> Any:
    items = _sequence(value)
    return items[0] if items else ""


def _last(value: Any) -> Any:
    items = _sequence(value)
    return items[-1] if items else ""


def _sequence(value: Any) -> Any:
    _tick()
    if isinstance(value, (str, list, tuple)):
        return value
    raise _Refused(_("expected text or a list, got {kind}").format(kind=_kind(value)))


def _reverse(value: Any) -> Any:
    return _sequence(value)[::-1]


def _length(value: Any) -> int:
    _tick()
    if isinstance(value, _Namespace):
        return len(value.values)
    return len(_sequence(value))


def _int(value: Any, default: Any = 0) -> Any:
    _tick()
    if isinstance(value, int):
        return int(value)
    try:
        number = int(value) if isinstance(value, float) else int(_text(value).strip())
    except (ValueError, OverflowError):
        try:
            number = int(float(_text(value).strip()))
        except (ValueError, OverflowError):
            return default
    _check_number(number)
    return number


def _string(value: Any) -> str:
    return _text(value)


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    from jinja2 import Undefined

    _tick()
    if isinstance(value, Undefined) or (boolean and not value):
        return default_value
    return value


def _simple(function: Callable[[str], str]) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        return _checked(function(_text(value)))  # type: ignore[no-any-return]

    apply.__name__ = function.__name__
    return apply


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "lower": _simple(str.lower), "upper": _simple(str.upper),
        "title": _simple(str.title), "capitalize": _simple(str.capitalize),
        "trim": _simple(str.strip), "ascii": _simple(to_ascii),
        "slug": lambda value, separator=".": _checked(to_slug(_text(value), separator)),
        "replace": _replace, "truncate": _truncate, "join": _join, "split": _split,
        "first": _first, "last": _last, "reverse": _reverse, "length": _length,
        "count": _length, "default": _default, "d": _default, "int": _int,
        "string": _string, "zfill": _zfill,
    }


def _tests() -> dict[str, Callable[..., bool]]:
    from jinja2 import Undefined

    return {
        "defined": lambda value: not isinstance(value, Undefined),
        "undefined": lambda value: isinstance(value, Undefined),
        "none": lambda value: value is None,
        "string": lambda value: isinstance(value, str),
        "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
        "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
        "odd": lambda value: int(value) % 2 == 1,
        "even": lambda value: int(value) % 2 == 0,
        "lower": lambda value: str(value).islower(),
        "upper": lambda value: str(value).isupper(),
        "in": lambda value, seq: value in seq,
        "eq": lambda a, b: bool(a == b), "==": lambda a, b: bool(a == b),
        "ne": lambda a, b: bool(a != b), "!=": lambda a, b: bool(a != b),
    }


# --- the sandbox ----------------------------------------------------------------------------


class _Refused(Exception):
    """A limit or a rule of the template language, raised from inside a render."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Budget(threading.local):
    deadline: float | None = None


_BUDGET = _Budget()


def _tick() -> None:
    deadline = _BUDGET.deadline
    if deadline is not None and time.monotonic() > deadline:
        raise _Refused(_("the template took more than {seconds} s to render: simplify it")
                       .format(seconds=RENDER_SECONDS))


def _check_number(value: Any) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        raise _Refused(_("a number in the template is too large (more than {bits} bits)")
                       .format(bits=MAX_NUMBER_BITS))


def _kind(value: Any) -> str:
    if isinstance(value, _Namespace):
        return _("the group `{name}`").format(name=value.name)
    if isinstance(value, bool):
        return _("true/false")
    if isinstance(value, (int, float)):
        return _("a number")
    if isinstance(value, str):
        return _("text")
    if isinstance(value, (list, tuple)):
        return _("a list")
    if value is None:
        return _("nothing (null)")
    return type(value).__name__


class _Namespace:
    """`user` or `vars` (or a group inside vars): names to values, nothing else reachable."""

    __slots__ = ("frozen", "name", "values")

    def __init__(self, name: str, values: Mapping[str, Any], frozen: bool = False) -> None:
        self.name = name
        self.frozen = frozen
        self.values: Mapping[str, Any] = values if frozen else {
            str(key): _wrap(f"{name}.{key}", value) for key, value in values.items()}

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.values))

    def __len__(self) -> int:
        return len(self.values)

    def __str__(self) -> str:
        raise _Refused(self.not_text())

    def __repr__(self) -> str:  # `{{ [user] }}`: no object address in a value
        return f"<{self.name}>"

    def not_text(self) -> str:
        if self.name == "user":
            return _("`user` is a group of values, not text: use user.code, user.name or "
                     "user.number")
        return _("`{name}` is a group of values, not text: use one of them, e.g. "
                 "{name}.{first}").format(name=self.name,
                                          first=min(self.values, default="NAME"))

    def unknown(self, key: str) -> str:
        """The message for `self.key`, which does not exist."""
        return _unknown(self.name, key, sorted(self.values))


def _wrap(name: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return _Namespace(name, value)
    if isinstance(value, list):
        return tuple(_wrap(name, item) for item in value)
    return value


def _unknown(group: str, key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6) if len(key) < 100 else []
    hint = _("did you mean `{name}`?").format(name=f"{group}.{close[0]}") if close else ""
    if group == "user":
        message = _("unknown variable `user.{key}`: a user has code, name and number") \
            .format(key=key)
        return f"{message}; {hint}" if hint else message
    if group == "vars":
        where = (_("defined: {names}").format(names=", ".join(known)) if known
                 else _("no vars are defined"))
        fix = _("add `{key}` under `vars:` or pass --var {key}=VALUE ({where})").format(
            key=key, where=where)
        if hint:
            return _("unknown variable `vars.{key}`: {hint} Otherwise {fix}").format(
                key=key, hint=hint, fix=fix)
        return _("unknown variable `vars.{key}`: {fix}").format(key=key, fix=fix)
    message = _("unknown variable `{group}.{key}` (defined in {group}: {names})").format(
        group=group, key=key, names=", ".join(known) or "-")
    return f"{message}; {hint}" if hint else message


def _not_a_group(name: str, key: str) -> str:
    return _("`{name}` is a value, not a group: it has no `{key}`; to transform a value use a "
             "filter, e.g. `{name} | lower`").format(name=name, key=key)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """The one sandbox, built on first use (Jinja2 stays off the CLI start-up path)."""
    from jinja2 import StrictUndefined, Undefined
    from jinja2.runtime import Context
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**", "%", "+", "-", "/", "//"])
        intercepted_unops = frozenset(["-", "+"])

        def getattr(self, obj: Any, attribute: str) -> Any:
            _tick()
            if isinstance(obj, _Namespace):
                if attribute in obj.values:
                    return obj.values[attribute]
                return self.undefined(hint=obj.unknown(attribute), obj=obj, name=attribute)
            if isinstance(obj, Undefined):
                return obj
            raise _Refused(_("{kind} has no attribute `{name}`: to transform a value use a "
                             "filter, e.g. `{{{{ user.name | lower }}}}`")
                           .format(kind=_kind(obj).capitalize(), name=attribute))

        def getitem(self, obj: Any, argument: Any) -> Any:
            _tick()
            if isinstance(obj, _Namespace):
                return self.getattr(obj, str(argument))
            if isinstance(obj, Undefined):
                return obj
            if isinstance(obj, (str, tuple)) and isinstance(argument, (int, slice)):
                try:
                    return obj[argument]
                except IndexError:
                    return self.undefined(hint=_("position {index} is past the end of {kind} "
                                                 "of length {length}").format(
                        index=argument, kind=_kind(obj), length=len(obj)))
            raise _Refused(_("cannot take [{index}] of {kind}")
                           .format(index=_short(argument), kind=_kind(obj)))

        def call(__self, __context: Context, __obj: Any, *args: Any,
                 **kwargs: Any) -> Any:
            raise _Refused(_("calling functions or methods is not allowed in templates"))

        def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
            _tick()
            _check_binop(operator, left, right)
            result = self.binop_table[operator](left, right)
            _check_number(result)
            return _checked(result)

        def call_unop(self, context: Context, operator: str, arg: Any) -> Any:
            _tick()
            return self.unop_table[operator](arg)

    env = Sandbox(undefined=StrictUndefined, autoescape=False, finalize=_finalize,
                  keep_trailing_newline=True)
    env.optimized = False  # no compile-time evaluation: `'x' * 10**8` must meet the checks
    env.globals.clear()
    env.filters.clear()
    env.filters.update(_filters())
    env.tests.clear()
    env.tests.update(_tests())
    return env


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "%" and not isinstance(left, (int, float)):
        raise _Refused(_("`%` formatting of text is not allowed in templates: join text with "
                         "`~`, e.g. `{{ vars.prefix ~ user.code }}`"))
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, tuple, list)) and isinstance(count, int):
                _check_length(len(sequence) * max(count, 0))
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and right * max(abs(left).bit_length() - 1, 1) > MAX_NUMBER_BITS:
            raise _Refused(_("a number in the template is too large (more than {bits} bits)")
                           .format(bits=MAX_NUMBER_BITS))
    elif operator == "**" and isinstance(right, float) and abs(right) > 1024:
        raise _Refused(_("a number in the template is too large (more than {bits} bits)")
                       .format(bits=MAX_NUMBER_BITS))
    elif operator == "+" and isinstance(left, (str, tuple, list)) \
            and isinstance(right, (str, tuple, list)):
        _check_length(len(left) + len(right))


def _finalize(value: Any) -> Any:
    _tick()
    if isinstance(value, _Namespace):
        raise _Refused(value.not_text())
    if value is None:
        raise _Refused(_("a value in this template is empty (null): give it a value, or write "
                         "`| default('...', true)`"))
    if isinstance(value, str):
        _check_length(len(value))
    return value


def _short(value: Any) -> str:
    text = quoted(value) if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- the syntax-tree policy -----------------------------------------------------------------

_TAGS = {
    "For": "for", "Macro": "macro", "CallBlock": "call", "FilterBlock": "filter",
    "With": "with", "Assign": "set", "AssignBlock": "set", "Include": "include",
    "Import": "import", "FromImport": "from", "Extends": "extends", "Block": "block",
    "ScopedEvalContextModifier": "autoescape", "EvalContextModifier": "autoescape",
    "ExprStmt": "do", "Continue": "continue", "Break": "break",
}


class _Checker:
    """Walks a parsed template and refuses what the template language leaves out."""

    def __init__(self) -> None:
        self.names: list[NameUse] = []

    def check(self, tree: Any) -> tuple[NameUse, ...]:
        self.visit(tree, optional=False)
        return tuple(self.names)

    def visit(self, node: Any, optional: bool) -> None:
        from jinja2 import nodes

        kind = type(node).__name__
        line = getattr(node, "lineno", 1) or 1
        if kind in _TAGS:
            raise TemplateError(self._tag_message(_TAGS[kind]), line)
        if isinstance(node, nodes.Call):
            raise TemplateError(_("calling `{name}(...)` is not allowed in templates: use "
                                  "filters, e.g. {example}")
                                .format(name=_callee(node.node), example=_EXAMPLE), line)
        if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)):
            self.name_use(node, optional, line)
            return
        if isinstance(node, nodes.Filter) and node.node is not None:
            guard = node.name in ("default", "d")
            self.visit(node.node, optional or guard)
            self.visit_children(node, skip=node.node)
            return
        if isinstance(node, (nodes.Filter, nodes.Test)):
            self.known(node, line)
        if isinstance(node, nodes.Test):
            guard = node.name in ("defined", "undefined")
            self.visit(node.node, optional or guard)
            self.visit_children(node, skip=node.node)
            return
        self.visit_children(node, skip=None)

    def visit_children(self, node: Any, skip: Any) -> None:
        from jinja2 import nodes

        for child in node.iter_child_nodes():
            if child is not skip and isinstance(child, nodes.Node):
                self.visit(child, optional=False)

    def name_use(self, node: Any, optional: bool, line: int) -> None:
        """`user.code`, `vars.domain`, `vars['a'].b`...: check the fixed parts now."""
        from jinja2 import nodes

        parts: list[str] = []
        every: list[str] = []  # parts is cleared at a computed key; this is not
        current = node
        while True:
            if isinstance(current, nodes.Getattr):
                every.append(current.attr)
                parts.append(current.attr)
                current = current.node
            elif isinstance(current, nodes.Getitem):
                key = current.arg
                if isinstance(key, nodes.Const) and isinstance(key.value, str):
                    every.append(key.value)
                    parts.append(key.value)
                else:  # a computed key or a position: check from here on at render
                    self.visit(key, optional=False)
                    parts.clear()
                current = current.node
            else:
                break
        for name in reversed(every):  # innermost first: `__class__` in `''.__class__.__mro__`
            if name.startswith("_"):
                raise TemplateError(_("`{name}` is not allowed in templates: names starting "
                                      "with `_` reach Python internals").format(name=name), line)
        if not isinstance(current, nodes.Name):
            self.visit(current, optional=False)  # `'text'.upper` and the like
            if parts:
                raise TemplateError(_("{kind} has no attribute `{name}`: to transform a value "
                                      "use a filter, e.g. {example}")
                                    .format(kind=_("A constant"), name=parts[-1],
                                            example="{{ user.name | lower }}"), line)
            return
        root = current.name
        if root not in ("user", "vars"):
            close = difflib.get_close_matches(root, ["user", "vars"], n=1, cutoff=0.6)
            hint = _("; did you mean `{name}`?").format(name=close[0]) if close else ""
            raise TemplateError(_("unknown name `{name}`: templates can use user.code, "
                                  "user.name, user.number and vars.NAME{hint}")
                                .format(name=root, hint=hint), line, UNKNOWN_NAME)
        path = (root, *reversed(parts))
        if root == "user" and len(path) >= 2:
            if path[1] not in USER_FIELDS:
                raise TemplateError(_unknown("user", path[1], list(USER_FIELDS)), line,
                                    UNKNOWN_NAME)
            if len(path) >= 3:
                raise TemplateError(_not_a_group(f"user.{path[1]}", path[2]), line,
                                    UNKNOWN_NAME)
        self.names.append(NameUse(path, line, optional))

    @staticmethod
    def known(node: Any, line: int) -> None:
        """An unknown filter or test is reported with its line, before any render."""
        from jinja2 import nodes

        env = _environment()
        is_filter = isinstance(node, nodes.Filter)
        if node.name not in (env.filters if is_filter else env.tests):
            raise TemplateError(_unknown_function("filter" if is_filter else "test", node.name),
                                line)

    @staticmethod
    def _tag_message(tag: str) -> str:
        if tag in ("include", "import", "from", "extends"):
            return _("`{{% {tag} %}}` is not allowed in templates: a template cannot read "
                     "other files; write the value itself").format(tag=tag)
        return _("`{{% {tag} %}}` is not allowed in templates: a templated value is an "
                 "expression, e.g. {example}; templates allow {allowed}").format(
            tag=tag, example=_EXAMPLE, allowed=_ALLOWED_TAGS)


def _callee(node: Any) -> str:
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Getattr):
        return _callee(node.node) + "." + str(node.attr)
    if isinstance(node, nodes.Const):
        return _short(node.value)
    return "..."


def _syntax_message(exc: Any) -> str:
    text = str(exc.message or "invalid syntax")
    match = re.match(r"No (filter|test) named '([^']*)'", text)
    if match:
        return _unknown_function(match.group(1), match.group(2))
    match = re.match(r"Encountered unknown tag '([^']*)'", text)
    if match:
        return _("unknown tag `{{% {tag} %}}`: templates allow {allowed}").format(
            tag=match.group(1), allowed=_ALLOWED_TAGS)
    return _("template syntax error: {error}; write expressions between {{{{ and }}}}, "
             "e.g. {example}").format(error=text.rstrip("."), example=_EXAMPLE)


def _unknown_function(kind: str, name: str) -> str:
    env = _environment()
    known = sorted(env.filters if kind == "filter" else env.tests)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6) if len(name) < 100 else []
    hint = _("; did you mean `{name}`?").format(name=close[0]) if close else ""
    if kind == "filter":
        return _("unknown filter `{name}`{hint} (filters: {known})").format(
            name=name, hint=hint, known=", ".join(known))
    return _("unknown test `{name}`{hint} (tests: {known})").format(
        name=name, hint=hint, known=", ".join(known))


def _runtime_message(exc: BaseException) -> str:
    from jinja2 import UndefinedError

    if isinstance(exc, UndefinedError):
        return str(exc.message or exc)
    if isinstance(exc, TypeError):
        return _("cannot render the template: {error}; to join text and numbers use `~`, e.g. "
                 "`{{{{ user.code ~ user.number }}}}`").format(error=exc)
    if isinstance(exc, ZeroDivisionError):
        return _("cannot render the template: division by zero")
    if isinstance(exc, RecursionError):
        return _("the template is nested too deeply: simplify it")
    return _("cannot render the template: {error}").format(error=exc)


def _template_line(jinja: Template, tb: TracebackType | None) -> int:
    """The template line of the innermost frame of the compiled template in `tb`."""
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = jinja.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line

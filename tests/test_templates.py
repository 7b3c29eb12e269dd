"""Templated values: the sandbox, its limits, its messages and its speed.

Hostile templates from the issue each fail with one clean message, fast, and
without building the huge value they ask for.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from mailprov.config import templates
from mailprov.config.templates import (
    MAX_TEXT_LENGTH,
    STAND_IN_USER,
    CompiledTemplate,
    TemplateError,
    TemplateUser,
    TemplateVars,
    check_names,
    check_offline,
    compile_template,
    is_template,
    make_context,
    render,
    render_value,
    to_ascii,
    to_slug,
)
from mailprov.errors import MailprovError, Problem

VARS = {"domain": "acme-construction.ca", "site": {"city": "Québec"}, "teams": ["a", "b"]}
USER = TemplateUser("JTREMBLAY", "Jean Tremblay", 42)

UNDERSCORE = "`{name}` is not allowed in templates: names starting with `_` reach Python internals"
NOT_ALLOWED = ("`{{% {tag} %}}` is not allowed in templates: a templated value is an expression, "
               "e.g. {{{{ user.code | lower }}}}@{{{{ vars.domain }}}}; templates allow "
               "{{{{ ... }}}}, {{% if %}} / {{% elif %}} / {{% else %}} / {{% endif %}}, "
               "{{# ... #}}")
NO_FILES = ("`{{% {tag} %}}` is not allowed in templates: a template cannot read other files; "
            "write the value itself")
CALLING = ("calling `{name}(...)` is not allowed in templates: use filters, e.g. "
           "{{{{ user.code | lower }}}}@{{{{ vars.domain }}}}")
UNKNOWN_NAME = ("unknown name `{name}`: templates can use user.code, user.name, user.number and "
                "vars.NAME")
TOO_LONG = ("the value would be {length} characters long; a template may build at most 1000 "
            "characters")
PERCENT = ("`%` formatting of text is not allowed in templates: join text with `~`, e.g. "
           "`{{ vars.prefix ~ user.code }}`")
TOO_LARGE = "a number in the template is too large (more than 128 bits)"


def outcome(text: str) -> str:
    """The rendering for USER with VARS, or the error's message (with its line when not 1)."""
    try:
        template = compile_template(text)
        check_names(template, VARS)
        return render(template, make_context(USER, VARS))
    except TemplateError as error:
        return f"line {error.line}: {error.message}" if error.line != 1 else error.message


@pytest.mark.parametrize(("text", "message"), [
    ("{{ ''.__class__.__mro__ }}", UNDERSCORE.format(name="__class__")),
    ("{{ cycler.__init__ }}", UNDERSCORE.format(name="__init__")),
    ("{{ cycler }}", UNKNOWN_NAME.format(name="cycler")),
    ("{{ range }}", UNKNOWN_NAME.format(name="range")),
    ("{{ lipsum }}", UNKNOWN_NAME.format(name="lipsum")),
    ("{{ namespace }}", UNKNOWN_NAME.format(name="namespace")),
    ("{{ self }}", UNKNOWN_NAME.format(name="self")),
    ("{{ user['__class__'] }}", UNDERSCORE.format(name="__class__")),
    ("{{ vars.__class__.__init__.__globals__ }}", UNDERSCORE.format(name="__class__")),
    ("{{ user.name.__len__ }}", UNDERSCORE.format(name="__len__")),
    ("{{ lipsum.__globals__['os'] }}", UNDERSCORE.format(name="__globals__")),
    ("{{ vars.teams[0].__class__ }}", UNDERSCORE.format(name="__class__")),
    ("{{ vars[user.code].__class__ }}", UNDERSCORE.format(name="__class__")),
    ("{% for i in range(10**9) %}x{% endfor %}", NOT_ALLOWED.format(tag="for")),
    ("{% for i in user.name %}{% for j in user.name %}{% for k in user.name %}{% endfor %}"
     "{% endfor %}{% endfor %}", NOT_ALLOWED.format(tag="for")),
    ("{% set x = 'a' %}{{ x }}", NOT_ALLOWED.format(tag="set")),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", NOT_ALLOWED.format(tag="macro")),
    ("{% filter upper %}x{% endfilter %}", NOT_ALLOWED.format(tag="filter")),
    ("{% include '/etc/passwd' %}", NO_FILES.format(tag="include")),
    ("{% import 'secrets.yaml' as s %}", NO_FILES.format(tag="import")),
    ("{% from 'x' import y %}", NO_FILES.format(tag="from")),
    ("{% extends 'base.txt' %}", NO_FILES.format(tag="extends")),
    ("{{ range(10**9) | join }}", CALLING.format(name="range")),
    ("{{ user.code.upper() }}", CALLING.format(name="user.code.upper")),
    ("{{ ''.join(user.name) }}", CALLING.format(name="''.join")),
    ("{{ 'x' * 10**8 }}", TOO_LONG.format(length=100000000)),
    ("{{ 10**8 * 'x' }}", TOO_LONG.format(length=100000000)),
    ("{{ vars.teams * 10**9 }}", TOO_LONG.format(length=2000000000)),
    ("{{ '%s' % user.name }}", PERCENT),
    ("{{ '%0100000000d' % 1 }}", PERCENT),
    ("{{ user.name | join(user.name * 30) }}",
     TOO_LONG.format(length=13 + 12 * 13 * 30)),
    ("{{ (user.name | join(user.name)) | join(user.name | join(user.name)) }}",
     TOO_LONG.format(length=28561)),
    ("{{ 'x' | zfill(10**8) }}", TOO_LONG.format(length=100000000)),
    ("{{ user.name | replace('', 'y' * 999) }}", TOO_LONG.format(length=13 + 14 * 999)),
    ("{{ 'x' * 1000 ~ 'y' }}", TOO_LONG.format(length=1001)),
    ("{{ 10 ** 10 ** 10 }}", TOO_LARGE),
    ("{{ 9 ** 99 }}", TOO_LARGE),
    ("{{ 2 ** 64 * 2 ** 64 }}", TOO_LARGE),
])
def test_hostile_templates_fail_cleanly_within_a_second(text: str, message: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert outcome(text) == message
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 10 * 1024 * 1024  # the 100 MB value is refused before it is built


def test_deep_nesting_is_refused() -> None:
    started = time.perf_counter()
    text = "{{ " + "(" * 900 + "1" + ")" * 900 + " }}"
    assert outcome(text) == "the template is nested too deeply: simplify it"
    assert time.perf_counter() - started < 1.0


def test_a_long_template_is_refused_before_parsing() -> None:
    text = "{{ user.code }}" + "x" * 2000
    assert outcome(text) == (
        "the template is 2015 characters long (at most 2000): a templated value is one short "
        "expression, e.g. {{ user.code | lower }}@{{ vars.domain }}")


def test_the_render_deadline_is_checked_at_every_operation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = "{{ user.name" + " | lower | upper" * 50 + " }}"
    assert outcome(text) == "JEAN TREMBLAY"
    monkeypatch.setattr(templates, "RENDER_SECONDS", 1e-06)
    assert outcome(text) == "the template took more than 1e-06 s to render: simplify it"


@pytest.mark.parametrize(("text", "expected"), [
    ("{{ user.code | lower }}@{{ vars.domain }}", "jtremblay@acme-construction.ca"),
    ("{{ user.name | slug }}@{{ vars.domain }}", "jean.tremblay@acme-construction.ca"),
    ("{{ user.name | slug('_') | upper }}", "JEAN_TREMBLAY"),
    ("{{ user.number | zfill(5) }}", "00042"),
    ("{{ user.code ~ '-' ~ user.number }}", "JTREMBLAY-42"),
    ("{{ user.number + 1000 }}", "1042"),
    ("{{ vars.site.city | ascii | lower }}", "quebec"),
    ("{{ vars['domain'] }}", "acme-construction.ca"),
    ("{{ vars.teams | join('+') }}", "a+b"),
    ("{{ vars.teams | length }}", "2"),
    ("{{ (user.name | split | first)[0] | lower }}{{ user.name | split | last | lower }}",
     "jtremblay"),
    ("{{ user.name | truncate(8, true, '') }}", "Jean Tre"),
    ("{{ user.name | replace(' ', '.') | lower }}", "jean.tremblay"),
    ("{{ vars.missing | default('none') }}", "none"),
    ("{% if vars.missing is defined %}a{% else %}b{% endif %}", "b"),
    ("{% if user.number is even %}even{% elif user.number > 100 %}big{% else %}odd{% endif %}",
     "even"),
    ("{# a comment #}{{ user.code | title }}", "Jtremblay"),
    ("{% raw %}{{ not a template }}{% endraw %}", "{{ not a template }}"),
    ("  {{- user.code -}}  ", "JTREMBLAY"),
    ("{{ 'x' * 1000 }}", "x" * 1000),
    ("{{ [user, vars.site] }}", "[<user>, <vars.site>]"),
])
def test_templates_render(text: str, expected: str) -> None:
    assert outcome(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("{{ user.nmae }}",
     "unknown variable `user.nmae`: a user has code, name and number; did you mean `user.name`?"),
    ("{{ user.mail }}", "unknown variable `user.mail`: a user has code, name and number"),
    ("{{ vars.domian }}",
     "unknown variable `vars.domian`: did you mean `vars.domain`? Otherwise add `domian` under "
     "`vars:` or pass --var domian=VALUE (defined: domain, site, teams)"),
    ("{{ vars.region }}",
     "unknown variable `vars.region`: add `region` under `vars:` or pass --var region=VALUE "
     "(defined: domain, site, teams)"),
    ("{{ vars.site.cty }}",
     "unknown variable `vars.site.cty` (defined in vars.site: city); did you mean "
     "`vars.site.city`?"),
    ("{{ vars.domain.name }}",
     "`vars.domain` is a value, not a group: it has no `name`; to transform a value use a "
     "filter, e.g. `vars.domain | lower`"),
    ("{{ user.code.upper }}",
     "`user.code` is a value, not a group: it has no `upper`; to transform a value use a filter, "
     "e.g. `user.code | lower`"),
    ("{{ usr.code }}", UNKNOWN_NAME.format(name="usr") + "; did you mean `user`?"),
    ("{{ 'text'.upper }}",
     "A constant has no attribute `upper`: to transform a value use a filter, e.g. "
     "{{ user.name | lower }}"),
    ("{{ user.code | lowr }}",
     "unknown filter `lowr`; did you mean `lower`? (filters: ascii, capitalize, count, d, default, "
     "first, int, join, last, length, lower, replace, reverse, slug, split, string, title, trim, "
     "truncate, upper, zfill)"),
    ("{{ user.code | attr('__class__') }}",
     "unknown filter `attr` (filters: ascii, capitalize, count, d, default, first, int, join, "
     "last, length, lower, replace, reverse, slug, split, string, title, trim, truncate, upper, "
     "zfill)"),
    ("{% if user.code is callable %}x{% endif %}",
     "unknown test `callable` (tests: !=, ==, defined, eq, even, in, integer, lower, ne, none, "
     "number, odd, string, undefined, upper)"),
    ("{% do user.code %}",
     "unknown tag `{% do %}`: templates allow {{ ... }}, {% if %} / {% elif %} / {% else %} / "
     "{% endif %}, {# ... #}"),
    ("{{ user.code ",
     "template syntax error: unexpected end of template, expected 'end of print statement'; "
     "write expressions between {{ and }}, e.g. {{ user.code | lower }}@{{ vars.domain }}"),
    ("{{ user }}",
     "`user` is a group of values, not text: use user.code, user.name or user.number"),
    ("{{ vars.site }}",
     "`vars.site` is a group of values, not text: use one of them, e.g. vars.site.city"),
    ("{{ user.code + 1 }}",
     "cannot render the template: can only concatenate str (not \"int\") to str; to join text "
     "and numbers use `~`, e.g. `{{ user.code ~ user.number }}`"),
    ("{{ user.number / 0 }}", "cannot render the template: division by zero"),
    ("{{ user.name[40] }}", "position 40 is past the end of text of length 13"),
    ("{{ vars['dom' ~ 'ian'] }}",
     "unknown variable `vars.domian`: did you mean `vars.domain`? Otherwise add `domian` under "
     "`vars:` or pass --var domian=VALUE (defined: domain, site, teams)"),
    ("{{ vars.teams[0].x }}", "Text has no attribute `x`: to transform a value use a filter, "
                              "e.g. `{{ user.name | lower }}`"),
])
def test_errors_say_what_is_wrong_and_how_to_fix_it(text: str, message: str) -> None:
    assert outcome(text) == message


def test_errors_name_the_line_inside_the_value() -> None:
    assert outcome("first line\n{{ user.code }}\n{{ usr }}") == (
        "line 3: " + UNKNOWN_NAME.format(name="usr") + "; did you mean `user`?")
    assert outcome("a\n\n{{ user.number / 0 }}") == (
        "line 3: cannot render the template: division by zero")
    assert outcome("a\n{{ 'x' * 10**8 }}") == "line 2: " + TOO_LONG.format(length=100000000)
    assert outcome("a\n{{ user.code") == (
        "line 2: template syntax error: unexpected end of template, expected 'end of print "
        "statement'; write expressions between {{ and }}, e.g. "
        "{{ user.code | lower }}@{{ vars.domain }}")


def test_a_template_error_becomes_a_problem_at_the_file_line_and_user() -> None:
    try:
        compile_template("{{ usr.code }}")
    except TemplateError as error:
        assert isinstance(error, MailprovError)
        assert error.exit_code == 1
        assert error.problem("profiles.yaml", 7, 17, ("profiles", "staff", "smtp", "username"),
                             user="JTREMBLAY") == Problem(
            "profiles.yaml", 7, 17, ("profiles", "staff", "smtp", "username"),
            UNKNOWN_NAME.format(name="usr") + "; did you mean `user`? (user JTREMBLAY)",
            code="template-unknown-name")
    try:
        compile_template("a\nb\n{{ usr }}")
    except TemplateError as error:  # a block value: the line inside it, from its first line
        assert error.problem("people.yaml", 10, 5, ("users", "A", "smtp", "from")) == Problem(
            "people.yaml", 12, 1, ("users", "A", "smtp", "from"),
            UNKNOWN_NAME.format(name="usr") + "; did you mean `user`?",
            code="template-unknown-name")


def test_the_output_of_a_render_is_capped() -> None:
    variables = {"long": "y" * (MAX_TEXT_LENGTH + 1)}
    template = compile_template("{{ vars.long }}")
    with pytest.raises(TemplateError) as caught:
        render(template, make_context(USER, variables))
    assert caught.value.message == TOO_LONG.format(length=1001)
    template = compile_template("{{ vars.half }}{{ vars.half }}x")
    with pytest.raises(TemplateError) as caught:
        render(template, make_context(USER, {"half": "z" * 500}))
    assert caught.value.message == ("the value is longer than 1000 characters: a templated value "
                                    "must stay short")


def test_the_offline_check_renders_for_the_stand_in_user() -> None:
    assert (STAND_IN_USER.code, STAND_IN_USER.name, STAND_IN_USER.number) == ("JDOE", "Jane Doe", 1)
    template = compile_template("{{ user.name | slug }}@{{ vars.domain }}")
    check_offline(template, {"domain": "example.com"})  # no error
    assert render(template, make_context(STAND_IN_USER, {"domain": "example.com"})) == \
        "jane.doe@example.com"
    with pytest.raises(TemplateError) as caught:
        check_offline(template, {})
    assert caught.value.message == ("unknown variable `vars.domain`: add `domain` under `vars:` "
                                    "or pass --var domain=VALUE (no vars are defined)")
    # guarded names may be missing; a render failure for the stand-in user is reported
    check_offline(compile_template("{{ vars.x | default(user.code) }}"), {})
    with pytest.raises(TemplateError) as caught:
        check_offline(compile_template("{{ user.code * 300 }}"), {})
    assert caught.value.message == TOO_LONG.format(length=1200)


def test_compiling_is_cached_and_rendering_is_fast() -> None:
    text = "{{ user.code | lower }}@{{ vars.domain }}"
    assert compile_template(text) is compile_template(text)
    variables = TemplateVars(VARS)
    users = [TemplateUser(f"U{i}", f"Frédéric Côté {i}", i) for i in range(10_000)]
    started = time.perf_counter()
    values = [render(compile_template(text), make_context(user, variables)) for user in users]
    elapsed = time.perf_counter() - started
    assert values[0] == "u0@acme-construction.ca"
    assert values[-1] == "u9999@acme-construction.ca"
    assert elapsed < 1.0  # about 13 µs a render on the reference machine


def test_literal_values_are_left_alone() -> None:
    context = make_context(USER, VARS)
    assert render_value("comptabilite@example.com", context) == "comptabilite@example.com"
    assert render_value("comptabilite@{{ vars.domain }}", context) == \
        "comptabilite@acme-construction.ca"


@pytest.mark.parametrize(("text", "expected"), [
    ("plain@example.com", False), ("a{b}c", False), ("{ {", False), ("", False),
    ("{{ user.code }}", True), ("x{% if 1 %}y{% endif %}", True), ("{# note #}", True),
])
def test_is_template(text: str, expected: bool) -> None:
    assert is_template(text) is expected


@pytest.mark.parametrize(("name", "slug", "ascii"), [
    ("Frédéric Côté", "frederic.cote", "Frederic Cote"),
    ("Jean-François D'Amours", "jean-francois.damours", "Jean-Francois D'Amours"),
    ("Zoë Œuvray-Æther", "zoe.oeuvray-aether", "Zoe OEuvray-AEther"),
    ("  Marie-Ève   O’Neil  ", "marie-eve.oneil", "  Marie-Eve   O'Neil  "),
    ("Łukasz Strauß", "lukasz.strauss", "Lukasz Strauss"),
    ("李 Wei", "wei", " Wei"),
])
def test_slug_and_ascii_build_addresses_from_names(name: str, slug: str, ascii: str) -> None:
    assert to_slug(name) == slug
    assert to_ascii(name) == ascii
    assert outcome("{{ vars.n | slug('-') }}".replace("vars.n", repr(name))) == \
        slug.replace(".", "-")


def test_compiled_templates_list_the_names_they_read() -> None:
    template = compile_template("{{ user.code }}{{ vars.a.b | default('') }}{% if vars.c %}"
                                "{% endif %}")
    assert isinstance(template, CompiledTemplate)
    assert [(use.parts, use.optional) for use in template.names] == [
        (("user", "code"), False), (("vars", "a", "b"), True), (("vars", "c"), False)]

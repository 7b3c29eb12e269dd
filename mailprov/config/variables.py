"""`--var NAME=VALUE` names that nothing reads: a typo must not vanish silently.

`--var domian=acme.ca` next to files whose templates read `vars.domain` would plan with
the files' own `domain`, and the admin would believe the override took. A `--var` name
is accepted when a file declares it under `vars:` (shared or a target's) or when some
template of the files or their CSV user lists reads it; anything else is an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mailprov.config.templates import TemplateError, compile_template, is_template
from mailprov.config.yamlload import iter_paths
from mailprov.errors import Problem, quoted
from mailprov.i18n import _


def unread_variables(variables: Mapping[str, Any], documents: Iterable[Mapping[str, Any]]
                     ) -> list[Problem]:
    """One problem per `--var` group name that no `vars:` declares and no template reads."""
    if not variables:
        return []
    declared: set[str] = set()
    read: set[str] = set()
    for data in documents:
        declared.update(_declared(data))
        for text in (value for _path, value in iter_paths(data)
                     if isinstance(value, str) and is_template(value)):
            try:
                uses = compile_template(text).names
            except TemplateError:
                continue  # reported as the value's own error
            read.update(use.parts[1] for use in uses
                        if use.parts[0] == "vars" and len(use.parts) > 1)
    known = sorted(declared | read)
    problems = []
    for name in variables:
        if name in declared or name in read:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            hint = _("did you mean {name}?").format(name=quoted(close[0]))
        elif known:
            hint = _("the files know: {names}").format(names=", ".join(known[:20]))
        else:
            hint = _("the files declare no variable")
        problems.append(Problem("--var", 0, 0, (), _(
            "{name}: no file declares it under `vars:` and no template reads `vars.{name}`, "
            "so it would change nothing; {hint}").format(name=name, hint=hint),
            code="var-unused"))
    return problems


def _declared(data: Mapping[str, Any]) -> Iterator[str]:
    sections = [data]
    targets = data.get("targets")
    if isinstance(targets, Mapping):
        sections.extend(t for t in targets.values() if isinstance(t, Mapping))
    for section in sections:
        found = section.get("vars")
        if isinstance(found, Mapping):
            yield from (key for key in found if isinstance(key, str))


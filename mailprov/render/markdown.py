"""Plan as Markdown for a pull-request comment, drawn from `templates/plan.md.j2` (or
a team's template): the verdict, the counts and what needs attention first, one compact
table per kind of change, the password follow-up, and never longer than the place it
is posted to allows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mailprov.plan.format import Plan
from mailprov.render.view import FullPlanPlace, limit_rows, plan_view, total_rows

# GitHub refuses comments (and issue bodies) over 65,536 characters; leave room for
# what a CI step may add around the body.
COMMENT_MAX = 65_000
# GitLab notes and issue descriptions hold 1,000,000 characters.
GITLAB_MAX = 1_000_000
# $GITHUB_STEP_SUMMARY holds 1 MiB per step, counted in bytes.
STEP_SUMMARY_MAX_BYTES = 1024 * 1024 - 1024

Renderer = Callable[[Mapping[str, Any]], str]


def chars(text: str) -> int:
    return len(text)


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def packaged(name: str) -> Renderer:
    """One of mailprov's own templates as a renderer of a context."""
    from mailprov.render.templating import packaged_template

    template = packaged_template(name)
    return lambda context: template.render(**context)


def fit(view: Mapping[str, Any], render: Callable[[Mapping[str, Any]], str], max_size: int,
        measure: Callable[[str], int] = chars, *, what: str = "plan") -> str:
    """Render `view` whole if it fits in `max_size`; else with as many rows per table as
    fit (the verdict, counts and warnings are always kept), then with shorter name
    lists, and as a last resort cut at a line with a note saying so."""
    rows = total_rows(view)
    probe = min(rows, 100)
    if rows == probe:
        text = render(view)
        if measure(text) <= max_size:
            return text
    # the size of a row, from a render of `probe` rows and one of none
    bare = measure(render(limit_rows(view, 0)))
    per_row = max(1.0, (measure(render(limit_rows(view, probe))) - bare) / max(1, probe))
    if rows > probe and bare + per_row * rows < max_size * 0.95:
        text = render(view)
        if measure(text) <= max_size:
            return text
    # rows are alike in size: start from the guess and step down until it fits
    rows_fit = min(rows - 1, int((max_size - bare) / per_row)) if bare < max_size else -1
    while rows_fit >= 0:
        attempt = render(limit_rows(view, rows_fit))
        if measure(attempt) <= max_size:
            return attempt
        rows_fit = min(rows_fit - 1, int(rows_fit * 0.97))
    for items in (10, 3, 0):
        attempt = render(limit_rows(view, 0, max_items=items))
        if measure(attempt) <= max_size:
            return attempt
    return _cut(attempt, max_size, measure, what)


def _cut(text: str, max_size: int, measure: Callable[[str], int], what: str) -> str:
    from mailprov.i18n import _

    # `what` is the command that makes the page again (`plan`, `drift`), never translated
    noun = _("drift report") if what == "drift" else _("plan")
    note = "\n\n" + _("**Cut here to fit; the full {what} is in the saved file, or in "
                       "`mailprov {command}` run again.**").format(what=noun,
                                                                  command=what) + "\n"
    lines = text.split("\n")
    kept: list[str] = []
    size = measure(note)
    for line in lines:
        size += measure(line) + 1
        if size > max_size:
            break
        kept.append(line)
    return "\n".join(kept) + note


def plan_context(plan: Plan, where: FullPlanPlace | None = None) -> dict[str, Any]:
    """What a template is given: the view, and the plan's own JSON data."""
    return {"view": plan_view(plan, where), "plan": plan.to_json()}


def render_markdown(plan: Plan, max_chars: int = COMMENT_MAX, *,
                    where: FullPlanPlace | None = None, template: str | None = None,
                    measure: Callable[[str], int] = chars) -> str:
    """The plan as a comment of at most `max_chars` (as `measure` counts); `template`
    names a team's template file, rendered in Jinja's sandbox."""
    from mailprov.render.templating import team_template

    context = plan_context(plan, where)
    view = context["view"]
    data = context["plan"]
    render_view = team_template(template) if template else packaged("plan.md.j2")

    def render(v: Mapping[str, Any]) -> str:
        text = render_view({"view": v, "plan": data})
        marker = view["marker"]
        return text if marker in text else f"{marker}\n{text}"

    return fit(view, render, max_chars, measure)

"""Plans and drift reports as one self-contained HTML page for approvers who do not read
YAML: inline CSS, no script, no external asset, every value escaped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailprov.i18n import language
from mailprov.plan.format import Plan
from mailprov.render.view import FullPlanPlace, plan_view


def render_page(name: str, view: Mapping[str, Any]) -> str:
    from mailprov.render.templating import packaged_template

    return packaged_template(name).render(view=view, lang=language())


def render_html(plan: Plan, where: FullPlanPlace | None = None) -> str:
    """The whole plan (no size cap: a page is a file, not a comment)."""
    return render_page("plan.html.j2", plan_view(plan, where))

"""The pull-request comment (`plan --format markdown`), read back by a real CommonMark
renderer (markdown-it-py, with GitHub's tables): its structure, its escaping of hostile
values, its size cap, and teams' own templates in the sandbox."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from mailprov.errors import Problem
from mailprov.plan.format import Change, PasswordNote, Plan, PlanWarning, SafetyReport
from mailprov.render.escape import display, marker_text
from mailprov.render.markdown import (
    COMMENT_MAX,
    STEP_SUMMARY_MAX_BYTES,
    render_markdown,
    utf8_bytes,
)
from mailprov.render.templating import TemplateError
from mailprov.render.view import FullPlanPlace

FIELDS = ("username", "from", "server", "port", "ssl")
SMTP = {"server": "smtp.office365.com", "port": 587, "ssl": True}
WHERE = FullPlanPlace("prod.plan.json", "mailprov-plan",
                      "https://github.com/acme/maestro-mail/actions/runs/42")
# The only raw HTML a comment may hold: mailprov's own tags, never a value's.
ALLOWED_HTML = re.compile(
    r"(<!-- mailprov:plan target=[A-Za-z0-9._%-]+ -->\n"
    r"|<details( open)?><summary><b>[^<>]*</b></summary>\n|</details>\n"
    r"|<code>|</code>|<sub>|</sub>)\Z")


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def tokens(md: str) -> list[Token]:
    out: list[Token] = []

    def walk(items: list[Token]) -> None:
        for token in items:
            out.append(token)
            walk(token.children or [])

    walk(parser().parse(md))
    return out


def tables(md: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts (inline code and escapes resolved)."""
    found: list[list[list[str]]] = []
    row: list[str] | None = None
    cell: list[str] | None = None
    for token in tokens(md):
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            found[-1].append(row or [])
        elif token.type in ("th_open", "td_open"):
            cell = []
        elif token.type in ("th_close", "td_close"):
            assert row is not None and cell is not None
            row.append("".join(cell).strip())
            cell = None
        elif cell is not None and token.type in ("text", "text_special", "code_inline"):
            cell.append(token.content)
    return found


def headings(md: str) -> list[str]:
    """The text of every heading, as a reader sees it."""
    items = parser().parse(md)
    return ["".join(c.content for c in items[i + 1].children or []
                    if c.type in ("text", "text_special", "code_inline"))
            for i, t in enumerate(items) if t.type == "heading_open"]


def plan(changes, *, warnings=(), reasons=(), errors=(), unmanaged=0) -> Plan:
    return Plan(target="prod", target_url="postgresql://mailprov@db/maestro",
                edition="standard", changes=tuple(changes), base_digest="sha256:abc",
                config_digest="sha256:def", unmanaged_overrides=unmanaged,
                safety=SafetyReport(40, 3, 30.0, 10, None, tuple(reasons)),
                warnings=tuple(warnings), errors=tuple(errors))


def create(code: str, **values) -> Change:
    after = {"username": f"{code.lower()}@acme.ca", "from": f"{code.lower()}@acme.ca",
             **SMTP, **values}
    return Change(f"user.{code}", "create", None, after, FIELDS, number=1)


GENERAL = Change("general", "update",
                 {"client": "outlook", "smtp": {"server": "old.acme.ca", "port": 25,
                                                "ssl": False}},
                 {"client": "outlook", "smtp": dict(SMTP)},
                 ("smtp.server", "smtp.port", "smtp.ssl"))
REMOVAL = Change("user.OLDCOMPTA", "delete",
                 {"username": "old@acme.ca", "from": None, **SMTP}, None, FIELDS, number=9)
UPDATE = Change("user.JTREMBLAY", "update",
                {"username": "jt@acme.ca", "from": "jt@acme.ca", **SMTP},
                {"username": "jtremblay@acme.ca", "from": "jt@acme.ca", **SMTP, "port": 2525},
                ("username", "port"), number=3)
FOLLOWERS = [Change(f"user.F{i}", "update",
                    {"username": f"f{i}@acme.ca", "from": None, "server": "old.acme.ca",
                     "port": 25, "ssl": False},
                    {"username": f"f{i}@acme.ca", "from": None, **SMTP},
                    ("server", "port", "ssl"), follows_general=True, number=10 + i)
             for i in range(3)]
MAILBOXES = [create(f"BOX{i:02d}") for i in range(15)]
WARNING = PlanWarning("smtp-office365-basic-auth", "general",
                      "smtp.office365.com: SMTP AUTH with passwords is turned off by default")
UNKNOWN = Problem("users/staff.yaml", 4, 3, ("users", "GONE"),
                  "no user 'GONE' in target 'prod'", code="unknown-user")


def test_fifteen_mailboxes_make_one_compact_table_with_the_shared_values_said_once():
    md = render_markdown(plan([GENERAL, *MAILBOXES], warnings=[WARNING]), where=WHERE)
    lines = md.splitlines()
    assert lines[0] == "<!-- mailprov:plan target=prod -->"
    assert lines[1] == "### mailprov plan · <code>prod</code>"
    html = parser().render(md)
    assert "<strong>Ready to apply, with 1 warning to read first.</strong>" in html
    assert ("<strong>Plan: 15 to add, 1 to change, 0 to remove.</strong> No existing "
            "override is left alone: the files list every user that has one.") in html
    assert headings(md) == ["mailprov plan · prod", "⚠️ Warnings", "General configuration",
                            "🔑 Follow-up: passwords"]
    general, boxes = tables(md)
    assert general[0] == ["Setting", "Before", "After", "Where in maestro*"]
    assert general[1] == ["SMTP server", "old.acme.ca", "smtp.office365.com",
                          "General configurations > Divers > « Configuration du compte de "
                          "courriel SMTP »"]
    # one row per mailbox; only the fields that vary get a column
    assert boxes[0] == ["User", "SMTP login", "From address"]
    assert boxes[1:] == [[f"BOX{i:02d}", f"box{i:02d}@acme.ca", f"box{i:02d}@acme.ca"]
                         for i in range(15)]
    assert ("<p>Same for all 15: Server <code>smtp.office365.com</code> · Port "
            "<code>587</code> · SSL <code>true</code></p>") in html
    # collapsed: a group of more than 10 rows starts closed
    assert "<details><summary><b>15 per-user SMTP sections to enable</b></summary>" in md
    # the password follow-up, one checkbox per new SMTP section
    checklist = [line for line in lines if line.startswith("- [ ] ")]
    assert len(checklist) == 15
    assert checklist[0] == "- [ ] <code>BOX00</code>: needs a password\\: the SMTP section is new"
    assert lines[-2] == ("Full plan: <code>mailprov show prod\\.plan\\.json</code>, saved in "
                         "the CI artifact mailprov\\-plan of [this run]"
                         "(https://github.com/acme/maestro-mail/actions/runs/42).")


def test_what_needs_attention_comes_before_the_tables():
    md = render_markdown(plan([GENERAL, *MAILBOXES[:2], UPDATE, *FOLLOWERS, REMOVAL],
                              warnings=[WARNING], reasons=["it removes or changes 5 of 12"],
                              errors=[UNKNOWN], unmanaged=2))
    assert headings(md) == [
        "mailprov plan · prod", "❌ 1 user listed in the files is not in maestro*",
        "⛔ Safety limit: apply refuses this plan without --force",
        "⚠️ 1 per-user SMTP section will be removed", "⚠️ Warnings",
        "General configuration", "🔑 Follow-up: passwords"]
    html = parser().render(md)
    assert ("<strong>This plan cannot be applied: 1 user in the files does not exist in "
            "maestro*.</strong>") in html
    assert ("<li><code>users/staff.yaml</code> line 4: no user 'GONE' in target "
            "'prod'</li>") in html
    assert md.index("will be removed") < md.index("<details")
    _general, removed, created, changed = tables(md)
    assert removed == [["User", "SMTP login", "From address", "Server", "Port", "SSL"],
                       ["OLDCOMPTA", "old@acme.ca", "(none)", "smtp.office365.com", "587",
                        "true"]]
    assert created[0] == ["User", "SMTP login", "From address"]
    assert changed == [["User", "SMTP login", "Port"],
                       ["JTREMBLAY", "jt@acme.ca → jtremblay@acme.ca", "587 → 2525"]]
    # the users that only follow general.smtp: named, their one shared change said once
    assert ("<p>Same for all 3: Server <code>old.acme.ca</code> → <strong><code>"
            "smtp.office365.com</code></strong> · Port <code>25</code> → <strong><code>587"
            "</code></strong> · SSL <code>false</code> → <strong><code>true</code></strong>"
            "</p>\n<p><code>F0</code>, <code>F1</code>, <code>F2</code></p>") in html
    assert "- [ ] <code>JTREMBLAY</code>: needs a password again" in md


HOSTILE = ["PIPE|CELL", "<script>alert(1)</script>", "[click](https://evil.example/x)",
           "@acme/admins", "www.evil.example", "https://evil.example", "#1234",
           "  SPACED ", "RLO\u202eCOMPTA", "`tick`", "*em* _em_ ~~del~~", "a\\|b",
           "<img src=x onerror=alert(1)>", "&amp;", "![i](https://evil.example/i.png)",
           "x\n## heading", ":warning:", ""]


@pytest.mark.parametrize("bad", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_code_or_value_stays_text_in_its_own_cell(bad):
    code = bad or "EMPTY"
    change = Change(f"user.{code}", "create", None,
                    {"username": bad, "from": "a@acme.ca", **SMTP}, FIELDS, number=1)
    other = create("PLAIN", **{"from": "a@acme.ca"})
    warn = PlanWarning("smtp-465-starttls", f"user.{code}", f"warning about {bad}")
    md = render_markdown(plan([change, other], warnings=[warn]))
    created = tables(md)[-1]
    assert created[0] == ["User", "SMTP login"]
    assert [len(row) for row in created] == [2, 2, 2]
    assert created[1] == [display(code), display(bad)]
    everything = tokens(md)
    # no link, no image, no heading or emphasis made of a value; no raw HTML but ours
    assert not [t for t in everything if t.type in ("link_open", "image", "em_open",
                                                    "s_open")]
    assert headings(md) == ["mailprov plan · prod", "⚠️ Warnings",
                            "🔑 Follow-up: passwords"]
    raw = [t.content for t in everything if t.type in ("html_inline", "html_block")]
    assert [r for r in raw if not ALLOWED_HTML.match(r)] == []
    # GitHub autolinks www., scheme: and user@host runs inside one text node: escaped
    # characters are nodes of their own, so no node holds such a run
    plain = parser()
    plain.disable("text_join")
    texts = [t.content for t in _walk(plain.parse(md)) if t.type == "text"]
    assert not [t for t in texts if re.search(r"www\.|https?:|\w@\w", t)]


def _walk(items: list[Token]) -> list[Token]:
    out = []
    for token in items:
        out.append(token)
        out.extend(_walk(token.children or []))
    return out


def test_the_marker_cannot_be_closed_by_a_target_name():
    assert marker_text("plan", "prod") == "<!-- mailprov:plan target=prod -->"
    assert marker_text("plan", "a-->b c") == "<!-- mailprov:plan target=a-%2D%3Eb%20c -->"
    md = render_markdown(Plan(**{**plan([]).__dict__, "target": "x --><script>"}))
    assert md.splitlines()[0] == "<!-- mailprov:plan target=x%20-%2D%3E%3Cscript%3E -->"


def test_ten_thousand_users_stay_under_the_cap_and_keep_verdict_counts_and_warnings():
    changes = [create(f"U{i:05d}") for i in range(10_000)]
    warnings = [PlanWarning("smtp-465-starttls", f"user.U{i:05d}", "port 465 with ssl")
                for i in range(10_000)]
    started = time.perf_counter()
    md = render_markdown(plan(changes, warnings=warnings), where=WHERE)
    elapsed = time.perf_counter() - started
    assert len(md) <= COMMENT_MAX < 65_536
    html = parser().render(md)
    assert "<strong>Plan: 10000 to add, 0 to change, 0 to remove.</strong>" in html
    assert "Ready to apply, with 10000 warnings to read first." in html
    assert ("<code>smtp-465-starttls</code> port 465 with ssl (<code>U00000</code>, "
            "<code>U00001</code>") in html
    assert "and 9980 more)" in html
    assert "This comment is shortened to fit" in md
    assert re.search(r"… and \d+ more not shown here: see the full plan\.", html)
    assert "mailprov show prod\\.plan\\.json" in md
    rows = len(tables(md)[-1]) - 1
    assert 300 < rows < 10_000
    assert elapsed < 10, elapsed
    summary = render_markdown(plan(changes, warnings=warnings), STEP_SUMMARY_MAX_BYTES,
                              where=WHERE, measure=utf8_bytes)
    assert len(md) < utf8_bytes(summary) <= STEP_SUMMARY_MAX_BYTES


def test_no_changes_is_one_short_comment():
    md = render_markdown(plan([], unmanaged=3))
    html = parser().render(md)
    assert "<strong>No changes: maestro* matches the configuration.</strong>" in html
    assert "<strong>No changes. maestro* matches the configuration.</strong> 3 existing " \
           "overrides are left alone" in html
    assert tables(md) == []


def test_the_plans_own_password_notes_make_the_checklist_when_it_has_them():
    notes = (PasswordNote("user.COMPTA", "needs-password", "needs a password: none is stored"),)
    md = render_markdown(replace(plan([create("COMPTA"), create("PAIE")]),
                                 password_notes=notes))
    assert [line for line in md.splitlines() if line.startswith("- [ ]")] == [
        "- [ ] <code>COMPTA</code>: needs a password\\: none is stored"]
    # a plan that carries notes and has none needs no checklist
    md = render_markdown(replace(plan([create("COMPTA")]), password_notes=()))
    assert "Follow-up: passwords" not in md


def test_a_team_template_renders_in_the_sandbox_with_values_escaped(tmp_path):
    template = tmp_path / "comment.md.j2"
    template.write_text(
        "## {{ view.verdict.text }}\n"
        "{% for g in view.groups %}{% for r in g.rows %}* {{ r.user }}\n{% endfor %}"
        "{% endfor %}changes: {{ plan.changes | length }}\n", encoding="utf-8")
    md = render_markdown(plan([create("A|<b>"), create("B")]), template=str(template))
    assert md == ("<!-- mailprov:plan target=prod -->\n## Ready to apply\\.\n"
                  "* A\\|\\<b\\>\n* B\nchanges: 2\n")


@pytest.mark.parametrize("source, message", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}",
     "SecurityError: access to attribute '__class__' of 'str' object is unsafe."),
    ("{{ view.nothing_here }}", "UndefinedError: 'dict object' has no attribute "
                                "'nothing_here'"),
])
def test_a_team_template_cannot_reach_python(tmp_path, source, message):
    template = tmp_path / "evil.md.j2"
    template.write_text(source, encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        render_markdown(plan([create("A")]), template=str(template))
    assert caught.value.message == f"{template}: the template failed: {message}"


def test_a_broken_team_template_names_its_line(tmp_path):
    template = tmp_path / "broken.md.j2"
    template.write_text("ok\n{% for x in %}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        render_markdown(plan([]), template=str(template))
    assert caught.value.message == (f"{template}:2: the template is not valid Jinja: "
                                    "Expected an expression, got 'end of statement block'")


@pytest.mark.parametrize("source, message", [
    ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
     "the template took more than 10 s to render: simplify its loops"),
    ("{{ 'x' * 10**9 }}", "the template failed: TemplateError: a text or list of more than "
                          "20000000 items is not allowed in a template"),
    ("{% for i in range(10**7) %}{% endfor %}",
     "the template failed: TemplateError: range() of more than 100000 numbers is not "
     "allowed in a template"),
])
def test_a_team_template_is_bounded_in_time_and_size(tmp_path, monkeypatch, source, message):
    import time

    from mailprov.render import templating

    monkeypatch.setattr(templating, "TEAM_RENDER_SECONDS", 1)  # the limit, made short
    template = tmp_path / "slow.md.j2"
    template.write_text(source, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render_markdown(plan([create("A")]), template=str(template))
    assert time.monotonic() - started < 5
    assert caught.value.message == f"{template}: " + message.replace("10 s", "1 s")


def test_template_and_max_size_are_for_markdown_only(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mailprov.cli import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.j2").write_text("x", encoding="utf-8")
    for args in (["--template", "t.j2"], ["--format", "html", "--max-size", "3000"]):
        result = CliRunner().invoke(cli, ["plan", *args])
        assert result.exit_code == 1
        assert result.stderr.endswith("applies to --format markdown only: add --format "
                                      "markdown, or leave it out\n")


def test_a_tight_cap_keeps_counts_where_names_no_longer_fit():
    users = [f"U{i:04d}" for i in range(400)]
    warnings = [PlanWarning("smtp-465-starttls", f"user.{u}", "port 465 with `ssl: true`")
                for u in users]
    md = render_markdown(plan([create(u) for u in users], warnings=warnings), 2000)
    assert len(md) <= 2000
    assert "( and" not in md  # never an empty list before "and N more"
    assert "(400 places)" in md or "and 39" in md  # the count survives, names or not

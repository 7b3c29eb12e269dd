"""The approvers' page (`plan/show/drift --format html`) opened in a real headless
Chromium (Debian's package; .ci/run installs it): the rendered DOM is read back, its
tables hold the right cells, hostile values stay text, and nothing is fetched from
outside the page. A screenshot is saved beside it for a person to look at."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbhelpers import sandbox, smtp_user, update_user, write_config

from mailprov.cli import cli
from mailprov.plan.format import Change, Plan, PlanWarning, SafetyReport
from mailprov.render.html import render_html

CHROMIUM = shutil.which("chromium") or "chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIELDS = ("username", "from", "server", "port", "ssl")
SMTP = {"server": "smtp.office365.com", "port": 587, "ssl": True}


def chromium(tmp_path: Path, page: Path, *args: str) -> str:
    assert shutil.which(CHROMIUM), "chromium is not installed: bash .ci/run installs it"
    profile = tmp_path / "chromium-profile"
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args,
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


class Dom(HTMLParser):
    """Tables (by data-kind) as rows of cell texts, element ids, and every URL-bearing
    attribute, from the DOM Chromium dumped."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: dict[str, str] = {}
        self.urls: list[str] = []
        self.scripts = 0
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._id_stack: list[tuple[str, str, list[str]]] = []
        self.marks: list[tuple[str, str]] = []
        self._mark: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v]
        if tag == "table":
            self._table = a.get("data-kind") or a.get("id") or "?"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag in ("del", "ins"):
            self._mark = (tag, [])
        if "id" in a:
            self._id_stack.append((tag, a["id"], []))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag in ("del", "ins") and self._mark:
            self.marks.append((self._mark[0], "".join(self._mark[1])))
            self._mark = None
        if self._id_stack and self._id_stack[-1][0] == tag:
            _tag, name, text = self._id_stack.pop()
            self.ids[name] = " ".join("".join(text).split())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._mark:
            self._mark[1].append(data)
        for _tag, _name, text in self._id_stack:
            text.append(data)


def read_back(tmp_path: Path, html: str, name: str) -> Dom:
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    dom = Dom()
    dom.feed(chromium(tmp_path, page, "--dump-dom"))
    shot = tmp_path / f"{name}.png"
    chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1280,1600",
             "--hide-scrollbars")
    assert shot.stat().st_size > 20_000  # a page was drawn
    return dom


def _plan() -> Plan:
    general = Change("general", "update",
                     {"client": "outlook", "smtp": {"server": "old.acme.ca", "port": 25,
                                                    "ssl": False}},
                     {"client": "outlook", "smtp": dict(SMTP)},
                     ("smtp.server", "smtp.port", "smtp.ssl"))
    creates = [Change(f"user.{c}", "create", None,
                      {"username": f"{c.lower()}@acme.ca", "from": "comptabilite@acme.ca",
                       **SMTP}, FIELDS, number=i)
               for i, c in enumerate(["COMPTA", "COORD", "<script>alert(1)</script>"])]
    update = Change("user.PAIE", "update",
                    {"username": "paie@acme.ca", "from": "paie@acme.ca", **SMTP},
                    {"username": "paie@acme.ca", "from": "comptabilite@acme.ca", **SMTP},
                    ("from",), number=8)
    removal = Change("user.OLD", "delete", {"username": " old@acme.ca", "from": None, **SMTP},
                     None, FIELDS, number=9)
    return Plan(target="prod", target_url="postgresql://mailprov@db.acme.ca/maestro",
                edition="standard", changes=(general, *creates, update, removal),
                base_digest="sha256:abc", config_digest="sha256:def", unmanaged_overrides=2,
                safety=SafetyReport(12, 2, 30.0, 10, None, ()),
                warnings=(PlanWarning("smtp-office365-basic-auth", "general",
                                      "smtp.office365.com: SMTP AUTH is turned off by default"
                                      " <img src=https://evil.example/x.png>"),))


def test_the_plan_page_reads_back_from_chromium(tmp_path):
    dom = read_back(tmp_path, render_html(_plan()), "plan")
    assert dom.scripts == 0 and dom.urls == []  # self-contained: nothing fetched
    assert dom.ids["verdict"] == "Ready to apply; it removes 1 per-user SMTP section."
    assert dom.tables["counts"] == [["To add", "To change", "To remove", "Left alone"],
                                    ["3", "2", "1", "2"]]
    assert dom.tables["general"][1] == [
        "SMTP server", "old.acme.ca", "smtp.office365.com",
        "General configurations > Divers > « Configuration du compte de courriel SMTP »"]
    assert dom.tables["create"] == [["User", "SMTP login"], ["COMPTA", "compta@acme.ca"],
                                    ["COORD", "coord@acme.ca"],
                                    ["<script>alert(1)</script>",
                                     "<script>alert(1)</script>@acme.ca"]]
    assert dom.tables["update"] == [["User", "From address"],
                                    ["PAIE", "paie@acme.ca → comptabilite@acme.ca"]]
    assert dom.tables["delete"][1][:2] == ["OLD", "' old@acme.ca'"]  # quoted: a space
    assert ("del", "paie@acme.ca") in dom.marks and ("ins", "comptabilite@acme.ca") in dom.marks
    assert "<img" in dom.ids["warnings"]  # a value's markup is text, not an element
    assert re.search(r"Where in maestro\*: Security management > the user > Description > "
                     r"« Configuration de courriel spécifique à cet usager »",
                     dom.ids["group-create"])


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILPROV_DB_URL", raising=False)
    return lambda *args: CliRunner().invoke(cli, list(args))


def test_show_and_drift_pages_from_the_command_line(run, sqlite_url, tmp_path):
    sandbox(sqlite_url, users=20)
    write_config(tmp_path, sqlite_url, users={"COMPTA": smtp_user("COMPTA")})
    assert run("plan", "--out", "p.json").exit_code == 0
    shown = run("show", "p.json", "--format", "html")
    dom = read_back(tmp_path, shown.stdout, "show")
    assert dom.tables["create"][0] == ["User", "SMTP login", "From address", "Server", "Port",
                                       "SSL"]
    assert run("apply", "p.json").exit_code == 0
    update_user(sqlite_url, "COMPTA", smtp_port=2525)
    drift = run("drift", "--format", "html")
    assert drift.exit_code == 2
    dom = read_back(tmp_path, drift.stdout, "drift")
    row = dom.tables["changed"][1]
    assert row[:4] == ["COMPTA", "Port", "2525", "587"]
    assert row[4].startswith("apply #1, ")
    assert row[5] == ("Security management > COMPTA > Description > « Configuration de "
                      "courriel spécifique à cet usager »")


def test_every_value_of_the_page_is_shown_as_it_must_be_read():
    """Values the database holds (user codes, the history's user and host) can hold bidi
    overrides, escapes and trailing spaces: the page writes them out, wherever they are."""
    removals = [Change(f"user.{code}", "delete", {"username": "x@acme.ca", "from": None,
                                                   **SMTP}, None, FIELDS, number=i)
                for i, code in enumerate(["BIDI\u202eTXT", "SPACE ", "EVIL\x1b[2J"])]
    page = render_html(Plan(target="prod", target_url="sqlite:///m.db", edition="standard",
                            changes=tuple(removals), base_digest="sha256:a",
                            config_digest="sha256:b", unmanaged_overrides=0,
                            safety=SafetyReport(12, 3, 30.0, 10, None, ())))
    assert "\u202e" not in page and "\x1b" not in page
    assert "BIDI\\u202eTXT" in page and "EVIL\\x1b[2J" in page
    assert "&#39;SPACE &#39;" in page or "'SPACE '" in page


def test_the_drift_set_by_line_is_escaped():
    from datetime import datetime

    from mailprov.plan.records import Applied
    from mailprov.render.drift import set_by_text

    applied = Applied(7, datetime(2026, 11, 30, 12, 0), "evil\x1b[2J\u202e", "vm")
    text = set_by_text(applied)
    assert "\x1b" not in text and "\u202e" not in text
    assert "evil\\x1b[2J\\u202e@vm" in text

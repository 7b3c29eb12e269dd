"""The renderers: exact text blocks, colour rules, Markdown bounded in size, JSON shape."""

from __future__ import annotations

import io
import json

from mailprov.cli import common as cli_module
from mailprov.plan.format import Change, Plan, SafetyReport
from mailprov.render.text import render_text


def _plan(changes, unmanaged=0, reasons=()):
    return Plan(
        target="prod", target_url="postgresql://mailprov@db/maestro", edition="standard",
        changes=tuple(changes), base_digest="sha256:abc", config_digest="sha256:def",
        unmanaged_overrides=unmanaged,
        safety=SafetyReport(12, 5, 30.0, 10, None, tuple(reasons)),
    )


GENERAL = Change("general", "update",
                 {"client": "outlook", "smtp": {"server": "old", "port": 25, "ssl": False}},
                 {"client": "outlook", "smtp": {"server": "new", "port": 587, "ssl": True}},
                 ("smtp.server", "smtp.port", "smtp.ssl"))
CREATE = Change("user.COMPTA", "create", None,
                {"username": "c@example.com", "from": "c@example.com", "server": "new",
                 "port": 587, "ssl": True}, ("username", "from", "server", "port", "ssl"),
                number=1)
DELETE = Change("user.OLD", "delete",
                {"username": "o@example.com", "from": None, "server": "old", "port": 25,
                 "ssl": False}, None, ("username", "from", "server", "port", "ssl"))
FOLLOW = Change("user.JT", "update",
                {"username": "j", "from": "j@example.com", "server": "old", "port": 25,
                 "ssl": False},
                {"username": "j", "from": "j@example.com", "server": "new", "port": 587,
                 "ssl": True}, ("server", "port", "ssl"), follows_general=True)


def test_text_plan_is_one_block_per_change_then_the_summary():
    text = render_text(_plan([GENERAL, CREATE, FOLLOW, DELETE], unmanaged=3))
    assert text == """\
Target 'prod' (postgresql://mailprov@db/maestro), edition standard.

mailprov will make these changes:

  ~ general  (update)
      smtp.server  old -> new
      smtp.port    25 -> 587
      smtp.ssl     false -> true

  + user.COMPTA  (enable the per-user SMTP override)
      username  c@example.com
      from      c@example.com
      server    new
      port      587
      ssl       true

  ~ user.JT  (follows general.smtp)
      server  old -> new
      port    25 -> 587
      ssl     false -> true

  - user.OLD  (REMOVE the per-user SMTP override)
      username  o@example.com -> (cleared)
      from      (none) -> (cleared)
      server    old -> (cleared)
      port      25 -> (cleared)
      ssl       false -> (cleared)

3 existing overrides are left alone because the files do not list those users (prune: false).
Plan: 1 to add, 2 to change, 1 to remove.
"""


def test_no_change_summary_and_colour_only_when_asked():
    plain = render_text(_plan([]))
    assert plain.endswith("No changes. maestro* matches the configuration.\n")
    assert "\x1b[" not in plain
    coloured = render_text(_plan([CREATE, DELETE]), color=True)
    assert "\x1b[32m  + user.COMPTA" in coloured
    assert "\x1b[31m  - user.OLD" in coloured


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_colour_follows_the_terminal_and_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli_module._color(_Tty()) is True
    assert cli_module._color(io.StringIO()) is False  # piped
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_module._color(_Tty()) is False


def test_control_characters_in_values_are_shown_escaped():
    change = Change("user.X", "create", None,
                    {"username": "a\x1b[31mb", "from": None, "server": "s", "port": 1,
                     "ssl": False}, ("username",))
    text = render_text(_plan([change]))
    assert "\x1b" not in text
    assert "a\\x1b[31mb" in text


def test_json_has_the_contract_keys_and_is_deterministic():
    plan = _plan([GENERAL, CREATE])
    data = json.loads(plan.dumps())
    assert data["format_version"] == "1.4"
    assert data["changes_present"] is True
    assert data["summary"] == {"create": 1, "update": 1, "delete": 0}
    assert [c["address"] for c in data["changes"]] == ["general", "user.COMPTA"]
    assert data["changes"][1]["before"] is None
    assert plan.dumps() == _plan([GENERAL, CREATE]).dumps()


def test_apply_of_a_saved_plan_refuses_another_target(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mailprov.cli import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.json").write_text(_plan([CREATE]).dumps())
    result = CliRunner().invoke(cli, ["apply", "p.json", "-t", "test"])
    assert result.exit_code == 1
    assert result.stderr == ("Error: p.json is a plan for target 'prod', not 'test': apply it "
                             "without -t, or plan for 'test'\n")

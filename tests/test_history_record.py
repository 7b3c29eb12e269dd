"""What mailprov_history keeps of a plan: by action, by row, only the changed fields."""

from __future__ import annotations

import json

from mailprov.db.history import changes_json, changes_record
from mailprov.plan.format import Change

OVERRIDE = {"username": "compta", "from": "compta@example.com", "server": "smtp.example.com",
            "port": 587, "ssl": True}
FIELDS = ("username", "from", "server", "port", "ssl")


def test_an_update_keeps_only_the_fields_it_changes():
    change = Change("user.COORD", "update", OVERRIDE, {**OVERRIDE, "port": 2525}, ("port",))
    assert changes_record([change]) == {"create": {}, "update": {"user.COORD": {
        "port": [587, 2525]}}, "delete": {}}


def test_a_creation_and_a_removal_keep_every_field():
    record = changes_record([Change("user.COMPTA", "create", None, OVERRIDE, FIELDS),
                             Change("user.PAIE", "delete", OVERRIDE, None, FIELDS)])
    assert record["create"] == {"user.COMPTA": {
        "username": [None, "compta"], "from": [None, "compta@example.com"],
        "server": [None, "smtp.example.com"], "port": [None, 587], "ssl": [None, True]}}
    assert record["delete"]["user.PAIE"]["from"] == ["compta@example.com", None]
    assert record["delete"]["user.PAIE"]["ssl"] == [True, None]
    assert record["update"] == {}
    assert "follows_general" not in record


def test_general_fields_reach_into_smtp_and_followers_are_listed():
    before = {"client": "outlook", "smtp": {"server": "old.example.com", "port": 25,
                                            "ssl": False}}
    after = {"client": "smtp", "smtp": {"server": "old.example.com", "port": 587, "ssl": True}}
    general = Change("general", "update", before, after, ("client", "smtp.port", "smtp.ssl"))
    follower = Change("user.X", "update", OVERRIDE, {**OVERRIDE, "port": 25}, ("port",),
                      follows_general=True)
    record = changes_record([general, follower])
    assert record["update"]["general"] == {"client": ["outlook", "smtp"],
                                           "smtp.port": [25, 587], "smtp.ssl": [False, True]}
    assert record["update"]["user.X"] == {"port": [587, 25]}
    assert record["follows_general"] == ["user.X"]


def test_the_stored_text_is_compact_utf8_json():
    change = Change("user.ÉTÉ", "update", OVERRIDE, {**OVERRIDE, "from": "été@exemple.ca"},
                    ("from",))
    text = changes_json([change])
    assert text == ('{"create":{},"update":{"user.ÉTÉ":{"from":["compta@example.com",'
                    '"été@exemple.ca"]}},"delete":{}}')
    assert json.loads(text)["update"]["user.ÉTÉ"]["from"][1] == "été@exemple.ca"

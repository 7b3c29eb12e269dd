"""What CI steps need around a plan, where a shell one-liner would be fragile: the
comment body with its marker (as the JSON payload an API takes), where the full plan
is, and which existing comment or issue carries a target's marker. The HTTP calls stay
in the CI's own tools (`gh`, `curl`); nothing here touches the network."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from mailprov.i18n import _
from mailprov.render.view import FullPlanPlace

PROVIDERS = ("github", "gitlab")
_SAFE = re.compile(r"https://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+\Z")


def _https(url: str | None) -> str | None:
    return url if url and _SAFE.match(url) and "(" not in url and ")" not in url else None


def run_url(provider: str, env: Mapping[str, str]) -> str | None:
    """The page of the current CI run, from the variables the CI sets (never from the
    repository's files): GitHub's run page, or GitLab's job artifacts page."""
    if provider == "github":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo, run = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
        return _https(f"{server}/{repo}/actions/runs/{run}") if repo and run else None
    job = env.get("CI_JOB_URL")
    return _https(f"{job}/artifacts/browse") if job else None


def full_plan_place(provider: str | None, plan_file: str | None, artifact: str | None,
                    env: Mapping[str, str]) -> FullPlanPlace:
    """Where a reviewer finds the saved plan that a shortened comment points to."""
    url = run_url(provider, env) if provider else None
    name = plan_file.replace("\\", "/").rsplit("/", 1)[-1] if plan_file else None
    return FullPlanPlace(name, artifact, url)


def payload(body: str) -> str:
    """`{"body": ...}`: what GitHub's and GitLab's comment APIs take (`gh api --input`,
    `curl --data @file`)."""
    return json.dumps({"body": body}, ensure_ascii=False) + "\n"


def _documents(text: str) -> Iterator[Any]:
    """The JSON values of `text`, one after the other: `gh api --paginate` prints one
    array per page, back to back."""
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        value, index = decoder.raw_decode(text, index)
        yield value


_ID_KEYS = {"comment": ("id",), "issue": ("number", "iid")}


def find_marked(text: str, marker: str, kind: str = "comment",
                author: str | None = None) -> str | None:
    """The id of the first comment (or number of the issue) in a JSON listing whose
    text holds `marker` and, when `author` is given, that this account wrote; None when
    there is none. Comments are GitHub issue comments or GitLab notes (`body`); issues
    are GitHub issues (`body`, `number`) or GitLab issues (`description`, `iid`).

    Anyone can paste the hidden marker into a comment of their own: CI should name the
    account it posts as, so that it never updates (or fails to update) someone else's."""
    for document in _documents(text):
        if not isinstance(document, list) and not (
                isinstance(document, dict) and ("body" in document or "description" in document)):
            # `{"message": "Not Found"}`, an error of the API: not "no comment yet", which
            # would make CI post a second comment
            raise ValueError(_("expected the API's listing of comments or issues (a JSON "
                               "array), not a single object or value"))
        items = document if isinstance(document, list) else [document]
        for item in items:
            if not isinstance(item, dict):
                continue
            if author is not None and _author(item) != author:
                continue
            body = item.get("body") or item.get("description") or ""
            if isinstance(body, str) and marker in body:
                for key in _ID_KEYS[kind]:
                    if item.get(key) is not None:
                        return str(item[key])
    return None


def _author(item: dict[str, Any]) -> str | None:
    """The account that wrote a comment or issue: GitHub's `user.login`, GitLab's
    `author.username`."""
    for key, name in (("user", "login"), ("author", "username")):
        who = item.get(key)
        if isinstance(who, dict) and isinstance(who.get(name), str):
            return str(who[name])
    return None

"""`mailprov explain` as text: how one user sends e-mail, and why."""

from __future__ import annotations

from mailprov.live.explain import Explanation
from mailprov.render.values import show


def render_explanation(info: Explanation, target_name: str) -> str:
    """Values shown as plans show them; every line escaped besides, since the client,
    edition and notes come from the database too."""
    mode = "per-user SMTP override" if info.mode == "override" else info.mode
    who = f"{show(info.code)} ({show(info.name)})" if info.name else show(info.code)
    lines = [f"{who} on target '{target_name}', edition {info.edition}",
             f"  sends with: {mode}", f"  because:    {info.reason}"]
    if info.server is not None or info.mode in ("override", "smtp"):
        lines += [f"  server:     {show(info.server)}", f"  port:       {show(info.port)}",
                  f"  ssl:        {show(info.ssl)}", f"  login:      {show(info.username)}",
                  f"  from:       {show(info.from_address)}",
                  f"  password:   {'entered' if info.password_set else 'not entered'}"]
    lines += [f"  note:       {note}" for note in info.notes]
    return "\n".join(_escaped(line) for line in lines) + "\n"


def _escaped(line: str) -> str:
    """Control characters and terminal escape sequences written out (`\\x1b`)."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in line)


def explanation_json(info: Explanation, target_name: str) -> str:
    """`explain --format json`: the same facts for scripts (never a password)."""
    import json
    from dataclasses import asdict

    data = {"target": target_name, **asdict(info)}
    data["from"] = data.pop("from_address")  # the name files and plans use
    data["notes"] = list(info.notes)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

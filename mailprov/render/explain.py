"""`mailprov explain` as text: how one user sends e-mail, and why."""

from __future__ import annotations

from mailprov.live.explain import Explanation
from mailprov.render.values import show


def render_explanation(info: Explanation, target_name: str) -> str:
    """Every line escaped: the code, name, client and values come from the database."""
    mode = "per-user SMTP override" if info.mode == "override" else info.mode
    who = f"{info.code} ({info.name})" if info.name else info.code
    lines = [f"{who} on target '{target_name}', edition {info.edition}",
             f"  sends with: {mode}", f"  because:    {info.reason}"]
    if info.server is not None or info.mode in ("override", "smtp"):
        lines += [f"  server:     {show(info.server)}", f"  port:       {show(info.port)}",
                  f"  ssl:        {show(info.ssl)}", f"  login:      {show(info.username)}",
                  f"  from:       {show(info.from_address)}",
                  f"  password:   {'entered' if info.password_set else 'not entered'}"]
    lines += [f"  note:       {note}" for note in info.notes]
    return "\n".join(show(line) for line in lines) + "\n"

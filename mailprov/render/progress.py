"""A one-line progress bar for fleet commands, on a terminal's standard error only.

Standard output keeps the sections and the summary (pipes and files get no bar, and
no escape sequence): the bar is drawn over itself with a carriage return and erased
when the run ends.
"""

from __future__ import annotations

import os
import time
from typing import Any, TextIO

from mailprov.i18n import _
from mailprov.render.values import show

BAR_WIDTH = 24
REDRAW_SECONDS = 0.05


class ProgressBar:
    """`[#########...............]  37/200  client-037 ok` on one line of `stream`.

    Call it as `on_done(outcome, done, total)` (mailprov.fleet.run_fleet); `close()`
    erases the line. Draws nothing unless `stream` is a terminal."""

    def __init__(self, stream: TextIO, total: int, *, enabled: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.enabled = stream.isatty() and not os.environ.get("MAILPROV_NO_PROGRESS") \
            if enabled is None else enabled
        self._last = 0.0
        self._drawn = False
        self.failed = 0

    def __call__(self, outcome: Any, done: int, total: int) -> None:
        if getattr(outcome, "failed", False):
            self.failed += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < REDRAW_SECONDS:
            return
        self._last = now
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        failed = _(", {count} failed").format(count=self.failed) if self.failed else ""
        line = f"[{bar}] {done:>{len(str(total))}}/{total}{failed}  {show(outcome.target)}"
        width = _columns()
        self.stream.write("\r\x1b[2K" + line[:width - 1])
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False


def _columns() -> int:
    try:
        return os.get_terminal_size(2).columns
    except OSError:
        return 80

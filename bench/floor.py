"""The plan floor as a process of its own: `python bench/floor.py plan CONFIG BACKEND DSN`.

What any tool must at least do for a plan (libyaml's C loader, one SELECT through the raw
driver, a dict comparison), started as a fresh process beside `mailprov plan`.
"""

from __future__ import annotations

import sys

import benchdata

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "plan":
        sys.exit("usage: floor.py plan CONFIG BACKEND DSN")
    benchdata.floor_plan(sys.argv[2], sys.argv[3], sys.argv[4])

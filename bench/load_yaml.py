"""Load + validate time of a large configuration, next to a plain libyaml load.

    .venv/bin/python bench/load_yaml.py                 # 10,000 users, best of 5
    .venv/bin/python bench/load_yaml.py --users 2000 --repeat 3 --json load.json

For one generated file (every user with an SMTP override, 10% of them with
their own port or relay), it times `mailprov.api.load_config([path])`
(YAML, JSON Schema, secret keys, merge and semantic rules: all of
`mailprov validate` but process start-up) against
`yaml.load(open(path), Loader=yaml.CSafeLoader)`, and splits mailprov's time
into its stages so that the slow one is visible.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchdata as bd


def best_of(fn: Callable[[], Any], repeat: int) -> list[float]:
    """One warm-up call, then `repeat` timed ones (memoised address checks cleared each time)."""
    times = []
    for round_no in range(repeat + 1):
        bd.clear_run_caches()
        gc.collect()
        start = time.perf_counter()
        fn()
        if round_no:
            times.append(time.perf_counter() - start)
    return times


def stages(path: Path) -> dict[str, Callable[[], Any]]:
    """mailprov's stages, each run on its own; empty when the internals have moved."""
    try:
        from mailprov.config import schema
        from mailprov.config.document import Document
        from mailprov.config.yamlload import load_yaml
    except ImportError:
        return {}
    data = path.read_bytes()
    doc = Document(path.name, data.decode(), load_yaml(data), True, str(path.parent))
    found: dict[str, Callable[[], Any]] = {"mailprov YAML reader": lambda: load_yaml(data)}
    if hasattr(schema, "document_problems"):
        found["schema + secret keys"] = lambda: schema.document_problems(doc)
    if hasattr(schema, "schema_problems"):
        found["  (jsonschema path alone)"] = lambda: (schema.schema_problems(doc),
                                                     schema.secret_problems(doc))
    return found


def slow_variant(path: Path) -> Path:
    """The same file with the general server as an IP address, which mailprov's fast YAML
    reader leaves to PyYAML (a number-like plain scalar): the cost of that fallback."""
    text = path.read_text(encoding="utf-8")
    general = f"    server: {bd.GENERAL_SMTP['server']}\n"
    text = text.replace(general, "    server: 10.20.30.40\n", 1)
    try:
        from mailprov.config.fastyaml import parse_simple
    except ImportError:
        name = "server-ip.yaml"
    else:
        name = "IP server (PyYAML path).yaml" if parse_simple(text) is None else \
            "IP server (fast path).yaml"
    slow = path.with_name(name)
    slow.write_text(text, encoding="utf-8")
    return slow


def main(argv: list[str] | None = None) -> int:
    bd.ensure_mailprov()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10000, help="users in the file (10000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (5); best is shown")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.users < 1 or args.repeat < 1:
        parser.error("--users and --repeat must be positive")

    from mailprov import api

    with tempfile.TemporaryDirectory(prefix="mailprov-bench-") as tmp:
        path = bd.write_config(Path(tmp) / "mailprov.yaml", "sqlite:///maestro.db",
                               bd.user_codes(args.users), bd.changed_indexes(args.users))
        size = path.stat().st_size
        rows: list[tuple[str, list[float]]] = [
            ("yaml.load(..., CSafeLoader)", best_of(lambda: bd.floor_validate(path),
                                                    args.repeat)),
        ]
        rows += [(name, best_of(fn, args.repeat)) for name, fn in stages(path).items()]
        rows.append(("mailprov.api.load_config", best_of(lambda: api.load_config([path]),
                                                         args.repeat)))
        total = min(rows[-1][1])
        slow = slow_variant(path)
        rows.append((f"  same, {slow.name[:-5]}",
                     best_of(lambda: api.load_config([slow]), args.repeat)))
    floor = min(rows[0][1])
    print(f"{args.users} users, {size / 1e6:.2f} MB of YAML; best of {args.repeat} after a "
          "warm-up (median in brackets); ratio to the plain C-loader load")
    for name, times in rows:
        best, median = min(times), statistics.median(times)
        print(f"  {name:<38}{best * 1000:>9.0f} ms ({median * 1000:.0f} ms)  "
              f"x{best / floor:.2f}")
    print(f"load + validate of {args.users} users: {total * 1000:.0f} ms, "
          f"{total / floor:.2f}x the plain CSafeLoader load ({floor * 1000:.0f} ms)")
    if args.json:
        document = {"users": args.users, "bytes": size, "repeat": args.repeat,
                    "figures": [{"name": name, "best": min(t), "median": statistics.median(t),
                                 "runs": t, "ratio": min(t) / floor} for name, t in rows]}
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark scripts run end to end on a tiny size and write the JSON they promise.

No timing is asserted: only that every figure is there, is a positive number,
and that the generated scenario is the one described (10% of users changed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULT_KEYS = {"figure", "size", "backend", "unit", "best", "median", "runs", "floor_best",
               "floor_median", "floor_runs", "ratio", "target", "target_met", "note",
               "variant"}
LAYOUTS = ("block", "flow-header", "flow-users", "doc-start", "non-ascii")
COUNT_KEYS = {"statements", "by_verb", "executemany_calls", "executemany_rows"}


def run_script(*argv: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_run_writes_every_figure_as_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_script("bench/run.py", "--sizes", "60", "--backends", "sqlite", "--repeat", "1",
                        "--cold-repeat", "1", "--huge", "70", "--fleet", "3", "--json", str(out))
    document = json.loads(out.read_text(encoding="utf-8"))

    assert set(document) == {"meta", "results", "round_trips"}
    meta = document["meta"]
    assert meta["sizes"] == [60]
    assert meta["backends"] == ["sqlite"]
    assert meta["repeat"] == 1
    assert meta["changed_percent"] == 10
    assert meta["layouts"] == list(LAYOUTS)

    results = document["results"]
    figures = {(r["figure"], r["size"], r["backend"], r["variant"]) for r in results}
    assert figures == {
        ("validate", 60, None, None),
        ("validate-cold", 50, None, None),
        ("templates", 60, None, None),
        ("plan", 60, "sqlite", None),
        ("apply", 60, "sqlite", None),
        *(("plan-cold", 60, "sqlite", layout) for layout in LAYOUTS),
        ("plan-cold", 50, "sqlite", None),
        ("memory", 60, "sqlite", "block"),
        ("memory", 70, "sqlite", "block"),
        ("startup", None, None, None),
        ("fleet", 3, "sqlite", None),
        ("fleet-mem", 3, "sqlite", None),
    }
    for r in results:
        assert set(r) == RESULT_KEYS, r["figure"]
        assert len(r["runs"]) == 1 and len(r["floor_runs"]) == 1, r["figure"]
        assert r["best"] > 0 and r["floor_best"] > 0, r["figure"]
        assert r["ratio"] == r["best"] / r["floor_best"], r["figure"]
    targets = {(r["figure"], r["size"]): r["target"] for r in results}
    # plan and apply are judged at 10,000 users only (the size), the processes
    # of a small company at 50, memory up to 10,000
    assert targets == {("validate", 60): None, ("validate-cold", 50): "<= 2x",
                       ("templates", 60): "<= 2x", ("plan", 60): None, ("apply", 60): None,
                       ("plan-cold", 60): None, ("plan-cold", 50): "<= 4x",
                       ("memory", 60): "< 150 MB", ("memory", 70): "< 150 MB",
                       ("startup", None): "<= 2x", ("fleet", 3): "<= 0.1x",
                       ("fleet-mem", 3): "< 150 MB"}
    assert all(isinstance(r["target_met"], bool) for r in results if r["target"])
    memory = next(r for r in results if r["figure"] == "memory")
    assert memory["unit"] == "MB"
    assert 5 < memory["best"] < 2000  # megabytes of a real process, not kB or bytes

    (trips,) = document["round_trips"]
    assert trips["backend"] == "sqlite"
    assert trips["size"] == 60
    assert trips["changes"] == 6  # 10% of 60 users
    for phase in ("plan", "apply"):
        assert set(trips[phase]) == COUNT_KEYS
        assert trips[phase]["statements"] >= 1
    assert trips["plan"]["by_verb"].get("SELECT", 0) >= 1
    assert trips["apply"]["by_verb"].get("UPDATE", 0) >= 1

    fleet = next(r for r in results if r["figure"] == "fleet")
    assert fleet["note"].startswith("one `plan --all-targets` process vs 3 `plan -t NAME` "
                                    "processes, 50 users each; ")

    table = result.stdout
    assert "floor" in table
    for figure in ("validate", "templates", "plan", "apply", "memory", "startup", "fleet",
                   *(f"plan-cold {layout}" for layout in LAYOUTS)):
        assert any(line.startswith(figure) for line in table.splitlines()), figure


def test_load_yaml_reports_load_config_next_to_csafeloader(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    result = run_script("bench/load_yaml.py", "--users", "200", "--repeat", "1",
                        "--json", str(out))
    document = json.loads(out.read_text(encoding="utf-8"))

    assert document["users"] == 200
    assert document["bytes"] > 0
    names = [f["name"] for f in document["figures"]]
    assert names[0] == "yaml.load(..., CSafeLoader)"
    assert "mailprov.api.load_config" in names
    for figure in document["figures"]:
        assert figure["best"] > 0 and len(figure["runs"]) == 1
    assert "load + validate of 200 users" in result.stdout


def test_plan_and_apply_are_judged_at_10000_users() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import run
    finally:
        sys.path.remove(str(REPO / "bench"))
    judged = {(figure, size): run.Result(figure, size, "sqlite", "s", [3.0], [1.0]).judge()
              for figure in ("plan", "apply") for size in (1000, 10_000)}
    assert judged["plan", 10_000].target == "<= 1.5x"
    assert judged["plan", 10_000].target_met is False  # 3x
    assert judged["apply", 10_000].target == "<= 2x"
    assert judged["apply", 10_000].target_met is False
    assert judged["plan", 1000].target is None and judged["apply", 1000].target_met is None
    fast = run.Result("apply", 10_000, "sqlite", "s", [1.9], [1.0]).judge()
    assert fast.target_met is True
    cold = {size: run.Result("plan-cold", size, "sqlite", "s", [3.0], [1.0]).judge()
            for size in (50, 1000, 10_000)}
    assert (cold[50].target, cold[50].target_met) == ("<= 4x", True)
    assert (cold[10_000].target, cold[10_000].target_met) == ("<= 1.5x", False)
    assert cold[1000].target is None
    huge = run.Result("memory", 100_000, "sqlite", "MB", [400.0], [300.0]).judge()
    assert huge.target is None  # a figure, not a verdict

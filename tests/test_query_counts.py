"""Round trips do not grow with the number of users: plan reads in a constant number of
queries, apply writes in batches (counted with a `before_cursor_execute` listener)."""

from __future__ import annotations

import math

import pytest
from dbhelpers import SMTP, StatementLog, plan_file, smtp_user, users, write_config

from mailprov import api
from mailprov.db.backends.mysql import CASE_CHUNK
from mailprov.db.sandbox import sample_users


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


def _fresh(url: str, size: int) -> list[str]:
    """(Re-)create the sandbox at `url` with `size` users; return their codes."""
    assert api.sandbox(url, users=size, force=True, model=1) == size
    return [u.code for u in sample_users(size)]


def _kinds(statements: list[str]) -> list[str]:
    return [s.split()[0].upper() for s in statements]


def test_plan_issues_the_same_queries_for_10_and_5000_users(url, tmp_path):
    seen: dict[tuple[int, str], list[str]] = {}
    for size in (10, 5000):
        codes = _fresh(url, size)
        listed = codes[: size // 2]
        config = write_config(tmp_path, url, users={c: smtp_user(c) for c in listed},
                              name=f"c{size}.yaml")
        with StatementLog() as log:
            plan, target = plan_file(config)
        assert plan.summary == {"create": len(listed), "update": 1, "delete": 0}
        seen[size, "changes"] = log.statements

        api.apply(plan, target, config_dir=str(tmp_path))
        with StatementLog() as log:
            again, _ = plan_file(config)
        assert again.changes == ()
        assert again.unmanaged_overrides == 0
        seen[size, "no changes"] = log.statements
    for case in ("changes", "no changes"):
        small, large = seen[10, case], seen[5000, case]
        assert len(small) == len(large), (small, large)
        assert _kinds(small) == _kinds(large)
        # the general row, every user, and what identifies the database (a PRAGMA on SQLite);
        # the first plan after the sandbox was made also reads the model version, once
        # (SELECT * ... WHERE 0 = 1), which the process then keeps
        expected = 4 if case == "changes" else 3
        assert sum(_kinds(small).count(kind) for kind in ("SELECT", "PRAGMA")) == expected, \
            small


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mariadb"])
def test_apply_statements_follow_batches_not_rows(backend, request, tmp_path):
    url = request.getfixturevalue(f"{backend}_url")
    moved = {"client": "outlook", "smtp": {**SMTP, "port": 2587}}
    counts: dict[int, list[int]] = {}
    for size in (10, 1000):
        codes = _fresh(url, size)
        counts[size] = []
        # creations (removals write the same columns); then a general.smtp change that every
        # override follows
        for general in (None, moved):
            config = write_config(tmp_path, url, general=general,
                                  users={c: smtp_user(c) for c in codes})
            plan, target = plan_file(config)
            assert len([c for c in plan.changes if c.user_code]) == size
            with StatementLog() as log:
                api.apply(plan, target, force=True, config_dir=str(tmp_path))
            counts[size].append(len(log))
        assert [row["smtp_port"] for row in users(url).values()] == [2587] * size
    # apply locks the rows it changes and re-reads the rows it manages in one SELECT each
    # (SQLite: a JSON array of numbers; PostgreSQL: an array; MariaDB: one IN list)
    extra = 0
    if backend == "mariadb":
        # PyMySQL would send an executemany UPDATE row by row: one UPDATE ... CASE per chunk
        # of CASE_CHUNK rows instead
        extra += math.ceil(1000 / CASE_CHUNK) - 1
    assert counts[1000] == [n + extra for n in counts[10]], counts

"""Run one task per target, at most `parallel` at a time, and keep every outcome.

A target's failure is its own: the others still run (unless `fail_fast`, which stops
starting new ones; those already running finish, each in its own transaction). A
user error becomes the target's message and exit code, as the single-target command
would have given them; anything else is reported as a bug of that target, never a
traceback that hides the others. The process exits with the worst code of its
targets: 1 (error) over 3 (refused for safety) over 2 (changes, drift) over 0.

Tasks run in threads: a plan waits on its database far more than it computes, and
one process shares the parsed files, the compiled schema and the engines across
targets (see docs/fleets.md for the figures).
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mailprov.errors import MailprovError
from mailprov.i18n import _

T = TypeVar("T")
R = TypeVar("R")

EXIT_SEVERITY = {0: 0, 2: 1, 3: 2, 1: 3}
"""How bad each exit code is: 1 (error) over 3 (refused) over 2 (changes) over 0.
Any other code counts as an error."""

DEFAULT_PARALLEL = 4


def _severity(code: int) -> int:
    return EXIT_SEVERITY.get(code, EXIT_SEVERITY[1])


def worst_exit_code(codes: Iterable[int | None]) -> int:
    """The exit code of a fleet: the worst of its targets' (None: not run)."""
    worst = 0
    for code in codes:
        if code is not None and _severity(code) > _severity(worst):
            worst = 1 if code not in EXIT_SEVERITY else code
    return worst


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What one target's task gave: its `value` (None when it raised), its `error`
    message, its exit code (None: not run, the fleet stopped first) and its time."""

    target: str
    value: R | None = None
    error: str | None = None
    exit_code: int | None = 0
    seconds: float = 0.0
    trace: str | None = field(default=None, repr=False, compare=False)
    """The traceback of an unexpected error (shown with --debug only)."""

    @property
    def ran(self) -> bool:
        return self.exit_code is not None

    @property
    def failed(self) -> bool:
        """An error or a refusal (1 or 3): what --fail-fast stops on."""
        return self.exit_code is not None and _severity(self.exit_code) >= EXIT_SEVERITY[3]


@dataclass(frozen=True)
class FleetRun(Generic[R]):
    """Every target's outcome, in the order the targets were given."""

    outcomes: tuple[Outcome[R], ...]
    stopped: bool = False
    """--fail-fast stopped the run: some targets did not run."""

    @property
    def exit_code(self) -> int:
        return worst_exit_code(o.exit_code for o in self.outcomes)

    def by_target(self) -> dict[str, Outcome[R]]:
        return {outcome.target: outcome for outcome in self.outcomes}


def run_fleet(targets: Sequence[T], task: Callable[[T], R], *,
              name: Callable[[T], str],
              exit_code: Callable[[R], int] = lambda _value: 0,
              parallel: int = DEFAULT_PARALLEL, fail_fast: bool = False,
              on_done: Callable[[Outcome[R], int, int], None] | None = None) -> FleetRun[R]:
    """Run `task` for each of `targets`, at most `parallel` at once.

    `exit_code(value)` is the exit code of a task that returned (a plan with changes
    under --detailed-exitcode is 2); a MailprovError gives its own. `on_done(outcome,
    done, total)` is called in the calling thread as each target finishes (a progress
    bar). With `fail_fast`, the first error or refusal stops starting new targets.
    """
    total = len(targets)
    results: dict[int, Outcome[R]] = {}
    stop = threading.Event()

    def run_one(index: int) -> Outcome[R]:
        target = targets[index]
        label = name(target)
        if stop.is_set():
            return Outcome(label, exit_code=None)
        start = time.perf_counter()
        try:
            value = task(target)
        except MailprovError as exc:
            return Outcome(label, error=exc.message, exit_code=exc.exit_code,
                           seconds=time.perf_counter() - start)
        except Exception as exc:  # a bug for this target: the others still run
            message = _("unexpected {kind}: {error}. This is a bug in mailprov; run again "
                        "with --debug and report the traceback.").format(
                            kind=exc.__class__.__name__, error=exc)
            return Outcome(label, error=message, exit_code=1,
                           seconds=time.perf_counter() - start, trace=traceback.format_exc())
        return Outcome(label, value=value, exit_code=exit_code(value),
                       seconds=time.perf_counter() - start)

    finished: queue.SimpleQueue[tuple[int, Outcome[R]]] = queue.SimpleQueue()

    def work(index: int) -> None:
        outcome: Outcome[R] | None = None
        try:
            outcome = run_one(index)
            if fail_fast and outcome.failed:
                stop.set()  # before the next target is taken: none starts after this
        finally:  # whatever happens, the calling thread hears of this target
            finished.put((index, outcome if outcome is not None else Outcome(
                name(targets[index]), error=_("interrupted"), exit_code=1)))

    workers = max(1, min(parallel, total))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailprov-fleet")
    try:
        for index in range(total):
            pool.submit(work, index)
        for done in range(1, total + 1):
            index, outcome = finished.get()
            results[index] = outcome
            if on_done is not None:
                on_done(outcome, done, total)
    except BaseException:  # Ctrl-C: start nothing more; running targets finish
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    outcomes = tuple(results[index] for index in range(total))
    return FleetRun(outcomes, stopped=stop.is_set() and any(not o.ran for o in outcomes))

"""Fleets: one command over many targets, a few at a time (mailprov.fleet.runner).

The runner knows nothing of plans or applies: it runs a task per target, bounded,
keeps each target's outcome (its value, or its error and exit code) and the worst
exit code. mailprov.api gives it the tasks (plan, apply, drift, ...)."""

from mailprov.fleet.runner import (
    EXIT_SEVERITY,
    FleetRun,
    Outcome,
    run_fleet,
    worst_exit_code,
)

__all__ = ["EXIT_SEVERITY", "FleetRun", "Outcome", "run_fleet", "worst_exit_code"]

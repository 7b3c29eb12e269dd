"""Plans: compare the files with the live state (`diff`), build the plan with its
digest and safety verdict (`planner`), and the plan format itself (`format`)."""

from mailprov.plan.format import Change, Plan, SafetyReport

__all__ = ["Change", "Plan", "SafetyReport"]

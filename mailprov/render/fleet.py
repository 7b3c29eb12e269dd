"""A fleet's output: a header before each target's usual output, then one summary
(a table: target, result, counts, exit code), and the JSON document scripts read.

A row is built from a target's outcome (plan, apply, drift), or read back from a
fleet's JSON, so that `mailprov ci fleet-summary` gathers the JSON of several CI jobs
into the same table. Result words are stable in JSON and translated on screen.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailprov.fleet.runner import FleetRun, Outcome, worst_exit_code
from mailprov.i18n import N_, _, ngettext
from mailprov.plan.fleetfile import json_chunks
from mailprov.render.escape import md, md_code
from mailprov.render.values import show

if TYPE_CHECKING:
    from mailprov.apply.executor import ApplyResult
    from mailprov.plan.drift import DriftReport
    from mailprov.plan.format import Plan

FLEET_FORMAT_VERSION = "1.0"
FLEET_KIND = "mailprov-fleet"

PLAN_COUNTS = ("add", "change", "remove")
DRIFT_COUNTS = ("rows", "fields", "departed")
PASSWORD_COUNTS = ("smtp_users", "set", "not_set", "stale")
COUNTS = {"plan": PLAN_COUNTS, "apply": PLAN_COUNTS, "show": PLAN_COUNTS,
          "drift": DRIFT_COUNTS, "password-status": PASSWORD_COUNTS}

RESULT_WORDS = {
    "changes": N_("changes"), "no-changes": N_("no changes"), "applied": N_("applied"),
    "unchanged": N_("unchanged"), "drift": N_("drift"), "no-drift": N_("no drift"),
    "error": N_("error"), "refused": N_("refused"), "not-run": N_("not run"),
    "done": N_("done"), "complete": N_("complete"), "incomplete": N_("incomplete"),
}
_COLUMN_WORDS = {"add": N_("add"), "change": N_("change"), "remove": N_("remove"),
                 "rows": N_("rows"), "fields": N_("fields"), "departed": N_("departed"),
                 "smtp_users": N_("users"), "set": N_("set"), "not_set": N_("not set"),
                 "stale": N_("stale")}
NOTE_CHARS = 100


@dataclass(frozen=True, slots=True)
class Row:
    """One target in the summary: its result word, its counts, its exit code (None: not
    run) and a short note (the history number of an apply, the first line of an error)."""

    target: str
    result: str
    counts: tuple[int, ...] | None
    exit_code: int | None
    note: str = ""

    def to_json(self, columns: Sequence[str]) -> dict[str, Any]:
        return {"target": self.target, "result": self.result, "exit_code": self.exit_code,
                "counts": None if self.counts is None else dict(zip(columns, self.counts,
                                                                   strict=True)),
                "note": self.note}


@dataclass(frozen=True)
class FleetSummary:
    """What the summary shows: the command, its rows in target order, the exit code."""

    command: str
    rows: tuple[Row, ...]
    shard: str | None = None
    stopped: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return COUNTS.get(self.command, ())

    @property
    def exit_code(self) -> int:
        return worst_exit_code(row.exit_code for row in self.rows)


def _first_line(text: str | None) -> str:
    line = (text or "").strip().split("\n", 1)[0]
    return line if len(line) <= NOTE_CHARS else line[:NOTE_CHARS - 3] + "..."


def _failure(outcome: Outcome[Any]) -> str:
    if not outcome.ran:
        return "not-run"
    return "refused" if outcome.exit_code == 3 else "error"


def _plan_counts(plan: Plan) -> tuple[int, ...]:
    s = plan.summary
    return (s["create"], s["update"], s["delete"])


def plan_row(outcome: Outcome[Plan]) -> Row:
    """A planned target: changes or not, or why it could not be planned."""
    plan = outcome.value
    if plan is None:
        return Row(outcome.target, _failure(outcome), None, outcome.exit_code,
                   _first_line(outcome.error) or _("not run: an earlier target failed "
                                                   "(--fail-fast)"))
    if plan.errors:
        note = ngettext("{count} user in the files is not in this target",
                        "{count} users in the files are not in this target",
                        len(plan.errors)).format(count=len(plan.errors))
        return Row(outcome.target, "error", _plan_counts(plan), outcome.exit_code, note)
    return Row(outcome.target, "changes" if plan.changes_present else "no-changes",
               _plan_counts(plan), outcome.exit_code)


def apply_row(outcome: Outcome[ApplyResult]) -> Row:
    """An applied target: changed (with its history number), unchanged, or not."""
    result = outcome.value
    if result is None:
        return Row(outcome.target, _failure(outcome), None, outcome.exit_code,
                   _first_line(outcome.error) or _("not run: an earlier target failed "
                                                   "(--fail-fast)"))
    if result.history_id is None:
        return Row(outcome.target, "unchanged", (0, 0, 0), outcome.exit_code)
    return Row(outcome.target, "applied", _plan_counts(result.plan), outcome.exit_code,
               _("history #{id}").format(id=result.history_id))


def drift_row(outcome: Outcome[DriftReport]) -> Row:
    """A checked target: drifted or not."""
    report = outcome.value
    if report is None:
        return Row(outcome.target, _failure(outcome), None, outcome.exit_code,
                   _first_line(outcome.error) or _("not run: an earlier target failed "
                                                   "(--fail-fast)"))
    counts = (len(report.rows), report.field_count, len(report.departed))
    return Row(outcome.target, "drift" if report.drifted else "no-drift", counts,
               outcome.exit_code)


def password_row(outcome: Outcome[Any]) -> Row:
    """A target's SMTP passwords (mailprov.live.passwords.PasswordStatus): complete when
    every SMTP user has a password that is not stale."""
    status = outcome.value
    if status is None:
        return Row(outcome.target, _failure(outcome), None, outcome.exit_code,
                   _first_line(outcome.error))
    s = status.summary
    counts = tuple(int(s[name]) for name in PASSWORD_COUNTS)
    missing = int(s["not_set"]) + int(s["stale"])
    return Row(outcome.target, "incomplete" if missing else "complete", counts,
               outcome.exit_code)


def generic_row(outcome: Outcome[Any]) -> Row:
    """Any other command's target: done, or why not."""
    if outcome.value is None and outcome.exit_code != 0:
        return Row(outcome.target, _failure(outcome), None, outcome.exit_code,
                   _first_line(outcome.error))
    return Row(outcome.target, "done", None, outcome.exit_code)


ROWS: dict[str, Callable[[Outcome[Any]], Row]] = {
    "plan": plan_row, "show": plan_row, "apply": apply_row, "drift": drift_row,
    "password-status": password_row}


def summarize(command: str, run: FleetRun[Any], shard: str | None = None) -> FleetSummary:
    """The summary of a run: one row per target, in the order they were given."""
    make = ROWS.get(command, generic_row)
    return FleetSummary(command, tuple(make(o) for o in run.outcomes), shard, run.stopped)


# --- text and Markdown ------------------------------------------------------------------


def section_header(name: str, index: int, total: int) -> str:
    """The line before each target's output in a fleet's text output."""
    return _("=== Target {name} ({index}/{total}) ===").format(name=show(name), index=index,
                                                                 total=total)


def section_heading_markdown(name: str) -> str:
    return _("## Target {name}").format(name=md_code(name))


def _result_word(result: str) -> str:
    word = RESULT_WORDS.get(result)
    return _(word) if word else show(result)


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _names(rows: Iterable[Row], with_note: bool = False) -> str:
    parts = []
    for row in rows:
        name = show(row.target)
        parts.append(f"{name} ({row.note})" if with_note and row.note else name)
    return ", ".join(parts)


def verdict_lines(summary: FleetSummary) -> list[str]:
    """Which targets changed (or drifted) and which did not, each named."""
    rows = summary.rows
    groups: list[tuple[str, list[Row], bool]]
    if summary.command == "apply":
        groups = [(_("Changed ({count}): {names}."), [r for r in rows if r.result == "applied"],
                   True),
                  (_("Not changed ({count}): {names}."),
                   [r for r in rows if r.result != "applied"], False)]
    elif summary.command == "drift":
        groups = [(_("Drifted ({count}): {names}."), [r for r in rows if r.result == "drift"],
                   False),
                  (_("No drift ({count}): {names}."),
                   [r for r in rows if r.result == "no-drift"], False)]
    elif summary.command == "password-status":
        groups = [(_("Passwords missing or stale ({count}): {names}."),
                   [r for r in rows if r.result == "incomplete"], False),
                  (_("Every SMTP user has a password ({count}): {names}."),
                   [r for r in rows if r.result == "complete"], False)]
    else:
        groups = [(_("With changes ({count}): {names}."),
                   [r for r in rows if r.result == "changes"], False),
                  (_("No changes ({count}): {names}."),
                   [r for r in rows if r.result in ("no-changes", "unchanged")], False)]
    if summary.command != "apply":
        groups.append((_("Failed ({count}): {names}."),
                       [r for r in rows if r.result in ("error", "refused")], False))
        groups.append((_("Not run ({count}): {names}."),
                       [r for r in rows if r.result == "not-run"], False))
    lines = []
    for text, members, with_note in groups:
        if members or summary.command == "apply":
            names = _names(members, with_note) if members else _("none")
            if summary.command == "apply" and not with_note and members:
                names = ", ".join(f"{show(r.target)} ({_result_word(r.result)})"
                                  for r in members)
            lines.append(text.format(count=len(members), names=names))
    return lines


def exit_line(summary: FleetSummary) -> str:
    return _("Exit code {code}: the worst of the targets' (1 error, then 3 refused, then 2 "
             "changes or drift, then 0).").format(code=summary.exit_code)


def _table(summary: FleetSummary) -> list[list[str]]:
    """The summary's cells: a header row, then one row per target (a note column only
    when some target has a note)."""
    notes = any(row.note for row in summary.rows)
    head = [_("target"), _("result"), *(_(_COLUMN_WORDS[c]) for c in summary.columns),
            _("exit")] + ([_("note")] if notes else [])
    body = []
    for row in summary.rows:
        counts = [_count(n) for n in row.counts] if row.counts is not None \
            else ["-"] * len(summary.columns)
        cells = [show(row.target), _result_word(row.result), *counts,
                 "-" if row.exit_code is None else str(row.exit_code)]
        if notes:
            cells.append(show(row.note) if row.note else "")
        body.append(cells)
    return [head, *body]


def _title(summary: FleetSummary) -> str:
    total = len(summary.rows)
    text = ngettext("Fleet summary: {command} on {count} target",
                    "Fleet summary: {command} on {count} targets", total).format(
                        command=summary.command.replace("-", " "), count=total)
    if summary.shard:
        text += _(" (shard {shard})").format(shard=summary.shard)
    return text


def render_summary_text(summary: FleetSummary, *, with_exit: bool = True) -> str:
    """The summary for a terminal: a title, an aligned table, who changed, the code."""
    lines = [_title(summary), ""]
    if summary.rows:
        table = _table(summary)
        numeric = set(range(2, 2 + len(summary.columns) + 1))
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for row in table:
            cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                     for i, cell in enumerate(row)]
            lines.append(("  " + "  ".join(cells)).rstrip())
        lines.append("")
    else:
        lines += [_("No target is in this selection."), ""]
    for line in verdict_lines(summary):
        lines.extend(textwrap.wrap(line, 100, break_on_hyphens=False,
                                   subsequent_indent="  ") or [line])
    if summary.stopped:
        lines.append(_("Stopped at the first failure (--fail-fast): the targets not run were "
                       "left as they are."))
    if with_exit:
        lines.append(exit_line(summary))
    return "\n".join(lines) + "\n"


def render_summary_markdown(summary: FleetSummary, *, with_exit: bool = True) -> str:
    """The summary as Markdown (a job summary, a pull-request comment): a table and the
    same sentences, every value escaped."""
    lines = [f"### {md(_title(summary))}", ""]
    table = _table(summary)
    if summary.rows:
        lines.append("| " + " | ".join(md(cell) for cell in table[0]) + " |")
        lines.append("|" + "|".join("---:" if 2 <= i < 3 + len(summary.columns) else "---"
                                    for i in range(len(table[0]))) + "|")
        for row, cells in zip(summary.rows, table[1:], strict=True):
            cells = [md_code(row.target), *(md(cell) if cell else "" for cell in cells[1:])]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    else:
        lines += [md(_("No target is in this selection.")), ""]
    lines.extend(f"- {md(line)}" for line in verdict_lines(summary))
    if summary.stopped:
        lines.append("- " + md(_("Stopped at the first failure (--fail-fast).")))
    if with_exit:
        lines += ["", f"**{md(exit_line(summary))}**"]
    return "\n".join(lines) + "\n"


# --- JSON -----------------------------------------------------------------------------------


def _target_json(summary: FleetSummary, row: Row, outcome: Outcome[Any],
                 detail: Callable[[Any], Mapping[str, Any]] | None) -> dict[str, Any]:
    item = row.to_json(summary.columns)
    item["seconds"] = round(outcome.seconds, 4)
    item["error"] = outcome.error
    if detail is not None and outcome.value is not None:
        item.update(detail(outcome.value))
    return item


def fleet_json(summary: FleetSummary, run: FleetRun[Any],
               detail: Callable[[Any], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON of a fleet command: every target's row, its error, and `detail(value)`
    (its plan, apply or drift report), then the summary. Never translated."""
    targets = [_target_json(summary, row, outcome, detail)
               for row, outcome in zip(summary.rows, run.outcomes, strict=True)]
    return {"format_version": FLEET_FORMAT_VERSION, "kind": FLEET_KIND,
            "command": summary.command, "shard": summary.shard, "exit_code": summary.exit_code,
            "stopped": summary.stopped, "summary": summary_json(summary), "targets": targets}


def fleet_json_chunks(summary: FleetSummary, run: FleetRun[Any],
                      detail: Callable[[Any], Mapping[str, Any]] | None = None
                      ) -> Iterator[str]:
    """fleet_json's text, written a target at a time (see json_chunks)."""
    head = {"format_version": FLEET_FORMAT_VERSION, "kind": FLEET_KIND,
            "command": summary.command, "shard": summary.shard,
            "exit_code": summary.exit_code, "stopped": summary.stopped,
            "summary": summary_json(summary)}

    def items() -> Iterator[dict[str, Any]]:
        for row, outcome in zip(summary.rows, run.outcomes, strict=True):
            yield _target_json(summary, row, outcome, detail)

    yield from json_chunks(head, "targets", items(), default=str)


def summary_json(summary: FleetSummary) -> dict[str, Any]:
    by_result: dict[str, int] = {}
    for row in summary.rows:
        by_result[row.result] = by_result.get(row.result, 0) + 1
    changed = {"apply": ("applied",), "drift": ("drift",)}.get(summary.command, ("changes",))
    return {"targets": len(summary.rows), "by_result": by_result,
            "changed": [r.target for r in summary.rows if r.result in changed],
            "not_changed": [r.target for r in summary.rows if r.result not in changed],
            "failed": [r.target for r in summary.rows if r.result in ("error", "refused")],
            "not_run": [r.target for r in summary.rows if r.result == "not-run"],
            "exit_code": summary.exit_code}


def dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


# --- gathering the JSON of several jobs --------------------------------------------------


class GatherError(ValueError):
    """The JSON documents cannot be gathered into one summary (said in the message)."""


def _row_from_json(item: Any, columns: Sequence[str], source: str) -> Row:
    if not isinstance(item, Mapping) or not isinstance(item.get("target"), str) \
            or not isinstance(item.get("result"), str):
        raise GatherError(_("{file}: each of `targets` must have a `target` and a `result`")
                          .format(file=source))
    code = item.get("exit_code")
    if code is not None and (not isinstance(code, int) or isinstance(code, bool)):
        raise GatherError(_("{file}: target {target}: `exit_code` must be a whole number or "
                            "null").format(file=source, target=item["target"]))
    counts = item.get("counts")
    values = None
    if isinstance(counts, Mapping):
        values = tuple(int(counts.get(c, 0)) for c in columns)
    note = item.get("note")
    return Row(item["target"], item["result"], values, code,
               note if isinstance(note, str) else "")


def gather(documents: Sequence[tuple[str, Any]]) -> FleetSummary:
    """One summary from the JSON of several fleet runs (one per CI job): the same
    command, each target once, and, when they are shards, every shard of N present."""
    if not documents:
        raise GatherError(_("no file given: name the JSON file of each job"))
    commands = set()
    rows: list[Row] = []
    seen: dict[str, str] = {}
    shards: dict[int, set[int]] = {}
    for source, data in documents:
        if not isinstance(data, Mapping) or data.get("kind") != FLEET_KIND:
            raise GatherError(_("{file}: not the JSON of a fleet command (written by `mailprov "
                                "plan|apply|drift ... --format json` with several targets)")
                              .format(file=source))
        command = data.get("command")
        commands.add(command)
        columns = COUNTS.get(str(command), ())
        items = data.get("targets")
        if not isinstance(items, list):
            raise GatherError(_("{file}: `targets` must be a list").format(file=source))
        for item in items:
            row = _row_from_json(item, columns, source)
            if row.target in seen:
                raise GatherError(_("target {target} is in both {first} and {second}: were two "
                                    "jobs given the same shard?").format(
                                        target=row.target, first=seen[row.target], second=source))
            seen[row.target] = source
            rows.append(row)
        shard = data.get("shard")
        if isinstance(shard, str) and "/" in shard:
            index_text, _sep, count_text = shard.partition("/")
            if index_text.isdigit() and count_text.isdigit():
                shards.setdefault(int(count_text), set()).add(int(index_text))
    if len(commands) > 1:
        raise GatherError(_("the files are of different commands ({commands}): gather one "
                            "command at a time").format(
                                commands=", ".join(sorted(str(c) for c in commands))))
    if len(shards) > 1:
        raise GatherError(_("the files are shards of different counts ({counts}): gather the "
                            "jobs of one matrix").format(
                                counts=", ".join(f"N={n}" for n in sorted(shards))))
    for count, present in shards.items():
        missing = sorted(set(range(1, count + 1)) - present)
        if missing:
            raise GatherError(ngettext(
                "shard {missing} of {count} is missing: its job failed before writing its "
                "JSON, or its file was not downloaded",
                "shards {missing} of {count} are missing: their jobs failed before writing "
                "their JSON, or their files were not downloaded", len(missing)).format(
                    missing=", ".join(str(m) for m in missing), count=count))
    rows.sort(key=lambda row: row.target)
    command = str(next(iter(commands)))
    return FleetSummary(command, tuple(rows))

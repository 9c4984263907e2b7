"""The end-of-run summary in the terminal, rendered from the run's results."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drtool.core.clock import format_duration
from drtool.reports.metrics import delivery_line
from drtool.core.results import (
    ERROR,
    FAILED,
    INTERRUPTED,
    PASSED,
    SKIPPED,
    RunResult,
)

_STYLE = {PASSED: "green", FAILED: "bold red", ERROR: "bold yellow", SKIPPED: "dim", INTERRUPTED: "bold magenta"}
_LABEL = {PASSED: "MET", FAILED: "FAILED", ERROR: "ERROR", SKIPPED: "skipped", INTERRUPTED: "INTERRUPTED"}


def _measured(test, name: str) -> str:
    found = next((m for m in test.measurements if m["name"] == name), None)
    if found is None:
        return "-"
    mark = "" if found["met"] else " !"
    return f"{format_duration(found['measured_s'])} / {format_duration(found['objective_s'])}{mark}"


def print_summary(console: Console, result: RunResult, journal_path: str) -> None:
    console.print(f"drill {result.drill}, run {result.run_id}", highlight=False)
    # One table per kind of target: each family has its own figures, and a column nobody measured says nothing.
    by_kind: dict[str, list] = {}
    for test in result.tests.values():
        by_kind.setdefault(result.target_kinds.get(test.target, ""), []).append(test)
    for kind, tests in by_kind.items():
        measured = {m["name"] for test in tests for m in test.measurements}
        figures = [f for f in dict.fromkeys([*result.figures, *(m["name"] for t in tests for m in t.measurements)]) if f in measured]
        table = Table(title=kind or None, title_justify="left")
        table.add_column("target", no_wrap=True)
        table.add_column("scenario", min_width=24)
        table.add_column("result", no_wrap=True)
        for figure in figures:  # a cell reads "measured / objective"
            table.add_column(figure, no_wrap=True)
        table.add_column("took", justify="right", no_wrap=True)
        for test in tests:
            table.add_row(
                test.target or "-",
                test.scenario,
                f"[{_STYLE.get(test.status, '')}]{_LABEL.get(test.status, test.status)}[/]",
                *(_measured(test, figure) for figure in figures),
                format_duration(test.duration_s),
            )
        console.print(table)
    for test in result.tests.values():
        style = _STYLE.get(test.status, "")
        label = _LABEL.get(test.status, test.status)
        # One verdict per line, never wrapped, so CI logs and grep see whole verdicts.
        console.print(f"[{style}]{label}[/] {test.target or '-'}: {test.scenario}", highlight=False, soft_wrap=True)
        for line in test.notes:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        if test.status != PASSED and test.message and test.message not in test.notes:
            console.print(f"  {test.message}", markup=False, highlight=False, soft_wrap=True)
    if result.budget_exceeded:
        console.print(f"[bold red]BUDGET EXCEEDED:[/] {result.budget_exceeded}", highlight=False)
    if result.leftovers:
        console.print(
            f"[bold red]LEFT BEHIND:[/] {', '.join(result.leftovers)}; remove with: drtool cleanup --run-id {result.run_id}",
            highlight=False, soft_wrap=True,
        )
    for warning in result.warnings:
        console.print(f"[yellow]journal:[/] {warning}", highlight=False, soft_wrap=True)
    for error in result.run_errors:
        console.print(f"[bold yellow]run error:[/] {error}", highlight=False)
    counts = result.counts()
    scale = f" (world time, x{result.time_scale:g})" if result.time_scale != 1 else ""
    console.print(
        f"{counts[PASSED]} met, {counts[FAILED]} failed, {counts[ERROR]} errors"
        + (f", {counts[INTERRUPTED]} interrupted" if counts[INTERRUPTED] else "")
        + (f", {counts[SKIPPED]} skipped" if counts[SKIPPED] else "")
        + f" in {format_duration(result.duration_s)}{scale}.",
        highlight=False,
        soft_wrap=True,
    )
    for published in result.publishing:  # after the run: a failure to publish is a warning, never the drill's result
        line = delivery_line(published.sink, published.destination, published.detail, published.error)
        console.print(f"[yellow]warning:[/] {escape(line)}" if published.error else escape(line), highlight=False, soft_wrap=True)
    console.print(f"Journal: {journal_path}", highlight=False, soft_wrap=True)

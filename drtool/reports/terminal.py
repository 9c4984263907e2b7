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
from drtool.reports.figures import Verbosity, figure_columns, label, measured_text, shown_notes, tests_by_kind

_STYLE = {PASSED: "green", FAILED: "bold red", ERROR: "bold yellow", SKIPPED: "dim", INTERRUPTED: "bold magenta"}


def print_summary(console: Console, result: RunResult, journal_path: str, verbosity: Verbosity = Verbosity.NORMAL) -> None:
    console.print(f"drill {result.drill}, run {result.run_id}", highlight=False)
    # One table per kind of target: each family has its own figures, and a column nobody measured says nothing.
    for kind, tests in tests_by_kind(result).items():
        figures = figure_columns(result, tests)
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
                f"[{_STYLE.get(test.status, '')}]{label(test.status)}[/]",
                *(measured_text(test, figure) for figure in figures),
                format_duration(test.duration_s),
            )
        console.print(table)
    for test in result.tests.values():
        if verbosity <= Verbosity.QUIET and test.status in (PASSED, SKIPPED):
            continue  # -q: the table says it passed; only what did not is spelt out
        # One verdict per line, never wrapped, so CI logs and grep see whole verdicts.
        console.print(f"[{_STYLE.get(test.status, '')}]{label(test.status)}[/] {test.target or '-'}: {test.scenario}",
                      highlight=False, soft_wrap=True)
        for line in shown_notes(test, verbosity):
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
    console.print(totals_line(result), highlight=False, soft_wrap=True)
    for published in result.publishing:  # after the run: a failure to publish is a warning, never the drill's result
        line = delivery_line(published.sink, published.destination, published.detail, published.error)
        console.print(f"[yellow]warning:[/] {escape(line)}" if published.error else escape(line), highlight=False, soft_wrap=True)
    console.print(f"Journal: {journal_path}", highlight=False, soft_wrap=True)


def totals_line(result: RunResult) -> str:
    """`6 met, 0 failed, 0 errors in 46m50s (world time, x120).`"""
    counts = result.counts()
    scale = f" (world time, x{result.time_scale:g})" if result.time_scale != 1 else ""
    return (
        f"{counts[PASSED]} met, {counts[FAILED]} failed, {counts[ERROR]} errors"
        + (f", {counts[INTERRUPTED]} interrupted" if counts[INTERRUPTED] else "")
        + (f", {counts[SKIPPED]} skipped" if counts[SKIPPED] else "")
        + f" in {format_duration(result.duration_s)}{scale}."
    )

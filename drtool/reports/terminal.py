"""The end-of-run summary in the terminal, rendered from the run's results."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from drtool.reports.results import ERROR, FAILED, INTERRUPTED, PASSED, SKIPPED, RunResult
from drtool.timing import format_duration

_STYLE = {PASSED: "green", FAILED: "bold red", ERROR: "bold yellow", SKIPPED: "dim", INTERRUPTED: "bold magenta"}
_LABEL = {PASSED: "MET", FAILED: "FAILED", ERROR: "ERROR", SKIPPED: "skipped", INTERRUPTED: "INTERRUPTED"}


def print_summary(console: Console, result: RunResult, journal_path: str) -> None:
    table = Table(title=f"drill {result.drill} (run {result.run_id})", title_justify="left", expand=False)
    table.add_column("target")
    table.add_column("scenario")
    table.add_column("result")
    table.add_column("took", justify="right")
    table.add_column("verdicts and findings")
    for test in result.tests.values():
        verdicts = [line for line in test.notes if not line.startswith("teardown")]
        if test.status != PASSED and test.message:
            verdicts.append(test.message)
        teardown = [line for line in test.notes if line.startswith("teardown")]
        table.add_row(
            test.target or "-",
            test.scenario,
            f"[{_STYLE.get(test.status, '')}]{_LABEL.get(test.status, test.status)}[/]",
            format_duration(test.duration_s),
            "\n".join(dict.fromkeys(verdicts + teardown)),
        )
    console.print(table)
    for error in result.run_errors:
        console.print(f"[bold yellow]run error:[/] {error}")
    counts = result.counts()
    scale = f", world time x{result.time_scale:g}" if result.time_scale != 1 else ""
    console.print(
        f"{counts[PASSED]} met, {counts[FAILED]} failed, {counts[ERROR]} errors"
        + (f", {counts[INTERRUPTED]} interrupted" if counts[INTERRUPTED] else "")
        + (f", {counts[SKIPPED]} skipped" if counts[SKIPPED] else "")
        + f" in {format_duration(result.duration_s)}{scale}. Journal: {journal_path}",
        highlight=False,
    )

"""`drtool run`: pytest with the checked run in a plugin object, progress while it runs, and the results after."""

from __future__ import annotations

from typing import IO

import pytest
from rich.console import Console

from drtool.core.journal import iter_journals, read_journal
from drtool.reports.live import LiveProgress
from drtool.core.results import ExitCode, summarize
from drtool.reports import document
from drtool.reports.figures import Verbosity
from drtool.reports.log import LogProgress
from drtool.reports.progress import ProgressView
from drtool.reports.terminal import print_summary
from drtool.reports.outputs import REPORT_DIR
from drtool.runner.options import RunOptions
from drtool.runner.plugin import RUN_KEY, DrillPlugin
from drtool.runner.records import REFUSED_KEY, print_records


def progress_view(console: Console, verbosity: Verbosity) -> ProgressView | None:
    """A live table on a terminal; plain lines anywhere else (CI logs); nothing with -q."""
    run_of = lambda config: config.stash.get(RUN_KEY, None)  # noqa: E731
    if verbosity <= Verbosity.QUIET:
        return None
    if console.is_terminal:
        return LiveProgress(console, run_of, verbosity)
    return LogProgress(console.file, run_of, verbosity)


def run_drill(
    options: RunOptions,
    *,
    console: Console | None = None,
    verbosity: Verbosity = Verbosity.NORMAL,
    json_to: IO[str] | None = None,
) -> ExitCode:
    """Run the drill. `console` shows progress and the summary; with `json_to`, the summary is the JSON document there."""
    console = console or Console()
    view = progress_view(console, verbosity)
    plugin = DrillPlugin(options)
    pytest_exit = pytest.main(options.pytest_args(), plugins=[plugin] + ([view] if view is not None else []))
    journal = next((p for p in iter_journals(options.journal_dir) if p.stem.endswith(f"-{options.run_id}")), None)
    refused = plugin.config.stash.get(REFUSED_KEY, None) if plugin.config is not None else None
    if journal is None and refused:
        console.print(f"drtool: {refused}", markup=False, highlight=False, soft_wrap=True)
        return ExitCode.COULD_NOT_RUN
    if journal is None:
        if pytest_exit == pytest.ExitCode.NO_TESTS_COLLECTED:
            console.print("drtool: no scenario matched (check the drill's features, targets and tags); nothing was run")
            return ExitCode.INVALID_INPUT
        console.print(f"drtool: the drill did not start (pytest exit {int(pytest_exit)}); nothing was run")
        return ExitCode.INVALID_INPUT if pytest_exit == pytest.ExitCode.USAGE_ERROR else ExitCode.COULD_NOT_RUN
    run = plugin.config.stash.get(RUN_KEY, None) if plugin.config is not None else None
    # The run's own records: its file may have stopped at a full disk.
    records = run.journal.records if run is not None else read_journal(journal)
    result = run.result if run is not None else summarize(records)  # the run's own result, folded as it ran
    if json_to is not None:
        json_to.write(document.render(result))
        json_to.flush()
    else:
        print_summary(console, result, str(journal), verbosity)
        print_records(console, records)
        if options.reports.path(REPORT_DIR) is not None:
            console.print(f"Reports: {options.reports.path(REPORT_DIR)}", highlight=False, soft_wrap=True)
    if run is not None and run.journal.failure is not None:
        console.print(f"drtool: the journal {journal} could not be written ({run.journal.failure.strerror or run.journal.failure}); "
                      "it stops short of the run, whose results above come from memory", markup=False, highlight=False, soft_wrap=True)
        return ExitCode.COULD_NOT_RUN
    if pytest_exit == pytest.ExitCode.INTERNAL_ERROR:
        console.print("drtool: pytest reported an internal error; see the journal")
        return ExitCode.COULD_NOT_RUN
    if pytest_exit == pytest.ExitCode.NO_TESTS_COLLECTED and not result.tests:
        console.print("drtool: no scenario matched (check the drill's features, targets and tags)")
        return ExitCode.INVALID_INPUT
    return result.exit_code()


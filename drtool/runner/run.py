"""`drtool run`: pytest with the drtool plugin, a live display, and results read back from the journal."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from drtool.core.journal import (
    default_journal_dir,
    iter_journals,
    new_run_id,
    read_journal,
)
from drtool.drill.file import LoadedDrill
from drtool.reports.junit import JUnitOptions
from drtool.reports.live import LiveProgress
from drtool.core.results import ExitCode, summarize
from drtool.reports.terminal import print_summary
from drtool.runner.plugin import RUN_KEY


@dataclass(frozen=True)
class ReportFiles:
    """The files a run writes besides its journal; the plugin renders each from the journal as the run ends."""

    junit_xml: Path | None = None
    junit: JUnitOptions = field(default_factory=JUnitOptions)
    cucumber_json: Path | None = None

    def pytest_args(self) -> list[str]:
        args = []
        if self.junit_xml is not None:
            args += ["--drill-junit", str(self.junit_xml)]
            args += ["--drill-junit-strict"] if self.junit.strict else []
            args += ["--drill-junit-figures-in-names"] if self.junit.figures_in_names else []
        if self.cucumber_json is not None:
            args += ["--drill-cucumber-json", str(self.cucumber_json)]
        return args


def pytest_args(loaded: LoadedDrill, run_id: str, journal_dir: Path, reports: ReportFiles, tags: str | None) -> list[str]:
    args = [
        str(loaded.path),
        "--drill", str(loaded.path),
        "--drill-run-id", run_id,
        "--drill-journal-dir", str(journal_dir),
        # The drill's own settings, not whatever pytest.ini happens to be in the working directory.
        "-c", os.devnull,
        "--rootdir", str(loaded.path.parent),
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "--capture=sys",
    ]
    args += reports.pytest_args()
    if tags:
        args += ["-m", tags]
    return args


def run_drill(
    loaded: LoadedDrill,
    *,
    reports: ReportFiles = ReportFiles(),
    journal_dir: Path | None = None,
    tags: str | None = None,
    console: Console | None = None,
) -> ExitCode:
    console = console or Console()
    journal_dir = journal_dir or default_journal_dir()
    run_id = new_run_id()
    live = LiveProgress(console, run_of=lambda config: config.stash.get(RUN_KEY, None))
    pytest_exit = pytest.main(pytest_args(loaded, run_id, journal_dir, reports, tags), plugins=[live])
    journal = next((p for p in iter_journals(journal_dir) if p.stem.endswith(f"-{run_id}")), None)
    if journal is None:
        if pytest_exit == pytest.ExitCode.NO_TESTS_COLLECTED:
            console.print("drtool: no scenario matched (check the drill's features, targets and tags); nothing was run")
            return ExitCode.INVALID_INPUT
        console.print(f"drtool: the drill did not start (pytest exit {int(pytest_exit)}); nothing was run")
        return ExitCode.INVALID_INPUT if pytest_exit == pytest.ExitCode.USAGE_ERROR else ExitCode.COULD_NOT_RUN
    result = summarize(read_journal(journal))
    print_summary(console, result, str(journal))
    if pytest_exit == pytest.ExitCode.INTERNAL_ERROR:
        console.print("drtool: pytest reported an internal error; see the journal")
        return ExitCode.COULD_NOT_RUN
    if pytest_exit == pytest.ExitCode.NO_TESTS_COLLECTED and not result.tests:
        console.print("drtool: no scenario matched (check the drill's features, targets and tags)")
        return ExitCode.INVALID_INPUT
    return result.exit_code()

"""`drtool run`: pytest with the drtool plugin, progress while it runs, and results read back from the journal."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from rich.console import Console

from drtool.core.journal import (
    default_journal_dir,
    iter_journals,
    new_run_id,
    read_journal,
)
from drtool.drill.file import LoadedDrill
from drtool.drill.publish import PublishOptions
from drtool.reports.junit import JUnitOptions
from drtool.reports.live import LiveProgress
from drtool.core.results import ExitCode, summarize
from drtool.reports import document
from drtool.reports.figures import Verbosity
from drtool.reports.log import LogProgress
from drtool.reports.progress import ProgressView
from drtool.reports.terminal import print_summary
from drtool.runner.plugin import RUN_KEY
from drtool.runner.records import REFUSED_KEY, print_records


@dataclass(frozen=True)
class ReportFiles:
    """The files a run writes besides its journal; the plugin renders each from the journal as the run ends."""

    junit_xml: Path | None = None
    junit: JUnitOptions = field(default_factory=JUnitOptions)
    cucumber_json: Path | None = None
    report_dir: Path | None = None  # the report set: report.html, summary.json, summary.md, the journal

    def pytest_args(self) -> list[str]:
        args = []
        if self.junit_xml is not None:
            args += ["--drill-junit", str(self.junit_xml)]
            args += ["--drill-junit-strict"] if self.junit.strict else []
            args += ["--drill-junit-figures-in-names"] if self.junit.figures_in_names else []
        if self.cucumber_json is not None:
            args += ["--drill-cucumber-json", str(self.cucumber_json)]
        if self.report_dir is not None:
            args += ["--drill-report-dir", str(self.report_dir)]
        return args


def pytest_args(loaded: LoadedDrill, run_id: str, journal_dir: Path, reports: ReportFiles, tags: str | None,
                outputs: RunOutputs | None = None) -> list[str]:
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
    return args + (outputs.pytest_args() if outputs else [])


@dataclass(frozen=True)
class RunOutputs:
    """Where a run's history record, run lock and evidence bundle go (`drtool run --history/--no-history/--evidence`)."""

    history: str | None = None  # a directory or s3:// URL; None: the drill file's, else the local default
    record_history: bool = True
    evidence: Path | None = None
    sandbox: bool = False  # drills a lab of its own: the sandbox history, and a run lock of its own

    def pytest_args(self) -> list[str]:
        return [*(["--drill-sandbox"] if self.sandbox else []),
                *(["--drill-history", self.history] if self.history else []),
                *([] if self.record_history else ["--drill-no-history"]),
                *(["--drill-evidence", str(self.evidence)] if self.evidence else [])]


class _Config:
    """Keeps pytest's config, so that after the run we can read why it was refused to start."""

    config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config


def publish_args(options: PublishOptions | None) -> list[str]:
    """`drtool run`'s publishing options, as the plugin takes them."""
    if options is None:
        return []
    given = [("--drill-cloudwatch-namespace", options.cloudwatch_namespace), ("--drill-pushgateway", options.pushgateway_url),
             ("--drill-sns-topic", options.sns_topic)]
    return [part for option, value in given if value is not None for part in (option, value)] + (
        ["--drill-no-publish"] if options.off else [])


def progress_view(console: Console, verbosity: Verbosity) -> ProgressView | None:
    """A live table on a terminal; plain lines anywhere else (CI logs); nothing with -q."""
    run_of = lambda config: config.stash.get(RUN_KEY, None)  # noqa: E731
    if verbosity <= Verbosity.QUIET:
        return None
    if console.is_terminal:
        return LiveProgress(console, run_of, verbosity)
    return LogProgress(console.file, run_of, verbosity)


def run_drill(
    loaded: LoadedDrill,
    *,
    reports: ReportFiles | None = None,
    journal_dir: Path | None = None,
    tags: str | None = None,
    console: Console | None = None,
    publish: PublishOptions | None = None,
    verbosity: Verbosity = Verbosity.NORMAL,
    json_to: IO[str] | None = None,
    outputs: RunOutputs | None = None,
) -> ExitCode:
    """Run the drill. `console` shows progress and the summary; with `json_to`, the summary is the JSON document there."""
    console = console or Console()
    journal_dir = journal_dir or default_journal_dir()
    run_id = new_run_id()
    view = progress_view(console, verbosity)
    seen = _Config()
    args = pytest_args(loaded, run_id, journal_dir, reports or ReportFiles(), tags, outputs) + publish_args(publish)
    pytest_exit = pytest.main(args, plugins=[seen] + ([view] if view is not None else []))
    journal = next((p for p in iter_journals(journal_dir) if p.stem.endswith(f"-{run_id}")), None)
    refused = seen.config.stash.get(REFUSED_KEY, None) if seen.config is not None else None
    if journal is None and refused:
        console.print(f"drtool: {refused}", markup=False, highlight=False, soft_wrap=True)
        return ExitCode.COULD_NOT_RUN
    if journal is None:
        if pytest_exit == pytest.ExitCode.NO_TESTS_COLLECTED:
            console.print("drtool: no scenario matched (check the drill's features, targets and tags); nothing was run")
            return ExitCode.INVALID_INPUT
        console.print(f"drtool: the drill did not start (pytest exit {int(pytest_exit)}); nothing was run")
        return ExitCode.INVALID_INPUT if pytest_exit == pytest.ExitCode.USAGE_ERROR else ExitCode.COULD_NOT_RUN
    run = seen.config.stash.get(RUN_KEY, None) if seen.config is not None else None
    # The run's own records: its file may have stopped at a full disk.
    records = run.journal.records if run is not None else read_journal(journal)
    result = run.result if run is not None else summarize(records)  # the run's own result, folded as it ran
    if json_to is not None:
        json_to.write(document.render(result))
        json_to.flush()
    else:
        print_summary(console, result, str(journal), verbosity)
        print_records(console, records)
        if reports is not None and reports.report_dir is not None:
            console.print(f"Reports: {reports.report_dir}", highlight=False, soft_wrap=True)
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


"""One drill run as it was asked for, every input checked: the object the pytest plugin runs.

`drtool run` builds it from its own options once it has checked them (and the drill file), and hands it to pytest
in a plugin object; `pytest --drill FILE` builds the same object from its `--drill-*` options here. Either way the
drill file is loaded and checked once, and pytest's own arguments carry only what pytest itself needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drtool.core.inputs import option_problem, output_dir_problems, run_id_problems
from drtool.core.journal import default_journal_dir, new_run_id
from drtool.core.model import DrillFileError, Problem
from drtool.drill.file import DEFAULT_MAX_PARALLEL, MAX_PARALLEL_LIMIT, LoadedDrill
from drtool.drill.publish import PublishOptions
from drtool.drill.validate import check_drill_file
from drtool.reports.history.store import history_location_problems
from drtool.reports.junit import JUnitOptions
from drtool.reports.outputs import CUCUMBER, JUNIT, REPORT_DIR, Front, ReportFiles
from drtool.runner.output_paths import run_path_problems

PUBLISH_OPTION_NAMES = ("--drill-cloudwatch-namespace", "--drill-pushgateway", "--drill-sns-topic")


@dataclass(frozen=True)
class RunOutputs:
    """Where a run's history record, run lock and evidence bundle go (`drtool run --history/--no-history/--evidence`)."""

    history: str | None = None  # a directory or s3:// URL; None: the drill file's, else the local default
    record_history: bool = True
    evidence: Path | None = None
    sandbox: bool = False  # drills a lab of its own: the sandbox history, and a run lock of its own


@dataclass(frozen=True)
class RunOptions:
    """Everything one run of a drill is asked to do, already checked."""

    loaded: LoadedDrill
    run_id: str
    journal_dir: Path
    reports: ReportFiles = field(default_factory=ReportFiles)
    publish: PublishOptions = field(default_factory=PublishOptions)
    outputs: RunOutputs = field(default_factory=RunOutputs)
    tags: str | None = None  # the scenarios to run, as pytest's -m takes them; None: the drill file's
    max_parallel: int | None = None  # targets drilled at once; None: the drill file's `concurrency.max_parallel`

    @property
    def parallel(self) -> int:
        return self.max_parallel if self.max_parallel is not None else self.loaded.drill.concurrency.max_parallel

    def pytest_args(self) -> list[str]:
        """pytest's own arguments: what to collect and how; the drill and the options reach the plugin as objects."""
        args = [
            str(self.loaded.path),
            # The drill's own settings, not whatever pytest.ini happens to be in the working directory.
            "-c", os.devnull,
            "--rootdir", str(self.loaded.path.parent),
            "-p", "no:cacheprovider",
            "-p", "no:terminal",
            "--capture=sys",
        ]
        return args + (["-m", self.tags] if self.tags else [])


def add_pytest_options(group: pytest.OptionGroup) -> None:
    """`pytest --drill FILE`'s options: those of `drtool run`, each named `--drill-*`."""
    group.addoption("--drill", metavar="FILE", help="run the features of this drill file against its environment")
    group.addoption(JUNIT.option(Front.PYTEST), metavar="PATH", help="write the drill's JUnit XML (rendered from its journal) here")
    group.addoption("--drill-junit-strict", action="store_true",
                    help="make --drill-junit valid against Jenkins' junit-10.xsd: no testcase properties, file or line")
    group.addoption("--drill-junit-figures-in-names", action="store_true",
                    help="end each --drill-junit testcase name with its figures, for reporters that show a passing test's name alone")
    group.addoption(CUCUMBER.option(Front.PYTEST), metavar="PATH",
                    help="write the drill's Cucumber JSON (rendered from its journal) here")
    group.addoption(
        "--drill-journal-dir",
        metavar="DIR",
        help=f"where run journals go (default: {default_journal_dir()})",
    )
    group.addoption("--drill-run-id", metavar="ID", help="use this run id instead of a fresh one")
    group.addoption("--drill-max-parallel", metavar="N",
                    help="drill at most N targets at once (default: the drill file's concurrency.max_parallel, else "
                         f"{DEFAULT_MAX_PARALLEL}); 1 drills them one after another. pytest-xdist's -n does not apply")
    # Publishing after the run: each option replaces or adds its sink's main setting from the drill file's `publish:`.
    group.addoption("--drill-cloudwatch-namespace", metavar="NS", help="publish the figures to CloudWatch under NS")
    group.addoption("--drill-pushgateway", metavar="URL", help="push the figures to this Prometheus Pushgateway")
    group.addoption("--drill-sns-topic", metavar="ARN", help="send a summary to this SNS topic when the drill fails")
    group.addoption("--drill-no-publish", action="store_true", help="publish nothing, whatever the drill file says")
    group.addoption(REPORT_DIR.option(Front.PYTEST), metavar="DIR",
                    help="write the drill's report set here: report.html, summary.json, summary.md and the journal")
    group.addoption("--drill-history", metavar="DIR|s3://BUCKET/PREFIX/",
                    help="the history store for the run's record and its run lock (default: the drill file's, else "
                         "$DRTOOL_HISTORY_DIR or ~/.local/state/drtool/history)")
    group.addoption("--drill-sandbox", action="store_true",
                    help="the run drills a lab of its own (drtool run --sandbox): its record goes to the sandbox "
                         "history (--drill-history DIR, else $DRTOOL_SANDBOX_HISTORY_DIR or "
                         "~/.local/state/drtool/sandbox-history) and its run lock is its own, never a production run's")
    group.addoption("--drill-no-history", action="store_true",
                    help="do not record this run in the history (the run lock is still taken)")
    group.addoption("--drill-evidence", metavar="DIR", help="write the run's evidence bundle (journal, reports, manifest) here")


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def options_from_pytest(config: pytest.Config) -> RunOptions:
    """The run `pytest --drill FILE` asks for; a usage error (pytest's exit 4) listing every problem, if any."""
    option = config.getoption
    reports = ReportFiles(
        {JUNIT.key: _path(option("drill_junit")), CUCUMBER.key: _path(option("drill_cucumber_json")),
         REPORT_DIR.key: _path(option("drill_report_dir"))},
        JUnitOptions(strict=option("drill_junit_strict"), figures_in_names=option("drill_junit_figures_in_names")))
    outputs = RunOutputs(history=option("drill_history"), record_history=not option("drill_no_history"),
                         evidence=_path(option("drill_evidence")), sandbox=bool(option("drill_sandbox")))
    publish = PublishOptions(option("drill_cloudwatch_namespace"), option("drill_pushgateway"), option("drill_sns_topic"),
                             bool(option("drill_no_publish")))
    journal_dir = Path(option("drill_journal_dir") or default_journal_dir())
    problems: list[Problem] = [
        *reports.problems(Front.PYTEST),
        *output_dir_problems(journal_dir, "--drill-journal-dir"),
        *run_id_problems(option("drill_run_id"), "--drill-run-id"),
        *history_location_problems(outputs.history, "--drill-history", sandbox=outputs.sandbox),
        *output_dir_problems(outputs.evidence, "--drill-evidence"),
        *publish.problems(PUBLISH_OPTION_NAMES),
    ]
    max_parallel, parallel_problems = parse_max_parallel(option("drill_max_parallel"), "--drill-max-parallel")
    problems += parallel_problems
    path = Path(option("drill"))
    loaded = None
    try:
        loaded = check_drill_file(path)
    except DrillFileError as exc:
        problems.extend(exc.problems)
    problems += run_path_problems(path, loaded, reports, outputs.evidence, Front.PYTEST)
    if problems:
        raise pytest.UsageError("invalid drill input:\n" + "\n".join(str(problem) for problem in problems)) from None
    assert loaded is not None
    return RunOptions(loaded, option("drill_run_id") or new_run_id(), journal_dir, reports, publish, outputs,
                      tags=config.option.markexpr or None, max_parallel=max_parallel)


def parse_max_parallel(value: str | int | None, name: str) -> tuple[int | None, list[Problem]]:
    """`--max-parallel N`: a whole number from 1 to MAX_PARALLEL_LIMIT."""
    if value is None:
        return None, []
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PARALLEL_LIMIT:
        return None, [option_problem(name, f"must be a whole number from 1 to {MAX_PARALLEL_LIMIT}, not {str(value)[:40]!r}")]
    return number, []

"""Every report rendered from a run's results, and the options that ask for one: the one registry behind
`drtool run`, `pytest --drill`, `drtool report` and the report set.

A report (REPORTS) is one file rendered from a RunResult, plus the earlier runs for those that chart them. An output
(OUTPUTS) is what one option writes: one report as a file (`--junit-xml`), or the report set, every report and a copy
of the journal in one directory (`--report-dir`). Each output says what it writes, so the checks made before a run
(`drtool.core.clobber`, `drtool.runner.output_paths`) know every path without a list of their own. A new report is one
more entry in REPORTS (it joins the report set); a new option is one more entry in OUTPUTS and the commands' options.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Callable, Mapping

from drtool.core.clobber import Output as Written
from drtool.core.inputs import output_dir_problems, output_file_problems
from drtool.core.model import Problem
from drtool.core.results import RunResult
from drtool.reports import cucumber, document, html, junit, markdown

JOURNAL_COPY = "journal.jsonl"


@dataclass(frozen=True)
class Rendering:
    """What a report is rendered from: the results, the journal they came from, the earlier runs, the JUnit style."""

    result: RunResult
    journal: Path
    history: list[RunResult] | None = None
    junit: junit.JUnitOptions = field(default_factory=junit.JUnitOptions)


def _text(render: Callable[[Rendering], str]) -> Callable[[Rendering, Path], None]:
    def write(rendering: Rendering, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(rendering), encoding="utf-8")
    return write


# The report set's file name -> how to write that report from a rendering, in the order the set writes them.
REPORTS: dict[str, Callable[[Rendering, Path], None]] = {
    "report.html": _text(lambda r: html.render(r.result, r.history)),
    "summary.json": _text(lambda r: document.render(r.result)),
    "summary.md": _text(lambda r: markdown.render(r.result)),
    "junit.xml": lambda r, path: junit.write(r.result, path, r.junit),
    "cucumber.json": lambda r, path: cucumber.write(r.result, path),
}
REPORT_SET = frozenset([*REPORTS, JOURNAL_COPY])


def write_report_set(rendering: Rendering, directory: Path) -> list[Path]:
    """Write every report into `directory`, and a copy of the journal; the paths written, in order."""
    directory.mkdir(parents=True, exist_ok=True)
    # The set is what CI keeps as it is: its JUnit file is in the default style, whatever --junit-xml asked for.
    rendering = replace(rendering, junit=junit.JUnitOptions())
    written = []
    for name, write in REPORTS.items():
        write(rendering, directory / name)
        written.append(directory / name)
    copy = directory / JOURNAL_COPY
    if Path(rendering.journal).resolve() != copy.resolve():
        shutil.copyfile(rendering.journal, copy)
    written.append(copy)
    return written


class Front(Enum):
    """Who names an option in a message: `drtool run` and `drtool report`, or `pytest --drill`."""

    DRTOOL = "drtool"
    PYTEST = "pytest"


@dataclass(frozen=True)
class Output:
    """What one option writes: a file (`names` None), or a directory with the names it writes there."""

    key: str
    options: Mapping[Front, str]
    write: Callable[[Rendering, Path], None]
    names: frozenset[str] | None = None
    # Written after publishing, not before: the report set copies the journal, which by then says where results went.
    after_publishing: bool = False

    def option(self, front: Front) -> str:
        return self.options[front]

    def writes(self, path: Path, journal: Path | None = None) -> frozenset[str] | None:
        """The names written under `path`; not the journal's copy when `journal` is already that copy."""
        if self.names is None or journal is None or JOURNAL_COPY not in self.names:
            return self.names
        return self.names - {JOURNAL_COPY} if (path / JOURNAL_COPY).resolve() == journal.resolve() else self.names

    def problems(self, path: Path | None, front: Front) -> list[Problem]:
        """`option --x: problem` if `path` cannot be written once the run ends; found before it starts."""
        check = output_file_problems if self.names is None else output_dir_problems
        return check(path, self.option(front))


JUNIT = Output("junit", {Front.DRTOOL: "--junit-xml", Front.PYTEST: "--drill-junit"}, REPORTS["junit.xml"])
CUCUMBER = Output("cucumber", {Front.DRTOOL: "--cucumber-json", Front.PYTEST: "--drill-cucumber-json"},
                  REPORTS["cucumber.json"])
REPORT_DIR = Output("report_dir", {Front.DRTOOL: "--report-dir", Front.PYTEST: "--drill-report-dir"},
                    write_report_set, REPORT_SET, after_publishing=True)
OUTPUTS = (JUNIT, CUCUMBER, REPORT_DIR)  # in the order they are checked and written


@dataclass(frozen=True)
class ReportFiles:
    """The outputs asked for, each output's path by its key (None or absent: not asked), and the JUnit style."""

    paths: Mapping[str, Path | None] = field(default_factory=dict)
    junit: junit.JUnitOptions = field(default_factory=junit.JUnitOptions)

    def path(self, output: Output) -> Path | None:
        return self.paths.get(output.key)

    def requested(self) -> list[tuple[Output, Path]]:
        return [(output, path) for output in OUTPUTS if (path := self.path(output)) is not None]

    def requested_after_publishing(self) -> bool:
        return any(output.after_publishing for output, _ in self.requested())

    def problems(self, front: Front) -> list[Problem]:
        return [problem for output, path in self.requested() for problem in output.problems(path, front)]

    def written(self, front: Front, journal: Path | None = None) -> list[Written]:
        """What each requested output writes, for the clobber checks; `journal`: the one a report is rendered from."""
        return [Written(output.option(front), path, output.writes(path, journal)) for output, path in self.requested()]

    def sources(self) -> list[tuple[Path, frozenset[str] | None]]:
        """Each output's path and the names it writes there, as an evidence bundle copies them in."""
        return [(path, output.names) for output, path in self.requested()]

    def write(self, rendering: Rendering, *, after_publishing: bool | None = None) -> list[Path]:
        """Write the requested outputs (those of one side of publishing, if given); the paths, in order."""
        chosen = [(output, path) for output, path in self.requested()
                  if after_publishing is None or output.after_publishing == after_publishing]
        for output, path in chosen:
            output.write(replace(rendering, junit=self.junit), path)
        return [path for _, path in chosen]

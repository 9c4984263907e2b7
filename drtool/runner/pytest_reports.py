"""What pytest's own reports show of a drill scenario: `pytest --drill FILE --junitxml x.xml` and the terminal.

pytest writes that JUnit file, not drtool, so drtool adds to what pytest writes:
- each figure as testcase properties (as `record_property` adds them): `RTO.measured_s`, `RTO.objective_s`,
  `RTO.met`, `RTO.source`;
- the figure and note lines as the test's captured stdout, which pytest puts in `<system-out>` when asked
  (`-o junit_logging=system-out`) and shows under a failed test in the terminal;
- a failed scenario's report is its verdict sentence (the `message`), then the figures and notes; the
  traceback, 60 frames of pytest and pluggy, stays in the journal (`--full-trace`, `--tb=long` or
  `--tb=native` keep it in pytest's report too);
- the drill, run id, regions, version and time scale as suite properties (`record_testsuite_property`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from drtool import __version__
from drtool.core.events import Emitted, Note
from drtool.core.run import DrillRun
from drtool.reports.figures import figure_line
from drtool.reports.junit import clean


class ScenarioNotes:
    """The journal's notes, filed by scenario as they are written: a listener on the run's journal."""

    def __init__(self) -> None:
        self._by_test: dict[str, list[Note]] = defaultdict(list)
        self._reported: dict[str, int] = defaultdict(int)

    def __call__(self, emitted: Emitted) -> None:
        if isinstance(emitted.event, Note):
            self._by_test[emitted.event.test].append(emitted.event)

    def of(self, test_id: str) -> list[Note]:
        return list(self._by_test[test_id])

    def unreported(self, test_id: str) -> list[Note]:
        """The notes written since the last call for this scenario."""
        notes = self._by_test[test_id]
        new, self._reported[test_id] = notes[self._reported[test_id]:], len(notes)
        return new


def add_figures(item: pytest.Item, when: str, notes: list[Note]) -> None:
    """Before pytest makes the phase's report: figures as properties, figure and note lines as captured stdout."""
    measurements = [note.measurement for note in notes if note.measurement]
    for measurement in measurements:
        for key in ("measured_s", "objective_s", "met", "source"):
            item.user_properties.append((f"{measurement['name']}.{key}", clean(str(measurement[key]))))
    lines = [*(figure_line(m) for m in measurements), *(note.line for note in notes)]
    if lines:
        item.add_report_section(when, "stdout", clean("\n".join(lines)) + "\n")


@dataclass(frozen=True)
class Crash:
    """What pytest reads of where a test failed: junitxml's `message`, the terminal's short summary."""

    path: str
    lineno: int
    message: str


class VerdictRepr:
    """A failed scenario as pytest reports it: the reason first, then the figures and notes, and no frames."""

    def __init__(self, text: str, crash: Crash):
        self.text = text
        self.reprcrash = crash

    def toterminal(self, out: Any) -> None:
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


def keeps_traceback(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, "fulltrace", False)) or getattr(option, "tbstyle", "auto") in ("long", "native")


def verdict_repr(item: pytest.Item, sentence: str, notes: list[Note], journal: str) -> VerdictRepr:
    figures = [figure_line(note.measurement) for note in notes if note.measurement]
    lines = [line for line in dict.fromkeys(note.line for note in notes) if line != sentence]
    sections = [[sentence], figures, lines, [f"The traceback is in the journal, {journal}"]]
    text = clean("\n\n".join("\n".join(section) for section in sections if section))
    _, lineno, _ = item.location
    return VerdictRepr(text, Crash(str(item.path), (lineno or 0) + 1, clean(sentence)))


def suite_properties(run: DrillRun) -> list[tuple[str, str]]:
    drill = run.drill
    properties = [
        ("drtool.drill", drill.drill), ("drtool.run_id", run.run_id), ("drtool.drill_file", str(run.loaded.path)),
        ("drtool.primary_region", drill.primary_region), ("drtool.dr_region", drill.dr_region),
        ("drtool.version", __version__), ("drtool.journal", str(run.journal.path)),
    ]
    if run.clock.scale != 1:
        properties.append(("drtool.time_scale", f"{run.clock.scale:g}"))
    return properties

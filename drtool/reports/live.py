"""Live progress for `drtool run`: each scenario, its current step, and the interval it is timing against its objective.

A pytest plugin object that listens to the run journal; it never touches AWS
and a failure in it cannot break a drill (the journal drops broken listeners).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table

from drtool.core.clock import format_duration


@dataclass
class _Row:
    target: str
    scenario: str
    started_mono: float
    step: str = "starting"
    detail: str = ""
    figure: str = ""  # what the timed interval measures, e.g. "RTO"
    objective_s: float | None = None
    timing_started_mono: float | None = None
    timing_stopped_mono: float | None = None
    done: str = ""
    finished_mono: float | None = None
    notes: list[str] = field(default_factory=list)


class LiveProgress:
    def __init__(self, console: Console, run_of: Callable[[pytest.Config], Any]):
        self.console = console
        # How to find the drill run in a pytest session; the runner knows, reports sit below it.
        self._run_of = run_of
        self.rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._run = None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # The run starts once collection found scenarios (the drtool plugin's own pytest_collection_finish).
        self._run = self._run_of(session.config)
        if self._run is None:
            return
        self._run.journal.listeners.append(self.on_record)
        drill = self._run.drill
        self.console.print(
            f"drtool: drill [bold]{drill.drill}[/] from {self._run.loaded.path} "
            f"({drill.primary_region} -> {drill.dr_region}), run {self._run.run_id}",
            highlight=False,
        )
        self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False, get_renderable=self._render)
        self._live.start()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def on_record(self, record: dict[str, Any]) -> None:
        event, test = record["event"], record.get("test")
        with self._lock:
            if event == "test-started":
                self.rows[test] = _Row(
                    target=record.get("target") or "-",
                    scenario=record.get("scenario", ""),
                    started_mono=record["mono"],
                )
                return
            row = self.rows.get(test) if test else self._running_row_for(record.get("target"))
            if row is None:
                return
            if event == "target-chosen":
                if row.target == "-":
                    row.target = record["target"]
            elif event == "step-started":
                row.step, row.detail = f"{record['keyword']} {record['step']}", ""
            elif event == "timing-started":
                row.figure, row.objective_s = record["figure"], record.get("objective_s")
                row.timing_started_mono, row.timing_stopped_mono = record["mono"], None
            elif event == "timing-stopped":
                row.timing_stopped_mono = record["mono"]
            elif event == "progress":
                row.detail = record["message"]
            elif event == "teardown-started":
                row.step, row.detail = "teardown", ", ".join(r["identifier"] for r in record["resources"])
            elif event == "resource-deleted":
                row.detail = f"deleted {record['identifier']}"
            elif event == "test-outcome" and record["status"] != "passed":
                row.done = record["status"]
            elif event == "test-finished":
                row.finished_mono = record["mono"]
                if row.timing_started_mono is not None and row.timing_stopped_mono is None:
                    row.timing_stopped_mono = record["mono"]
                row.done = row.done or "passed"
                row.step, row.detail = "finished", ""

    def _running_row_for(self, target: str | None) -> _Row | None:
        """Drill logic records by target; the scenario drilling it now is the unfinished row for that target."""
        running = [row for row in self.rows.values() if row.target == target and row.finished_mono is None]
        return running[-1] if running else None

    def _render(self) -> Any:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("")
        table.add_column("target")
        table.add_column("step")
        table.add_column("timed / objective", justify="right")
        now = self._run.clock.monotonic() if self._run else 0.0
        with self._lock:
            rows = list(self.rows.values())
        for row in rows:
            # The family says when the interval its objective judges starts and stops (for RDS: the RTO's recovery).
            if row.timing_started_mono is None:
                elapsed = "-"
            else:
                end = row.timing_stopped_mono if row.timing_stopped_mono is not None else now
                elapsed = f"{row.figure} {format_duration(max(0.0, end - row.timing_started_mono))}"
            budget = f" / {format_duration(row.objective_s)}" if row.objective_s else ""
            marker: Any = {"passed": "[green]ok[/]", "failed": "[red]FAIL[/]", "error": "[yellow]ERR[/]"}.get(row.done) or Spinner("dots")
            step = row.step + (f"\n[dim]{row.detail}[/]" if row.detail else "")
            table.add_row(marker, row.target, step, elapsed + budget)
        return Group(table)

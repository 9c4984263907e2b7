"""The live table on a terminal: each scenario, its current step, and the interval it times against its objective."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

from drtool.core.clock import format_duration
from drtool.core.events import Emitted, Note
from drtool.reports.figures import Verbosity
from drtool.reports.progress import ProgressView, Scenario, run_heading


class LiveProgress(ProgressView):
    def __init__(self, console: Console, run_of: Callable[[pytest.Config], Any], verbosity: Verbosity = Verbosity.NORMAL):
        super().__init__(run_of, verbosity)
        self.console = console
        self._live: Live | None = None

    def start(self) -> None:
        self.console.print(run_heading(self.run), markup=False, highlight=False)
        self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False, get_renderable=self._render)
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            if not self.console.is_terminal:  # rich ends the table's line only on a terminal
                self.console.line()

    def shown(self, emitted: Emitted, scenario: Scenario | None) -> None:
        # -v: every note as it is made, printed above the table (Live keeps the table below it).
        if self.verbosity >= Verbosity.VERBOSE and isinstance(emitted.event, Note):
            self.console.print(f"  {emitted.event.line}", markup=False, highlight=False, soft_wrap=True)

    def _render(self) -> Any:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("")
        table.add_column("target")
        table.add_column("step")
        table.add_column("timed / objective", justify="right")
        now = self.world_now()
        with self._lock:
            scenarios = list(self.scenarios.values())
        for scenario in scenarios:
            timed = scenario.timed(now)
            elapsed = "-" if timed is None else f"{scenario.figure} {format_duration(timed)}"
            budget = f" / {format_duration(scenario.objective_s)}" if scenario.objective_s else ""
            marker: Any = {"passed": "[green]ok[/]", "failed": "[red]FAIL[/]", "error": "[yellow]ERR[/]"}.get(scenario.done) or Spinner("dots")
            step = escape(scenario.step) + (f"\n[dim]{escape(scenario.detail)}[/]" if scenario.detail else "")
            table.add_row(marker, escape(scenario.target), step, elapsed + budget)
        return Group(table)

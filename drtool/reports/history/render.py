"""`drtool history` output: a table per drill with a sparkline per target and figure, or the same as JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from drtool.core.clock import format_duration
from drtool.core.results import ExitCode
from drtool.reports.history.trends import Series, sparkline

_RESULT = {int(ExitCode.MET): "MET", int(ExitCode.FAILED): "FAILED", int(ExitCode.INVALID_INPUT): "INVALID",
           int(ExitCode.COULD_NOT_RUN): "ERROR", int(ExitCode.INTERRUPTED): "INTERRUPTED"}


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def verdict(series: Series, window: int, margin: float) -> str:
    """One phrase per figure: how its latest value stands against its objective and its recent median."""
    latest = series.latest
    if latest.measured_s is None:
        return "not measured in the latest run"
    parts = []
    if series.breached:
        parts.append("BREACHED")
    if series.regression:
        parts.append(f"REGRESSION +{series.growth:.0%} over the median of {series.baseline_runs}")
    elif series.baseline_s is None:
        parts.append(f"too few runs to judge ({series.baseline_runs} earlier)")
    elif not parts:
        parts.append(f"ok ({series.growth:+.0%})")
    return ", ".join(parts)


def print_history(console: Console, drill: str, location: str, records: list[dict[str, Any]], series: list[Series],
                  *, shown: int, window: int, margin: float, problems: list[str]) -> None:
    runs = records[-shown:]
    console.print(f"drill {drill}: {len(records)} run{'s' if len(records) != 1 else ''} in {location}"
                  + (f", the last {len(runs)} shown" if len(runs) < len(records) else ""), highlight=False, soft_wrap=True)
    table = Table(title=f"figures per target (regression: more than {margin:.0%} over the median of the last "
                        f"{window} runs)", title_justify="left")
    for name, justify in (("target", "left"), ("figure", "left"), ("trend, oldest to latest", "left"),
                          ("latest", "right"), ("objective", "right"), ("median", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "verdict")
    for item in series:
        points = item.points[-shown:]
        style = "bold red" if item.breached else "yellow" if item.regression else ""
        table.add_row(item.target, item.figure, _trend(points), _duration(item.latest.measured_s),
                      _duration(item.latest.objective_s), _duration(item.baseline_s),
                      Text(verdict(item, window, margin), style=style))
    console.print(table)
    listing = Table(title="runs, oldest first", title_justify="left")
    for name in ("run", "recorded (UTC)", "result", "met", "failed", "errors", "took"):
        listing.add_column(name, no_wrap=True, justify="right" if name in ("met", "failed", "errors", "took") else "left")
    for record in runs:
        counts = record.get("counts", {})
        scale = record.get("time_scale", 1) or 1
        listing.add_row(record["run_id"], record["recorded_at"][:19].replace("T", " "),
                        _RESULT.get(record.get("exit_code"), str(record.get("exit_code"))),
                        str(counts.get("passed", 0)), str(counts.get("failed", 0)), str(counts.get("error", 0)),
                        _duration(record.get("duration_s")) + (f" (x{scale:g})" if scale != 1 else ""))
    console.print(listing)
    for problem in problems:
        console.print(f"[yellow]skipped:[/] {problem}", highlight=False, soft_wrap=True)
    regressions = [s for s in series if s.regression]
    if regressions:
        console.print(f"{len(regressions)} regression{'s' if len(regressions) != 1 else ''}: "
                      + "; ".join(f"{s.target} {s.figure} {_duration(s.latest.measured_s)} against a median of "
                                  f"{_duration(s.baseline_s)} (+{s.growth:.0%})" for s in regressions),
                      highlight=False, soft_wrap=True)


def _trend(points: tuple[Any, ...]) -> Text:
    """The sparkline, each breached run in red."""
    line = sparkline([p.measured_s for p in points])
    text = Text()
    for char, point in zip(line, points):
        text.append(char, style="red" if point.met is False else "")
    return text


def history_json(drill: str, location: str, records: list[dict[str, Any]], series: list[Series],
                 *, shown: int, window: int, margin: float, problems: list[str]) -> dict[str, Any]:
    return {
        "drill": drill,
        "location": location,
        "window": window,
        "margin": margin,
        "runs": [{key: record.get(key) for key in ("run_id", "recorded_at", "started_at", "finished_at", "exit_code",
                                                   "counts", "duration_s", "time_scale")} for record in records[-shown:]],
        "series": [{
            "target": s.target, "kind": s.kind, "figure": s.figure,
            "values": [{"run_id": p.run_id, "measured_s": p.measured_s, "objective_s": p.objective_s, "met": p.met}
                       for p in s.points[-shown:]],
            "latest_s": s.latest.measured_s, "objective_s": s.latest.objective_s, "baseline_s": s.baseline_s,
            "baseline_runs": s.baseline_runs, "growth": s.growth, "regression": s.regression, "breached": s.breached,
            "sparkline": sparkline([p.measured_s for p in s.points[-shown:]]),
        } for s in series],
        "regressions": [{"target": s.target, "figure": s.figure, "latest_s": s.latest.measured_s,
                         "baseline_s": s.baseline_s, "growth": s.growth} for s in series if s.regression],
        "problems": problems,
    }

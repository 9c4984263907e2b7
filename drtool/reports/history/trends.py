"""Trends in a drill's history: each target's figures run by run, and regressions against their recent median.

A figure regresses when its latest value grew more than `margin` over the
median of up to `window` earlier runs that measured it, even while it still
meets its objective: an RTO creeping from 12 to 20 minutes of a 30-minute
objective is a warning a month before it is a breach. Fewer than
`MIN_BASELINE` earlier values make no baseline (one run's noise is not a trend).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any

DEFAULT_WINDOW = 6
DEFAULT_MARGIN = 0.25
MIN_BASELINE = 3
BLOCKS = "▁▂▃▄▅▆▇█"
NOT_MEASURED = "·"


@dataclass(frozen=True)
class Point:
    run_id: str
    recorded_at: str
    measured_s: float | None  # None: the run did not measure it (it failed earlier, or did not drill the target)
    objective_s: float | None = None
    met: bool | None = None


@dataclass(frozen=True)
class Series:
    target: str
    kind: str
    figure: str
    points: tuple[Point, ...]  # one per run, oldest first
    baseline_s: float | None  # median of the earlier runs that measured it (up to the window), or None
    baseline_runs: int
    growth: float | None  # latest / baseline - 1
    regression: bool

    @property
    def latest(self) -> Point:
        return self.points[-1]

    @property
    def breached(self) -> bool:
        return self.latest.met is False


def _figures(record: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(target, figure) -> its worst value in the run (a figure measured in two scenarios counts once, at its highest)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for target, entry in record.get("targets", {}).items():
        for scenario in entry.get("scenarios", []):
            for figure in scenario.get("figures", []):
                if not isinstance(figure.get("measured_s"), (int, float)):
                    continue
                key = (target, str(figure.get("name")))
                if key not in found or figure["measured_s"] > found[key]["measured_s"]:
                    found[key] = figure
    return found


def trends(records: list[dict[str, Any]], *, window: int = DEFAULT_WINDOW, margin: float = DEFAULT_MARGIN) -> list[Series]:
    """Every (target, figure) any run measured, over all `records` (oldest first)."""
    per_run = [_figures(record) for record in records]
    kinds = {t: e.get("kind", "") for record in records for t, e in record.get("targets", {}).items()}
    keys = list(dict.fromkeys(key for figures in per_run for key in figures))
    series = []
    for target, figure in keys:
        points = []
        for record, figures in zip(records, per_run):
            found = figures.get((target, figure))
            points.append(Point(record["run_id"], record["recorded_at"], *(
                (float(found["measured_s"]), _number(found.get("objective_s")), found.get("met")) if found else (None,))))
        series.append(_judged(target, kinds.get(target, ""), figure, points, window, margin))
    return series


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _judged(target: str, kind: str, figure: str, points: list[Point], window: int, margin: float) -> Series:
    earlier = [p.measured_s for p in points[:-1] if p.measured_s is not None][-window:]
    latest = points[-1].measured_s
    baseline = median(earlier) if len(earlier) >= MIN_BASELINE else None
    growth = latest / baseline - 1 if latest is not None and baseline else None
    return Series(target, kind, figure, tuple(points), baseline, len(earlier), growth,
                  regression=growth is not None and growth > margin)


def sparkline(values: list[float | None]) -> str:
    """One block per value, from the lowest to the highest shown; `·` where a run measured nothing."""
    known = [v for v in values if v is not None]
    if not known:
        return NOT_MEASURED * len(values)
    low, high = min(known), max(known)
    span = high - low
    return "".join(
        NOT_MEASURED if v is None else BLOCKS[len(BLOCKS) // 2 if span == 0 else round((v - low) / span * (len(BLOCKS) - 1))]
        for v in values
    )

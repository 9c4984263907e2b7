"""Measured figures as report lines: what was measured, against which objective, and the verdict on it.

A measurement is the journal's record of one figure (`Measurement.as_record`): name,
measured_s and objective_s in world seconds, met, source and the verdict line.
"""

from __future__ import annotations

from typing import Any, Iterable

from drtool.core.clock import format_duration


def figure_line(measurement: dict[str, Any]) -> str:
    """`RTO 45m20s against objective 30m: BREACHED by 15m20s (aws-event: DB instance created)`."""
    measured, objective = measurement["measured_s"], measurement["objective_s"]
    verdict = "met" if measurement["met"] else f"BREACHED by {format_duration(measured - objective)}"
    source = f" ({measurement['source']})" if measurement.get("source") else ""
    return f"{measurement['name']} {format_duration(measured)} against objective {format_duration(objective)}: {verdict}{source}"


def figures_in_brief(measurements: Iterable[dict[str, Any]]) -> str:
    """`RTO 12m04s/30m met, RPO 6h11m49s/24h met`: short enough for a test name."""
    return ", ".join(
        f"{m['name']} {format_duration(m['measured_s'])}/{format_duration(m['objective_s'])} {'met' if m['met'] else 'BREACHED'}"
        for m in measurements
    )


def time_line(world_seconds: float, time_scale: float) -> str:
    """How long something took; under the sandbox, in world time and in real time."""
    if time_scale == 1:
        return f"took {format_duration(world_seconds)}"
    return f"took {format_duration(world_seconds)} world time (x{time_scale:g}), {world_seconds / time_scale:.1f}s real"

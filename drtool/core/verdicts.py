"""Judging measured figures against objectives, one readable line per verdict."""

from __future__ import annotations

from dataclasses import dataclass

from drtool.core.clock import format_duration


class ObjectiveBreached(AssertionError):
    """A drill measured a figure worse than its objective. This is a drill failure."""


class DrillFinding(AssertionError):
    """The drill found the DR set-up unable to recover (not an infrastructure problem)."""


@dataclass(frozen=True)
class Measurement:
    target: str
    name: str  # "RTO", "RPO"
    measured: float  # seconds, world time
    objective: float  # seconds
    source: str  # where the figure came from, e.g. "aws-event" or "poll"
    text: str  # how the figure reads in the verdict, e.g. "restored in eu-central-1 in 12m04s"

    @property
    def met(self) -> bool:
        return self.measured <= self.objective

    @property
    def line(self) -> str:
        head = f"{self.target}: {self.text} ({self.name} {format_duration(self.objective)})"
        if self.met:
            return f"{head}: met"
        return f"{head}: BREACHED by {format_duration(self.measured - self.objective)}"

    def as_record(self) -> dict[str, object]:
        return {
            "target": self.target,
            "name": self.name,
            "measured_s": round(self.measured, 3),
            "objective_s": round(self.objective, 3),
            "met": self.met,
            "source": self.source,
            "line": self.line,
        }


def judge(measurements: list[Measurement]) -> None:
    """Raise one failure naming every breach, measured against objective."""
    breaches = [m for m in measurements if not m.met]
    if breaches:
        raise ObjectiveBreached("; ".join(m.line for m in breaches))

"""Inline SVG for the HTML report: timelines (bars on a time axis) and trend lines. Plain strings, nothing fetched."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from drtool.core.clock import format_duration

_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def nice_step(span: float, most: int = 8) -> float:
    """A tick spacing that reads well (1m, 5m, 1h...) and gives at most `most` ticks over `span` seconds."""
    return next((step for step in _NICE_STEPS if span / step <= most), _NICE_STEPS[-1] * max(1, round(span / _NICE_STEPS[-1] / most)))


def _text(x: float, y: float, text: str, css: str = "", anchor: str = "start", full: str | None = None) -> str:
    title = f"<title>{escape(full)}</title>" if full and full != text else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}">{title}{escape(text)}</text>'


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


@dataclass
class Bar:
    start_s: float
    end_s: float
    css: str  # the bar's colour class: passed, failed, budget, ...
    title: str = ""


@dataclass
class Row:
    label: str
    bars: list[Bar] = field(default_factory=list)
    right: str = ""  # what reads at the end of the row: the duration
    marks: list[tuple[float, str]] = field(default_factory=list)  # moments on the row, each with its tooltip


@dataclass
class Limit:
    """A vertical line across the chart: where a budget runs out."""

    at_s: float
    label: str


def timeline(rows: list[Row], limits: list[Limit] = (), *, width: int = 960, label_width: int = 380, row_height: int = 22,
             css: str = "timeline") -> str:
    """Rows of bars against one time axis starting at 0 s; the axis reaches the last bar or limit."""
    plot_x, plot_w = label_width + 10, width - label_width - 100
    end = max([1.0, *(bar.end_s for row in rows for bar in row.bars), *(limit.at_s for limit in limits),
               *(at for row in rows for at, _ in row.marks)])
    scale = plot_w / end
    top = 18  # room for the limits' labels
    height = top + row_height * len(rows) + 24
    parts = [f'<svg class="{css}" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    step = nice_step(end)
    tick = 0.0
    while tick <= end + 1e-9:
        x = plot_x + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 20}" class="grid"/>')
        parts.append(_text(x, height - 6, format_duration(tick), "axis", "middle"))
        tick += step
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(_text(4, y + row_height * 0.68, _clip(row.label, label_width // 7), "label", full=row.label))
        for bar in row.bars:
            x, w = plot_x + bar.start_s * scale, max(1.5, (bar.end_s - bar.start_s) * scale)
            title = f"<title>{escape(bar.title)}</title>" if bar.title else ""
            parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_height - 8}" class="bar {bar.css}">{title}</rect>')
        for at, title in row.marks:
            x, middle = plot_x + at * scale, y + row_height / 2
            parts.append(f'<path d="M{x:.1f} {middle - 6:.1f} l5 6 l-5 6 l-5 -6 z" class="mark"><title>{escape(title)}</title></path>')
        if row.right:
            parts.append(_text(plot_x + plot_w + 8, y + row_height * 0.68, row.right, "right"))
    for limit in limits:
        x = plot_x + limit.at_s * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20}" class="limit"/>')
        parts.append(_text(x, top - 6, limit.label, "limit-label", "end" if x > plot_x + plot_w * 0.7 else "start"))
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class Point:
    label: str  # the x axis's label for it: the run's date
    value_s: float
    good: bool
    title: str


def trend(points: list[Point], objective_s: float | None, *, width: int = 440, height: int = 190) -> str:
    """One figure over runs: a line through the measured values, the objective dashed across."""
    left, right, top, bottom = 64, 16, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    high = max([*(p.value_s for p in points), objective_s or 0.0]) * 1.1 or 1.0
    def y(value: float) -> float:
        return top + plot_h - value / high * plot_h
    def x(index: int) -> float:
        return left + (plot_w / 2 if len(points) == 1 else index * plot_w / (len(points) - 1))
    parts = [f'<svg class="trend" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="grid"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="grid"/>',
             _text(left - 6, top + 10, format_duration(high), "axis", "end"),
             _text(left - 6, top + plot_h, "0s", "axis", "end")]
    if objective_s is not None:
        parts.append(f'<line x1="{left}" y1="{y(objective_s):.1f}" x2="{left + plot_w}" y2="{y(objective_s):.1f}" class="limit"/>')
        parts.append(_text(left + plot_w, y(objective_s) - 4, f"objective {format_duration(objective_s)}", "limit-label", "end"))
    coordinates = " ".join(f"{x(i):.1f},{y(p.value_s):.1f}" for i, p in enumerate(points))
    parts.append(f'<polyline points="{coordinates}" class="line"/>')
    for i, point in enumerate(points):
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(point.value_s):.1f}" r="4" class="{"passed" if point.good else "failed"}">'
                     f"<title>{escape(point.title)}</title></circle>")
    parts.append(_text(left, height - 8, points[0].label, "axis", "start"))
    if len(points) > 1:
        parts.append(_text(left + plot_w, height - 8, points[-1].label, "axis", "end"))
    parts.append("</svg>")
    return "".join(parts)

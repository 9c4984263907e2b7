"""`drtool history`: a drill's figures over its recorded runs, with sparklines, and the regressions among them."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console

from drtool.core.inputs import option_problem
from drtool.core.model import Problem
from drtool.reports.history.render import history_json, print_history
from drtool.reports.history.store import RUNS, Records
from drtool.reports.history.trends import trends

FORMATS = ("table", "json")
EXIT_REGRESSION = 1


def parse_margin(text: str) -> float:
    """`25%` or `0.25`; ValueError if it is not a share of at least zero."""
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError
    return value


def option_problems(output_format: str, last: int, window: int, margin: str) -> list[Problem]:
    problems = []
    if output_format not in FORMATS:
        problems.append(option_problem("--format", f"{output_format[:40]!r} is not one of: {', '.join(FORMATS)}"))
    for option, value in (("--last", last), ("--window", window)):
        if value < 1:
            problems.append(option_problem(option, f"{value} is not a number of runs (at least 1)"))
    try:
        parse_margin(margin)
    except ValueError:
        problems.append(option_problem("--margin", f"{margin[:40]!r} is not a margin; give a share like 25% or 0.25"))
    return problems


def recorded_drills(root: Path) -> list[str]:
    """The drills with runs recorded under a local history root."""
    return sorted(p.parent.name for p in root.glob(f"*/{RUNS}") if any(p.glob("*.json"))) if root.is_dir() else []


def show_history(console: Console, stored: Records, location: str, drill: str, *, output_format: str, last: int,
                 window: int, margin: float, fail_on_regression: bool, figures: list[str] | None = None) -> int:
    """Print the history (of only `figures`, if named); the exit code is 1 only for a regression under
    --fail-on-regression."""
    series = [s for s in trends(stored.records, window=window, margin=margin) if not figures or s.figure in figures]
    arguments = dict(shown=last, window=window, margin=margin, problems=stored.problems)
    if output_format == "json":
        document = history_json(drill, location, stored.records, series, **arguments)
        console.print(json.dumps(document, indent=2), markup=False, highlight=False, soft_wrap=True)
    else:
        print_history(console, drill, location, stored.records, series, **arguments)
    return EXIT_REGRESSION if fail_on_regression and any(s.regression for s in series) else 0

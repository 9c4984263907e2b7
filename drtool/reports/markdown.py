"""A Markdown summary of the run, for GitHub's job page (`$GITHUB_STEP_SUMMARY`) and `summary.md`.

GitHub renders it above the job's log: a table per kind of target with its figures, then every scenario
that did not pass, with the sentences that say why.
"""

from __future__ import annotations

import os
from pathlib import Path

from drtool.core.clock import format_duration
from drtool.core.results import PASSED, SKIPPED, RunResult
from drtool.reports.figures import figure_columns, label, measured_text, tests_by_kind
from drtool.reports.terminal import totals_line

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
_MARK = {"passed": "✅", "failed": "❌", "error": "⚠️", "interrupted": "⛔", "skipped": "⏭️"}


def _cell(text: str) -> str:
    # A table cell is one line, and a pipe would end it.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def render(result: RunResult) -> str:
    verdict = "MET" if result.exit_code() == 0 else "NOT MET"
    lines = [f"## drtool: drill {_code(result.drill)}, run {_code(result.run_id)}: {verdict}", "", totals_line(result), ""]
    for kind, tests in tests_by_kind(result).items():
        figures = figure_columns(result, tests)
        lines += [f"### {kind or 'scenarios'}", ""]
        header = ["target", "scenario", "result", *figures, "took"]
        lines.append("| " + " | ".join(_cell(h) for h in header) + " |")
        lines.append("|" + "|".join("---" for _ in header[:-1]) + "|---:|")
        for test in tests:
            row = [test.target or "-", test.scenario, f"{_MARK.get(test.status, '')} {label(test.status)}".strip(),
                   *(measured_text(test, figure, breach_mark=" ❗") for figure in figures), format_duration(test.duration_s)]
            lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
        lines.append("")
    problems = [test for test in result.tests.values() if test.status not in (PASSED, SKIPPED)]
    if problems or result.budget_exceeded or result.run_errors or result.leftovers:
        lines += ["### What did not pass", ""]
    for test in problems:
        lines.append(f"- **{label(test.status)}** {_code(test.target or '-')}: {test.scenario}")
        sentences = list(dict.fromkeys([*([test.message] if test.message else []), *test.notes]))
        lines += [f"  - {sentence}" for sentence in sentences]
    if result.budget_exceeded:
        lines.append(f"- **BUDGET EXCEEDED**: {result.budget_exceeded}")
    lines += [f"- **run error**: {error}" for error in result.run_errors]
    if result.leftovers:
        lines.append(f"- **LEFT BEHIND**: {', '.join(result.leftovers)}; remove with `drtool cleanup --run-id {result.run_id}`")
    return "\n".join(lines).rstrip("\n") + "\n"


def append_step_summary(result: RunResult) -> Path | None:
    """Append the summary to GitHub's step summary file when the job sets one; the file where it went, or None."""
    target = os.environ.get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(render(result) + "\n")
    return path

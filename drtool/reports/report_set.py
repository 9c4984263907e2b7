"""The set of report files a run leaves in one directory (`--report-dir`): what CI keeps as its artefacts.

Each file is rendered from the run's results, plus a copy of the journal they came from, so the directory
stands on its own. A new report is one more entry in REPORT_FILES or REPORT_WRITERS.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from drtool.core.results import RunResult
from drtool.reports import cucumber, document, html, junit, markdown

JOURNAL_COPY = "journal.jsonl"

# file name -> how to render it from the results (and the earlier runs, for the reports that chart them)
REPORT_FILES: dict[str, Callable[[RunResult, list[RunResult] | None], str]] = {
    "report.html": lambda result, history: html.render(result, history),
    "summary.json": lambda result, history: document.render(result),
    "summary.md": lambda result, history: markdown.render(result),
}
# Reports with writers of their own, in their default style (`--junit-xml` elsewhere can ask for another).
REPORT_WRITERS: dict[str, Callable[[RunResult, Path], None]] = {
    "junit.xml": lambda result, path: junit.write(result, path),
    "cucumber.json": cucumber.write,
}


def write_report_set(result: RunResult, journal_path: Path, directory: Path,
                     history: list[RunResult] | None = None) -> list[Path]:
    """Write every report of `result` into `directory`, and a copy of its journal; the paths written, in order."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, render in REPORT_FILES.items():
        path = directory / name
        path.write_text(render(result, history), encoding="utf-8")
        written.append(path)
    for name, write in REPORT_WRITERS.items():
        write(result, directory / name)
        written.append(directory / name)
    copy = directory / JOURNAL_COPY
    if Path(journal_path).resolve() != copy.resolve():
        shutil.copyfile(journal_path, copy)
    written.append(copy)
    return written

"""A journal as `drtool report` reads it: what can be rendered, and what is wrong with the rest, by line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drtool.core.events import MalformedRecord, by_name, parse
from drtool.core.journal import read_journal_checked
from drtool.core.model import Problem
from drtool.core.registry import families
from drtool.core.results import RunResult, summarize
from drtool.core import events as ev

# Each record a handler cannot take is left out and named; past this many, the journal is beyond repair.
MAX_BAD_RECORDS = 20


def _summarize(records: list[dict[str, Any]]) -> RunResult:
    """The result, proven renderable: a record of the wrong shape fails here, not halfway through the printed report."""
    from io import StringIO

    from rich.console import Console

    from drtool.reports.terminal import print_summary

    result = summarize(_clean(records))
    result.exit_code()
    print_summary(Console(file=StringIO(), width=120), result, "")
    return result


def summarize_journal(path: Path) -> tuple[RunResult, list[Problem]]:
    """The run's result from the records that add up, and a problem for each one left out."""
    records, problems = read_journal_checked(path)
    types = by_name((*ev.CORE_EVENTS, *families().events))
    sound = []
    for record in records:
        try:
            parse(record, types)
        except MalformedRecord as exc:
            problems.append(Problem(str(path), record["_line"], str(exc)))
            continue
        sound.append(record)
    for _ in range(MAX_BAD_RECORDS):
        try:
            return _summarize(sound), sorted(problems, key=lambda p: p.line or 0)
        except Exception as exc:  # a journal is untrusted input: any record may hold anything
            bad = _first_failing(sound)
            problems.append(Problem(str(path), sound[bad]["_line"], f"the {sound[bad]['event']} record does not add up: "
                                                                   f"{type(exc).__name__}: {str(exc)[:120]}"))
            del sound[bad]
    return _summarize(sound[:1]), sorted(problems, key=lambda p: p.line or 0)


def _clean(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if key != "_line"} for record in records]


def _first_failing(records: list[dict[str, Any]]) -> int:
    """The first record whose prefix cannot be summarised (a binary search: summarise is linear)."""
    low, high = 1, len(records)  # the prefix of `high` records fails; the first record alone is run-started
    while low < high:
        middle = (low + high) // 2
        try:
            _summarize(records[:middle])
        except Exception:
            high = middle
        else:
            low = middle + 1
    return high - 1

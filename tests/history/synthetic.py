"""Synthetic drill runs for history tests: small journals written with the real Journal, summarized by the real
`summarize`, so each record is what a run of that shape would leave. No sandbox, no AWS. And sandbox drill files
that keep their history or evidence in S3."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from drtool.core import events as ev
from drtool.core.journal import Journal, read_journal
from drtool.core.results import RunResult, summarize
from drtool.core.verdicts import Measurement
from drtool.reports.history.record import history_record
from drtool.sandbox.seed import ORDERS_DB

from tests.helpers import drill_file

DRILL = "monthly"
FIRST_RUN = datetime(2026, 1, 5, 3, 17, tzinfo=timezone.utc)


class SteppingClock:
    """World time that stands still unless told to move, and a monotonic clock that advances one second per read."""

    def __init__(self, at: datetime):
        self.at = at
        self.mono = 0.0
        self.scale = 1.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        self.mono += 1.0
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Figure:
    target: str
    name: str
    measured_s: float
    objective_s: float


KINDS = {"orders-db": "rds-instance", "orders-data": "s3-replication"}
SCENARIOS = {"rds-instance": "Restore the newest recoverable point of a database in the DR region",
             "s3-replication": "Canary objects reach the replica within the maximum lag"}


def synthetic_run(directory: Path, run_id: str, at: datetime, figures: list[Figure], *,
                  errored: tuple[str, ...] = ()) -> tuple[Path, RunResult]:
    """A journal of one run: a scenario per target, noting each figure; a breach fails its scenario; a target in
    `errored` stops with an error before it measures anything."""
    clock = SteppingClock(at)
    path = directory / f"{at.strftime('%Y%m%dT%H%M%SZ')}-{run_id}.jsonl"
    journal = Journal(path, run_id, clock)
    journal.emit(ev.RunStarted(drill=DRILL, drill_file="drills/monthly.yaml", primary_region="eu-west-1",
                               dr_region="eu-central-1", targets=KINDS, figures=["RTO", "RPO", "lag p95"],
                               schema=ev.SCHEMA_VERSION))
    for target, kind in KINDS.items():
        test = f"features/{kind}.feature::{target}"
        journal.emit(ev.TestStarted(test=test, feature=kind, scenario=SCENARIOS[kind], target=target))
        clock.sleep(60)
        if target in errored:
            journal.emit(ev.TestOutcome(test=test, phase="setup", status="error", kind="could-not-run",
                                        message=f"{target}: AccessDenied"))
        else:
            measured = [Measurement(f.target, f.name, f.measured_s, f.objective_s, "aws-event", f"{f.name} measured")
                        for f in figures if f.target == target]
            for m in measured:
                journal.emit(ev.Note(test=test, target=target, line=m.line, measurement=m.as_record()))
            breached = [m.line for m in measured if not m.met]
            journal.emit(ev.TestOutcome(test=test, phase="call", status="failed" if breached else "passed",
                                        kind="objective-breached" if breached else "", message="; ".join(breached)))
        journal.emit(ev.TestFinished(test=test))
    journal.emit(ev.RunFinished())
    journal.close()
    return path, summarize(read_journal(path))


def monthly_records(directory: Path, rto_minutes: list[float | None], *, rto_objective_min: float = 30,
                    lag_s: float = 40) -> list[dict]:
    """History records of one run a month, orders-db's RTO as given (None: that run errored before measuring it)."""
    records = []
    for month, rto in enumerate(rto_minutes):
        at = FIRST_RUN + timedelta(days=30 * month)
        figures = [Figure("orders-data", "lag p95", lag_s, 300)]
        if rto is not None:
            figures += [Figure("orders-db", "RTO", rto * 60, rto_objective_min * 60), Figure("orders-db", "RPO", 6 * 3600, 86400)]
        _, result = synthetic_run(directory, f"{month:08x}", at, figures, errored=() if rto is not None else ("orders-db",))
        records.append(history_record(result, recorded_at=at))
    return records


def drill_with_outputs(tmp_path: Path, objectives: dict[str, str] | None = None, **sections) -> Path:
    """The sandbox drill for orders-db alone, with `sections` (history, evidence) added."""
    path = drill_file(tmp_path, ORDERS_DB, **(objectives or {}))
    drill = yaml.safe_load(path.read_text())
    drill.update(sections)
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


def dead_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid

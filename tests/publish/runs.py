"""Finished runs written as journals in-process (no drill run), with the figures each family measures."""

from __future__ import annotations

from pathlib import Path

from drtool.core import events as ev
from drtool.core.clock import SystemClock
from drtool.core.events import SCHEMA_VERSION
from drtool.core.journal import Journal, read_journal
from drtool.core.results import RunResult, summarize
from drtool.core.verdicts import Measurement

RUN_ID = "5eed1e55"
TARGETS = {"orders-db": "rds-instance", "orders-data": "s3-replication", "dr-rds-key": "kms-key",
           "orders-db-credentials": "secret"}
RTO_BREACH = "orders-db: restored in eu-central-1 in 42m04s (RTO 30m): BREACHED by 12m04s"


def _scenario(journal: Journal, test: str, scenario: str, target: str, measurements: list[Measurement],
              status: str = "passed", message: str = "", kind: str = "") -> None:
    journal.emit(ev.TestStarted(test=test, feature="f", scenario=scenario, target=target))
    for m in measurements:
        journal.emit(ev.Note(test=test, target=target, line=m.line, measurement=m.as_record()))
    if status != "passed":
        journal.emit(ev.TestOutcome(test=test, phase="call", status=status, kind=kind, message=message))
    journal.emit(ev.TestFinished(test=test))


def finished_run(tmp_path: Path, *, breach: bool = False, drill: str = "monthly") -> RunResult:
    """All four families: an RDS restore (breaching its RTO if `breach`), S3 canary lag, a KMS round trip, a secret's
    rotation; and a secret replica scenario that passes with no figure."""
    journal = Journal(tmp_path / f"{drill}-{breach}.jsonl", RUN_ID, SystemClock())
    journal.emit(ev.RunStarted(drill=drill, drill_file=f"drills/{drill}.yaml", schema=SCHEMA_VERSION, targets=TARGETS,
                               figures=["RTO", "RPO", "lag p95", "lag max", "round trip", "rotation age"]))
    rto = 42 * 60 + 4 if breach else 12 * 60 + 4
    _scenario(journal, "t-rds", "Restore the newest recoverable point", "orders-db", [
        Measurement("orders-db", "RTO", rto, 1800, "aws-event", f"restored in eu-central-1 in {'42m04s' if breach else '12m04s'}"),
        Measurement("orders-db", "RPO", 22309, 86400, "snapshot", "recovered point was 6h11m49s old"),
    ], *(("failed", RTO_BREACH, "objective-breached") if breach else ()))
    _scenario(journal, "t-lag", "Canary objects reach the replica", "orders-data", [
        Measurement("orders-data", "lag p50", 38, 300, "s3", "lag p50 38s"),
        Measurement("orders-data", "lag p95", 43, 300, "s3", "lag p95 43s"),
        Measurement("orders-data", "lag max", 43.5, 300, "s3", "max replication lag 43.5s"),
    ])
    _scenario(journal, "t-audit", "The replica holds every object", "orders-data", [
        Measurement("orders-data", "unreplicated age", 600, 3600, "listing", "oldest unreplicated object 10m old"),
    ])
    _scenario(journal, "t-kms", "Allowed principals can use the DR key", "dr-rds-key", [
        Measurement("dr-rds-key", "round trip", 0.25, 5, "monotonic clock", "slowest round trip 0.25s"),
        Measurement("dr-rds-key", "round trip", 0.75, 5, "monotonic clock", "slowest round trip 0.75s"),
    ])
    _scenario(journal, "t-replica", "The replica is in sync and readable", "orders-db-credentials", [])
    _scenario(journal, "t-rotation", "The secret rotates", "orders-db-credentials", [
        Measurement("orders-db-credentials", "rotation age", 12 * 86400, 90 * 86400, "secretsmanager", "rotated 12d ago"),
    ])
    journal.emit(ev.RunFinished())
    journal.close()
    return summarize(read_journal(journal.path))

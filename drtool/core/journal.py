"""The run journal: an append-only record of everything a run did, one JSON object a line.

Each record is flushed and fsynced as it is written, so a run killed with
SIGKILL still leaves a journal that reports and `drtool cleanup` can act on.
Every report (terminal summary, JUnit XML) is rendered from the journal.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from drtool import __version__
from drtool.core.clock import Clock
from drtool.core.events import Event

JOURNAL_DIR_ENV = "DRTOOL_JOURNAL_DIR"


def default_journal_dir() -> Path:
    if os.environ.get(JOURNAL_DIR_ENV):
        return Path(os.environ[JOURNAL_DIR_ENV])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "drtool" / "runs"


def new_run_id() -> str:
    """Short, lowercase, and safe inside RDS identifiers."""
    return secrets.token_hex(4)


class Journal:
    """Writes one run's journal. Thread-safe; every write is durable before it returns.

    Signal handlers write to it too (a Ctrl-C during teardown). Python runs a handler on the main thread
    between two bytecodes, possibly in the middle of a write; that nested write is recorded right after the
    interrupted one, in order, instead of waiting forever on a lock its own thread holds.
    """

    def __init__(self, path: Path, run_id: str, clock: Clock):
        self.path = path
        self.run_id = run_id
        self.clock = clock
        self._lock = threading.RLock()
        self._writing = False
        self._deferred: deque[tuple[str, dict[str, Any]]] = deque()
        self._seq = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")

    def emit(self, event: Event) -> dict[str, Any]:
        return self.write(type(event).event_name, **event.fields())

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            if self._writing:  # only this thread can be here: a signal handler interrupted its write
                self._deferred.append((event, fields))
                return {"event": event, "run_id": self.run_id, **fields}
            self._writing = True
            try:
                record = self._append(event, fields)
                while self._deferred:
                    self._append(*self._deferred.popleft())
                return record
            finally:
                self._writing = False

    def _append(self, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._seq += 1
        record = {
            "seq": self._seq,
            "event": event,
            "run_id": self.run_id,
            "at": self.clock.now().isoformat(),
            "mono": round(self.clock.monotonic(), 3),
            **fields,
        }
        if self._file.closed:
            raise RuntimeError(f"journal {self.path} is closed; cannot record {event}")
        self._file.write(json.dumps(record, default=str, sort_keys=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._written(record)
        return record

    def _written(self, record: dict[str, Any]) -> None:
        """Called inside the write, once the record is durable; subclasses tell others about it."""

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()


def runtime_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"drtool": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("boto3", "botocore", "pytest", "pytest-bdd", "moto"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions


def read_journal(path: Path) -> list[dict[str, Any]]:
    """All complete records; a torn last line (the writer was killed mid-write) is skipped."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def iter_journals(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(directory.glob("*.jsonl"))


@dataclass(frozen=True)
class LeftoverResource:
    """A resource a journal says was (or may have been) created and not deleted."""

    run_id: str
    kind: str
    identifier: str
    region: str
    arn: str | None


def leftover_resources(records: list[dict[str, Any]]) -> list[LeftoverResource]:
    """Resources announced in a journal and never recorded as deleted."""
    pending: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in records:
        key = (record.get("kind", ""), record.get("identifier", ""), record.get("region", ""))
        if record["event"] in ("resource-creating", "resource-created"):
            pending[key] = {**pending.get(key, {}), **record}
        elif record["event"] == "resource-deleted":
            pending.pop(key, None)
    return [
        LeftoverResource(r["run_id"], r["kind"], r["identifier"], r["region"], r.get("arn"))
        for r in pending.values()
    ]

"""The run journal: an append-only record of everything a run did, one JSON object a line.

Each record is flushed and fsynced as it is written, so a run killed with
SIGKILL still leaves a journal that reports and `drtool cleanup` can act on.
Every report (terminal summary, JUnit XML) is rendered from the journal.

The journal also keeps its records in memory. If the file cannot be written (a full disk), the run goes on
from memory: the failure is told once on stderr, with what is still alive and the cleanup command, and the
reports are rendered from the in-memory records.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import threading
from collections import deque
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from drtool import __version__
from drtool.core import events as ev
from drtool.core.clock import Clock
from drtool.core.events import Emitted, Event, MalformedRecord, by_name, in_scenario, read_emitted
from drtool.core.model import DrillFileError, Problem

JOURNAL_DIR_ENV = "DRTOOL_JOURNAL_DIR"


def state_directory(env: str, name: str) -> Path:
    """`$env` if set, else drtool's `name` directory under the user's state home (XDG)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "drtool" / name


def default_journal_dir() -> Path:
    return state_directory(JOURNAL_DIR_ENV, "runs")


def new_run_id() -> str:
    """Short, lowercase, and safe inside RDS identifiers."""
    return secrets.token_hex(4)


@dataclass
class Scenario:
    """The scenario running in this context: the journal names it in every event emitted there."""

    test: str
    target: str = ""  # its target, once known (a parametrized scenario knows it from the start)


# Per context, not per process: a thread that runs a scenario of its own sets its own.
_SCENARIO: ContextVar[Scenario | None] = ContextVar("drtool_scenario", default=None)


def current_scenario() -> Scenario | None:
    return _SCENARIO.get()


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
        self._deferred: deque[tuple[str, dict[str, Any], type[Event] | None]] = deque()
        self._seq = 0
        self.records: list[dict[str, Any]] = []  # every record, written to the file or not
        self.failure: OSError | None = None  # the first write that failed; the file stops there
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: a failed write leaves nothing behind in a buffer that a later flush or close could append.
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size  # the end of the last complete record

    @contextmanager
    def scenario(self, test: str, target: str = "") -> Iterator[Scenario]:
        """Within: every event emitted in this context that has an empty `test` (or `scope`) and `target` gets them."""
        scenario = Scenario(test, target)
        token = _SCENARIO.set(scenario)
        try:
            yield scenario
        finally:
            _SCENARIO.reset(token)

    def emit(self, event: Event) -> dict[str, Any]:
        scenario = _SCENARIO.get()
        if scenario is not None:
            event = in_scenario(event, scenario.test, scenario.target)
        return self._write(type(event).event_name, event.fields(), type(event))

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """A record of no event type: written, and told to no listener (tests of journals from other versions)."""
        return self._write(event, fields, None)

    def _write(self, event: str, fields: dict[str, Any], cls: type[Event] | None) -> dict[str, Any]:
        with self._lock:
            if self._writing:  # only this thread can be here: a signal handler interrupted its write
                self._deferred.append((event, fields, cls))
                return {"event": event, "run_id": self.run_id, **fields}
            self._writing = True
            try:
                record = self._append(event, fields, cls)
                while self._deferred:
                    self._append(*self._deferred.popleft())
                return record
            finally:
                self._writing = False

    def _append(self, event: str, fields: dict[str, Any], cls: type[Event] | None = None) -> dict[str, Any]:
        self._seq += 1
        record = {
            "seq": self._seq,
            "event": event,
            "run_id": self.run_id,
            "at": self.clock.now().isoformat(),
            "mono": round(self.clock.monotonic(), 3),
            **fields,
        }
        if self._closed:
            raise RuntimeError(f"journal {self.path} is closed; cannot record {event}")
        line = json.dumps(record, default=str, sort_keys=False)
        stored = json.loads(line)  # as a reader of the file would see it
        self.records.append(stored)
        # Listeners get the event as read back, so what they make of a run is what a reader of its file would.
        emitted = None if cls is None else read_emitted(stored, {event: cls})
        if self.failure is None:
            try:
                self._write_line((line + "\n").encode("utf-8"))
            except OSError as exc:
                self._failed(exc)
        if emitted is not None:
            self._written(emitted)
        return record

    def _write_line(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self._size += len(data)

    def _failed(self, exc: OSError) -> None:
        """Stop writing the file at its last complete record, and say so once.

        Writing no more (even if the disk frees up) keeps the file a clean prefix of the run: no torn line in
        the middle, no gap that a reader would take for the whole story.
        """
        self.failure = exc
        try:
            os.ftruncate(self._fd, self._size)  # drop a partly written line; truncating needs no free space
        except OSError:
            pass  # readers skip a torn last line
        alive = leftover_resources(resource_events(self.records))
        regions = sorted({r.region for r in alive if r.region})
        lines = [f"drtool: error: cannot write the journal {self.path}: {exc.strerror or exc}; "
                 "the run goes on from memory and will exit 3 (could not run)"]
        if alive:
            lines.append("drtool: resources of this run still alive (teardown keeps deleting them):")
            lines += [f"drtool:   {r.kind} {r.identifier} in {r.region}" for r in alive]
            region_args = "".join(f" --region {region}" for region in regions)
            lines.append(f"drtool: if any is left after the run, remove it with: "
                         f"drtool cleanup --run-id {self.run_id}{region_args} --yes")
        stream = sys.__stderr__ or sys.stderr  # the process's own stderr, past pytest's capture of sys.stderr
        try:
            stream.write("\n".join(lines) + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass

    def _written(self, emitted: Emitted) -> None:
        """Called inside the write, once the record is durable; subclasses tell others about it."""

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                os.close(self._fd)


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


MAX_JOURNAL_BYTES = 16 * 1024 * 1024


# A journal starts with one of these: a drill run's, or a cleanup's own (its deletions settle earlier runs).
RUN_JOURNAL_STARTS = ("run-started",)
ANY_JOURNAL_STARTS = ("run-started", "cleanup-started")


def read_journal_checked(
    path: Path, *, limit: int = MAX_JOURNAL_BYTES, starts: tuple[str, ...] = RUN_JOURNAL_STARTS
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The journal's sound records, and a `file:line: problem` for each line that is not one.

    Only a regular file is opened (checked before the open, so a FIFO or a device never blocks or streams),
    and only up to `limit` bytes are read. A torn last line (the writer was killed mid-write) is expected and
    skipped without a problem. Raises DrillFileError when the file cannot be read at all, or is not a journal
    whose first record is one of `starts`.
    """
    import stat
    from datetime import datetime

    file = str(path)
    try:
        info = os.stat(path)  # follows a symlink: what matters is what an open would reach
        if not stat.S_ISREG(info.st_mode):
            raise DrillFileError([Problem(file, None, "is not a regular file, so not a run journal")])
        if info.st_size > limit:
            raise DrillFileError([Problem(file, None, f"the journal is {info.st_size:,} bytes; the limit is {limit:,}")])
        # O_NONBLOCK: should the path become a FIFO between the check and the open, the open still returns.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise DrillFileError([Problem(file, None, "is not a regular file, so not a run journal")])
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            raise DrillFileError([Problem(file, None, f"the journal is over the limit of {limit:,} bytes")])
    except OSError as exc:
        raise DrillFileError([Problem(file, None, f"cannot read the journal: {exc.strerror or exc}")]) from None
    lines = raw.split(b"\n")
    torn = len(lines) - 1 if lines[-1] else len(lines) - 2  # index of the last line that has content
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        number = index + 1
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            if index == torn and records:
                continue  # killed mid-write
            problems.append(Problem(file, number, f"not a JSON record: {type(exc).__name__}"))
            continue
        why = _record_problem(record, datetime)
        if why:
            problems.append(Problem(file, number, why))
            continue
        record["_line"] = number
        records.append(record)
    if not records or records[0].get("event") not in starts:
        first = problems[:3]
        raise DrillFileError([Problem(file, None, f"not a drtool run journal (its first record must be {' or '.join(starts)})"), *first])
    return records, problems


def _record_problem(record: Any, datetime: Any) -> str | None:
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a journal record (an object)"
    if not isinstance(record.get("event"), str):
        return "the record has no 'event' name"
    if not isinstance(record.get("seq", 0), int) or isinstance(record.get("seq"), bool):
        return "the record's 'seq' is not a number"
    if not isinstance(record.get("mono", 0.0), (int, float)) or isinstance(record.get("mono"), bool):
        return "the record's 'mono' is not a number"
    if "at" not in record:
        return f"the {record['event']} record has no timestamp ('at')"
    try:
        datetime.fromisoformat(record["at"])
    except (TypeError, ValueError):
        return f"the {record['event']} record's timestamp {str(record['at'])[:40]!r} is not an ISO 8601 time"
    return None


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


RESOURCE_EVENTS = by_name((ev.ResourceCreating, ev.ResourceCreated, ev.ResourceDeleted, ev.ResourceDeleteFailed))


def resource_events(records: Iterable[dict[str, Any]]) -> Iterator[Emitted]:
    """The resource events among journal records; a damaged one names nothing that could be looked up, so is skipped."""
    for record in records:
        try:
            emitted = read_emitted(record, RESOURCE_EVENTS)
        except (MalformedRecord, KeyError, TypeError, ValueError):
            continue
        if emitted is not None:
            yield emitted


def leftover_resources(events: Iterable[Emitted]) -> list[LeftoverResource]:
    """Resources announced in a journal and never recorded as deleted (`resource_events` reads them from records)."""
    pending: dict[tuple[str, str, str], Emitted] = {}
    for emitted in events:
        event = emitted.event
        key = (event.kind, event.identifier, event.region)
        if not all(isinstance(part, str) for part in key):
            continue  # a damaged record names nothing that could be looked up
        if isinstance(event, (ev.ResourceCreating, ev.ResourceCreated)):
            pending[key] = emitted
        elif isinstance(event, ev.ResourceDeleted):
            pending.pop(key, None)
    return [
        LeftoverResource(str(e.run_id), e.event.kind, e.event.identifier, e.event.region,
                         e.event.arn if isinstance(e.event.arn, str) else None)
        for e in pending.values()
    ]

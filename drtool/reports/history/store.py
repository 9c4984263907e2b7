"""History stores: where each drill's run records and its run lock are kept.

A local directory by default (`$DRTOOL_HISTORY_DIR`, else
`$XDG_STATE_HOME/drtool/history`, else `~/.local/state/drtool/history`), or an
S3 prefix named in the drill file (`history: {s3: s3://bucket/prefix/}`) or on
the command line. Either holds, per drill:

    <drill>/runs/<recorded>-<run id>.json   one record per run, never rewritten
    <drill>/lock.json                       the run lock while a run holds it

A `drtool run --sandbox` run is not a production run: its records go to a local
store of their own (`$DRTOOL_SANDBOX_HISTORY_DIR`, else
`<state home>/drtool/sandbox-history`), and its run lock is the run's own, since
each such run drills a private lab no other run can touch.

S3 is reached only through drtool's S3 operations, on clients whose guard
allows writes under exactly these keys (`history_places`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from drtool.core.guard import Guard, OwnRecords
from drtool.core.inputs import option_problem, output_dir_problems
from drtool.core.model import AwsAccess, Problem
from drtool.core.operations import calls
from drtool.core.session import SessionFactory
from drtool.drill.outputs import parse_s3_url
from drtool.core.journal import state_directory
from drtool.reports.history.lock import LOCK_NAME, LocalRunLock, RunLock, S3RunLock
from drtool.reports.history.record import record_problem
from drtool.services.s3 import actions, probes

HISTORY_DIR_ENV = "DRTOOL_HISTORY_DIR"
SANDBOX_HISTORY_DIR_ENV = "DRTOOL_SANDBOX_HISTORY_DIR"
RUNS = "runs/"


def default_history_root() -> Path:
    return state_directory(HISTORY_DIR_ENV, "history")


def default_sandbox_history_root() -> Path:
    return state_directory(SANDBOX_HISTORY_DIR_ENV, "sandbox-history")


def record_name(record: dict[str, Any]) -> str:
    recorded = datetime.fromisoformat(record["recorded_at"])
    return f"{recorded.strftime('%Y%m%dT%H%M%S%fZ')}-{record['run_id']}.json"


@dataclass
class Records:
    """A drill's stored records, oldest first, and a line for each stored file that is not one."""

    records: list[dict[str, Any]]
    problems: list[str]


def _sorted(found: list[tuple[str, bytes]]) -> Records:
    records, problems = [], []
    for name, raw in found:
        try:
            record = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError):
            problems.append(f"{name}: not JSON")
            continue
        why = record_problem(record)
        if why:
            problems.append(f"{name}: {why}")
            continue
        records.append(record)
    records.sort(key=lambda r: (datetime.fromisoformat(r["recorded_at"]), r["run_id"]))
    return Records(records, problems)


class HistoryStore(Protocol):
    location: str

    def append(self, record: dict[str, Any]) -> str:
        """Store one run's record; returns where it went."""

    def read(self) -> Records: ...

    def lock(self) -> RunLock: ...


class LocalHistory:
    def __init__(self, root: Path, drill: str):
        self.directory = root / drill
        self.location = str(self.directory)

    def append(self, record: dict[str, Any]) -> str:
        runs = self.directory / RUNS
        runs.mkdir(parents=True, exist_ok=True)
        path = runs / record_name(record)
        partial = path.with_name(f".{path.name}.partial")
        with open(partial, "wb") as handle:
            handle.write(json.dumps(record, indent=1).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)  # a reader never sees half a record
        return str(path)

    def read(self) -> Records:
        runs = self.directory / RUNS
        return _sorted([(str(p), p.read_bytes()) for p in sorted(runs.glob("*.json"))] if runs.is_dir() else [])

    def lock(self) -> RunLock:
        return LocalRunLock(self.directory)


class PrivateRunLock(LocalRunLock):
    """The run lock of a run that drills a lab of its own: in a directory made for that run alone, removed when it
    is released. Nothing else can hold it, so two such runs never refuse each other; it is still taken and journaled
    like any run lock, so a sandbox run goes through the same steps as a production one."""

    def __init__(self, run_id: str):
        super().__init__(Path(tempfile.mkdtemp(prefix=f"drtool-sandbox-{run_id}-")))

    def release(self) -> None:
        try:
            super().release()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class SandboxHistory(LocalHistory):
    """A sandbox run's store: its records in a local directory apart from production's, its lock its own."""

    def __init__(self, root: Path, drill: str, run_id: str):
        super().__init__(root, drill)
        self.run_id = run_id

    def lock(self) -> RunLock:
        return PrivateRunLock(self.run_id)


def sandbox_history(drill: str, run_id: str, location: str | None = None) -> SandboxHistory:
    """The store of a `drtool run --sandbox` run: `location` (a directory) if given, else the sandbox default; never
    the drill file's `history:` nor the production default, which belong to the drill's real runs."""
    return SandboxHistory(Path(location) if location is not None else default_sandbox_history_root(), drill, run_id)


def history_places(bucket: str, prefix: str, drill: str) -> tuple[OwnRecords, ...]:
    """Where a drill's history may be written in S3: new records under runs/, and the one lock key."""
    base = f"{prefix}{drill}/"
    return (
        OwnRecords("run history", bucket, f"{base}{RUNS}"),
        OwnRecords("run lock", bucket, f"{base}{LOCK_NAME}", frozenset({"PutObject", "DeleteObject"}), exact=True),
    )


class S3History:
    def __init__(self, s3: Any, bucket: str, prefix: str, drill: str):
        self.s3, self.bucket = s3, bucket
        self.base = f"{prefix}{drill}/"
        self.location = f"s3://{bucket}/{self.base}"

    @calls(actions.create_object)
    def append(self, record: dict[str, Any]) -> str:
        key = f"{self.base}{RUNS}{record_name(record)}"
        # A record is written once: a retried append of the same run finds it there and leaves it.
        actions.create_object(self.s3, self.bucket, key, json.dumps(record, indent=1).encode())
        return f"s3://{self.bucket}/{key}"

    @calls(probes.list_keys, probes.read_object)
    def read(self) -> Records:
        found = []
        for key in probes.list_keys(self.s3, self.bucket, f"{self.base}{RUNS}"):
            if key.endswith(".json"):
                content = probes.read_object(self.s3, self.bucket, key)
                if content is not None:
                    found.append((f"s3://{self.bucket}/{key}", content[0]))
        return _sorted(found)

    def lock(self) -> RunLock:
        return S3RunLock(self.s3, self.bucket, f"{self.base}{LOCK_NAME}")


def s3_history(url: str, drill: str, *, region: str | None, access: AwsAccess | None = None) -> S3History:
    """The S3 store at `url` (s3://bucket/prefix/), through a client that may write only the drill's history keys."""
    bucket, prefix = parse_s3_url(url)
    clients = SessionFactory(access)
    region = region or clients.session.region_name or "us-east-1"
    clients.add_client_hook(Guard(run_id="", dr_region=region, own_records=history_places(bucket, prefix, drill)).attach)
    return S3History(clients.client("s3", region), bucket, prefix, drill)


def open_history(drill: str, location: str | None = None, *, configured: Any = None, region: str | None = None,
                 access: AwsAccess | None = None) -> HistoryStore:
    """The store for a drill: `location` (a directory or s3:// URL, from the command line), else the drill file's
    `history` (`configured`), else the local default. `region` is the drill's primary region, used for S3 when
    the drill file names no region for its store."""
    if location is not None and location.startswith("s3://"):
        return s3_history(location, drill, region=getattr(configured, "region", None) or region, access=access)
    if location is not None:
        return LocalHistory(Path(location), drill)
    if configured is not None:
        return s3_history(configured.s3, drill, region=configured.region or region, access=access)
    return LocalHistory(default_history_root(), drill)


def history_location_problems(location: str | None, option: str = "--history", *, sandbox: bool = False) -> list[Problem]:
    """A --history value must be an s3://BUCKET/PREFIX/ URL or a directory that is, or can be made, writable; for a
    sandbox run, a directory (its S3 is its lab's, gone when the run ends)."""
    if location is None:
        return []
    if location.startswith("s3://") and sandbox:
        return [option_problem(option, "a sandbox run's history is local: its lab's S3 is gone when the run ends; "
                                       "give a directory, or drop it for the sandbox history")]
    if location.startswith("s3://"):
        try:
            parse_s3_url(location)
        except ValueError as exc:
            return [option_problem(option, str(exc))]
        return []
    return output_dir_problems(Path(location), option)

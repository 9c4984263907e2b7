"""What a drill run leaves in the history store and for auditors, for the pytest plugin, so that `drtool run` and
`pytest --drill` leave the same: the run lock (taken before the run starts, released when it ends), the run's
history record, and its evidence bundle (written, and uploaded when the drill file names a bucket).

None of it changes a drill's verdict, with one exception: evidence the drill file requires and that could not be
uploaded is a run error (exit 3), since the run did not leave what its drill file promises auditors.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import pytest
from rich.console import Console
from rich.markup import escape
from botocore.exceptions import BotoCoreError, ClientError

from drtool.core.errors import InfrastructureError, describe_error
from drtool.core.events import EvidenceWritten, HistoryRecorded, RunError, RunLockTaken, RunWarning, by_name, read_emitted
from drtool.core.results import ExitCode, RunResult
from drtool.core.run import DrillRun
from drtool.drill.file import LoadedDrill
from drtool.reports.evidence import MANIFEST, build_bundle, evidence_client, file_sha256, upload_bundle
from drtool.reports.history.lock import LockHolder, RunLock, RunLockHeld
from drtool.reports.history.record import history_record, past_result
from drtool.reports.history.store import HistoryStore, open_history, sandbox_history
from drtool.runner.options import RunOutputs

STORE_KEY = pytest.StashKey[HistoryStore]()
LOCK_KEY = pytest.StashKey[RunLock]()
TOOK_OVER_KEY = pytest.StashKey[str]()
REFUSED_KEY = pytest.StashKey[str]()  # why this start was refused (the lock is held, or could not be taken)

# What can go wrong writing a record: the disk, AWS, or the guard refusing a key.
RECORD_ERRORS = (OSError, ClientError, BotoCoreError, InfrastructureError)


def take_lock(config: pytest.Config, loaded: LoadedDrill, run_id: str, outputs: RunOutputs) -> None:
    """Hold the drill's run lock for this run, or stop pytest at once with exit 3, saying who holds it."""
    drill = loaded.drill
    now = datetime.now(timezone.utc)
    try:
        if outputs.sandbox:
            store: HistoryStore = sandbox_history(drill.drill, run_id, outputs.history)
        else:
            store = open_history(drill.drill, outputs.history, configured=drill.history,
                                 region=drill.primary_region, access=drill.aws)
        lock = store.lock()
        took_over = lock.acquire(LockHolder.me(run_id, drill.drill, now, drill.budget), now)
    except RunLockHeld as exc:
        _refuse(config, str(exc))
    except RECORD_ERRORS as exc:
        _refuse(config, f"drill {drill.drill!r} could not take its run lock in its history store, so this start is "
                        f"refused: {describe_error(exc)}")
    config.stash[STORE_KEY], config.stash[LOCK_KEY], config.stash[TOOK_OVER_KEY] = store, lock, took_over
    config.add_cleanup(lambda: _release(lock))


def _refuse(config: pytest.Config, message: str) -> NoReturn:
    config.stash[REFUSED_KEY] = message
    pytest.exit(message, returncode=int(ExitCode.COULD_NOT_RUN))


def _release(lock: RunLock) -> None:
    try:
        lock.release()
    except RECORD_ERRORS:
        pass  # the next start finds it stale: its process is gone


def journal_lock(config: pytest.Config, run: DrillRun) -> None:
    lock, took_over = config.stash[LOCK_KEY], config.stash[TOOK_OVER_KEY]
    run.journal.emit(RunLockTaken(location=lock.location, took_over=took_over))
    if took_over:
        _tell(config, f"drtool: warning: took over the stale run lock {lock.location} of {took_over}")


def _tell(config: pytest.Config, line: str) -> None:
    """Show a line under plain pytest; `drtool run` (no terminal plugin) prints it from the journal."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(line)


def past_results(config: pytest.Config, run: DrillRun | None = None) -> list[RunResult] | None:
    """The drill's earlier runs in its history store, for the report's trends; None (and a note) if it cannot be read.

    Only records the store's reader found sound are charted; each other one is a warning (in `run`'s journal,
    which `drtool run` prints), never an error: a damaged record must not change any later run's outcome."""
    store = config.stash.get(STORE_KEY, None)
    if store is None:
        return None
    try:
        stored = store.read()
    except RECORD_ERRORS as exc:
        _tell(config, f"drtool: warning: the history {store.location} could not be read for the report's trends: "
                      f"{describe_error(exc)}")
        return None
    for problem in stored.problems:
        message = f"skipped a history record the report's trends cannot use: {problem}"
        if run is not None:
            run.journal.emit(RunWarning(message=message))
        _tell(config, f"drtool: warning: {message}")
    return [past_result(record) for record in stored.records]


def record_history(config: pytest.Config, run: DrillRun, outputs: RunOutputs) -> None:
    """Last, before the journal closes: the run's record in the history store, unless --no-history."""
    if outputs.record_history:
        _record(config, run)


def bundle_evidence(run: DrillRun, reports: list[Path], into: Path | None) -> None:
    """After the reports: the evidence bundle of the journal and the reports, in `into` if given, uploaded if asked."""
    upload = run.drill.evidence
    if into is None and upload is None:
        return
    directory = into if into is not None else Path(tempfile.mkdtemp(prefix=f"drtool-evidence-{run.run_id}-"))
    uploaded = ""
    try:
        manifest = build_bundle(run.journal.path, directory, [p for p in reports if p.exists()],
                                drill=run.drill.drill, run_id=run.run_id)
        if upload is not None:
            s3 = evidence_client(upload, run.drill.drill, run.run_id, region=run.drill.primary_region, access=run.drill.aws)
            uploaded = upload_bundle(s3, upload, directory, manifest)
        run.journal.emit(EvidenceWritten(directory=str(directory) if into is not None else "", uploaded_to=uploaded,
                                         manifest_sha256=file_sha256(directory / MANIFEST)))
    except RECORD_ERRORS as exc:
        where = f" to s3://{upload.bucket}" if upload is not None and manifest_written(directory) else ""
        run.journal.emit(RunError(error=f"the evidence bundle was not {'uploaded' if where else 'written'}{where}: "
                                        f"{describe_error(exc)}"))
    finally:
        if into is None:
            shutil.rmtree(directory, ignore_errors=True)  # uploaded, or reported as not: no local copy was asked for


def manifest_written(directory: Path) -> bool:
    return (directory / MANIFEST).is_file()


def _record(config: pytest.Config, run: DrillRun) -> None:
    store = config.stash[STORE_KEY]
    result = run.result
    try:
        location = store.append(history_record(result, recorded_at=datetime.now(timezone.utc)))
    except RECORD_ERRORS as exc:
        message = f"the run was not recorded in the history {store.location}: {describe_error(exc)}"
        run.journal.emit(RunWarning(message=message))
        _tell(config, f"drtool: warning: {message}")
        return
    run.journal.emit(HistoryRecorded(location=location))


def print_records(console: Console, journal: list[dict[str, Any]]) -> None:
    """Under `drtool run`: where the run's lock, history and evidence went, and any warning about them."""
    types = by_name((RunLockTaken, RunWarning, HistoryRecorded, EvidenceWritten))
    for emitted in filter(None, (read_emitted(record, types) for record in journal)):
        match emitted.event:
            case RunLockTaken(location=location, took_over=took_over) if took_over:
                line = f"[yellow]warning:[/] took over the stale run lock {escape(location)} of {escape(took_over)}"
            case RunWarning(message=message):
                line = f"[yellow]warning:[/] {escape(message)}"
            case HistoryRecorded(location=location):
                line = f"History: {escape(location)}"
            case EvidenceWritten(directory=directory, uploaded_to=uploaded_to, manifest_sha256=sha256):
                where = " and ".join(escape(w) for w in (directory, uploaded_to) if w)
                line = f"Evidence: {where} (manifest sha256 {escape(sha256[:16])}...)"
            case _:
                continue
        console.print(line, highlight=False, soft_wrap=True)

"""The run lock: one run of a drill at a time, held in the drill's history store.

A scheduler may start a drill twice (a Kubernetes CronJob can), or an engineer
may start one by hand while the monthly run is on: the second start is refused
at once, naming the holder. A lock whose holder is surely dead is taken over,
with a warning: its process is gone (judged only on the holder's own host), or
it is older than the holder's own drill budget plus a margin. Only a lock drtool
wrote is ever judged: anything else at the lock's key is refused (ForeignLock)
and left exactly as it is.

Locally the lock is a file created atomically (a hard link of a fully written,
O_EXCL-created file, so no reader ever sees it half written); takeovers and
releases are serialised by `flock` on a file beside it. In S3 it is an object
written only if absent (`If-None-Match: *`), taken over only if unchanged since
it was judged stale (`If-Match`), and released only if still ours (`If-Match`).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator, Protocol

from drtool.core.operations import calls
from drtool.services.s3 import actions, probes

LOCK_NAME = "lock.json"
# A holder is presumed dead this long after its drill's budget ran out (or, with no budget, after a day).
STALE_MARGIN = timedelta(hours=1)
NO_BUDGET = timedelta(hours=24)
# Rounds of "create, else judge and take over" before a start gives up on a lock that keeps changing hands.
ATTEMPTS = 3


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    drill: str
    host: str
    pid: int
    started_at: str  # real UTC time, ISO 8601 (a sandbox run's world clock means nothing to another process)
    stale_after: str  # from the holder's own budget: past it, the lock may be taken over
    token: str  # tells this acquisition from any later one, whatever run id it carries
    process_started: str = ""  # the holder process's boot id and start tick: a reused pid is not the holder

    @classmethod
    def me(cls, run_id: str, drill: str, now: datetime, budget: timedelta | None) -> "LockHolder":
        return cls(run_id, drill, socket.gethostname(), os.getpid(), now.isoformat(),
                   (now + (budget or NO_BUDGET) + STALE_MARGIN).isoformat(), secrets.token_hex(8),
                   process_start(os.getpid()))

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> "LockHolder":
        """The holder a lock names; ValueError if it is not a drtool run lock."""
        try:
            data = json.loads(raw)
            # A newer drtool may say more about its holder; what this one reads is enough to judge it.
            holder = cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
            datetime.fromisoformat(holder.stale_after)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a drtool run lock ({type(exc).__name__})") from None
        if not isinstance(holder.pid, int):
            raise ValueError("not a drtool run lock (no pid)")
        return holder

    def describe(self) -> str:
        return f"run {self.run_id} on host {self.host} (pid {self.pid}), started {self.started_at}"


class RunLockHeld(Exception):
    """Another run of the drill holds its lock: this start is refused (exit 3)."""

    def __init__(self, drill: str, location: str, holder: LockHolder | None):
        self.holder = holder
        if holder is None:
            message = (f"drill {drill!r} could not take its run lock ({location}): other runs kept taking it; "
                       "this start is refused")
        else:
            message = (f"drill {drill!r} is already running: its run lock ({location}) is held by {holder.describe()}. "
                       f"This start is refused. The lock is taken over once that process is gone (checked on host "
                       f"{holder.host}) or after {holder.stale_after}.")
        super().__init__(message)


class ForeignLock(RunLockHeld):
    """Something that is not a drtool run lock is at the lock's key: refused (exit 3), and never written or deleted.

    Only a lock drtool wrote can be judged stale; a file or object drtool cannot read may be anyone's."""

    def __init__(self, drill: str, location: str, why: str):
        self.holder = None
        Exception.__init__(self, (
            f"drill {drill!r} cannot take its run lock: {location} holds something that is {why}. drtool neither "
            f"overwrites nor deletes it, so this start is refused. Look at what it is; if nothing uses it, remove it "
            f"yourself (or point the drill's history elsewhere), then start again."))


def process_start(pid: int) -> str:
    """The boot id and start tick of a process (Linux), or "" where /proc cannot say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return ""
    return f"{boot}:{fields[19]}" if len(fields) > 19 else ""


def _process_gone(holder: LockHolder) -> bool:
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, as another user
    try:
        state = Path(f"/proc/{holder.pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        state = ""
    if state == "Z":  # killed, not yet reaped: it runs no more
        return True
    started = process_start(holder.pid)
    return bool(holder.process_started and started and started != holder.process_started)


def stale_reason(holder: LockHolder, now: datetime) -> str | None:
    """Why a lock's holder is surely not running any more, or None while it may be."""
    if holder.host == socket.gethostname() and _process_gone(holder):
        return f"its process {holder.pid} on {holder.host} is gone"
    if now > datetime.fromisoformat(holder.stale_after):
        return f"it is older than its drill's budget plus {int(STALE_MARGIN.total_seconds() // 60)}m (stale after {holder.stale_after})"
    return None


def _judge(raw: bytes, now: datetime, drill: str, location: str) -> tuple[LockHolder, str | None]:
    """The holder a lock names, and why it is stale (None while it may be running); ForeignLock if it is not a
    drtool run lock, which is never taken over."""
    try:
        holder = LockHolder.from_json(raw)
    except ValueError as exc:
        raise ForeignLock(drill, location, str(exc)) from None
    return holder, stale_reason(holder, now)


def _taken_over(holder: LockHolder, reason: str) -> str:
    return f"{holder.describe()}: {reason}"


class RunLock(Protocol):
    location: str

    def peek(self) -> bytes | None:
        """What is at the lock's place now, read only; None when nothing is."""

    def acquire(self, me: LockHolder, now: datetime) -> str:
        """Take the lock, or raise RunLockHeld; returns "" or, when a stale lock was taken over, whose and why."""

    def release(self) -> None:
        """Give the lock up, if it is still ours."""


class LocalRunLock:
    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / LOCK_NAME
        self.location = str(self.path)
        self._mine: LockHolder | None = None

    def acquire(self, me: LockHolder, now: datetime) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._create(me):
            return ""
        with self._serialised():  # one judge at a time: a lock is never taken over twice
            taken_over = ""
            for _ in range(ATTEMPTS):
                raw = self._read()
                if raw is not None:  # else released meanwhile
                    holder, reason = _judge(raw, now, me.drill, self.location)
                    if reason is None:
                        raise RunLockHeld(me.drill, self.location, holder)
                    self.path.unlink(missing_ok=True)
                    taken_over = _taken_over(holder, reason)
                if self._create(me):
                    return taken_over
        raise RunLockHeld(me.drill, self.location, None)

    def release(self) -> None:
        if self._mine is None:
            return
        with self._serialised():
            raw = self._read()
            try:
                ours = raw is not None and LockHolder.from_json(raw).token == self._mine.token
            except ValueError:
                ours = False
            if ours:
                self.path.unlink(missing_ok=True)
        self._mine = None

    def _create(self, me: LockHolder) -> bool:
        written = self.directory / f".{LOCK_NAME}.{me.token}"
        descriptor = os.open(written, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(me.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.link(written, self.path)  # atomic, and fails if the lock exists
        except FileExistsError:
            return False
        finally:
            written.unlink(missing_ok=True)
        self._mine = me
        return True

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    peek = _read

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        with open(self.directory / f".{LOCK_NAME}.flock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class S3RunLock:
    def __init__(self, s3: Any, bucket: str, key: str):
        self.s3, self.bucket, self.key = s3, bucket, key
        self.location = f"s3://{bucket}/{key}"
        self._etag: str | None = None

    @calls(probes.read_object)
    def peek(self) -> bytes | None:
        found = probes.read_object(self.s3, self.bucket, self.key)
        return found[0] if found is not None else None

    @calls(actions.create_object, probes.read_object, actions.replace_object)
    def acquire(self, me: LockHolder, now: datetime) -> str:
        body = me.to_json()
        for _ in range(ATTEMPTS):
            self._etag = actions.create_object(self.s3, self.bucket, self.key, body)
            if self._etag:
                return ""
            found = probes.read_object(self.s3, self.bucket, self.key)
            if found is None:
                continue  # released meanwhile
            raw, etag = found
            holder, reason = _judge(raw, now, me.drill, self.location)
            if reason is None:
                raise RunLockHeld(me.drill, self.location, holder)
            # Only if nobody else took it over since it was read.
            self._etag = actions.replace_object(self.s3, self.bucket, self.key, body, etag)
            if self._etag:
                return _taken_over(holder, reason)
        raise RunLockHeld(me.drill, self.location, None)

    @calls(actions.delete_object_if)
    def release(self) -> None:
        if self._etag:
            actions.delete_object_if(self.s3, self.bucket, self.key, self._etag)
            self._etag = None


def live_holder(lock: RunLock, now: datetime) -> LockHolder | None:
    """The run that holds `lock` and may still be running; None when the lock is free, stale or not drtool's."""
    raw = lock.peek()
    if raw is None:
        return None
    try:
        holder = LockHolder.from_json(raw)
    except ValueError:
        return None
    return holder if stale_reason(holder, now) is None else None

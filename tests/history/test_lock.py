"""The run lock: a second start is refused naming the holder; a stale lock (its process gone, or past its budget) is
taken over; a lock is released only by its holder. Locally across two processes, and in S3 against the lab."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from drtool.reports.history.lock import ForeignLock, LocalRunLock, LockHolder, RunLockHeld
from drtool.reports.history.store import open_history
from drtool.sandbox.seed import PRIMARY_REGION

from tests.helpers import REPO
from tests.history.synthetic import dead_pid

HOLD = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from drtool.reports.history.lock import LocalRunLock, LockHolder
lock = LocalRunLock(Path(sys.argv[1]))
now = datetime.now(timezone.utc)
lock.acquire(LockHolder.me("aaaa1111", "monthly", now, None), now)
print("held", flush=True)
sys.stdin.readline()
lock.release()
"""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _me(run_id: str = "bbbb2222") -> LockHolder:
    return LockHolder.me(run_id, "monthly", _now(), timedelta(hours=2))


@pytest.fixture
def holder(tmp_path):
    """Another process holding the drill's lock in tmp_path/monthly until told to let go."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "monthly")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_second_start_is_refused_naming_the_holder_until_it_lets_go(tmp_path, holder):
    with pytest.raises(RunLockHeld) as refused:
        LocalRunLock(tmp_path / "monthly").acquire(_me(), _now())
    message = str(refused.value)
    assert message.startswith("drill 'monthly' is already running: its run lock")
    assert f"held by run aaaa1111 on host {socket.gethostname()} (pid {holder.pid}), started 20" in message
    assert "This start is refused." in message
    assert refused.value.holder.run_id == "aaaa1111"

    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(timeout=30) == 0
    assert not (tmp_path / "monthly" / "lock.json").exists()
    lock = LocalRunLock(tmp_path / "monthly")
    assert lock.acquire(_me(), _now()) == ""  # free again: nothing taken over
    lock.release()


def test_the_lock_of_a_killed_process_is_taken_over_with_the_reason(tmp_path, holder):
    holder.kill()
    holder.wait()
    lock = LocalRunLock(tmp_path / "monthly")
    took_over = lock.acquire(_me(), _now())
    assert took_over.startswith(f"run aaaa1111 on host {socket.gethostname()} (pid {holder.pid}), started 20")
    assert took_over.endswith(f": its process {holder.pid} on {socket.gethostname()} is gone")
    assert json.loads((tmp_path / "monthly" / "lock.json").read_text())["run_id"] == "bbbb2222"
    lock.release()
    assert not (tmp_path / "monthly" / "lock.json").exists()


def _write_lock(directory, holder: LockHolder) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lock.json").write_bytes(holder.to_json())


def test_a_lock_from_another_host_is_taken_over_only_past_its_budget(tmp_path):
    elsewhere = replace(_me("cccc3333"), host="ci-runner-7", pid=dead_pid())  # its pid means nothing here
    _write_lock(tmp_path / "monthly", elsewhere)
    with pytest.raises(RunLockHeld, match="held by run cccc3333 on host ci-runner-7"):
        LocalRunLock(tmp_path / "monthly").acquire(_me(), _now())

    expired = replace(elsewhere, stale_after=(_now() - timedelta(minutes=1)).isoformat())
    _write_lock(tmp_path / "monthly", expired)
    took_over = LocalRunLock(tmp_path / "monthly").acquire(_me(), _now())
    assert "run cccc3333 on host ci-runner-7" in took_over and "older than its drill's budget plus 60m" in took_over


def test_the_holders_budget_sets_when_its_lock_goes_stale():
    started = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
    assert LockHolder.me("r", "monthly", started, timedelta(hours=2)).stale_after == "2026-11-28T06:00:00+00:00"
    assert LockHolder.me("r", "monthly", started, None).stale_after == "2026-11-29T04:00:00+00:00"


FOREIGN = {"empty": b"", "not JSON": b"\xff\xfe lock", "another tool's lock": b'{"owner": "terraform", "id": 7}',
           "a JSON list": b'["aaaa1111"]', "a torn drtool lock": b'{"run_id": "aaaa1111", "pid": 12'}


@pytest.mark.parametrize("content", FOREIGN.values(), ids=FOREIGN.keys())
def test_anything_but_a_drtool_lock_at_the_lock_path_is_refused_and_left_alone(tmp_path, content):
    (tmp_path / "monthly").mkdir()
    path = tmp_path / "monthly" / "lock.json"
    path.write_bytes(content)
    with pytest.raises(ForeignLock) as refused:
        LocalRunLock(tmp_path / "monthly").acquire(_me(), _now())
    message = str(refused.value)
    assert f"{path} holds something that is not a drtool run lock" in message
    assert "neither overwrites nor deletes it" in message and "remove it yourself" in message
    assert path.read_bytes() == content


def test_a_lock_is_released_only_by_its_holder(tmp_path):
    first = LocalRunLock(tmp_path / "monthly")
    assert first.acquire(_me("dddd4444"), _now()) == ""
    # Someone judged it stale and took it over; the first holder, ending, must not remove the new holder's lock.
    _write_lock(tmp_path / "monthly", _me("eeee5555"))
    first.release()
    assert json.loads((tmp_path / "monthly" / "lock.json").read_text())["run_id"] == "eeee5555"


@pytest.fixture
def s3_store(lab, aws, monkeypatch):
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    aws("s3", PRIMARY_REGION).create_bucket(Bucket="dr-history", CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    return open_history("monthly", "s3://dr-history/drills/", region=PRIMARY_REGION), aws("s3", PRIMARY_REGION)


def test_an_s3_lock_is_written_only_if_absent_and_refuses_a_second_start(s3_store):
    store, s3 = s3_store
    first = store.lock()
    assert first.acquire(_me("aaaa1111"), _now()) == ""
    assert first.location == "s3://dr-history/drills/monthly/lock.json"
    with pytest.raises(RunLockHeld, match=rf"held by run aaaa1111 on host {socket.gethostname()} \(pid \d+\)"):
        store.lock().acquire(_me(), _now())
    first.release()
    assert "Contents" not in s3.list_objects_v2(Bucket="dr-history")


def test_a_stale_s3_lock_is_taken_over_only_if_unchanged_and_released_only_by_its_holder(s3_store):
    store, s3 = s3_store
    dead = replace(_me("aaaa1111"), pid=dead_pid())
    s3.put_object(Bucket="dr-history", Key="drills/monthly/lock.json", Body=dead.to_json())
    second = store.lock()
    assert second.acquire(_me(), _now()).endswith(f"its process {dead.pid} on {socket.gethostname()} is gone")
    assert json.loads(s3.get_object(Bucket="dr-history", Key="drills/monthly/lock.json")["Body"].read())["run_id"] == "bbbb2222"

    # A third run takes it over in turn (say the second hung past its budget): the second must leave it alone.
    s3.put_object(Bucket="dr-history", Key="drills/monthly/lock.json", Body=_me("ffff6666").to_json())
    second.release()
    assert json.loads(s3.get_object(Bucket="dr-history", Key="drills/monthly/lock.json")["Body"].read())["run_id"] == "ffff6666"


def test_a_lock_from_a_newer_drtool_is_read_not_judged_unreadable():
    holder = _me()
    newer = json.loads(holder.to_json()) | {"heartbeat": "2026-11-28T03:00:00+00:00"}
    assert LockHolder.from_json(json.dumps(newer).encode()) == holder
    with pytest.raises(ValueError, match="not a drtool run lock"):
        LockHolder.from_json(b'{"run_id": "aaaa1111"}')


def test_an_object_that_is_not_a_drtool_lock_at_the_s3_lock_key_is_refused_and_never_written_or_deleted(s3_store, lab):
    store, s3 = s3_store
    key = "drills/monthly/lock.json"
    s3.put_object(Bucket="dr-history", Key=key, Body=b"someone else's object")
    position = lab.requests.position

    with pytest.raises(ForeignLock, match=r"s3://dr-history/drills/monthly/lock\.json holds something that is not a drtool run lock"):
        store.lock().acquire(_me(), _now())

    touched = [r for r in lab.requests.since(position) if any(key in target for target in r.targets)]
    # Only the create-if-absent (If-None-Match: *), which S3 refused: nothing was written, nothing delete-marked.
    assert [(r.operation, r.status) for r in touched] == [("PutObject", 412)], [str(r) for r in touched]
    assert s3.get_object(Bucket="dr-history", Key=key)["Body"].read() == b"someone else's object"
    assert len(s3.list_object_versions(Bucket="dr-history", Prefix=key).get("Versions", [])) <= 1

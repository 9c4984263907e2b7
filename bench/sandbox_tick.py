"""What one sandbox world tick costs, and how long it holds the lock S3 calls need, with a big replication backlog.

Run: python bench/sandbox_tick.py [--objects 30000] [--ticks 200] [--old-rev 2823b6b]
Builds an in-process moto S3 (no server) with one replicated bucket, writes
N objects whose replication is pending (a day's lag, so none falls due while
measuring), and times world ticks in which nothing is due: the steady state
of a lab with a backlog. With --old-rev (default: the commit before the due-time
queue) it loads that revision's S3 model from git and times its tick on the
same objects, side by side. Machines here are shared: read the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from drtool.core.clock import ScaledClock  # noqa: E402
from drtool.sandbox.s3_model import ReplicationModel  # noqa: E402
from drtool.sandbox.world import World, WorldSettings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOURCE, REPLICA, REGION = "bench-source", "bench-replica", "eu-west-1"


def timed(call, runs: int) -> list[float]:
    """Milliseconds per call, `runs` times."""
    found = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        found.append((time.perf_counter() - start) * 1000)
    return found


def describe(name: str, tick: list[float], held: list[float]) -> str:
    return (f"{name:<5} tick median {statistics.median(tick):8.3f} ms  max {max(tick):8.3f} ms   "
            f"lock held median {statistics.median(held):8.3f} ms  max {max(held):8.3f} ms")


def make_buckets() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (SOURCE, REPLICA):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=SOURCE, ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/bench",
        "Rules": [{"ID": "bench", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                   "DeleteMarkerReplication": {"Status": "Disabled"},
                   "Destination": {"Bucket": f"arn:aws:s3:::{REPLICA}", "Metrics": {"Status": "Enabled"}}}],
    })


def bench_new(objects: int, ticks: int, settings: WorldSettings) -> tuple[list[float], list[float], list]:
    world = World(ScaledClock(60), settings)
    world.install_clock()
    make_buckets()
    world.install()
    try:
        s3_model: ReplicationModel = world.model("s3")  # type: ignore[assignment]
        for index in range(objects):
            s3_model.s3.put_object(SOURCE, f"objects/{index:06d}", b"x" * 64)
        assert len(s3_model.jobs()) == objects + 1, "every object pending, and the metrics publisher"
        # The first tick publishes the metrics periods that passed while the objects were written: not steady state.
        print(f"new   first tick (metrics catch-up) {timed(world.tick, 1)[0]:8.3f} ms")
        tick = timed(world.tick, ticks)
        # The S3 model's advance runs whole under its lock: that is how long an S3 call may wait.
        held = timed(lambda: s3_model.advance(world.now(), lambda job: False), ticks)
        keys = [job.key for job in s3_model.jobs() if hasattr(job, "key")]
        return tick, held, keys
    finally:
        world.uninstall()


def load_old_model(rev: str):
    """The S3 model as it was at `rev`, loaded from git under a name of its own."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:drtool/sandbox/s3_model.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_s3_model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_s3_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class OldWorld:
    """The little of the old World that its S3 model read."""

    def __init__(self, settings: WorldSettings):
        self.settings = settings
        self.clock = ScaledClock(60)
        self.replication_paused = False
        self.lock = threading.RLock()

    def now(self):
        return self.clock.now().replace(tzinfo=None)


def bench_old(rev: str, keys: list, ticks: int, settings: WorldSettings) -> tuple[list[float], list[float]]:
    old = load_old_model(rev)
    world = OldWorld(settings)
    model = old.ReplicationModel(world)
    route = old.ReplicationRoute(SOURCE, REGION, REPLICA, "bench", "")
    model.add_route(route)
    now = world.now()
    for key in keys:
        model.pending.append(old.PendingObject(route, key, now, now + timedelta(days=1)))

    def tick() -> None:
        # As the old World._advance: the whole replication advance under the one world lock.
        with world.lock:
            model.advance(world.now())

    print(f"old   first tick                    {timed(tick, 1)[0]:8.3f} ms")
    tick_times = timed(tick, ticks)
    return tick_times, tick_times  # the old tick held the lock from start to end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=30_000)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--old-rev", default="2823b6b", help="git revision with the old S3 model; '' to skip")
    args = parser.parse_args()
    # A day's lag: the backlog stays pending; app writes off, so only replication work is measured.
    settings = replace(WorldSettings(), replication_lag_min_seconds=86400, replication_lag_max_seconds=86400,
                       app_write_interval_seconds=0)
    with mock_aws():
        print(f"{args.objects} pending S3 replication objects, {args.ticks} ticks with nothing due", flush=True)
        tick, held, keys = bench_new(args.objects, args.ticks, settings)
        old = None
        if args.old_rev:
            try:
                old = bench_old(args.old_rev, keys, args.ticks, settings)
            except (subprocess.CalledProcessError, FileNotFoundError) as error:
                print(f"old model at {args.old_rev} not available: {error}", file=sys.stderr)
        if old is not None:
            print(describe("old", *old))
        print(describe("new", tick, held))
        if old is not None:
            print(f"old/new tick median: {statistics.median(old[0]) / statistics.median(tick):.0f}x")


if __name__ == "__main__":
    main()

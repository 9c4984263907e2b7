"""A fleet in the time of its slowest target: world time, wall time, peak memory and API calls of a sandbox fleet.

Side by side in one run of this script, each on a freshly seeded lab:
- the slowest single target alone (one database, one bucket pair, each drilled alone; the longer counts);
- a fleet of 10 targets (7 databases, 3 bucket pairs) and one of 70 (50 databases, 20 bucket pairs);
- the 70 again with the lab's RDS API admitting only its documented rate (`rate-limited`: a 300 burst, then 12/s).

Every database restores orders-db's newest DR-region snapshot, every pair replicates orders-data's buckets, as
a fleet of one engine and one bucket layout would. Each run is `drtool run` in a fresh process; its world time is
its journal's, from run-started to run-finished; its peak RSS is the process's (wait4's ru_maxrss).

    python bench/fleet.py                 # at the default time scale, x60
    python bench/fleet.py --time-scale 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from drtool.core.clock import format_duration  # noqa: E402
from drtool.sandbox.lab import Lab  # noqa: E402
from tests.helpers import WIDE, drill_file, lab_env  # noqa: E402

LAUNCHER = """
import os, sys, time
started = time.perf_counter()
with open(sys.argv[1], "wb") as log:
    pid = os.posix_spawn(sys.executable, [sys.executable, "-m", "drtool.cli", *sys.argv[2:]], os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, log.fileno(), 1), (os.POSIX_SPAWN_DUP2, log.fileno(), 2)])
    _, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def fleet(directory: Path, databases: int, pairs: int) -> Path:
    base = yaml.safe_load(drill_file(directory, "orders-db", "orders-data", **WIDE).read_text())
    database, pair = base["targets"]["orders-db"], base["targets"]["orders-data"]
    base["targets"] = {**{f"db-{i:02d}": database for i in range(databases)},
                       **{f"data-{i:02d}": pair for i in range(pairs)}}
    base["concurrency"] = {"max_parallel": databases + pairs}
    path = directory / f"fleet-{databases}-{pairs}.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    return path


def drill(lab: Lab, directory: Path, path: Path, faults: tuple[str, ...] = ()) -> dict:
    lab.reset(faults=faults)
    work = Path(tempfile.mkdtemp(dir=directory))
    env = {**lab_env(lab, work), "DRTOOL_HISTORY_DIR": str(work / "history")}
    import subprocess

    out = subprocess.run([sys.executable, "-c", LAUNCHER, str(work / "output.txt"), "run", str(path), "--no-history"],
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    wall, rss_kb, code = float(out[0]), int(out[1]), int(out[2])
    [journal] = (work / "journal").glob("*.jsonl")
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    moments = {r["event"]: r["mono"] for r in records if r["event"] in ("run-started", "run-finished")}
    calls = next(r for r in records if r["event"] == "api-calls")
    tests = {r["test"]: r["status"] for r in records if r["event"] == "test-outcome" and r["phase"] == "call"}
    return {"world_s": moments["run-finished"] - moments["run-started"], "wall_s": wall, "rss_mb": rss_kb / 1024,
            "exit": code, "passed": sum(status == "passed" for status in tests.values()), "tests": len(tests),
            "attempts": calls["attempts"], "throttled": calls["throttled"], "budget_waits": calls.get("budget_waits", 0),
            "describe_instances": calls["by_operation"].get("DescribeDBInstances", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=60.0)
    scale = parser.parse_args().time_scale
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        lab = Lab(time_scale=scale).start()
        try:
            rows = {
                "one database alone": drill(lab, directory, fleet(directory, 1, 0)),
                "one bucket pair alone": drill(lab, directory, fleet(directory, 0, 1)),
                "10 targets (7 + 3)": drill(lab, directory, fleet(directory, 7, 3)),
                "70 targets (50 + 20)": drill(lab, directory, fleet(directory, 50, 20)),
                "70 targets, RDS at 12/s": drill(lab, directory, fleet(directory, 50, 20), ("rate-limited",)),
            }
        finally:
            lab.stop()
    slowest = max(rows["one database alone"]["world_s"], rows["one bucket pair alone"]["world_s"])
    print(f"x{scale:g}; every run in a fresh process on a freshly seeded lab; world time from the run's journal\n")
    print(f"{'run':26} {'world':>9} {'/slowest':>8} {'wall':>7} {'peak RSS':>9} {'passed':>8} {'calls':>6} "
          f"{'Describe':>8} {'throttled':>9} {'waits':>6}")
    for name, row in rows.items():
        print(f"{name:26} {format_duration(row['world_s']):>9} {row['world_s'] / slowest:>7.2f}x {row['wall_s']:>6.1f}s "
              f"{row['rss_mb']:>7.0f}MB {row['passed']:>3}/{row['tests']:<4} {row['attempts']:>6} "
              f"{row['describe_instances']:>8} {row['throttled']:>9} {row['budget_waits']:>6}")
    print(f"\nRSS, 70 against 10 targets: {rows['70 targets (50 + 20)']['rss_mb'] / rows['10 targets (7 + 3)']['rss_mb']:.2f}x")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"bench took {time.monotonic() - started:.0f}s")
    os._exit(0)

"""How close the S3 drill's measured canary lag comes to the lag the sandbox injected.

Run: python bench/canary_lag.py [--canaries N] [--time-scale X]

Starts a lab in this process, records the lag its S3 model gives each canary
(due time minus write time, world seconds), runs the bundled drill's canary
scenario for the `orders-data` target with `drtool run`, and compares each
canary's measured lag (from the journal) with the injected one. The goal: within
2% of the injected lag, or 0.5 world seconds, whichever is larger. S3 dates
objects to the whole second, so the drill narrows each lag with its own polls
(one listing of the canary prefix per look, 1% of the time waited apart).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--canaries", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=120)
    args = parser.parse_args()

    from drtool.sandbox.lab import Lab
    from drtool.sandbox.s3_model import ReplicationModel

    injected: dict[str, float] = {}
    original = ReplicationModel.replicate

    def recording(model, item):
        injected[item.key.name] = (item.due - item.written_at).total_seconds()
        return original(model, item)

    ReplicationModel.replicate = recording
    drill = yaml.safe_load((REPO / "drills" / "sandbox.yaml").read_text())
    drill["features"] = [str((REPO / "drills" / f).resolve()) for f in drill["features"]]
    drill["targets"] = {"orders-data": drill["targets"]["orders-data"]}
    drill["targets"]["orders-data"]["canary"] = {"count": args.canaries, "sizes": ["1KiB", "64KiB"]}
    drill["tags"] = "canary"
    with tempfile.TemporaryDirectory() as work, Lab(time_scale=args.time_scale) as lab:
        path = Path(work) / "drill.yaml"
        path.write_text(yaml.safe_dump(drill, sort_keys=False))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **lab.environment(),
               "DRTOOL_JOURNAL_DIR": str(Path(work) / "journal"), "DRTOOL_HISTORY_DIR": str(Path(work) / "history")}
        done = subprocess.run([sys.executable, "-m", "drtool.cli", "run", str(path)], env=env, capture_output=True, text=True, check=False)
        journal = next((Path(work) / "journal").glob("*.jsonl"))
        records = [json.loads(line) for line in journal.read_text().splitlines()]
    measured = {r["key"]: (r["lag_s"], r["source"]) for r in records if r["event"] == "canary-replicated"}
    print(f"drtool run exit {done.returncode}; {len(measured)} canaries measured at x{args.time_scale:g}")
    print(f"{'canary':<48}{'injected s':>11}{'measured s':>11}{'error s':>9}{'error %':>9}  within")
    within = 0
    for key, (lag, source) in sorted(measured.items()):
        truth = injected[key]
        error = lag - truth
        allowed = max(0.02 * truth, 0.5)
        ok = abs(error) <= allowed
        within += ok
        print(f"{key.rsplit('/', 2)[-1]:<48}{truth:>11.2f}{lag:>11.2f}{error:>9.2f}{100 * error / truth:>8.1f}%  {'yes' if ok else 'NO'} ({source})")
    print(f"{within} of {len(measured)} within max(2%, 0.5 s)")


if __name__ == "__main__":
    main()

"""How fast drtool's completeness audit reads a bucket pair, against `aws s3 sync --dryrun` and `rclone check`.

Run: python bench/s3_audit.py [--objects 100000]

One sandbox lab, in a process of its own, holds two bucket pairs: one of
--objects objects a side and one a tenth of that, replicated and identical.
Each tool then compares each pair against that same endpoint, one after the
other, in a process of its own timed by /usr/bin/time (wall seconds, peak RSS).
drtool's audit also reports its own peak Python heap (tracemalloc), which is
what must stay flat when the bucket grows 10x. The machine is shared: read
the ratios, measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRIMARY, DR = "eu-west-1", "eu-central-1"


def serve(sizes: list[int]) -> None:
    """Start a lab, fill the bucket pairs straight into moto's backend (the API would take minutes), wait."""
    from moto.s3.models import s3_backends

    from drtool.sandbox.lab import Lab
    from drtool.sandbox.seed import ACCOUNT_ID

    lab = Lab(time_scale=1).start()
    env = lab.environment()
    import boto3

    for n in sizes:
        for bucket, region in ((f"bench-{n}-src", PRIMARY), (f"bench-{n}-rep", DR)):
            s3 = boto3.client("s3", region_name=region, endpoint_url=lab.endpoint,
                              aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    backend = s3_backends[ACCOUNT_ID]["aws"]
    for n in sizes:
        for i in range(n):
            key = f"exports/{i // 1000:04}/order-{i:07}.json"
            body = f'{{"order": {i}}}'.encode()
            backend.put_object(f"bench-{n}-src", key, body)
            backend.put_object(f"bench-{n}-rep", key, body)
    print(json.dumps({"endpoint": lab.endpoint, **{k: v for k, v in env.items() if k.startswith("AWS_")}}), flush=True)
    sys.stdin.read()  # until the parent closes the pipe
    lab.stop()


def audit(endpoint: str, n: int, checksum_sample: int) -> None:
    """drtool's audit of one pair, in this process: its own figures as JSON."""
    from drtool.core.clock import SystemClock
    from drtool.core.session import SessionFactory
    from drtool.families.s3_replication.audit import Sample, audit_replication

    os.environ["AWS_ENDPOINT_URL"] = endpoint
    clients = SessionFactory()  # as a drill makes its clients
    source, replica = clients.client("s3", PRIMARY), clients.client("s3", DR)
    tracemalloc.start()
    started = time.perf_counter()
    report = audit_replication(source, replica, f"bench-{n}-src", f"bench-{n}-rep", sample=Sample(keys=checksum_sample), now=SystemClock().now())
    took = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    assert report.clean and report.source_objects == n, report
    print(json.dumps({"seconds": took, "heap_peak_mb": peak / 2**20, "covered": report.covered}))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of a command, from /usr/bin/time, and its stdout."""
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    seconds, rss_kb = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(rss_kb) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--serve", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--audit", nargs=3, metavar=("ENDPOINT", "N", "SAMPLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    if args.audit:
        return audit(args.audit[0], int(args.audit[1]), int(args.audit[2]))

    sizes = [args.objects // 10, args.objects]
    lab = subprocess.Popen([sys.executable, __file__, "--serve", *map(str, sizes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    started = time.perf_counter()
    info = json.loads(lab.stdout.readline())
    print(f"lab with {sizes[0]:,} and {sizes[1]:,} objects a side ready in {time.perf_counter() - started:.0f} s at {info['endpoint']}")
    env = {**os.environ, **{k: v for k, v in info.items() if k.startswith("AWS_")}}
    env.pop("AWS_ENDPOINT_URL", None)
    # rclone takes AWS_CA_BUNDLE as a CA for its own transport, which it cannot use over plain HTTP.
    rclone_env = {**{k: v for k, v in env.items() if k != "AWS_CA_BUNDLE"}, "RCLONE_CONFIG_LAB_TYPE": "s3", "RCLONE_CONFIG_LAB_PROVIDER": "Other",
                  "RCLONE_CONFIG_LAB_ENDPOINT": info["endpoint"], "RCLONE_CONFIG_LAB_ACCESS_KEY_ID": info["AWS_ACCESS_KEY_ID"],
                  "RCLONE_CONFIG_LAB_SECRET_ACCESS_KEY": info["AWS_SECRET_ACCESS_KEY"], "RCLONE_CONFIG_LAB_REGION": PRIMARY}
    try:
        print(f"{'tool':<24}{'objects':>10}{'seconds':>10}{'objects/s':>12}{'peak RSS MB':>13}{'heap MB':>9}")
        for n in sizes:
            # Listings only, as the other two compare; then with the checksums of 1,000 objects compared as well.
            for sample, label in ((0, "drtool audit"), (1000, "  + 1,000 checksums")):
                seconds, rss, out = timed([sys.executable, __file__, "--audit", info["endpoint"], str(n), str(sample)], env)
                own = json.loads(out.strip().splitlines()[-1])
                print(f"{label:<24}{n:>10,}{own['seconds']:>10.2f}{n / own['seconds']:>12,.0f}{rss:>13.0f}{own['heap_peak_mb']:>9.1f}")
            if shutil.which("aws"):
                seconds, rss, _ = timed(["aws", "s3", "sync", "--dryrun", "--endpoint-url", info["endpoint"],
                                         f"s3://bench-{n}-src", f"s3://bench-{n}-rep"], env)
                print(f"{'aws s3 sync --dryrun':<24}{n:>10,}{seconds:>10.2f}{n / seconds:>12,.0f}{rss:>13.0f}{'-':>9}")
            if shutil.which("rclone"):
                seconds, rss, _ = timed(["rclone", "check", "--one-way", f"lab:bench-{n}-src", f"lab:bench-{n}-rep"], rclone_env)
                print(f"{'rclone check':<24}{n:>10,}{seconds:>10.2f}{n / seconds:>12,.0f}{rss:>13.0f}{'-':>9}")
        print(f"drtool covered: {own['covered']}")
    finally:
        lab.stdin.close()
        lab.wait(timeout=60)


if __name__ == "__main__":
    main()

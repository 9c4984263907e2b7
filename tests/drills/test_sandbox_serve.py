"""`drtool sandbox serve` prints what another process needs to use the lab, and that process sees the lab's world."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import boto3

from tests.helpers import WIDE, drill_file


def test_serve_prints_exports_that_other_processes_can_use(tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "drtool.cli", "sandbox", "serve", "--time-scale", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        exports: dict[str, str] = {}
        first = server.stdout.readline()
        assert first.startswith("drtool sandbox listening on http://127.0.0.1:"), first
        for line in server.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
                if name == "AWS_EC2_METADATA_DISABLED":
                    break
        assert exports["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")

        rds = boto3.client("rds", region_name="eu-west-1", endpoint_url=exports["AWS_ENDPOINT_URL"],
                           aws_access_key_id=exports["AWS_ACCESS_KEY_ID"], aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"])
        assert {"orders-db", "billing-db"} <= {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}

        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | exports | {"DRTOOL_JOURNAL_DIR": str(tmp_path)}
        # Wide objectives: at x600 a verdict on the real 30-minute RTO would hang on this machine's load.
        wide = drill_file(tmp_path, **WIDE)
        drill = subprocess.run([sys.executable, "-m", "drtool.cli", "run", str(wide)], env=env, capture_output=True, text=True, timeout=120)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert "(RTO 4h): met" in drill.stdout
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0


def test_serve_stops_cleanly_on_sigterm_even_when_started_with_sigint_ignored(tmp_path):
    """A container is stopped with SIGTERM; a shell's background job starts with SIGINT ignored. Both stop the lab."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        server = subprocess.Popen(
            [sys.executable, "-m", "drtool.cli", "sandbox", "serve"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            assert server.stdout.readline().startswith("drtool sandbox listening on http://127.0.0.1:")
            server.send_signal(signum)
            assert server.wait(timeout=60) == 0, signal.Signals(signum).name
        finally:
            server.kill()

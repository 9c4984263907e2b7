"""The one sandbox drill each report test module runs, and renders everything else from its journal.

Three scenarios: S3 canaries (evidence: which canary, its lag), orders-db restored with an RTO no machine can
breach, and billing-db with an RTO its snapshot copy alone overruns, so every report has a pass and a failure.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from drtool.sandbox.lab import Lab
from tests.helpers import drill_file, lab_env

TAGS = "restore or canary"
# billing-db's copy (about 8m) and restore (about 12m) overrun it, well before the wait's deadline (twice the RTO).
BREACHED_RTO = "15m"
WIDE_RTO = "4h"


def narrowed_drill(tmp_path: Path) -> Path:
    path = drill_file(tmp_path, "orders-db", "billing-db", "orders-data", rpo="48h")
    drill = yaml.safe_load(path.read_text())
    drill["targets"]["orders-db"]["objectives"]["rto"] = WIDE_RTO
    drill["targets"]["billing-db"]["objectives"]["rto"] = BREACHED_RTO
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


@dataclass
class Drilled:
    exit_code: int
    stdout: str
    stderr: str
    journal: Path
    reports: Path
    tmp_path: Path


def run_once(lab: Lab, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Drilled:
    """`drtool run` of the narrowed drill, not on a terminal, with stdout and stderr apart and a report set."""
    # x120, as a user runs the sandbox: 9 world minutes between the breach and the deadline are 4.5 real seconds.
    lab.reset(faults=(), time_scale=120, enforce_iam=False)
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "drtool.cli", "run", str(narrowed_drill(tmp_path)), "-m", TAGS,
               "--report-dir", str(reports), *args]
    done = subprocess.run(command, env={**lab_env(lab, tmp_path), **(env or {})}, capture_output=True, text=True,
                          cwd=tmp_path, timeout=180, stdin=subprocess.DEVNULL)
    [journal] = (tmp_path / "journal").glob("*.jsonl")
    return Drilled(done.returncode, done.stdout, done.stderr, journal, reports, tmp_path)

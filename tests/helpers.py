"""Shared helpers for tests that run drills against the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from junitparser import JUnitXml

from drtool.journal import read_journal
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import DR_REGION, PRIMARY_REGION
from drtool.safety.tagging import NAME_PREFIX, tags_to_dict

REPO = Path(__file__).resolve().parent.parent
SANDBOX_DRILL = REPO / "drills" / "sandbox.yaml"


def client(lab: Lab, service: str, region: str = DR_REGION, config: Config | None = None):
    """A plain boto3 client pointed at the lab, as any other tool would build one.

    By default it retries patiently: the lab's throttling fault applies to the tests' own checks too.
    """
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=lab.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config or Config(retries={"mode": "standard", "max_attempts": 30}),
    )


def drill_resources(lab: Lab) -> list[str]:
    """Every resource in the lab that a drill made (by name prefix or tag), in both regions."""
    found = []
    for region in (PRIMARY_REGION, DR_REGION):
        rds = client(lab, "rds", region)
        for instance in rds.describe_db_instances()["DBInstances"]:
            tags = tags_to_dict(instance.get("TagList"))
            if instance["DBInstanceIdentifier"].startswith(NAME_PREFIX) or tags.get("created-by") == "drtool":
                found.append(f"{region} instance {instance['DBInstanceIdentifier']} ({instance['DBInstanceStatus']})")
        for snapshot in rds.describe_db_snapshots()["DBSnapshots"]:
            if snapshot["DBSnapshotIdentifier"].startswith(NAME_PREFIX):
                found.append(f"{region} snapshot {snapshot['DBSnapshotIdentifier']}")
        # RDS-managed master passwords live in secrets that must go with their instance.
        for secret in client(lab, "secretsmanager", region).list_secrets()["SecretList"]:
            if secret["Name"].startswith("rds!"):
                found.append(f"{region} secret {secret['Name']}")
    return found


def production_state(lab: Lab) -> dict[str, Any]:
    """What a drill must never change: the source instances, their snapshots, and the keys."""
    state: dict[str, Any] = {}
    for region in (PRIMARY_REGION, DR_REGION):
        rds = client(lab, "rds", region)
        state[f"{region}/instances"] = sorted(
            (i["DBInstanceIdentifier"], i["DBInstanceStatus"]) for i in rds.describe_db_instances()["DBInstances"]
            if not i["DBInstanceIdentifier"].startswith(NAME_PREFIX)
        )
        state[f"{region}/snapshots"] = sorted(
            (s["DBSnapshotIdentifier"], s["Status"]) for s in rds.describe_db_snapshots()["DBSnapshots"]
            if not s["DBSnapshotIdentifier"].startswith(NAME_PREFIX)
        )
        kms = client(lab, "kms", region)
        # AWS-managed keys (alias/aws/secretsmanager, for RDS-managed passwords) appear on first use: AWS's, not ours.
        state[f"{region}/keys"] = sorted(
            (a["AliasName"], kms.describe_key(KeyId=a["TargetKeyId"])["KeyMetadata"]["KeyState"])
            for a in kms.list_aliases()["Aliases"]
            if "TargetKeyId" in a and not a["AliasName"].startswith("alias/aws/")
        )
    return state


@dataclass
class DrillRunOutcome:
    exit_code: int
    output: str
    journal: list[dict[str, Any]]
    junit: JUnitXml | None

    def verdicts(self) -> list[str]:
        return [r["line"] for r in self.journal if r["event"] == "note"]

    def measurements(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (r["measurement"]["target"], r["measurement"]["name"]): r["measurement"]
            for r in self.journal
            if r["event"] == "note" and "measurement" in r
        }


def lab_env(lab: Lab, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(lab.environment())
    env["DRTOOL_JOURNAL_DIR"] = str(tmp_path / "journal")
    env["COLUMNS"] = "200"
    return env


def start_drill(lab: Lab, tmp_path: Path, *args: str, command: tuple[str, ...] | None = None) -> subprocess.Popen:
    junit = tmp_path / "junit.xml"
    cmd = list(command or (sys.executable, "-m", "drtool.cli", "run", str(SANDBOX_DRILL), "--junit-xml", str(junit)))
    return subprocess.Popen(
        cmd + list(args), env=lab_env(lab, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
    )


def finish_drill(proc: subprocess.Popen, tmp_path: Path, timeout: float = 120) -> DrillRunOutcome:
    output, _ = proc.communicate(timeout=timeout)
    journals = sorted((tmp_path / "journal").glob("*.jsonl"))
    journal = read_journal(journals[-1]) if journals else []
    junit_path = tmp_path / "junit.xml"
    junit = JUnitXml.fromfile(str(junit_path)) if junit_path.exists() else None
    return DrillRunOutcome(proc.returncode, output, journal, junit)


def run_drill(lab: Lab, tmp_path: Path, *args: str, timeout: float = 120) -> DrillRunOutcome:
    return finish_drill(start_drill(lab, tmp_path, *args), tmp_path, timeout)


def wait_for_journal_event(tmp_path: Path, event: str, timeout: float = 60, **match: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (tmp_path / "journal").glob("*.jsonl"):
            for record in read_journal(path):
                if record["event"] == event and all(record.get(k) == v for k, v in match.items()):
                    return record
        time.sleep(0.05)
    raise AssertionError(f"no {event} {match or ''} in the journal within {timeout}s")


def interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    proc.send_signal(sig)


def single_target_drill(tmp_path: Path, target: str) -> Path:
    text = SANDBOX_DRILL.read_text().replace("../features/", f"{REPO}/features/")
    from drtool.validate import check_drill_file

    loaded = check_drill_file(SANDBOX_DRILL)
    for other in loaded.drill.targets:
        if other != target:
            start = text.index(f"  {other}:\n")
            end = text.find("\n\n", start)
            text = text[:start] + (text[end + 2 :] if end != -1 else "")
    path = tmp_path / "one-target.yaml"
    path.write_text(text)
    assert list(check_drill_file(path).drill.targets) == [target]
    return path

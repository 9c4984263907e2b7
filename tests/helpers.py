"""Shared helpers for tests that run drills against the sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from junitparser import JUnitXml

from drtool.commands.cleanup import CLEANUP_KINDS
from drtool.core.journal import read_journal
from drtool.core.registry import FAMILIES_ENV, FamilyRegistry, families
from drtool.core.tagging import NAME_PREFIX, tags_to_dict
from drtool.drill.validate import check_drill_file
from drtool.sandbox.lab import Lab
from drtool.sandbox.requests import ProductionNames, touches
from drtool.sandbox.seed import ACCOUNT_ID, DR_REGION, PRIMARY_REGION

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
SANDBOX_DRILL = REPO / "drills" / "sandbox.yaml"
# Objectives no load can breach, for drills whose verdict is not the point of the test. A KMS round trip is a real
# request's latency in world time: at x600 the sandbox drill's 1-minute objective is a tenth of a real second; a
# canary's lag is bracketed by polls, each a real moment late, so at x1200 a busy second is 20 world minutes.
WIDE = {"rto": "4h", "rpo": "48h", "max_round_trip": "1h", "max_lag": "1h"}

# scripts/test sets it once it has installed every tool the tests run for real (Debian's chromium and
# prometheus-pushgateway): from then on a missing tool is a failure, so CI can never pass without its test.
REQUIRE_TOOLS_ENV = "DRTOOL_TESTS_REQUIRE_TOOLS"


def installed_tool(name: str, *, package: str) -> str:
    """The path of the program `name`, which Debian's `package` installs and scripts/test installs where missing.

    Missing under scripts/test (DRTOOL_TESTS_REQUIRE_TOOLS=1): a failure naming the tool. Missing under a bare
    pytest: a skip naming it, and how to get it.
    """
    found = shutil.which(name)
    if found:
        return found
    missing = f"{name} is not on PATH (Debian's {package}: apt-get install {package}, or run scripts/test, which does)"
    if os.environ.get(REQUIRE_TOOLS_ENV) == "1":
        pytest.fail(f"{missing}; {REQUIRE_TOOLS_ENV}=1 makes a missing tool a failure", pytrace=False)
    pytest.skip(missing)


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


TOY_DRILL = REPO / "tests" / "families" / "toy_ssm" / "toy.yaml"
TOY_FAMILIES_ENV = {FAMILIES_ENV: "tests.families.toy_ssm.family", "PYTHONPATH": str(REPO)}


def families_under_test() -> FamilyRegistry:
    """drtool's families and the tests' toy one."""
    from tests.families.toy_ssm.family import FAMILY as TOY

    installed = families()
    return FamilyRegistry([*installed, *([] if TOY.kind in installed.kinds else [TOY])])


def drill_resources(lab: Lab) -> list[str]:
    """Every resource in the lab that a drill made, of every family's kinds (by name prefix or tag), in both regions."""
    registry = families_under_test()
    kinds = [*registry.resource_kinds, *CLEANUP_KINDS]
    found = []
    # What the families find through the sandbox drill's targets: S3 canaries in its buckets.
    targets = check_drill_file(SANDBOX_DRILL).drill.targets.values()
    for kind, target in registry.target_finders(targets):
        for left in kind.find_for_target(lambda service, region: client(lab, service, region), target, PRIMARY_REGION, lab.clock.now()):
            found.append(f"{left.region} {left.kind} {left.label} ({left.status})")
    for region in (PRIMARY_REGION, DR_REGION):
        for kind in (kind for kind in kinds if kind.find is not None):
            for left in kind.find(client(lab, kind.service, region), region, lab.clock.now()):
                found.append(f"{region} {left.kind} {left.label} ({left.status})")
        rds = client(lab, "rds", region)
        # Tagged as a drill's but not named as one: a drill that named a resource wrongly.
        for instance in rds.describe_db_instances()["DBInstances"]:
            tags = tags_to_dict(instance.get("TagList"))
            if not instance["DBInstanceIdentifier"].startswith(NAME_PREFIX) and tags.get("created-by") == "drtool":
                found.append(f"{region} rds-instance {instance['DBInstanceIdentifier']} ({instance['DBInstanceStatus']}), tagged")
        # RDS-managed master passwords live in secrets that must go with their instance.
        for secret in client(lab, "secretsmanager", region).list_secrets()["SecretList"]:
            if secret["Name"].startswith("rds!"):
                found.append(f"{region} secret {secret['Name']}")
    return found


def production_state(lab: Lab, *, drill_named: bool = False) -> dict[str, str]:
    """The state of what a drill could change in production: instances, snapshots and keys, each with its status.

    With `drill_named`, drill-named resources too (those that exist before a run are not its own)."""
    state: dict[str, str] = {}
    for region in (PRIMARY_REGION, DR_REGION):
        rds = client(lab, "rds", region)
        for instance in rds.describe_db_instances()["DBInstances"]:
            state[f"{region} instance {instance['DBInstanceIdentifier']}"] = instance["DBInstanceStatus"]
        for snapshot in rds.describe_db_snapshots()["DBSnapshots"]:
            state[f"{region} snapshot {snapshot['DBSnapshotIdentifier']}"] = snapshot["Status"]
        kms = client(lab, "kms", region)
        # AWS-managed keys (alias/aws/secretsmanager, for RDS-managed passwords) appear on first use: AWS's, not ours.
        for alias in kms.list_aliases()["Aliases"]:
            if "TargetKeyId" in alias and not alias["AliasName"].startswith("alias/aws/"):
                state[f"{region} key {alias['AliasName']}"] = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]["KeyState"]
    return {name: status for name, status in state.items() if drill_named or not name.split(" ", 2)[2].startswith(NAME_PREFIX)}


@contextmanager
def production_untouched(lab: Lab) -> Iterator[None]:
    """Fails unless, during the block, no mutating request named a resource that existed before it, and none changed.

    A drill-named resource that existed before the block counts as production: the run did not create it.

    The request log is the proof; the state comparison catches what no request names (a side effect).
    Resources that appear during the block (the world's nightly backups) are production working, not a change.
    """
    position = lab.requests.position
    # What exists now is not the block's to change, drill-named or not: a name prefix proves no ownership.
    names_before = lab.production_names(drill_named=True)
    before = production_state(lab, drill_named=True)
    yield
    production = ProductionNames(names_before.names | lab.production_names().names, names_before.buckets)
    touched = [str(request) for request in touches(lab.requests.since(position), production)]
    assert touched == [], "mutating requests named production resources"
    after = production_state(lab, drill_named=True)
    changed = {name: f"{status} -> {after.get(name, 'gone')}" for name, status in before.items() if after.get(name) != status}
    assert changed == {}, "production resources changed"


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 30.0, what: str = "the condition") -> T:
    """Poll `probe` until `done(value)`; the timeout only matters when something is broken."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s; last value {value!r}")
        time.sleep(0.02)


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
            if r["event"] == "note" and r.get("measurement")
        }


def lab_env(lab: Lab, tmp_path: Path) -> dict[str, str]:
    # Not AWS's settings, and not GitHub's step summary: a test's drill must not write on the job's page.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "GITHUB_STEP_SUMMARY"}
    env.update(lab.environment())
    env["DRTOOL_JOURNAL_DIR"] = str(tmp_path / "journal")
    # Each drill its own history store and run lock, even one a module-scoped fixture starts before the test's own.
    env.setdefault("DRTOOL_HISTORY_DIR", str(tmp_path / "history"))
    env["COLUMNS"] = "200"
    return env


def start_drill(lab: Lab, tmp_path: Path, *args: str, drill: Path = SANDBOX_DRILL, command: tuple[str, ...] | None = None,
                env: dict[str, str] | None = None) -> subprocess.Popen:
    """`drtool run DRILL --junit-xml tmp_path/junit.xml ARGS` (or `command`) against the lab, journaling under tmp_path."""
    junit = tmp_path / "junit.xml"
    cmd = list(command or (sys.executable, "-m", "drtool.cli", "run", str(drill), "--junit-xml", str(junit)))
    return subprocess.Popen(
        cmd + list(args), env={**lab_env(lab, tmp_path), **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=tmp_path,
    )


def finish_drill(proc: subprocess.Popen, tmp_path: Path, timeout: float = 120) -> DrillRunOutcome:
    output, _ = proc.communicate(timeout=timeout)
    journals = sorted((tmp_path / "journal").glob("*.jsonl"))
    journal = read_journal(journals[-1]) if journals else []
    junit_path = tmp_path / "junit.xml"
    junit = JUnitXml.fromfile(str(junit_path)) if junit_path.exists() else None
    return DrillRunOutcome(proc.returncode, output, journal, junit)


def run_drill(lab: Lab, tmp_path: Path, *args: str, drill: Path = SANDBOX_DRILL, timeout: float = 120) -> DrillRunOutcome:
    return finish_drill(start_drill(lab, tmp_path, *args, drill=drill), tmp_path, timeout)


def wait_for_journal_event(tmp_path: Path, event: str, timeout: float = 60, **match: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (tmp_path / "journal").glob("*.jsonl"):
            for record in read_journal(path):
                if record["event"] == event and all(record.get(k) == v for k, v in match.items()):
                    return record
        time.sleep(0.05)
    raise AssertionError(f"no {event} {match or ''} in the journal within {timeout}s")


def drill_file(tmp_path: Path, *targets: str, source: Path = SANDBOX_DRILL, **objectives: str) -> Path:
    """A sandbox drill (`source`), narrowed to `targets` (all if none), with `objectives` (rto="4h", ...) for each that has them."""
    drill = yaml.safe_load(source.read_text())
    drill["features"] = [str((source.parent / feature).resolve()) for feature in drill["features"]]
    assert set(targets) <= set(drill["targets"]), f"no such sandbox targets: {set(targets) - set(drill['targets'])}"
    drill["targets"] = {name: target for name, target in drill["targets"].items() if not targets or name in targets}
    for target in drill["targets"].values():
        # Each family has its own objectives: a target takes those it already states (an RTO for a database).
        # (A family may have none: a secret's rotation maximum is part of what the drill checks, not an objective.)
        found = target.get("objectives", {})
        found.update({name: value for name, value in objectives.items() if name in found})
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


def as_role(lab: Lab, role_arn: str, session_name: str = "drtool-test"):
    """`client(service, region)` for clients signed with credentials STS issued for `role_arn` (assumed with the
    lab's default identity), as a user's script acting as that role would build them."""
    credentials = client(lab, "sts", PRIMARY_REGION).assume_role(
        RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
    session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"])
    return lambda service, region=DR_REGION: session.client(service, region_name=region, endpoint_url=lab.endpoint)


# A role trust policy that lets any principal of the lab's account whose IAM allows it assume the role.
TRUST_THE_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}]})


def refusal(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    """The error code and message AWS refuses `call(**kwargs)` with; fails the test if it succeeds."""
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]

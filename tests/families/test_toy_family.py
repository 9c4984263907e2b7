"""The seam: a family defined only under tests/ plugs in without an edit under drtool/.

With the toy ssm-parameter family registered (DRTOOL_FAMILIES), `drtool plan`,
`permissions`, `run` and `cleanup` handle it, the guard protects its resources,
the reports show its figure, and the fault matrix breaks it at every step
(tests/safety/matrix.py derives its families from the registry).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from drtool.core.guard import CallContext, Guard, GuardRefused
from drtool.core.registry import FAMILIES_ENV, families
from drtool.core.results import summarize
from drtool.core.tagging import drill_tags, resource_name
from drtool.drill.file import drill_model
from drtool.sandbox.seed import DR_REGION, PRIMARY_REGION
from tests.helpers import (
    families_under_test,
    REPO,
    TOY_DRILL,
    TOY_FAMILIES_ENV,
    client,
    drill_resources,
    finish_drill,
    lab_env,
    production_untouched,
    start_drill,
)

KILLED = "a1b2c3d4"


def drtool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A drtool command, by default with the toy family registered and no AWS settings."""
    return subprocess.run([sys.executable, "-m", "drtool.cli", *args], env=env or {**no_aws_env(), **TOY_FAMILIES_ENV},
                          capture_output=True, text=True, timeout=120, cwd=REPO, stdin=subprocess.DEVNULL)


def no_aws_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_") and name != FAMILIES_ENV}


@pytest.fixture
def toy_registered(monkeypatch):
    """The toy family registered in this process, as DRTOOL_FAMILIES registers it in a drtool command."""
    monkeypatch.setenv(FAMILIES_ENV, TOY_FAMILIES_ENV[FAMILIES_ENV])
    families.cache_clear()
    drill_model.cache_clear()
    yield
    families.cache_clear()
    drill_model.cache_clear()


def test_without_the_family_its_drill_file_is_invalid():
    result = drtool("validate", str(TOY_DRILL), env=no_aws_env())
    assert result.returncode == 2
    assert "unknown target kind 'ssm-parameter'; expected one of: kms-key, rds-instance, s3-replication, secret\n" in result.stderr


def test_plan_and_permissions_show_it():
    plan = drtool("plan", str(TOY_DRILL))
    assert plan.returncode == 0, plan.stderr
    assert "read      ssm:DescribeParameters                 eu-central-1" in plan.stdout  # its preflight
    assert "MUTATING  ssm:PutParameter                       eu-central-1" in plan.stdout
    assert "ssm-parameter drtool-<run-id>-settings in eu-central-1; standard parameters: free" in plan.stdout

    permissions = drtool("permissions", str(TOY_DRILL), "--account-id", "123456789012")
    assert permissions.returncode == 0, permissions.stderr
    statements = {s["Sid"]: s for s in json.loads(permissions.stdout)["Statement"]}
    assert statements["WriteDrillParameters"]["Action"] == ["ssm:AddTagsToResource", "ssm:PutParameter"]
    assert statements["DeleteDrillParameters"]["Resource"] == ["arn:aws:ssm:eu-central-1:123456789012:parameter/drtool-*"]


def test_its_drill_runs_in_the_lab_and_the_reports_show_its_figure(lab, tmp_path):
    with production_untouched(lab):
        outcome = finish_drill(start_drill(lab, tmp_path, drill=TOY_DRILL, env=TOY_FAMILIES_ENV), tmp_path)

    assert outcome.exit_code == 0, outcome.output
    measured = outcome.measurements()[("settings", "write-read")]
    assert measured["met"] and 0 < measured["measured_s"] <= measured["objective_s"] == 300
    assert re.search(r"write-read .*\n(.*\n)*.*\d[\dhms]* / 5m", outcome.output), "the summary's columns are the family's figures"
    [case] = [case for suite in outcome.junit for case in suite]
    properties = {p.get("name"): p.get("value") for p in case._elem.iter("property")}
    assert float(properties["write-read.measured_s"]) == measured["measured_s"]
    assert [r["kind"] for r in outcome.journal if r["event"] == "resource-deleted"] == ["ssm-parameter"]
    # The toy's own journal event reaches the results through the handler it registers.
    [test] = summarize(outcome.journal, families_under_test()).tests.values()
    assert re.fullmatch(r"drtool-\w+-settings read back after [1-9]\d* read\(s\)", test.timeline[-1].text), test.timeline
    assert drill_resources(lab) == []


def test_cleanup_removes_what_a_killed_run_left_and_nothing_else(lab, tmp_path):
    ssm = client(lab, "ssm", DR_REGION)
    left = resource_name(KILLED, "settings")
    ssm.put_parameter(Name=left, Value="x", Type="String", Tags=drill_tags(KILLED, "toy", "settings", lab.clock.now()))
    untagged = resource_name("c0ffee00", "settings")
    ssm.put_parameter(Name=untagged, Value="x", Type="String")
    assert any(left in line for line in drill_resources(lab))

    with production_untouched(lab):
        result = drtool("cleanup", "--region", DR_REGION, "--yes", env={**lab_env(lab, tmp_path), **TOY_FAMILIES_ENV})

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"deleted: ssm-parameter {left} in {DR_REGION}" in result.stdout
    assert untagged in result.stdout.split("Drill-named but untagged: not touched", 1)[1]
    names = {p["Name"] for p in ssm.describe_parameters()["Parameters"]}
    assert left not in names and untagged in names


def test_the_guard_protects_it(toy_registered):
    guard = Guard(run_id=KILLED, dr_region=DR_REGION)
    tags = drill_tags(KILLED, "toy", "settings", datetime.now(timezone.utc))

    def refusal(operation: str, region: str = DR_REGION, **params) -> str:
        with pytest.raises(GuardRefused) as refused:
            guard.check(CallContext("ssm", operation, region, params))
        return str(refused.value)

    assert "not named for this run" in refusal("PutParameter", Name="/prod/orders/db-url", Tags=tags)
    assert "without the tags" in refusal("PutParameter", Name=resource_name(KILLED, "settings"))
    assert "only in the DR region" in refusal("PutParameter", PRIMARY_REGION, Name=resource_name(KILLED, "settings"), Tags=tags)
    assert "not a drill resource" in refusal("DeleteParameter", Name="/prod/orders/db-url")
    assert "never changes" in refusal("LabelParameterVersion", Name=resource_name(KILLED, "settings"))
    guard.check(CallContext("ssm", "PutParameter", DR_REGION, {"Name": resource_name(KILLED, "settings"), "Tags": tags}))
    # A drill-shaped name proves nothing: a delete needs this run's confirmed creation (or tags read back from AWS).
    assert "not created by this run" in refusal("DeleteParameter", Name=resource_name(KILLED, "settings"))
    guard.ownership.confirm("ssm", DR_REGION, resource_name(KILLED, "settings"))
    guard.check(CallContext("ssm", "DeleteParameter", DR_REGION, {"Name": resource_name(KILLED, "settings")}))

"""A drill file's own step modules (`steps:`): validate, plan, permissions and run all take them.

The drill is the toy family's, with a feature whose last step lives in tests/families/custom_steps, a module no
family names. Without `steps:` drtool would refuse the drill ("no step implementation").
"""

from __future__ import annotations

import json

import botocore.endpoint
import pytest
import yaml
from typer.testing import CliRunner

from drtool.cli import app
from tests.families.test_toy_family import drtool, toy_registered  # noqa: F401 - a fixture
from tests.helpers import REPO, TOY_FAMILIES_ENV, drill_resources, finish_drill, production_untouched, start_drill

CUSTOM_DRILL = REPO / "tests" / "families" / "custom_steps" / "custom.yaml"
CUSTOM_STEP = "Then the drill parameter carries this run's tags"


def custom_drill(tmp_path, steps) -> str:
    """The custom drill with another `steps:` value (None: without the key), its feature still found."""
    drill = yaml.safe_load(CUSTOM_DRILL.read_text())
    drill["features"] = [str(CUSTOM_DRILL.parent / feature) for feature in drill["features"]]
    drill.pop("steps")
    if steps is not None:
        drill["steps"] = steps
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return str(path)


def line_of(path: str, text: str) -> int:
    return next(number for number, line in enumerate(open(path).read().splitlines(), 1) if text in line)


@pytest.fixture
def no_aws_calls(monkeypatch):
    sent = []
    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", lambda self, *a, **k: sent.append(a) or pytest.fail("AWS was called"))
    return sent


def test_validate_takes_the_drills_step_modules(tmp_path):
    result = drtool("validate", str(CUSTOM_DRILL))
    assert result.returncode == 0, result.stderr
    without = drtool("validate", custom_drill(tmp_path, None))
    assert without.returncode == 2
    assert f"no step implementation for '{CUSTOM_STEP}'" in without.stderr


@pytest.mark.parametrize("module, problem", [
    ("tests.families.custom_steps.missing", "cannot import step module 'tests.families.custom_steps.missing': ModuleNotFoundError"),
    ("tests.helpers", "step module 'tests.helpers' defines no pytest-bdd steps"),
    ("my-steps", "String should match pattern"),
])
def test_a_bad_step_module_is_a_located_problem_and_no_aws_call(tmp_path, toy_registered, no_aws_calls, module, problem):  # noqa: F811
    path = custom_drill(tmp_path, ["tests.families.custom_steps.steps", module])
    result = CliRunner().invoke(app, ["validate", path])
    assert result.exit_code == 2
    assert f"{path}:{line_of(path, module)}: steps.1: {problem}" in result.output
    assert no_aws_calls == []


def test_plan_and_permissions_include_what_the_custom_steps_declare():
    plan = drtool("plan", str(CUSTOM_DRILL))
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    step = lines.index(f"  {CUSTOM_STEP}")
    assert lines[step + 1].split() == ["read", "ssm:ListTagsForResource", "eu-central-1"]

    permissions = drtool("permissions", str(CUSTOM_DRILL), "--account-id", "123456789012")
    assert permissions.returncode == 0, permissions.stderr
    statements = {s["Sid"]: s for s in json.loads(permissions.stdout)["Statement"]}
    assert statements["ReadDrillParameters"]["Action"] == ["ssm:ListTagsForResource"]


def test_a_run_executes_the_custom_step(lab, tmp_path):
    outcome = finish_drill(start_drill(lab, tmp_path, drill=CUSTOM_DRILL, env=TOY_FAMILIES_ENV), tmp_path)

    assert outcome.exit_code == 0, outcome.output
    passed = [r["step"] for r in outcome.journal if r["event"] == "step-passed"]
    assert passed[-1] == CUSTOM_STEP.removeprefix("Then ")
    run_id = outcome.journal[0]["run_id"]
    assert f"settings: drtool-{run_id}-settings tagged drtool:run-id={run_id}" in outcome.verdicts()
    assert drill_resources(lab) == []


UNDECLARED = """
from pytest_bdd import then


@then("the drill parameter carries this run's tags")
def tagged_for_the_run(target, written):
    target.client("ssm", target.run.drill.dr_region).list_tags_for_resource(ResourceType="Parameter", ResourceId=written.name)
"""


@pytest.mark.parametrize("command", ["plan", "permissions"])
def test_a_custom_step_without_declared_calls_cannot_be_planned(tmp_path, monkeypatch, toy_registered, no_aws_calls, command):  # noqa: F811
    (tmp_path / "undeclared_dr_steps.py").write_text(UNDECLARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = custom_drill(tmp_path, ["undeclared_dr_steps"])
    assert CliRunner().invoke(app, ["validate", path]).exit_code == 0, "it can run; it cannot be planned"
    result = CliRunner().invoke(app, [command, path])
    assert result.exit_code == 2
    assert "tagged_for_the_run: neither an @operation nor declared with @calls" in result.output
    assert no_aws_calls == []


def test_a_skip_verdict_is_reported_as_skipped_with_its_reason(lab, tmp_path):
    drill = yaml.safe_load(CUSTOM_DRILL.read_text())
    drill["features"] = [str(CUSTOM_DRILL.parent / "versions.feature")]
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False))

    outcome = finish_drill(start_drill(lab, tmp_path, drill=path, env=TOY_FAMILIES_ENV), tmp_path)

    assert outcome.exit_code == 0, outcome.output
    [case] = [case for suite in outcome.junit for case in suite]
    [skipped] = case.result
    assert skipped._tag == "skipped" and skipped.message.endswith("was written once by this drill; it has no earlier versions")
    [recorded] = [r for r in outcome.journal if r["event"] == "test-outcome"]
    assert (recorded["status"], recorded["traceback"]) == ("skipped", "")
    assert "0 met, 0 failed, 0 errors, 1 skipped" in outcome.output
    assert drill_resources(lab) == [], "a skipped scenario still tears down what it created"


def test_every_client_a_custom_step_builds_is_guarded(lab, tmp_path):
    """Issue 16 part 3: run.aws.session, .resource, as_role(...).session, boto3.client/resource/Session and a raw
    botocore session, and a client made before the run: each refused, nothing sent to production, the drill not MET."""
    drill = yaml.safe_load(CUSTOM_DRILL.read_text())
    drill["features"] = [str(CUSTOM_DRILL.parent / "reach.feature")]
    drill["steps"] = ["tests.families.custom_steps.reach"]
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False))

    with production_untouched(lab):
        outcome = finish_drill(start_drill(lab, tmp_path, drill=path, env=TOY_FAMILIES_ENV), tmp_path)

    tried = {line.split(": ", 1)[0].removeprefix("reach "): line.split(": ", 1)[1]
             for line in outcome.verdicts() if line.startswith("reach ")}
    assert len(tried) == 13, outcome.output
    assert {name: result for name, result in tried.items() if result != "refused"} == {}
    refused = [r for r in outcome.journal if r["event"] == "guard-refused"]
    assert {(r["service"], r["operation"]) for r in refused} == {("s3", "PutObject"), ("rds", "AddTagsToResource")}
    assert len(refused) == 14, "each attempt, and the second scenario's"
    assert outcome.exit_code == 3, outcome.output
    statuses = sorted(r["status"] for r in outcome.journal if r["event"] == "test-outcome" and r["phase"] == "call")
    assert "error" in statuses, statuses

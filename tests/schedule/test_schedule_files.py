"""The monthly schedule in deploy/, each file read by a real parser of its kind: what each says, and that they agree.

Every file runs the same drill file at the same time of the month; every `drtool run` it starts uses options that
exist; the reports and the journal are kept even when the drill fails.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from typing import Any

import hcl2
import pytest
import typer.main
import yaml
from dockerfile_parse import DockerfileParser

from drtool.cli import app
from drtool.drill.validate import check_drill_file
from tests.helpers import REPO

DEPLOY = REPO / "deploy"
GITHUB = DEPLOY / "github" / "monthly-drill.yml"
GITLAB = DEPLOY / "gitlab" / "monthly-drill.gitlab-ci.yml"
CRONJOB = DEPLOY / "kubernetes" / "cronjob.yaml"
TERRAFORM = DEPLOY / "terraform"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
DRILL = "drills/monthly.yaml"
CRON = "17 6 3 * *"  # 06:17 on the 3rd
def _run_options() -> set[str]:
    command = typer.main.get_command(app).commands["run"]
    return {name for param in command.params for name in getattr(param, "opts", []) if name.startswith("-")}


def _check_drtool_run(argv: list[str]) -> dict[str, str]:
    """A `drtool run` command line: it runs the monthly drill, with options `drtool run` has. Returns option -> value."""
    assert argv[:2] == ["run", DRILL], argv
    options = {token: value for token, value in zip(argv, argv[1:] + [""]) if token.startswith("--")}
    unknown = set(options) - _run_options()
    assert not unknown, f"drtool run has no option {sorted(unknown)}"
    assert "--junit-xml" in options and "--report-dir" in options
    return options


def _check_cron(expression: str) -> None:
    """Five fields, each in range; the minute is not 0, the busy top of the hour."""
    fields = expression.split()
    assert len(fields) == 5, expression
    for field, (low, high) in zip(fields, ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))):
        if field != "*":
            assert field.isdigit() and low <= int(field) <= high, (expression, field)
    assert fields[0] not in ("0", "*"), "a schedule at the top of the hour is delayed or dropped at busy times"


def test_the_drill_the_schedules_run_is_a_valid_production_shaped_drill_of_every_family():
    loaded = check_drill_file(REPO / DRILL)
    assert {target.kind for target in loaded.drill.targets.values()} == {"rds-instance", "s3-replication", "kms-key", "secret"}
    assert loaded.drill.publish.cloudwatch is not None and loaded.drill.publish.sns is not None
    assert loaded.drill.budget is not None and loaded.drill.aws.role_arn


# --- GitHub Actions ------------------------------------------------------------------------------


def _github() -> dict[str, Any]:
    workflow = yaml.safe_load(GITHUB.read_text())
    workflow["on"] = workflow.pop(True)  # YAML 1.1 reads the bare key `on` as true; GitHub reads it as "on"
    return workflow


def _step(steps: list[dict[str, Any]], uses: str) -> dict[str, Any]:
    [step] = [step for step in steps if step.get("uses", "").startswith(uses + "@")]
    return step


def test_github_runs_monthly_off_the_hour_with_an_oidc_role_and_keeps_its_reports_whatever_happens():
    workflow = _github()
    [schedule] = workflow["on"]["schedule"]
    assert schedule["cron"] == CRON
    _check_cron(schedule["cron"])
    assert workflow["permissions"]["id-token"] == "write", "OIDC needs the job's ID token"
    assert workflow["concurrency"]["cancel-in-progress"] is False, "a second start must not kill a drill mid-teardown"
    steps = workflow["jobs"]["drill"]["steps"]

    credentials = _step(steps, "aws-actions/configure-aws-credentials")["with"]
    assert credentials["role-to-assume"].startswith("arn:aws:iam::") and "aws-access-key-id" not in credentials
    [run] = [step["run"] for step in steps if "drtool run" in step.get("run", "")]
    options = _check_drtool_run(shlex.split(run)[1:])
    assert steps.index(_step(steps, "aws-actions/configure-aws-credentials")) < [s.get("run") for s in steps].index(run)

    junit = _step(steps, "mikepenz/action-junit-report")
    assert junit["if"] == "always()" and junit["with"]["report_paths"] == options["--junit-xml"]
    kept = _step(steps, "actions/upload-artifact")
    assert kept["if"] == "always()", "a failed drill's reports matter most"
    for path in (options["--junit-xml"], options["--report-dir"], options["--journal-dir"]):
        assert path.startswith(kept["with"]["path"].rstrip("/")), f"{path} is not kept"


# --- GitLab CI -----------------------------------------------------------------------------------


def test_gitlab_runs_only_from_a_schedule_and_keeps_its_junit_and_reports_whatever_happens():
    [job] = yaml.safe_load(GITLAB.read_text()).values()
    assert any('$CI_PIPELINE_SOURCE == "schedule"' in rule["if"] for rule in job["rules"])
    assert all("schedule" in rule["if"] for rule in job["rules"]), "a push must never start a drill"
    [run] = [line for line in job["script"] if line.startswith("drtool run")]
    options = _check_drtool_run(shlex.split(run)[1:])
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == options["--junit-xml"]
    assert all(any(path.startswith(kept.rstrip("/")) for kept in artifacts["paths"])
               for path in (options["--report-dir"], options["--journal-dir"]))
    assert job["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com" and job["variables"]["AWS_ROLE_ARN"]
    assert CRON in GITLAB.read_text(), "the comment tells which cron to give the pipeline schedule"


# --- Kubernetes ----------------------------------------------------------------------------------


def _documents() -> dict[str, dict[str, Any]]:
    return {document["kind"]: document for document in yaml.safe_load_all(CRONJOB.read_text())}


def test_the_cronjob_never_runs_two_drills_skips_a_late_start_and_runs_as_nobody_in_particular():
    cronjob = _documents()["CronJob"]
    spec = cronjob["spec"]
    assert spec["schedule"] == CRON and spec["timeZone"]
    _check_cron(spec["schedule"])
    assert spec["concurrencyPolicy"] == "Forbid"
    assert isinstance(spec["startingDeadlineSeconds"], int) and 0 < spec["startingDeadlineSeconds"] <= 86400
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0, "a failed drill is a result, not a crash to retry"
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == _dockerfile_uid()
    [container] = pod["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    options = _check_drtool_run(container["args"])
    # A read-only root file system: everything drtool writes has a volume.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = [mount["mountPath"] for mount in container["volumeMounts"]]
    for path in (options["--junit-xml"], options["--report-dir"], options["--journal-dir"], "/tmp/x"):
        assert any(path.startswith(mount) for mount in mounts), f"{path} is on the read-only root"
    assert pod["terminationGracePeriodSeconds"] >= 300, "SIGTERM starts teardown, which needs time"
    account = _documents()["ServiceAccount"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


# --- EventBridge Scheduler, in Terraform ---------------------------------------------------------


def _unquoted(value: Any) -> Any:
    return value[1:-1] if isinstance(value, str) and len(value) > 1 and value[0] == value[-1] == '"' else value


def _terraform() -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, Any]]:
    resources = {}
    for block in hcl2.load((TERRAFORM / "main.tf").open())["resource"]:
        for kind, named in block.items():
            for name, body in named.items():
                resources[(_unquoted(kind), _unquoted(name))] = body
    variables = {_unquoted(name): body for block in hcl2.load((TERRAFORM / "variables.tf").open())["variable"]
                 for name, body in block.items()}
    return resources, variables


def _default(variables: dict[str, Any], reference: str) -> Any:
    match = re.fullmatch(r"\$\{var\.(\w+)\}", reference)
    assert match, f"{reference} is not a variable"
    return _unquoted(variables[match.group(1)]["default"])


def _eventbridge_cron(unix: str) -> str:
    minute, hour, day, month, weekday = unix.split()
    assert weekday == "*"
    return f"cron({minute} {hour} {day} {month} ? *)"


def test_eventbridge_scheduler_starts_the_ecs_task_monthly_with_retries_and_a_dead_letter_queue():
    resources, variables = _terraform()
    schedule = resources[("aws_scheduler_schedule", "monthly_drill")]
    expression = _default(variables, schedule["schedule_expression"])
    fields = re.fullmatch(r"cron\((.*)\)", expression).group(1).split()
    assert len(fields) == 6 and [fields[2], fields[4]].count("?") == 1, f"{expression}: six fields, ? in one day field"
    assert expression == _eventbridge_cron(CRON), "the same time of the month as the other schedules"
    assert _default(variables, schedule["schedule_expression_timezone"])
    [target] = schedule["target"]
    [ecs] = target["ecs_parameters"]
    assert _unquoted(ecs["launch_type"]) == "FARGATE" and ecs["task_definition_arn"] == "${aws_ecs_task_definition.drill.arn}"
    assert ecs["network_configuration"][0]["assign_public_ip"] is False
    [retry] = target["retry_policy"]
    assert retry["maximum_retry_attempts"] >= 1 and retry["maximum_event_age_in_seconds"] >= 60
    assert target["dead_letter_config"][0]["arn"] == "${aws_sqs_queue.missed_starts.arn}"
    assert ("aws_sqs_queue", "missed_starts") in resources
    assert target["role_arn"] == "${aws_iam_role.scheduler.arn}" and ("aws_iam_role", "scheduler") in resources

    task = resources[("aws_ecs_task_definition", "drill")]
    assert "drill-container.json.tftpl" in task["container_definitions"]
    values = {"image": "drtool:test", "drill_file": _default(variables, "${var.drill_file}"), "region": "us-east-1",
              "log_group": "/ecs/drtool-monthly"}
    template = (TERRAFORM / "drill-container.json.tftpl").read_text()
    [container] = json.loads(re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], template))
    _check_drtool_run(container["command"])
    assert container["user"] == f"{_dockerfile_uid()}:{_dockerfile_uid()}", "the task runs as the image's own user"
    assert container["readonlyRootFilesystem"] is True
    volumes = {_unquoted(volume["name"]) for volume in task["volume"]}
    assert {point["sourceVolume"] for point in container["mountPoints"]} <= volumes
    assert task["task_role_arn"] == "${aws_iam_role.task.arn}"
    # The task may only become the drill's role, which is the role the drill file names, with drtool's policy.
    assert "drill_policy_file" in resources[("aws_iam_role_policy", "drill")]["policy"], "the drill role's policy is drtool's"
    drill_role = check_drill_file(REPO / DRILL).drill.aws.role_arn
    assert _default(variables, resources[("aws_iam_role", "drill")]["name"]) == drill_role.rsplit("/", 1)[1]
    assert resources[("aws_iam_role_policy", "task")]["policy"] == "${data.aws_iam_policy_document.task.json}"
    records = check_drill_file(REPO / DRILL).drill
    assert records.history is not None and records.evidence is not None, "every scheduler shares one history and lock"
    assert records.history.bucket == records.evidence.bucket
    assert ("aws_s3_bucket", "state") in resources and ("aws_kms_alias", "state") in resources


def test_the_terraform_is_formatted_as_terraform_fmt_writes_it():
    terraform = shutil.which("terraform")
    if terraform is None:
        # A skip even under scripts/test: terraform is no Debian package, so scripts/test cannot install it.
        pytest.skip("terraform is not on PATH (no Debian package; scripts/test does not install it): "
                    "`terraform fmt -check` not run, the files still parse above")
    done = subprocess.run([terraform, "fmt", "-check", "-diff", "-recursive", str(TERRAFORM)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the image -----------------------------------------------------------------------------------


def _dockerfile() -> DockerfileParser:
    # Read from its own path: given only content, the parser writes it to ./Dockerfile.
    return DockerfileParser(str(DOCKERFILE), cache_content=True)


def _final_stage(parser: DockerfileParser) -> list[dict[str, Any]]:
    instructions = parser.structure
    last_from = max(i for i, instruction in enumerate(instructions) if instruction["instruction"] == "FROM")
    return instructions[last_from:]


def _dockerfile_uid() -> int:
    [user] = [i["value"] for i in _final_stage(_dockerfile()) if i["instruction"] == "USER"]
    return int(user.split(":")[0])


def test_the_image_is_slim_runs_as_a_non_root_user_and_starts_drtool():
    parser = _dockerfile()
    final = _final_stage(parser)
    assert parser.baseimage.startswith("python:") and "slim" in parser.baseimage
    assert _dockerfile_uid() not in (0,) and _dockerfile_uid() >= 1000
    assert [i["instruction"] for i in final].index("USER") > max(
        n for n, i in enumerate(final) if i["instruction"] == "RUN"), "nothing runs as root after USER"
    assert not [i for i in parser.structure if i["instruction"] == "ADD"], "COPY only: no ADD, so no remote URL"
    assert [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"] == ['["drtool"]']
    [cmd] = [i["value"] for i in final if i["instruction"] == "CMD"]
    _check_drtool_run(yaml.safe_load(cmd))
    # Built from the repository root: everything it copies from the context is there.
    for instruction in (i for i in parser.structure if i["instruction"] == "COPY" and "--from=" not in i["value"]):
        sources = [part for part in instruction["value"].split()[:-1] if not part.startswith("--")]
        assert all((REPO / source).exists() for source in sources), instruction["value"]


def test_the_image_builds_where_docker_can_build():
    # A skip even under scripts/test: a client alone cannot build, and no Docker engine runs on the CI machines.
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not on PATH: the Dockerfile is checked by parsing only, not built")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["docker info failed"])[-1]
        pytest.skip(f"no Docker engine answers `docker info` ({reason}): the Dockerfile is checked by parsing only, not built")
    done = subprocess.run([docker, "build", "-f", str(DOCKERFILE), "-t", "drtool-test:schedule", str(REPO)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    whoami = subprocess.run([docker, "run", "--rm", "--entrypoint", "id", "drtool-test:schedule", "-u"],
                            capture_output=True, text=True, timeout=120)
    assert whoami.stdout.strip() == str(_dockerfile_uid())

"""Each schedule file in deploy/, run as its scheduler would run it, against the sandbox.

From each file comes what the scheduler runs: the `run:` and `script:` steps, the container's command, environment,
user and mounts (from the image the Dockerfile builds), the ECS task definition's. Each runs in a shell under the
same constraints: a read-only root with only the declared writable paths, the same user id, and no credentials but
the sandbox's. The install step is pointed at this checkout. The drill file is the shipped monthly drill's records
(history, run lock and evidence in S3) and role, with targets the sandbox has.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from junitparser import JUnitXml

from drtool.commands.permissions import drill_policy
from drtool.drill.validate import check_drill_file
from drtool.sandbox.rds_model import RestoreJob
from drtool.sandbox.seed import PRIMARY_REGION
from tests.helpers import REPO, SANDBOX_DRILL
from tests.schedule import confined

DEPLOY = REPO / "deploy"
MONTHLY = REPO / "drills" / "monthly.yaml"
IMAGE_HOME = "/home/drtool"

pytestmark = pytest.mark.skipif(confined.available() is not None, reason=f"cannot confine a job here: {confined.available()}")


@dataclass(frozen=True)
class Records:
    """Where the shipped monthly drill keeps its records, as it names them."""

    history_bucket: str
    history_prefix: str
    evidence_bucket: str
    evidence_prefix: str
    kms_alias: str
    role_arn: str


def shipped_records() -> Records:
    drill = yaml.safe_load(MONTHLY.read_text())
    bucket, _, prefix = drill["history"]["s3"].removeprefix("s3://").partition("/")
    return Records(bucket, prefix, drill["evidence"]["bucket"], drill["evidence"].get("prefix", ""),
                   drill["evidence"]["kms_key"], drill["aws"]["role_arn"])


def sandbox_monthly(targets: dict[str, Callable[[dict], dict]]) -> str:
    """The monthly drill with the sandbox's regions and the named sandbox targets, widened so that no time scale
    eats a margin: its records, role and everything but targets and regions stay as shipped."""
    shipped, sandbox = yaml.safe_load(MONTHLY.read_text()), yaml.safe_load(SANDBOX_DRILL.read_text())
    drill = {**shipped, "primary_region": sandbox["primary_region"], "dr_region": sandbox["dr_region"],
             "targets": {name: widen(dict(sandbox["targets"][name])) for name, widen in targets.items()}}
    drill["history"] = {**shipped["history"], "region": sandbox["primary_region"]}
    drill["evidence"] = {**shipped["evidence"], "region": sandbox["primary_region"]}
    drill.pop("publish", None)  # the shipped topic and namespace are not the sandbox's
    drill.pop("budget", None)
    return yaml.safe_dump(drill, sort_keys=False)


def _wide_key(target: dict) -> dict:
    return {**target, "objectives": {**target["objectives"], "max_round_trip": "6h"}}


def _wide_database(target: dict) -> dict:
    return {**target, "objectives": {"rto": "48h", "rpo": "48h"}}


KEY_ONLY = {"dr-rds-key": _wide_key}
WITH_DATABASE = {"orders-db": _wide_database}


@pytest.fixture
def records(lab, aws) -> Records:
    """What deploy/terraform creates for the shipped drill file: its role, its bucket and its key."""
    shipped = shipped_records()
    s3 = aws("s3", PRIMARY_REGION)
    for bucket in {shipped.history_bucket, shipped.evidence_bucket}:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    kms = aws("kms", PRIMARY_REGION)
    kms.create_alias(AliasName=shipped.kms_alias, TargetKeyId=kms.create_key(Description="drtool state")["KeyMetadata"]["KeyId"])
    return shipped


def create_drill_role(aws, records: Records, drill_file: Path) -> None:
    """The role the drill file names, trusted by the account, with the policy `drtool permissions` prints for it."""
    iam, name = aws("iam", PRIMARY_REGION), records.role_arn.rsplit("/", 1)[1]
    account = records.role_arn.split(":")[4]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}))
    policy = drill_policy(check_drill_file(drill_file), account)
    iam.put_role_policy(RoleName=name, PolicyName="drtool-drill", PolicyDocument=json.dumps(policy))


def drill_repository(where: Path, drill_text: str) -> Path:
    """A team's repository as the schedules expect it: drills/monthly.yaml and the features it names."""
    (where / "drills").mkdir(parents=True)
    (where / "drills" / "monthly.yaml").write_text(drill_text)
    shutil.copytree(REPO / "features", where / "features")
    return where


def sandbox_credentials(lab) -> dict[str, str]:
    """The only credentials a job gets: the sandbox's keys and endpoint, and the lab's clock."""
    return {k: v for k, v in lab.environment().items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}


# --- what each scheduler runs ----------------------------------------------------------------------


def _image() -> dict[str, Any]:
    """What the image deploy/docker/Dockerfile builds gives a container: its user, home, environment, entrypoint."""
    parser = DockerfileParser(str(DEPLOY / "docker" / "Dockerfile"), cache_content=True)
    final = parser.structure[max(i for i, step in enumerate(parser.structure) if step["instruction"] == "FROM"):]
    values = {step["instruction"]: step["value"] for step in final}
    uid, gid = (int(part) for part in values["USER"].split(":"))
    return {"uid": uid, "gid": gid, "workdir": values["WORKDIR"], "env": dict(parser.envs),
            "entrypoint": json.loads(values["ENTRYPOINT"]), "command": json.loads(values["CMD"])}


def _installed_drtool() -> str:
    """The image's drtool: the one installed from this checkout in the test's environment."""
    return str(Path(sys.executable).parent / "drtool")


def _container_job(scheduler: str, argv: list[str], env: dict[str, str], uid: int, gid: int,
                   mounts: list[confined.Mount], repository: Path, lab) -> confined.Job:
    image = _image()
    assert image["entrypoint"] == ["drtool"]
    assert image["workdir"] == IMAGE_HOME
    command = " ".join(shlex.quote(part) for part in [_installed_drtool(), *argv])
    environment = {**image["env"], **env, "HOME": IMAGE_HOME, "PATH": "/usr/local/bin:/usr/bin:/bin",
                   **sandbox_credentials(lab)}
    return confined.Job(scheduler, f"exec {command}", environment, uid, gid, image["workdir"],
                        [confined.Mount(IMAGE_HOME, repository, writable=False), *mounts])


def kubernetes_job(repository: Path, volumes: Path, lab) -> confined.Job:
    documents = {document["kind"]: document for document in yaml.safe_load_all((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())}
    pod = documents["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # what the confinement stands for
    context = pod["securityContext"]
    uid, gid = context["runAsUser"], context["runAsGroup"]
    claimed = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = []
    for mount in container["volumeMounts"]:
        volume = claimed[mount["name"]]
        if "emptyDir" in volume:
            mounts.append(confined.Mount(mount["mountPath"]))
        else:  # a claim: storage that outlives the pod, writable by the pod's fsGroup
            source = confined.owned_directory(volumes / mount["name"], uid, context.get("fsGroup", gid))
            mounts.append(confined.Mount(mount["mountPath"], source))
    env = {item["name"]: item["value"] for item in container.get("env", [])}
    argv = container.get("args") or _image()["command"]
    return _container_job("kubernetes", argv, env, uid, gid, mounts, repository, lab)


def ecs_job(repository: Path, volumes: Path, lab) -> confined.Job:
    import hcl2

    variables = {name.strip('"'): body for block in hcl2.load((DEPLOY / "terraform" / "variables.tf").open())["variable"]
                 for name, body in block.items()}
    template = (DEPLOY / "terraform" / "drill-container.json.tftpl").read_text()
    values = {"image": "drtool:test", "drill_file": variables["drill_file"]["default"].strip('"'),
              "region": variables["region"]["default"].strip('"'), "log_group": "/ecs/drtool-monthly"}
    [container] = json.loads(re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], template))
    assert container["readonlyRootFilesystem"] is True
    uid, gid = (int(part) for part in container["user"].split(":"))
    mounts = [confined.Mount(point["containerPath"], confined.owned_directory(volumes / point["sourceVolume"], uid, gid))
              for point in container["mountPoints"]]
    env = {item["name"]: item["value"] for item in container["environment"]}
    return _container_job("ecs", container["command"], env, uid, gid, mounts, repository, lab)


def _point_install_at_checkout(env: dict[str, str]) -> dict[str, str]:
    source = env["DRTOOL_SOURCE"]
    assert re.fullmatch(r"git\+https://[\w.-]+/[\w.-]+/drtool@[\w.-]+", source), f"{source}: a pinned git+https reference"
    # The checkout instead of a release; the runner's Python already holds drtool's dependencies, so nothing downloads.
    return {**env, "DRTOOL_SOURCE": f"file://{REPO}", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def github_job(repository: Path, runner: Path, lab) -> confined.Job:
    workflow = yaml.safe_load((DEPLOY / "github" / "monthly-drill.yml").read_text())
    job = workflow["jobs"]["drill"]
    uid = gid = 1001  # the runner user of GitHub's hosted runners
    workspace = "/home/runner/work/drills/drills"
    env = {"HOME": "/home/runner", "GITHUB_WORKSPACE": workspace, "RUNNER_TEMP": "/home/runner/work/_temp",
           "PATH": f"{runner / 'python' / 'bin'}:/usr/bin:/bin", **job.get("env", {})}
    script = []
    for step in job["steps"]:
        uses = step.get("uses", "")
        if uses.startswith("aws-actions/configure-aws-credentials@"):
            env.update(sandbox_credentials(lab), AWS_REGION=step["with"]["aws-region"])
        elif "run" in step and step.get("if") != "always()":
            script.append(step["run"])
    env = _point_install_at_checkout(env)
    # A hosted runner's home is the runner user's own, and writable (pip keeps its cache there).
    mounts = [confined.Mount("/home/runner"), confined.Mount(workspace, confined.owned_directory(repository, uid, gid)),
              confined.Mount("/home/runner/work/_temp"), confined.Mount("/tmp"),
              confined.Mount(str(runner / "python"), confined.owned_directory(confined.runner_python(runner / "python"), uid, gid))]
    return confined.Job("github", "\n".join(script), env, uid, gid, workspace, mounts)


def gitlab_job(repository: Path, runner: Path, lab) -> confined.Job:
    [job] = yaml.safe_load((DEPLOY / "gitlab" / "monthly-drill.gitlab-ci.yml").read_text()).values()
    project = "/builds/team/drills"
    env = {"HOME": "/root", "CI_PROJECT_DIR": project, "CI_PIPELINE_SOURCE": "schedule", "DRILL": "monthly",
           "AWS_ID_TOKEN": "a-gitlab-id-token", "PATH": f"{runner / 'python' / 'bin'}:/usr/bin:/bin"}
    env.update({name: str(value).replace("$CI_PROJECT_DIR", project) for name, value in job["variables"].items()})
    env.update(sandbox_credentials(lab))
    env = _point_install_at_checkout(env)
    # The docker executor's container is writable throughout; of it the job uses its home (pip's cache) and /tmp.
    mounts = [confined.Mount("/root"), confined.Mount(project, confined.owned_directory(repository, 0, 0)), confined.Mount("/tmp"),
              confined.Mount(str(runner / "python"), confined.runner_python(runner / "python"))]
    return confined.Job("gitlab", "\n".join([*job["before_script"], *job["script"]]), env, 0, 0, project, mounts)


# --- the runs --------------------------------------------------------------------------------------


def _report_paths(job: confined.Job, host_of: Callable[[str], Path]) -> Path:
    """The JUnit file the job's `drtool run` wrote, on the host."""
    argv = shlex.split(job.script.splitlines()[-1])
    return host_of(argv[argv.index("--junit-xml") + 1])


def _stored_records(aws, records: Records) -> tuple[list[str], list[str]]:
    s3 = aws("s3", PRIMARY_REGION)
    history = [o["Key"] for o in s3.list_objects_v2(Bucket=records.history_bucket, Prefix=records.history_prefix).get("Contents", [])]
    evidence = [o["Key"] for o in s3.list_objects_v2(Bucket=records.evidence_bucket,
                                                      Prefix=f"{records.evidence_prefix}drtool-evidence/").get("Contents", [])]
    return history, evidence


def _judge_run(done, job: confined.Job, junit: Path, aws, records: Records) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{job.scheduler}: exit {done.returncode}\n{output[-4000:]}"
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert cases and all(case.is_passed for case in cases), f"{job.scheduler}: {[(c.name, c.result) for c in cases]}"
    history, evidence = _stored_records(aws, records)
    runs = [key for key in history if "/runs/" in key]
    assert len(runs) == 1 and not [key for key in history if key.endswith("lock.json")], history
    run_id = json.loads(aws("s3", PRIMARY_REGION).get_object(Bucket=records.history_bucket, Key=runs[0])["Body"].read())["run_id"]
    bundle = [key.rsplit("/", 1)[-1] for key in evidence if f"/monthly/{run_id}/" in key]
    assert {"junit.xml", "manifest.json"} <= set(bundle), f"{job.scheduler}: the reports did not reach S3: {evidence}"


def _build(scheduler: str, tmp_path: Path, lab, drill_text: str) -> tuple[confined.Job, Callable[[str], Path]]:
    repository = drill_repository(tmp_path / "repository", drill_text)
    volumes = tmp_path / "volumes"
    if scheduler == "kubernetes":
        job = kubernetes_job(repository, volumes, lab)
    elif scheduler == "ecs":
        job = ecs_job(repository, volumes, lab)
    elif scheduler == "github":
        job = github_job(repository, tmp_path / "runner", lab)
    else:
        job = gitlab_job(repository, tmp_path / "runner", lab)

    def host_of(path: str) -> Path:
        absolute = path if path.startswith("/") else f"{job.workdir}/{path}"
        for mount in sorted(job.mounts, key=lambda m: len(m.path), reverse=True):
            if mount.source is not None and (absolute == mount.path or absolute.startswith(mount.path + "/")):
                return mount.source / absolute[len(mount.path):].lstrip("/")
        raise AssertionError(f"{path} is not on a volume that outlives the job")

    return job, host_of


@pytest.mark.parametrize("scheduler", ["kubernetes", "ecs", "github", "gitlab"])
def test_each_schedule_runs_the_monthly_drill_under_its_own_constraints_and_keeps_its_records_in_s3(
        scheduler, lab, aws, records, tmp_path):
    job, host_of = _build(scheduler, tmp_path, lab, sandbox_monthly(KEY_ONLY))
    create_drill_role(aws, records, tmp_path / "repository" / "drills" / "monthly.yaml")
    done = confined.run(job, tmp_path / "root")
    _judge_run(done, job, _report_paths(job, host_of), aws, records)


def test_a_second_start_of_a_scheduled_drill_is_refused_by_the_lock_they_share_in_s3(lab, aws, records, tmp_path):
    drill = sandbox_monthly(WITH_DATABASE)
    first_job, first_host = _build("kubernetes", tmp_path / "first", lab, drill)
    second_job, _ = _build("ecs", tmp_path / "second", lab, drill)
    create_drill_role(aws, records, tmp_path / "first" / "repository" / "drills" / "monthly.yaml")
    lock = f"{records.history_prefix}monthly/lock.json"
    s3 = aws("s3", PRIMARY_REGION)
    with lab.world.hold(RestoreJob):  # the first run's restore stays `creating` while the second starts
        first = confined.start(first_job, tmp_path / "first" / "root")
        deadline = time.monotonic() + 120
        while not s3.list_objects_v2(Bucket=records.history_bucket, Prefix=lock).get("KeyCount"):
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, "the first run never took its lock"
            time.sleep(0.2)
        second = confined.run(second_job, tmp_path / "second" / "root")
    output, _ = first.communicate(timeout=240)
    assert second.returncode == 3, second.stdout + second.stderr
    assert "is already running" in second.stdout + second.stderr and f"s3://{records.history_bucket}/{lock}" in second.stdout + second.stderr
    assert first.returncode == 0, output[-4000:]
    cases = [case for suite in JUnitXml.fromfile(str(_report_paths(first_job, first_host))) for case in suite]
    assert cases and all(case.is_passed for case in cases)

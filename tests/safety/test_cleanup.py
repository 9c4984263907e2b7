"""`drtool cleanup` removes what killed runs left behind, and nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from botocore.exceptions import ClientError
from moto.rds.models import rds_backends

from drtool.commands.cleanup import (
    REMOVED,
    find_leftovers,
    remove_leftovers,
)
from drtool.core.journal import Journal
from drtool.drill.validate import check_drill_file
from drtool.core.tagging import CANARY_PREFIX, NAME_PREFIX, drill_tags, resource_name
from drtool.sandbox.lab import Lab
from drtool.sandbox.rds_model import RestoreJob
from drtool.sandbox.seed import (
    ACCOUNT_ID,
    BILLING_DB,
    DR_REGION,
    DR_SUBNET_GROUP,
    ORDERS_DB,
    PRIMARY_REGION,
    REGIONS,
    SOURCE_BUCKET,
)
from drtool.services.rds.actions import copy_snapshot, restore_instance
from tests.helpers import SANDBOX_DRILL, client, lab_env, production_untouched, wait_for

KILLED = "a1b2c3d4"
OLD = "0ld0ld01"
OLDER = "0ld0ld02"
UNTAGGED = resource_name("c0ffee00", ORDERS_DB)
AGE = r"\d+[dhms][\dhms]*"


def sandbox_targets() -> list:
    """The sandbox drill's targets: cleanup looks for canaries in its S3 target's buckets."""
    return list(check_drill_file(SANDBOX_DRILL).drill.targets.values())


def restore_leftover(lab: Lab, run_id: str, target: str = ORDERS_DB) -> str:
    """A drill instance restored in the DR region, as a run killed with SIGKILL leaves it (still creating)."""
    identifier = resource_name(run_id, target)
    restore_instance(
        client(lab, "rds"),
        identifier=identifier,
        snapshot=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        instance_class="db.t3.medium",
        subnet_group=DR_SUBNET_GROUP,
        security_group_ids=[lab.seeded.security_group_ids[DR_REGION]],
        tags=drill_tags(run_id, "sandbox", target, lab.clock.now()),
    )
    return identifier


def copy_leftover(lab: Lab, run_id: str) -> str:
    """A drill snapshot copy of billing-db in the DR region."""
    identifier = resource_name(run_id, BILLING_DB, "copy")
    source = client(lab, "rds", PRIMARY_REGION).describe_db_snapshots(
        DBSnapshotIdentifier=lab.seeded.latest_snapshot(BILLING_DB)
    )["DBSnapshots"][0]
    copy_snapshot(
        client(lab, "rds"),
        source_arn=source["DBSnapshotArn"],
        source_region=PRIMARY_REGION,
        target_identifier=identifier,
        kms_key_id=lab.seeded.key_arn("rds"),
        tags=drill_tags(run_id, "sandbox", BILLING_DB, lab.clock.now()),
    )
    return identifier


def untagged_drill_named_instance(lab: Lab) -> str:
    client(lab, "rds").restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=UNTAGGED,
        DBSnapshotIdentifier=lab.seeded.latest_snapshot(ORDERS_DB, DR_REGION),
        DBInstanceClass="db.t3.medium",
        DBSubnetGroupName=DR_SUBNET_GROUP,
        Tags=[{"Key": "Team", "Value": "orders"}],
    )
    return UNTAGGED


def backdate(identifier: str, days: int, now) -> datetime:
    """Make a leftover look as if a run left it `days` ago (moto has no way to create the past); its new create time."""
    backend = rds_backends[ACCOUNT_ID][DR_REGION]
    resource = backend.databases.get(identifier) or backend.database_snapshots[identifier]
    resource.created = now - timedelta(days=days)
    if hasattr(resource, "instance_create_time"):
        resource.instance_create_time = resource.created
    return resource.created


def drill_named(lab: Lab) -> dict[str, str]:
    """Every drill-named instance and snapshot in the lab, with its status."""
    found = {}
    for region in REGIONS:
        rds = client(lab, "rds", region)
        for instance in rds.describe_db_instances()["DBInstances"]:
            found[instance["DBInstanceIdentifier"]] = instance["DBInstanceStatus"]
        for snapshot in rds.describe_db_snapshots()["DBSnapshots"]:
            found[snapshot["DBSnapshotIdentifier"]] = snapshot["Status"]
    return {name: status for name, status in found.items() if name.startswith(NAME_PREFIX)}


def cleanup(lab: Lab, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "drtool.cli", "cleanup", *args]
    return subprocess.run(
        command, env=lab_env(lab, tmp_path), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )


def start_cleanup(lab: Lab, tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "drtool.cli", "cleanup", *args], env={**lab_env(lab, tmp_path), "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )


def read_until(proc: subprocess.Popen, marker: str) -> str:
    """What a running command printed up to and including the line with `marker` (or all of it, if it ended)."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


def listed_row(output: str, identifier: str, run_id: str) -> bool:
    """The table shows the resource with its region, an age and its run id."""
    return re.search(rf"{re.escape(identifier)}\W+{DR_REGION}\W+{AGE}\W+{run_id}\b", output) is not None


def write_killed_journal(tmp_path: Path, lab: Lab, run_id: str, *identifiers: str) -> None:
    """The journal a SIGKILLed run leaves: resources announced, no teardown."""
    journal = Journal(tmp_path / "journal" / f"20261127T000000Z-{run_id}.jsonl", run_id, lab.clock)
    journal.write("run-started", drill="sandbox")
    for identifier in identifiers:
        journal.write("resource-creating", scope="orders-db", kind="rds-instance", identifier=identifier,
                      region=DR_REGION, target=ORDERS_DB, arn=None)
    journal.close()


def test_cleanup_removes_tagged_leftovers_and_nothing_else(lab: Lab, tmp_path: Path) -> None:
    with production_untouched(lab):
        with lab.world.hold(RestoreJob):  # the restores stay `creating` until cleanup has listed them
            instance = restore_leftover(lab, KILLED)
            copy = copy_leftover(lab, KILLED)
            untagged = untagged_drill_named_instance(lab)
            write_killed_journal(tmp_path, lab, KILLED, instance)
            running = start_cleanup(lab, tmp_path, str(SANDBOX_DRILL), "--yes")
            listing = read_until(running, "Drill-named but untagged: not touched")
        rest = running.stdout.read()  # from the same buffered reader: communicate() would skip what it holds
        running.wait(timeout=60)
    output = listing + rest

    assert running.returncode == 0, output
    assert listed_row(listing, instance, KILLED) and listed_row(listing, copy, KILLED)
    assert re.search(rf"{instance}\W+.*\bcreating\b", listing)
    assert f"deleted: rds-instance {instance}" in output
    assert untagged in output.split("Drill-named but untagged: not touched", 1)[1]
    assert f"journal of run {KILLED}: rds-instance {instance} in {DR_REGION} was created and never deleted: found" in output
    wait_for(lambda: drill_named(lab), lambda found: found == {untagged: "available"}, what="only the untagged instance left")

    again = cleanup(lab, tmp_path, str(SANDBOX_DRILL), "--yes")
    assert again.returncode == 0
    assert "Nothing to clean up" in again.stdout
    # This cleanup's own journal recorded the deletion, so the killed run's journal is settled.
    assert "never deleted" not in again.stdout


def test_run_id_and_older_than_narrow_the_selection(lab: Lab, tmp_path: Path) -> None:
    old_instance = restore_leftover(lab, OLD)
    older_copy = copy_leftover(lab, OLDER)
    recent = restore_leftover(lab, KILLED, target=BILLING_DB)
    backdate(old_instance, 3, lab.clock.now())
    # Ages grow with world time (a day is 144 real seconds at x600): the threshold lies 30 world days from both
    # the recent leftover's age and the old copy's, so no load carries either across it during the test.
    copied_at = backdate(older_copy, 60, lab.clock.now())

    by_run = cleanup(lab, tmp_path, "--region", DR_REGION, "--run-id", OLD, "--yes")
    assert by_run.returncode == 0, by_run.stdout + by_run.stderr
    assert listed_row(by_run.stdout, old_instance, OLD)
    assert set(drill_named(lab)) == {older_copy, recent}

    before = lab.clock.now()
    by_age = cleanup(lab, tmp_path, "--region", DR_REGION, "--older-than", "30d", "--yes")
    after = lab.clock.now() + timedelta(seconds=1)  # cleanup rounds to the second
    assert by_age.returncode == 0, by_age.stdout + by_age.stderr
    # The age shown is the one cleanup read between `before` and `after`, in whole days.
    shown = re.search(rf"{older_copy}\W+{DR_REGION}\W+(\d+)d\w*\W+{OLDER}\b", by_age.stdout)
    assert shown, by_age.stdout
    assert (before - copied_at).days <= int(shown.group(1)) <= (after - copied_at).days, (shown.group(0), before, after)
    assert recent not in by_age.stdout
    assert set(drill_named(lab)) == {recent}


def test_without_yes_and_without_a_terminal_nothing_is_deleted(lab: Lab, tmp_path: Path) -> None:
    instance = restore_leftover(lab, KILLED)

    result = cleanup(lab, tmp_path, str(SANDBOX_DRILL))

    assert result.returncode == 1
    assert listed_row(result.stdout, instance, KILLED)
    assert "Nothing deleted" in result.stdout and "--yes" in result.stdout
    assert instance in drill_named(lab)


def test_journal_of_a_killed_run_is_mentioned_even_when_aws_has_nothing(lab: Lab, tmp_path: Path) -> None:
    never_made = resource_name(KILLED, ORDERS_DB)
    write_killed_journal(tmp_path, lab, KILLED, never_made)

    result = cleanup(lab, tmp_path, str(SANDBOX_DRILL), "--yes")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"journal of run {KILLED}: rds-instance {never_made} in {DR_REGION} was created and never deleted: no longer in AWS" in result.stdout
    assert "Nothing to clean up" in result.stdout


def test_regions_are_required_and_bad_input_exits_2(lab: Lab, tmp_path: Path) -> None:
    no_region = cleanup(lab, tmp_path)
    bad_age = cleanup(lab, tmp_path, "--region", DR_REGION, "--older-than", "soon")
    assert (no_region.returncode, bad_age.returncode) == (2, 2)
    assert "drill file or at least one --region" in no_region.stderr


class LabClients:
    def __init__(self, lab: Lab):
        self.lab = lab

    def client(self, service: str, region: str):
        return client(self.lab, service, region)


def test_clusters_and_grants_are_not_cleanup_kinds_and_canaries_go(lab: Lab) -> None:
    """Issue 16 part 2: no family makes clusters or grants, so cleanup neither lists nor removes them."""
    clients = LabClients(lab)
    rds, kms, s3 = client(lab, "rds"), client(lab, "kms"), client(lab, "s3", PRIMARY_REGION)
    tags = drill_tags(KILLED, "sandbox", "ledger", lab.clock.now())
    cluster = resource_name(KILLED, "ledger")
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="aurora-postgresql", MasterUsername="drill",
                          MasterUserPassword="not-a-real-password", Tags=tags)
    key = lab.seeded.key_arn("rds")
    kms.create_grant(KeyId=key, GranteePrincipal=f"arn:aws:iam::{ACCOUNT_ID}:role/drill", Operations=["Decrypt"],
                     Name=resource_name(KILLED, ORDERS_DB))
    canary = f"{CANARY_PREFIX}{KILLED}/probe"
    tagging = "&".join(f"{t['Key']}={t['Value']}" for t in drill_tags(KILLED, "sandbox", "photos", lab.clock.now()))
    s3.put_object(Bucket=SOURCE_BUCKET, Key=canary, Body=b"1", Tagging=tagging)
    s3.put_object(Bucket=SOURCE_BUCKET, Key=canary, Body=b"2", Tagging=tagging)
    s3.delete_object(Bucket=SOURCE_BUCKET, Key=canary)
    production_versions = {v["VersionId"] for v in s3.list_object_versions(Bucket=SOURCE_BUCKET)["Versions"]
                           if not v["Key"].startswith(CANARY_PREFIX)}

    found = find_leftovers(clients, [DR_REGION], now=lab.clock.now(), targets=sandbox_targets())
    assert sorted({leftover.kind for leftover in found}) == ["s3-canary"]
    assert [(leftover.identifier, leftover.status) for leftover in found if leftover.parent == SOURCE_BUCKET] == [
        (canary, "2 versions, 1 delete markers")]

    results = remove_leftovers(clients, found, lab.clock)

    assert {r.outcome for r in results} == {REMOVED}
    assert [g.get("Name") for g in kms.list_grants(KeyId=key)["Grants"]] == [resource_name(KILLED, ORDERS_DB)]
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == [cluster]
    canaries = s3.list_object_versions(Bucket=SOURCE_BUCKET, Prefix=CANARY_PREFIX)
    assert not canaries.get("Versions") and not canaries.get("DeleteMarkers")
    # The sandbox's application keeps writing exports, so production versions may grow, never shrink.
    assert production_versions <= {v["VersionId"] for v in s3.list_object_versions(Bucket=SOURCE_BUCKET)["Versions"]}


def test_cleanup_leaves_a_drill_named_grant_on_a_production_key(lab: Lab, tmp_path: Path) -> None:
    """Issue 16 part 2: `drtool cleanup --yes` once revoked someone's grant named drtool-app-decrypt."""
    kms = client(lab, "kms")
    key = lab.seeded.key_arn("rds")
    kms.create_grant(KeyId=key, GranteePrincipal=f"arn:aws:iam::{ACCOUNT_ID}:role/drill", Operations=["Decrypt"],
                     Name="drtool-app-decrypt")
    position = lab.requests.position

    result = cleanup(lab, tmp_path, str(SANDBOX_DRILL), "--yes")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "drtool-app-decrypt" in [g.get("Name") for g in kms.list_grants(KeyId=key)["Grants"]]
    assert [str(r) for r in lab.requests.since(position) if "RevokeGrant" in str(r) or "RetireGrant" in str(r)] == []


def test_cleanup_never_deletes_a_canary_whose_tags_do_not_prove_it(lab: Lab, tmp_path: Path) -> None:
    """Issue 16 part 1: the canary prefix alone is never proof; cleanup reads the object's tags back first."""
    s3 = client(lab, "s3", PRIMARY_REGION)
    foreign = f"{CANARY_PREFIX}{KILLED}/not-a-canary"
    s3.put_object(Bucket=SOURCE_BUCKET, Key=foreign, Body=b"someone's data")
    position = lab.requests.position

    cleanup(lab, tmp_path, str(SANDBOX_DRILL), "--yes")

    assert s3.get_object(Bucket=SOURCE_BUCKET, Key=foreign)["Body"].read() == b"someone's data"
    assert [str(r) for r in lab.requests.since(position) if "delete" in str(r).lower() and SOURCE_BUCKET in str(r)] == []


def test_a_failed_deletion_is_a_result_and_the_rest_still_goes(lab: Lab) -> None:
    instance = restore_leftover(lab, KILLED)
    s3 = client(lab, "s3", PRIMARY_REGION)
    s3.put_object(Bucket=SOURCE_BUCKET, Key=f"{CANARY_PREFIX}{KILLED}/probe", Body=b"1")

    class RefusingRds(LabClients):
        def client(self, service: str, region: str):
            made = super().client(service, region)
            if service == "rds":
                def refuse(**kwargs):
                    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DeleteDBInstance")

                made.delete_db_instance = refuse
            return made

    clients = RefusingRds(lab)
    found = find_leftovers(clients, [DR_REGION], now=lab.clock.now(), targets=sandbox_targets())
    results = remove_leftovers(clients, found, lab.clock)

    assert sorted({(r.leftover.kind, r.outcome, r.infrastructure) for r in results}) == [
        ("rds-instance", "failed", True), ("s3-canary", REMOVED, False)
    ]
    assert "AccessDenied" in next(r.error for r in results if r.outcome == "failed")
    assert instance in drill_named(lab)
    assert not s3.list_object_versions(Bucket=SOURCE_BUCKET, Prefix=CANARY_PREFIX).get("Versions")


def bad_journal_files(directory: Path) -> list[Path]:
    """One of each kind of damaged file a journal directory can hold, as `drtool cleanup` finds them."""
    import os

    directory.mkdir(parents=True, exist_ok=True)
    made = {
        "0xff": b"\xff\n",
        "not-an-object": b"[1, 2, 3]\n",
        "no-event": b'{"seq": 1, "run_id": "x", "at": "2026-01-01T00:00:00+00:00"}\n',
    }
    paths = []
    for name, content in made.items():
        path = directory / f"20260101T000000Z-{name}.jsonl"
        path.write_bytes(content)
        paths.append(path)
    fifo = directory / "20260101T000000Z-fifo.jsonl"
    os.mkfifo(fifo)  # an open for reading would block until a writer came
    zero = directory / "20260101T000000Z-zero.jsonl"
    zero.symlink_to("/dev/zero")  # endless bytes, no newline
    huge = directory / "20260101T000000Z-huge.jsonl"
    with open(huge, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB of NULs, fast to make
    return [*paths, fifo, zero, huge]


def test_damaged_journals_are_one_warning_each_and_the_leftover_still_goes(lab: Lab, tmp_path: Path) -> None:
    instance = restore_leftover(lab, KILLED)
    write_killed_journal(tmp_path, lab, KILLED, instance)
    bad = bad_journal_files(tmp_path / "journal")
    position = lab.requests.position

    result = cleanup(lab, tmp_path, str(SANDBOX_DRILL), "--yes")  # bounded: cleanup() times out after 60 s

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == len(bad), result.stderr
    for path in bad:
        assert sum(str(path) in line for line in warnings) == 1, (path, result.stderr)
    assert f"deleted: rds-instance {instance}" in output
    # The good journal was still read: it names the killed run's instance.
    assert f"journal of run {KILLED}: rds-instance {instance}" in output
    deletes = [r for r in lab.requests.since(position) if r.operation == "DeleteDBInstance"]
    assert [r.targets for r in deletes] == [(instance,)], deletes


def test_cleanup_leaves_a_live_runs_resources_and_a_vanished_instance_is_an_error(lab: Lab, tmp_path: Path) -> None:
    from tests.helpers import drill_file, finish_drill, start_drill, wait_for_journal_event

    drill = drill_file(tmp_path, ORDERS_DB, rto="4h")
    with lab.world.hold(RestoreJob):  # the live run's restore stays `creating` while cleanup looks at it
        running = start_drill(lab, tmp_path, drill=drill)
        created = wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance")
        instance = created["identifier"]
        position = lab.requests.position

        left = cleanup(lab, tmp_path, str(drill), "--yes")
        assert left.returncode == 0, left.stdout + left.stderr
        assert f"Run {created['run_id']} is still running" in left.stdout and "--force deletes them" in left.stdout
        assert instance in left.stdout.split("Resources of live runs: not touched", 1)[1]
        assert [str(r) for r in lab.requests.since(position) if instance in r.targets] == []
        assert drill_named(lab)[instance] == "creating"

        forced = start_cleanup(lab, tmp_path, str(drill), "--yes", "--force")
        assert "deleting its resources anyway (--force)" in read_until(forced, "--force")
        forced.kill()  # it would wait for the held restore; that it no longer holds back is the point
        forced.wait(timeout=30)

        # Something removes the instance under the run (AWS refuses to delete a `creating` one; the world need not).
        with lab.world.lock:
            del rds_backends[ACCOUNT_ID][DR_REGION].databases[instance]
    outcome = finish_drill(running, tmp_path)

    assert outcome.exit_code == 3, outcome.output  # could not run: what it timed was not a restore that finished
    assert "something deleted it while the drill was restoring it" in outcome.output

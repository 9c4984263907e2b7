"""The s3-replication family against the lab: healthy replication, configuration deviations, canary cleanup, the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from drtool.core.tagging import CANARY_PREFIX
from drtool.core.verdicts import Outcome
from drtool.drill.validate import check_drill_file
from drtool.families.s3_replication.completeness import audit_verdict
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import DR_REGION, PRIMARY_REGION, REPLICA_BUCKET, SOURCE_BUCKET
from tests.helpers import client, drill_file, lab_env, production_untouched, run_drill

TARGET = "orders-data"
SCENARIOS = {
    "configuration": "Replication is configured as the target expects",
    "canary": "Canary objects reach the replica within the maximum lag",
    "metrics": "Replication metrics over the window meet the objectives",
    "audit": "The replica holds every object of the source, identical",
}


def s3_drill(tmp_path: Path, tags: str | None = None) -> Path:
    path = drill_file(tmp_path, TARGET)
    if tags:
        drill = yaml.safe_load(path.read_text())
        drill["tags"] = tags
        path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


def outcomes(journal: list[dict]) -> dict[str, tuple[str, str]]:
    """scenario -> (status, message) of its call phase (or the phase that ended it)."""
    scenario_of = {r["test"]: r["scenario"] for r in journal if r["event"] == "test-started"}
    found = {}
    for record in journal:
        if record["event"] == "test-outcome" and (record["phase"] == "call" or record["status"] != "passed"):
            found.setdefault(scenario_of[record["test"]], (record["status"], record["message"]))
    return found


def canaries(lab: Lab) -> list[str]:
    found = []
    for bucket, region in ((SOURCE_BUCKET, PRIMARY_REGION), (REPLICA_BUCKET, DR_REGION)):
        listing = client(lab, "s3", region).list_object_versions(Bucket=bucket, Prefix=CANARY_PREFIX)
        found += [f"{bucket}/{v['Key']}" for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]
    return found


def test_a_healthy_bucket_pair_passes_canary_and_metrics_and_leaves_no_canary(lab: Lab, tmp_path: Path) -> None:
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=s3_drill(tmp_path))
    found = outcomes(outcome.journal)
    assert found[SCENARIOS["canary"]][0] == "passed", outcome.output
    assert found[SCENARIOS["metrics"]][0] == "passed", outcome.output
    replicated = [r for r in outcome.journal if r["event"] == "canary-replicated"]
    assert len(replicated) == 3 and all(r["source"] in ("LastModified and polls", "polls") for r in replicated)
    # Each lag is known as an interval, lag_s ± uncertainty_s, that must hold the lab's own lag. The lab serves no
    # request before finishing what was due by then, so however busy the machine, the interval meets the lab's
    # range of lags; the slack is the two processes' clocks, each anchored to the wall clock once.
    fastest, slowest = lab.settings.replication_lag_min_seconds, lab.settings.replication_lag_max_seconds
    assert all(r["lag_s"] + r["uncertainty_s"] >= fastest - 1 and r["lag_s"] - r["uncertainty_s"] <= slowest + 1
               for r in replicated), [(r["lag_s"], r["uncertainty_s"]) for r in replicated]
    measured = outcome.measurements()
    assert measured[(TARGET, "lag max")]["measured_s"] == max(r["lag_s"] for r in replicated)
    assert measured[(TARGET, "lag max")]["objective_s"] == 300 and measured[(TARGET, "lag max")]["met"]
    assert 0 < measured[(TARGET, "ReplicationLatency")]["measured_s"] <= 300
    assert any("8388608B" in r["key"] for r in replicated), "one canary is a multipart upload"
    assert any("identical by" in line for line in outcome.verdicts())
    deleted = {r["identifier"] for r in outcome.journal if r["event"] == "resource-deleted" and r["kind"] == "s3-canary"}
    assert deleted == {r["key"] for r in replicated}
    assert canaries(lab) == []
    assert found[SCENARIOS["audit"]][0] == "passed", found[SCENARIOS["audit"]]
    status, message = found[SCENARIOS["configuration"]]
    assert status == "passed", message


def test_configuration_deviations_each_fail_with_the_setting_and_the_remedy(lab: Lab, tmp_path: Path) -> None:
    source, replica = client(lab, "s3", PRIMARY_REGION), client(lab, "s3", DR_REGION)
    replica.put_bucket_versioning(Bucket=REPLICA_BUCKET, VersioningConfiguration={"Status": "Suspended"})
    config = source.get_bucket_replication(Bucket=SOURCE_BUCKET)["ReplicationConfiguration"]
    wrong_key = lab.seeded.key_arn("rds", DR_REGION)
    rule = config["Rules"][0]
    rule["Destination"]["EncryptionConfiguration"] = {"ReplicaKmsKeyID": wrong_key}
    del rule["Destination"]["ReplicationTime"], rule["Destination"]["Metrics"]
    source.put_bucket_replication(Bucket=SOURCE_BUCKET, ReplicationConfiguration=config)

    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=s3_drill(tmp_path, tags="configuration"))

    assert outcome.exit_code == 1, outcome.output
    status, message = outcomes(outcome.journal)[SCENARIOS["configuration"]]
    assert status == "failed"
    assert f"versioning of the replica bucket {REPLICA_BUCKET} is Suspended: enable versioning on {REPLICA_BUCKET}" in message
    assert f"encrypts replicas with {wrong_key}, not the replica key alias/dr-s3" in message
    assert "Replication Time Control of replication rule" in message and "is not set, expected Enabled" in message
    assert "replication metrics of replication rule" in message
    assert "versioning of the source bucket" not in message and "replication role" not in message
    assert [r for r in outcome.journal if r["event"] == "resource-creating"] == [], "the configuration check writes nothing"


def test_cleanup_removes_the_canaries_a_killed_run_left_in_both_buckets(lab: Lab, tmp_path: Path) -> None:
    import subprocess
    import sys

    killed = f"{CANARY_PREFIX}a9e13ee0/{TARGET}/000-1024B"
    source = client(lab, "s3", PRIMARY_REGION)
    # Canaries carry the drill's tags (canary.write_canaries); cleanup deletes only versions whose tags prove it.
    tagging = "created-by=drtool&drtool:run-id=a9e13ee0"
    source.put_object(Bucket=SOURCE_BUCKET, Key=killed, Body=b"1", Tagging=tagging)
    source.create_multipart_upload(Bucket=SOURCE_BUCKET, Key=killed)  # a multipart canary cut short
    client(lab, "s3", DR_REGION).put_object(Bucket=REPLICA_BUCKET, Key=killed, Body=b"1", Tagging=tagging)
    with production_untouched(lab):
        done = subprocess.run([sys.executable, "-m", "drtool.cli", "cleanup", str(s3_drill(tmp_path)), "--yes"],
                              env=lab_env(lab, tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"s3://{SOURCE_BUCKET}/{killed}" in done.stdout and f"s3://{REPLICA_BUCKET}/{killed}" in done.stdout
    assert canaries(lab) == [] or _late_replica_only(lab, killed)
    assert not source.list_multipart_uploads(Bucket=SOURCE_BUCKET, Prefix=CANARY_PREFIX).get("Uploads")


def _late_replica_only(lab: Lab, key: str) -> bool:
    # The lab may still deliver the source's pending copy to the replica after cleanup deleted it there.
    return canaries(lab) == [f"{REPLICA_BUCKET}/{key}"]


# --- the audit's verdict -----------------------------------------------------------------------------


@dataclass
class Examples:  # the shape of the lead's audit report, for the verdict's tests only
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Report:
    covered: str = "prefix exports/, every object"
    source_objects: int = 120
    missing: Examples = field(default_factory=Examples)
    mismatched: Examples = field(default_factory=Examples)
    pending: Examples = field(default_factory=Examples)
    failed: Examples = field(default_factory=Examples)
    unreplicated: Examples = field(default_factory=Examples)
    oldest_unreplicated_age_s: float | None = None


def sandbox_target():
    return check_drill_file(Path(__file__).resolve().parents[2] / "drills" / "sandbox.yaml").drill.targets[TARGET]


def test_the_audit_verdict_names_each_class_with_examples_and_judges_the_real_rpo() -> None:
    target = sandbox_target()
    clean = audit_verdict(TARGET, target, Report(oldest_unreplicated_age_s=40.0))
    assert clean.outcome is Outcome.PASS and "prefix exports/, every object" in clean.sentence
    broken = audit_verdict(TARGET, target, Report(
        missing=Examples(2, ["exports/a.json: not in the replica", "exports/b.json: not in the replica"]),
        failed=Examples(1, ["exports/c.json: FAILED"]),
        unreplicated=Examples(1, ["exports/old.json: no replication status"]),
        oldest_unreplicated_age_s=7200.0,
    ))
    assert broken.outcome is Outcome.FAIL
    assert "2 object(s) missing from the replica (e.g. exports/a.json: not in the replica" in broken.sentence
    assert "1 object(s) FAILED to replicate (e.g. exports/c.json: FAILED)" in broken.sentence
    assert "stuck in PENDING" not in broken.sentence and "differ between" not in broken.sentence
    assert "2h old (unreplicated age 1h): BREACHED by 1h" in broken.sentence
    assert "carry no replication status" in broken.sentence
    assert [m.name for m in broken.measurements] == ["unreplicated age"]


def test_the_audit_scenario_passes_on_the_healthy_lab_and_says_what_it_covered(lab: Lab, tmp_path: Path) -> None:
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=s3_drill(tmp_path, tags="audit"))
    status, message = outcomes(outcome.journal)[SCENARIOS["audit"]]
    assert status == "passed", outcome.output
    assert any(line.startswith(f"{TARGET}: every object of {SOURCE_BUCKET} is in {REPLICA_BUCKET}, identical") and "(audited the whole bucket: " in line for line in outcome.verdicts()), outcome.verdicts()

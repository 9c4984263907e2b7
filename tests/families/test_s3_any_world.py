"""The S3 drill catches each class of broken replication in a world built through the AWS API, not the lab's seed.

One drill run judges nine bucket pairs that a user's own script set up: one healthy, eight each broken
in one way that a month of silence would hide. Each broken pair turns exactly its scenarios red.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from drtool.sandbox.lab import Lab
from tests.families.test_s3_replication import outcomes
from tests.helpers import REPO, production_untouched, run_drill

ROLE_NAME = "shop-replication"
CONFIGURATION, CANARY, AUDIT = "configuration", "canary", "audit"
SCENARIOS = {
    CONFIGURATION: "Replication is configured as the target expects",
    CANARY: "Canary objects reach the replica within the maximum lag",
    AUDIT: "The replica holds every object of the source, identical",
}


class World:
    """A user's own replicated bucket pairs, made with plain API calls."""

    def __init__(self, aws: Callable[..., Any], primary: str, dr: str):
        self.primary, self.dr = primary, dr
        self.s3 = {primary: aws("s3", primary), dr: aws("s3", dr)}
        self.keys = {region: aws("kms", region).create_key(Description=f"shop data ({region})")["KeyMetadata"]["Arn"]
                     for region in (primary, dr)}
        self.role_arn = aws("iam", primary).create_role(
            RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]

    def bucket(self, name: str, region: str, versioning: str = "Enabled") -> str:
        s3 = self.s3[region]
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
        if region == self.primary:
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.keys[region]}}]})
        return name

    def pair(self, name: str, *, replica_region: str | None = None, replica_versioning: str = "Enabled",
             before: Callable[[str], None] | None = None, **rule: Any) -> dict[str, Any]:
        """A source and replica bucket replicating the whole bucket, SSE-KMS objects included, but for `rule`'s changes."""
        source = self.bucket(f"{name}-src", self.primary)
        replica = self.bucket(f"{name}-dr", replica_region or self.dr, replica_versioning)
        if before:
            before(source)
        role = rule.pop("role", self.role_arn)
        settings = {"ID": "to-dr", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                    "Destination": {"Bucket": f"arn:aws:s3:::{replica}",
                                    "EncryptionConfiguration": {"ReplicaKmsKeyID": self.keys[self.dr]}}}
        settings.update(rule)
        self.s3[self.primary].put_bucket_replication(
            Bucket=source, ReplicationConfiguration={"Role": role, "Rules": [settings]})
        return {"kind": "s3-replication", "source_bucket": source, "replica_bucket": replica,
                "replica_kms_key": self.keys[self.dr],
                "expect": {"rtc": False, "metrics": False, "delete_marker_replication": False},
                "canary": {"count": 2, "sizes": ["1KiB", "4KiB"]},
                "objectives": {"max_lag": "2m", "max_pending": 100, "max_failed": 0, "max_unreplicated_age": "1h"}}


def broken_world(world: World) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """target name -> (its drill settings, the scenarios it must fail)."""
    def written_before_replication(bucket: str) -> None:
        world.s3[world.primary].put_object(Bucket=bucket, Key="ledger/2019.csv", Body=b"never replicated")

    destination = lambda replica: {"Bucket": f"arn:aws:s3:::{replica}",  # noqa: E731
                                   "EncryptionConfiguration": {"ReplicaKmsKeyID": world.keys[world.primary]}}
    return {
        "healthy": (world.pair("healthy"), set()),
        "rule-disabled": (world.pair("rule-disabled", Status="Disabled"), {CONFIGURATION, CANARY}),
        "prefix-elsewhere": (world.pair("prefix-elsewhere", Filter={"Prefix": "logs/"}), {CONFIGURATION, CANARY}),
        # Its replica key is in the DR region, so S3 cannot encrypt a replica in the primary region either.
        "replica-same-region": (world.pair("replica-same-region", replica_region=world.primary), {CONFIGURATION, CANARY}),
        "replica-unversioned": (world.pair("replica-unversioned", replica_versioning="Suspended"), {CONFIGURATION, CANARY}),
        "kms-not-selected": (world.pair("kms-not-selected", SourceSelectionCriteria={}), {CONFIGURATION, CANARY}),
        "replica-key-in-primary": (world.pair("replica-key-in-primary", Destination=destination("replica-key-in-primary-dr")),
                                   {CONFIGURATION, CANARY}),
        "role-missing": (world.pair("role-missing", role=world.role_arn.replace(ROLE_NAME, "deleted-role")), {CONFIGURATION}),
        "objects-before-rule": (world.pair("objects-before-rule", before=written_before_replication), {AUDIT}),
    }


@pytest.mark.lab(time_scale=120)
def test_each_broken_pair_made_through_the_api_fails_exactly_its_scenarios(lab: Lab, aws, tmp_path: Path) -> None:
    world = World(aws, lab.settings.primary_region, lab.settings.dr_region)
    targets = broken_world(world)
    drill = {"drill": "shop", "primary_region": world.primary, "dr_region": world.dr,
             "features": [str(REPO / "features" / "s3_replication.feature")],
             "tags": f"{CONFIGURATION} or {CANARY} or {AUDIT}",
             "targets": {name: settings for name, (settings, _) in targets.items()}}
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False))

    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=path, timeout=240)

    assert outcome.exit_code == 1, outcome.output
    by_target = outcomes_by_target(outcome.journal)
    failed = {name: {short for short, scenario in SCENARIOS.items() if by_target[name][scenario][0] != "passed"}
              for name in targets}
    assert failed == {name: must_fail for name, (_, must_fail) in targets.items()}, by_target
    for settings, _ in targets.values():
        for bucket, region in ((settings["source_bucket"], world.primary), (settings["replica_bucket"], None)):
            s3 = world.s3[region or world.s3[world.primary].get_bucket_location(Bucket=bucket)["LocationConstraint"]]
            listing = s3.list_object_versions(Bucket=bucket, Prefix="drtool-canary/")
            assert listing.get("Versions", []) + listing.get("DeleteMarkers", []) == [], f"canaries left in {bucket}"


def outcomes_by_target(journal: list[dict]) -> dict[str, dict[str, tuple[str, str]]]:
    target_of = {r["test"]: r["target"] for r in journal if r["event"] == "test-started"}
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for test, target in target_of.items():
        found.setdefault(target, {}).update(outcomes([r for r in journal if r.get("test") == test]))
    return found

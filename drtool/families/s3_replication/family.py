"""The s3-replication family: prove that a bucket replicates to the DR region as configured, in time, completely and intact."""

from __future__ import annotations

from drtool.core.leftovers import RemovalPhase
from drtool.core.registry import Family, PreflightProbe, ResourceKind
from drtool.core.tagging import CANARY_PREFIX
from drtool.families.s3_replication.canary import CANARY, canary_leftovers, remove_canary_in_bucket
from drtool.families.s3_replication.events import RESULT_HANDLERS, CanaryReplicated
from drtool.families.s3_replication.grants import GRANTS
from drtool.families.s3_replication.guard_rules import GUARD_RULES
from drtool.families.s3_replication.target import S3ReplicationTarget
from drtool.services.s3 import actions


def canary_cost(target: S3ReplicationTarget) -> str:
    total = sum(int(target.canary.sizes[i % len(target.canary.sizes)]) for i in range(target.canary.count))
    return (f"{target.canary.count} objects, {total / 1024 / 1024:.1f} MiB in each bucket for minutes, plus replication "
            "transfer between regions: well under $0.01 (estimate)")


FAMILY = Family(
    kind="s3-replication",
    target_model=S3ReplicationTarget,
    step_module="drtool.families.s3_replication.steps",
    features=("s3_replication.feature",),
    # ListBuckets needs s3:ListAllMyBuckets, not s3:ListBuckets.
    preflight=(PreflightProbe("s3", "list_buckets", iam=("s3:ListAllMyBuckets",)),),
    creates=(
        ResourceKind(
            CANARY, "s3", phase=RemovalPhase.OBJECTS, find=None, find_for_target=canary_leftovers,
            created_by=actions.put_object.operation.name, cost=canary_cost,
            planned_name=lambda run_id, target_name: f"{CANARY_PREFIX}{run_id}/{target_name}/*",
            remove=lambda s3, leftover, clock: remove_canary_in_bucket(s3, leftover.parent, leftover.identifier),
        ),
    ),
    grants=GRANTS,
    guard_rules=GUARD_RULES,
    figures=("lag p95", "lag max", "ReplicationLatency", "unreplicated age"),
    events=(CanaryReplicated,),
    result_handlers=RESULT_HANDLERS,
    remedies={
        "NoSuchBucket": "create the bucket, or correct the target's source_bucket or replica_bucket",
        "KMS.DisabledException": "enable the bucket's KMS key in {region}; S3 cannot encrypt or decrypt with a disabled key",
        "KMS.NotFoundException": "the bucket's default KMS key does not exist in {region}: correct the bucket's default encryption",
        "KMS.KMSInvalidStateException": "the bucket's KMS key in {region} is pending deletion or import: cancel the deletion",
        "InvalidStorageClass": "correct the target's canary.storage_class to a class S3 accepts in {region}",
        "InvalidRequest": "check the target's canary settings (storage class, sizes) against the bucket's settings in {region}",
        "PermanentRedirect": "the bucket is not in {region}: correct the drill's regions or the target's buckets",
        "AuthorizationHeaderMalformed": "the bucket is not in {region}: correct the drill's regions or the target's buckets",
    },
)


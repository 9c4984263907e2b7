"""The s3-replication target: a replicated bucket pair, what its replication must look like, and its objectives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator, Literal

from pydantic import ByteSize, Field, field_validator, model_validator

from drtool.core.model import Duration, KmsKey, Strict, kms_key_region

KIB, MIB = 1024, 1024 * 1024
# S3's smallest part (but the last) is 5 MiB; objects this big or bigger are written in parts, as large exports are.
MULTIPART_THRESHOLD = 8 * MIB
PART_SIZE = 5 * MIB
DEFAULT_SIZES = (1 * KIB, 64 * KIB, 1 * MIB, 4 * MIB, MULTIPART_THRESHOLD)


class Expected(Strict):
    """Replication features the rule must have (true) or must not have (false)."""

    rtc: bool = Field(default=True, description="S3 Replication Time Control (ReplicationTime) enabled on the rule.")
    metrics: bool = Field(default=True, description="Replication metrics enabled on the rule (RTC turns them on too).")
    delete_marker_replication: bool = Field(default=False, description="Delete markers replicated to the replica.")


class CanarySettings(Strict):
    count: int = Field(default=5, ge=1, le=100, description="How many canary objects to write.")
    sizes: list[ByteSize] = Field(
        default_factory=lambda: list(DEFAULT_SIZES),
        description=f"Canary sizes in bytes (or like 64KiB, 8MiB), used in turn; {MULTIPART_THRESHOLD // MIB} MiB or more "
                    "is written as a multipart upload.",
    )
    storage_class: str = Field(default="STANDARD", description="S3 storage class of the canaries, as production writes.")

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: list[ByteSize]) -> list[ByteSize]:
        if not sizes or any(size < 1 for size in sizes):
            raise ValueError("give at least one canary size, each of 1 byte or more")
        if any(size > 1024 * MIB for size in sizes):
            raise ValueError("a canary is at most 1 GiB")
        return sizes

    @model_validator(mode="after")
    def _every_size_written(self) -> "CanarySettings":
        if self.count < len(self.sizes):
            raise ValueError(f"count {self.count} writes fewer canaries than the {len(self.sizes)} sizes given")
        return self


class AuditSettings(Strict):
    prefix: str = Field(default="", description="Audit only keys under this prefix; empty: the whole bucket.")
    sample_percent: float | None = Field(default=None, gt=0, le=100, description="Compare the checksums of this percentage of the objects (every key is listed and compared by size and ETag).")
    sample_keys: int | None = Field(default=None, ge=1, description="Compare the checksums of this many objects, chosen at random (every key is listed and compared by size and ETag).")

    @model_validator(mode="after")
    def _one_sample(self) -> "AuditSettings":
        if self.sample_percent is not None and self.sample_keys is not None:
            raise ValueError("give sample_percent or sample_keys, not both")
        return self


class S3Objectives(Strict):
    """Replication objectives. A breach of any of them fails the drill."""

    max_lag: Duration = Field(description="Longest a new object may take to reach the replica (canaries, ReplicationLatency).")
    max_pending: int = Field(ge=0, description="Most operations that may wait for replication at once (OperationsPendingReplication).")
    max_failed: int = Field(default=0, ge=0, description="Most operations that may fail to replicate in the metrics window.")
    max_unreplicated_age: Duration = Field(description="Oldest an object may be and still not be in the replica: the bucket's real RPO.")


class S3ReplicationTarget(Strict):
    """A source bucket replicating to a replica bucket in the DR region."""

    kind: Literal["s3-replication"]
    source_bucket: str = Field(description="Bucket in the primary region.")
    replica_bucket: str = Field(description="Bucket in the DR region that the source replicates to.")
    rule_id: str | None = Field(default=None, description="The replication rule to check; default: the rule that covers the canaries.")
    replica_kms_key: KmsKey = Field(description="KMS key the replicas must be encrypted with, in the DR region: key id, ARN or alias/NAME.")
    expect: Expected = Field(default_factory=Expected)
    canary: CanarySettings = Field(default_factory=CanarySettings)
    metrics_window: Duration = Field(default="24h", validate_default=True, description="How far back to judge the replication metrics.")
    audit: AuditSettings = Field(default_factory=AuditSettings)
    objectives: S3Objectives

    @field_validator("source_bucket", "replica_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if value.startswith("arn:") or "/" in value or not 3 <= len(value) <= 63:
            raise ValueError(f"{value!r} is not a bucket name (give the name, not an ARN or a path)")
        return value

    @model_validator(mode="after")
    def _two_buckets(self) -> "S3ReplicationTarget":
        if self.source_bucket == self.replica_bucket:
            raise ValueError("the source and the replica bucket are the same bucket")
        return self

    def drill_problems(self, drill: Any) -> Iterator[tuple[tuple[str, ...], str]]:
        """The replicas are encrypted in the DR region, so their key must be there."""
        region = kms_key_region(self.replica_kms_key)
        if region is not None and region != drill.dr_region:
            yield ("replica_kms_key",), (f"the key is in {region}, but the replica bucket is in dr_region {drill.dr_region}; "
                                         "KMS keys are regional, so give a key in the DR region")

    def read_locations(self) -> Iterator[tuple[str, str, str]]:
        """The production keys the drill reads, as (bucket, prefix, what they are): the audit lists both buckets under
        its prefix ("" is the whole bucket), so nothing drtool keeps may be written there."""
        audited = f"under {self.audit.prefix!r} (audit.prefix)" if self.audit.prefix else "audited whole"
        yield self.source_bucket, self.audit.prefix, f"its source bucket, {audited}"
        yield self.replica_bucket, self.audit.prefix, f"its replica bucket, {audited}"

    def time_needed(self) -> timedelta:
        """The canaries are given up to max_lag to arrive."""
        return self.objectives.max_lag

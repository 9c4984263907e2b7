"""Scenario 2: write canary objects as production writes its data, wait for their replicas, check them, measure the lag.

Every canary is announced to the scenario's teardown before it is written, with a remover that deletes every version
and delete marker of its key on both sides, so an exception, Ctrl-C or SIGTERM leaves nothing behind; a SIGKILL
leaves the journal record that `drtool cleanup` follows.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import urlencode

from botocore.exceptions import ClientError

from drtool.core.clock import DeadlineExceeded, format_duration, poll_until
from drtool.core.leftovers import Leftover, age
from drtool.core.operations import calls, dr, primary
from drtool.core.ownership import tag_map, tags_prove
from drtool.core.tagging import CANARY_PREFIX, drill_tags
from drtool.core.teardown import TrackedResource
from drtool.core.verdicts import DrillFinding, Measurement, ObjectiveBreached
from drtool.families.s3_replication.config import select_rule
from drtool.families.s3_replication.context import S3DrillContext
from drtool.families.s3_replication.events import CanaryReplicated
from drtool.families.s3_replication.target import MULTIPART_THRESHOLD, PART_SIZE, S3ReplicationTarget
from drtool.services.cloudwatch.probes import metric_statistics
from drtool.services.kms.probes import describe_key
from drtool.services.s3 import actions, probes
from drtool.services.s3.listing import list_objects

CANARY = "s3-canary"


@dataclass
class Canary:
    key: str
    size: int
    sha256: str  # hex digest of what was written
    written_at: datetime  # our clock, just before the request that makes the object visible
    write_returned: datetime | None = None  # our clock, once S3 acknowledged that request
    missed_at: datetime | None = None  # our clock, before the latest listing of the replica that lacked it
    listed_at: datetime | None = None  # our clock, after the first listing of the replica that held it
    source: dict[str, Any] | None = None  # HeadObject of the source once replicated
    replica: dict[str, Any] | None = None  # HeadObject of the replica
    lag_s: float | None = None
    lag_uncertainty_s: float | None = None  # half the width of the interval the lag is known to lie in
    lag_source: str = ""

    @property
    def settled(self) -> bool:
        return self.replica is not None


def canary_key(run_id: str, target: str, index: int, size: int) -> str:
    """`drtool-canary/<run id>/<target>/<n>-<size>B`: unique per run and target, and cleanup reads the run id back."""
    return f"{CANARY_PREFIX}{run_id}/{target}/{index:03d}-{size}B"


def canary_run_id(key: str) -> str | None:
    return key[len(CANARY_PREFIX):].split("/", 1)[0] or None


def _poll_interval(target: S3ReplicationTarget) -> Callable[[float], float]:
    """Look again after 1% of the time waited so far, so an arrival is placed within about 1% of its lag.

    Never more often than every quarter second, nor less often than a hundredth of the objective.
    """
    ceiling = max(1.0, target.objectives.max_lag.total_seconds() / 100)
    return lambda waited: min(ceiling, max(0.25, waited / 100))


def _wait_deadline(target: S3ReplicationTarget) -> float:
    return 2 * target.objectives.max_lag.total_seconds()


@calls(primary(probes.bucket_encryption))
def production_encryption(ctx: S3DrillContext) -> dict[str, Any]:
    """PutObject settings that encrypt a canary as the bucket's default encryption does production data."""
    rule = probes.bucket_encryption(ctx.s3_source, ctx.target.source_bucket)
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
        settings = {"ServerSideEncryption": default["SSEAlgorithm"], "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled"))}
        if default.get("KMSMasterKeyID"):
            settings["SSEKMSKeyId"] = default["KMSMasterKeyID"]
        return settings
    return {"ServerSideEncryption": "AES256"} if default.get("SSEAlgorithm") == "AES256" else {}


@calls("production_encryption", primary("_write_one"), primary("remove_canary", teardown=True),
       primary("canary_written_by_run", teardown=True))
def write_canaries(ctx: S3DrillContext) -> list[Canary]:
    target = ctx.target
    settings = {
        **production_encryption(ctx),
        "StorageClass": target.canary.storage_class,
        "Tagging": urlencode([(t["Key"], t["Value"]) for t in drill_tags(ctx.run_id, ctx.drill_name, ctx.name, ctx.clock.now())]),
    }
    canaries = []
    for index in range(target.canary.count):
        size = int(target.canary.sizes[index % len(target.canary.sizes)])
        key = canary_key(ctx.run_id, ctx.name, index, size)
        resource = ctx.teardown.announce(TrackedResource(
            kind=CANARY, identifier=key, region=ctx.primary_region, target=ctx.name,
            remove=lambda key=key: remove_canary(ctx, key), service="s3",
            verify=lambda key=key: canary_written_by_run(ctx, key),
        ))
        body = os.urandom(size)
        canary = Canary(key, size, hashlib.sha256(body).hexdigest(), ctx.clock.now())

        def committing(canary: Canary = canary) -> None:
            canary.written_at = ctx.clock.now()

        with ctx.teardown.creating(resource):
            version = _write_one(ctx.s3_source, target.source_bucket, key, body, settings, committing)
        canary.write_returned = ctx.clock.now()
        ctx.teardown.created(resource, arn=f"arn:aws:s3:::{target.source_bucket}/{key}", version=version, size=size)
        ctx.progress(f"wrote canary {key} ({size} B)")
        canaries.append(canary)
    return canaries


@calls(actions.put_object, actions.start_multipart_upload, actions.upload_part, actions.complete_multipart_upload,
       actions.abort_multipart_upload)
def _write_one(s3: Any, bucket: str, key: str, body: bytes, settings: dict[str, Any],
               committing: Callable[[], None]) -> str | None:
    """One canary: a single PutObject, or a multipart upload from the threshold up, as large production objects are.

    `committing` runs just before the request that makes the object exist, where replication starts from.
    """
    if len(body) < MULTIPART_THRESHOLD:
        committing()
        return actions.put_object(s3, bucket, key, body, **settings).get("VersionId")
    upload = actions.start_multipart_upload(s3, bucket, key, **settings)
    try:
        parts = [actions.upload_part(s3, bucket, key, upload, number, body[start:start + PART_SIZE])
                 for number, start in enumerate(range(0, len(body), PART_SIZE), start=1)]
        committing()
        return actions.complete_multipart_upload(s3, bucket, key, upload, parts).get("VersionId")
    except BaseException:
        # Best effort: an upload that completed just before the interrupt has nothing left to abort, and the abort's
        # error must not replace the interrupt. Teardown aborts whatever upload is still open.
        with contextlib.suppress(ClientError):
            actions.abort_multipart_upload(s3, bucket, key, upload)
        raise


@calls(dr(list_objects), dr(probes.head_object), primary(probes.head_object))
def wait_for_replicas(ctx: S3DrillContext, canaries: list[Canary]) -> list[Canary]:
    """Poll until every canary is in the replica and its source has left PENDING, bounded by twice the maximum lag.

    Each look is one listing of the run's canary prefix in the replica, however many canaries are still
    awaited, so the moment each arrives is bracketed closely; HEAD requests follow only for the new arrivals.
    """
    target = ctx.target
    prefix = canary_key(ctx.run_id, ctx.name, 0, 0).rsplit("/", 1)[0] + "/"

    def look() -> list[Canary]:
        awaited = [c for c in canaries if c.listed_at is None]
        if awaited:
            before = ctx.clock.now()
            present = {item["Key"] for item in list_objects(ctx.s3_replica, target.replica_bucket, prefix)}
            after = ctx.clock.now()
            for canary in awaited:
                if canary.key in present:
                    canary.listed_at = after
                else:
                    canary.missed_at = before
        for canary in (c for c in canaries if c.listed_at is not None and not c.settled):
            source = probes.head_object(ctx.s3_source, target.source_bucket, canary.key)
            if source is not None and source.get("ReplicationStatus") == "PENDING":
                continue  # S3 may show the replica a moment before the source's status settles
            replica = probes.head_object(ctx.s3_replica, target.replica_bucket, canary.key)
            if replica is None:
                continue
            canary.source, canary.replica = source, replica
            canary.lag_s, canary.lag_uncertainty_s, canary.lag_source = _lag(canary)
            ctx.emit(CanaryReplicated(key=canary.key, size=canary.size, lag_s=round(canary.lag_s, 3),
                                      source=canary.lag_source, uncertainty_s=round(canary.lag_uncertainty_s, 3)))
        return [c for c in canaries if not c.settled]

    try:
        poll_until(look, lambda missing: not missing, clock=ctx.clock, deadline=_wait_deadline(target),
                   interval=_poll_interval(target), what=f"{len(canaries)} canaries in {target.replica_bucket}",
                   on_poll=lambda missing: ctx.progress(f"{len(canaries) - len(missing)} of {len(canaries)} canaries replicated"))
    except DeadlineExceeded as exc:
        missing = exc.last or []
        statuses = {c.key: (probes.head_object(ctx.s3_source, target.source_bucket, c.key) or {}).get("ReplicationStatus", "missing")
                    for c in missing}
        raise ObjectiveBreached(
            f"{ctx.name}: {len(missing)} of {len(canaries)} canaries not replicated to {target.replica_bucket} after "
            f"{format_duration(exc.waited)} (max lag {format_duration(target.objectives.max_lag)}); source status: "
            + ", ".join(f"{key.rsplit('/', 1)[-1]} {status}" for key, status in statuses.items())
        ) from None
    return canaries


def _lag(canary: Canary) -> tuple[float, float, str]:
    """The lag, how closely it is known, and from what: the midpoint of the bounds we hold.

    Our polls bound it on our own clock: the replica arrived after the last listing that lacked it and before
    the first that held it. The replica's LastModified narrows that: AWS dates it to the whole second, on a
    clock ours agrees with unless skewed, and a skewed clock shows as bounds that do not meet. The source's
    LastModified cannot serve: for a multipart object it is when the upload began, not when it completed.
    """
    assert canary.listed_at is not None and canary.write_returned is not None
    low = max(0.0, (canary.missed_at - canary.write_returned).total_seconds()) if canary.missed_at else 0.0
    high = (canary.listed_at - canary.written_at).total_seconds()
    arrived = (canary.replica or {}).get("LastModified")
    if arrived is not None:
        aws_low = (arrived - canary.write_returned).total_seconds()
        aws_high = (arrived + timedelta(seconds=1) - canary.written_at).total_seconds()
        if max(low, aws_low) <= min(high, aws_high):
            low, high = max(low, aws_low), min(high, aws_high)
            return (low + high) / 2, (high - low) / 2, "LastModified and polls"
    return (low + high) / 2, (high - low) / 2, "polls"


@calls(dr(describe_key), dr(probes.object_sha256))
def replica_problems(ctx: S3DrillContext, canaries: list[Canary]) -> tuple[list[str], str]:
    """What is wrong with each replica (status, key, size, checksum), and how integrity was checked."""
    target = ctx.target
    expected_key = describe_key(ctx.clients("kms", ctx.dr_region), target.replica_kms_key)
    problems, compared = [], set()
    for canary in canaries:
        source, replica, name = canary.source or {}, canary.replica or {}, canary.key.rsplit("/", 1)[-1]
        if source.get("ReplicationStatus") != "COMPLETED":
            problems.append(f"canary {name} has ReplicationStatus {source.get('ReplicationStatus', 'none')} on the source, not COMPLETED")
        if replica.get("ReplicationStatus") != "REPLICA":
            problems.append(f"replica of {name} has ReplicationStatus {replica.get('ReplicationStatus', 'none')}, not REPLICA")
        used = replica.get("SSEKMSKeyId")
        if used not in (expected_key["Arn"], expected_key["KeyId"]):
            problems.append(f"replica of {name} is encrypted with {used or replica.get('ServerSideEncryption') or 'no key'}, "
                            f"not the replica key {expected_key['Arn']}")
        if replica.get("ContentLength") != canary.size:
            problems.append(f"replica of {name} has {replica.get('ContentLength')} bytes, not {canary.size}")
            continue
        if replica.get("ChecksumSHA256") and source.get("ChecksumSHA256"):
            compared.add("S3's stored SHA-256 checksums")
            if replica["ChecksumSHA256"] != source["ChecksumSHA256"]:
                problems.append(f"replica of {name} has checksum {replica['ChecksumSHA256']}, the source {source['ChecksumSHA256']}")
        else:
            # The replica carries no stored checksum to compare: read it back and hash what arrived.
            compared.add("the SHA-256 of the replica's content")
            if probes.object_sha256(ctx.s3_replica, target.replica_bucket, canary.key) != canary.sha256:
                problems.append(f"replica of {name} differs in content from the canary written")
    return problems, " and ".join(sorted(compared))


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@calls()
def lag_measurements(ctx: S3DrillContext, canaries: list[Canary]) -> list[Measurement]:
    lags = [c.lag_s for c in canaries if c.lag_s is not None]
    sources = sorted({c.lag_source for c in canaries})
    uncertainty = max(c.lag_uncertainty_s or 0.0 for c in canaries)
    source = " / ".join(sources) + f", each within ±{uncertainty:.2f}s"
    objective = ctx.target.objectives.max_lag.total_seconds()
    return [
        Measurement(ctx.name, f"lag {label}", value, objective, source,
                    f"{label} replication lag of {len(lags)} canaries to {ctx.target.replica_bucket}: {format_duration(value)}")
        for label, value in (("p50", percentile(lags, 50)), ("p95", percentile(lags, 95)), ("max", max(lags)))
    ]


@calls(primary(probes.replication_configuration), primary(metric_statistics))
def aws_latency_note(ctx: S3DrillContext, canaries: list[Canary]) -> str | None:
    """AWS's own ReplicationLatency over the canaries' minutes, to stand beside the measured lag (None if AWS has none)."""
    target = ctx.target
    rule_id = target.rule_id
    if rule_id is None:
        config = probes.replication_configuration(ctx.s3_source, target.source_bucket) or {}
        rule, _ = select_rule(config, target.source_bucket, target.replica_bucket, None)
        rule_id = (rule or {}).get("ID")
    if not rule_id:
        return None
    start = min(c.written_at for c in canaries).replace(second=0, microsecond=0)
    points = metric_statistics(ctx.clients("cloudwatch", ctx.primary_region), "AWS/S3", "ReplicationLatency",
                               replication_dimensions(target, rule_id), "Maximum", start,
                               ctx.clock.now() + timedelta(minutes=1), 60)
    if not points:
        return None
    return (f"{ctx.name}: AWS's ReplicationLatency (Maximum, per minute) while the canaries replicated: "
            f"{format_duration(max(p['Maximum'] for p in points))}")


def replication_dimensions(target: S3ReplicationTarget, rule_id: str) -> dict[str, str]:
    return {"SourceBucket": target.source_bucket, "DestinationBucket": target.replica_bucket, "RuleId": rule_id}


def integrity_finding(ctx: S3DrillContext, problems: list[str]) -> None:
    if problems:
        raise DrillFinding(f"{ctx.name}: " + "; ".join(problems))


# --- removal: teardown and cleanup --------------------------------------------------------------------


@calls(primary(probes.incomplete_uploads), primary(probes.object_tags))
def canary_written_by_run(ctx: S3DrillContext, key: str) -> bool:
    """A write whose answer never arrived (Ctrl-C or the budget mid-request): this run's if S3 holds an upload of the
    key or the key's tags name this run; teardown then removes it, and the guard reads the tags again per delete."""
    bucket = ctx.target.source_bucket
    if any(upload["Key"] == key for upload in probes.incomplete_uploads(ctx.s3_source, bucket, key)):
        return True
    tags = probes.object_tags(ctx.s3_source, bucket, key)
    return tags is not None and tags_prove(tag_map(tags), ctx.run_id, key, named_run=ctx.run_id) is None


@calls(primary(probes.head_object), primary("remove_canary_in_bucket", teardown=True),
       dr("remove_canary_in_bucket", teardown=True))
def remove_canary(ctx: S3DrillContext, key: str) -> bool:
    """Delete every version of a canary on both sides, once replication of it has settled."""
    target = ctx.target
    try:
        # A replica that lands after the source is gone would be left behind: let a pending one finish first.
        poll_until(lambda: probes.head_object(ctx.s3_source, target.source_bucket, key),
                   lambda head: head is None or head.get("ReplicationStatus") != "PENDING",
                   clock=ctx.clock, deadline=_wait_deadline(target), interval=_poll_interval(target),
                   what=f"canary {key} to settle")
    except DeadlineExceeded:
        pass  # replication is stuck (paused, failing): removing the source stops it; cleanup finds any late replica
    removed_source = remove_canary_in_bucket(ctx.s3_source, target.source_bucket, key)
    removed_replica = remove_canary_in_bucket(ctx.s3_replica, target.replica_bucket, key)
    return removed_source or removed_replica


@calls(probes.incomplete_uploads, actions.abort_multipart_upload, probes.key_versions, actions.delete_versions)
def remove_canary_in_bucket(s3: Any, bucket: str, key: str) -> bool:
    """Abort the key's incomplete uploads and delete each of its versions and delete markers; False if there were none."""
    uploads = [upload for upload in probes.incomplete_uploads(s3, bucket, key) if upload["Key"] == key]
    for upload in uploads:
        actions.abort_multipart_upload(s3, bucket, key, upload["UploadId"])
    versions = [(v["Key"], v.get("VersionId") or "null") for v in probes.key_versions(s3, bucket, key) if v["Key"] == key]
    if versions:
        actions.delete_versions(s3, bucket, versions)
    return bool(uploads or versions)


@calls(probes.bucket_region, probes.key_versions, probes.incomplete_uploads)
def canary_leftovers(clients: Callable[[str, str], Any], target: S3ReplicationTarget, any_region: str,
                     now: datetime) -> list[Leftover]:
    """Every canary key left in the target's buckets (versions, delete markers, incomplete uploads), one per bucket and key."""
    found = []
    for bucket in (target.source_bucket, target.replica_bucket):
        region = probes.bucket_region(clients("s3", any_region), bucket)
        s3 = clients("s3", region)
        keys: dict[str, list[dict[str, Any]]] = {}
        for version in probes.key_versions(s3, bucket, CANARY_PREFIX):
            keys.setdefault(version["Key"], []).append(version)
        for upload in probes.incomplete_uploads(s3, bucket, CANARY_PREFIX):
            keys.setdefault(upload["Key"], []).append({"LastModified": upload.get("Initiated"), "Upload": True})
        for key, entries in sorted(keys.items()):
            times = [e["LastModified"] for e in entries if e.get("LastModified") is not None]
            created_at = min(times) if times else None
            counts = (sum(not e.get("Upload") and not e.get("DeleteMarker") for e in entries),
                      sum(bool(e.get("DeleteMarker")) for e in entries), sum(bool(e.get("Upload")) for e in entries))
            status = ", ".join(f"{n} {what}" for n, what in zip(counts, ("versions", "delete markers", "incomplete uploads")) if n)
            found.append(Leftover(
                kind=CANARY, identifier=key, region=region, arn=f"arn:aws:s3:::{bucket}/{key}", run_id=canary_run_id(key),
                created_at=created_at, age=age(created_at, now), status=status,
                # The canary prefix in a drill's own bucket is the mark: delete markers and uploads cannot be tagged.
                tagged=True, parent=bucket, display=f"s3://{bucket}/{key}",
            ))
    return found

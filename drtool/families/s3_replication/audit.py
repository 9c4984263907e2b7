"""The completeness and integrity audit: is every object of the source bucket in its replica, intact?

Both listings stream in key order and are merged like two sorted files, so
memory stays flat whatever the bucket's size. A listing shows size and ETag;
an object only in the source is looked at once more (HeadObject) to learn why:
PENDING or FAILED replication, no replication status at all (written before
the rule, or outside it), or COMPLETED yet gone from the replica. Checksums,
which no listing shows, are compared for a sample of the objects in both, and
for every object whose ETag differs: an SSE-KMS object's ETag is not a digest
of its content, and its replica is encrypted under another key, so only the
checksum decides whether the two hold the same bytes.
"""

from __future__ import annotations

import random
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from drtool.core.clock import format_duration
from drtool.core.operations import calls, dr, primary
from drtool.services.s3.listing import list_objects, read_ahead
from drtool.services.s3.probes import head_object

EXAMPLES_KEPT = 5
HEAD_WORKERS = 8  # HeadObject calls in flight at once, far below S3's 5,500 GET/HEAD per second per prefix
BATCH = 512  # objects waiting for a HeadObject at most: memory stays flat however many there are
CHECKSUM_FIELDS = ("ChecksumSHA256", "ChecksumSHA1", "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME")


@dataclass(frozen=True)
class Sample:
    """Which objects present on both sides get their checksums compared: a percentage, or a number of keys."""

    percent: float | None = None
    keys: int | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.keys is None):
            raise ValueError("a sample is either a percentage or a number of keys")

    def describe(self) -> str:
        return f"{self.percent:g}% of the objects" if self.percent is not None else f"a sample of up to {self.keys} objects"


@dataclass
class Examples:
    """How many objects are in one class, and the first few, each with its reason."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(example)


@dataclass
class AuditReport:
    covered: str = ""
    source_objects: int = 0
    replica_objects: int = 0
    replica_only: int = 0  # in the replica, not the source: deleted at the source, which is not a loss
    in_flight: int = 0  # PENDING for less than the audit was told replication takes: on their way, not stuck
    checksums_compared: int = 0
    missing: Examples = field(default_factory=Examples)  # COMPLETED at the source, absent from the replica
    mismatched: Examples = field(default_factory=Examples)  # size, ETag or checksum differ
    pending: Examples = field(default_factory=Examples)
    failed: Examples = field(default_factory=Examples)
    unreplicated: Examples = field(default_factory=Examples)  # no replication status: before the rule, or outside it
    oldest_unreplicated_age_s: float | None = None  # the bucket's real recovery point

    @property
    def clean(self) -> bool:
        return not any(c.count for c in (self.missing, self.mismatched, self.pending, self.failed, self.unreplicated))

    def note_unreplicated_age(self, age_s: float) -> None:
        if self.oldest_unreplicated_age_s is None or age_s > self.oldest_unreplicated_age_s:
            self.oldest_unreplicated_age_s = age_s


@calls(primary(list_objects), dr(list_objects), primary(head_object), dr(head_object))
def audit_replication(
    source_s3: Any,
    replica_s3: Any,
    source_bucket: str,
    replica_bucket: str,
    *,
    prefix: str = "",
    sample: Sample | None = None,
    in_flight_s: float = 0.0,
    replicated_prefixes: tuple[str, ...] = (),
    now: datetime,
) -> AuditReport:
    """Compare the source bucket with its replica under `prefix`; every key is listed, `sample` sets the checksum checks.

    An object PENDING for less than `in_flight_s` world seconds is on its way (a live bucket always has some), not stuck.
    An object with no replication status under one of `replicated_prefixes` (where an enabled rule replicates every
    object) was written before the rule: S3 will never replicate it, so it is missing, however young.
    """
    report = AuditReport()
    chosen = _Chooser(sample)
    # Work that needs a HeadObject waits in batches, so memory stays flat however much of it there is.
    absent = _Batch(lambda items: _explain_absences(report, source_s3, replica_s3, source_bucket, replica_bucket, items, now,
                                                    in_flight_s, replicated_prefixes))
    etag_differs = _Batch(lambda keys: _compare_checksums(report, source_s3, replica_s3, source_bucket, replica_bucket, keys, etag_differs=True))
    checksums = _Batch(lambda keys: _compare_checksums(report, source_s3, replica_s3, source_bucket, replica_bucket, keys))
    source = read_ahead(list_objects(source_s3, source_bucket, prefix))
    replica = read_ahead(list_objects(replica_s3, replica_bucket, prefix))
    for original, copy in _merge(source, replica):
        if original is None:
            report.replica_objects += 1
            report.replica_only += 1
            continue
        report.source_objects += 1
        if copy is None:
            absent.add(original)
            continue
        report.replica_objects += 1
        if original.get("Size") != copy.get("Size"):
            report.mismatched.add(f"{original['Key']}: size {original.get('Size')} in the source, {copy.get('Size')} in the replica")
        elif original.get("ETag") != copy.get("ETag"):
            etag_differs.add(original["Key"])
        elif chosen.take_now(original["Key"]):
            checksums.add(original["Key"])
    for key in chosen.reservoir:
        checksums.add(key)
    for batch in (absent, etag_differs, checksums):
        batch.flush()
    where = f"prefix {prefix}" if prefix else "the whole bucket"
    checked = sample.describe() if sample else "every object"
    report.covered = (
        f"{where}: {report.source_objects} source objects listed against {report.replica_objects} in the replica; "
        f"checksums compared for {checked} in both ({report.checksums_compared})"
    )
    return report


def _merge(source: Iterator[dict], replica: Iterator[dict]) -> Iterator[tuple[dict | None, dict | None]]:
    """Pairs by key from two key-ordered listings: (source, replica), either None where only the other has the key."""
    a, b = next(source, None), next(replica, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a["Key"] < b["Key"]):
            yield a, None
            a = next(source, None)
        elif a is None or b["Key"] < a["Key"]:
            yield None, b
            b = next(replica, None)
        else:
            yield a, b
            a, b = next(source, None), next(replica, None)


def _explain_absences(report: AuditReport, source_s3: Any, replica_s3: Any, source_bucket: str, replica_bucket: str,
                      listed: list[dict], now: datetime, in_flight_s: float, replicated_prefixes: tuple[str, ...]) -> None:
    def look(item: dict) -> tuple[dict, bool]:
        head = head_object(source_s3, source_bucket, item["Key"]) or {}
        # COMPLETED after the replica was listed: it landed while the audit ran, so look at the replica again.
        landed = head.get("ReplicationStatus") == "COMPLETED" and head_object(replica_s3, replica_bucket, item["Key"]) is not None
        return head, landed

    with ThreadPoolExecutor(max_workers=HEAD_WORKERS, thread_name_prefix="drtool-audit") as pool:
        for item, (head, landed) in zip(listed, pool.map(look, listed)):
            if landed:
                report.replica_objects += 1
            else:
                _explain_absence(report, item, head, now, in_flight_s, replicated_prefixes)


def _explain_absence(report: AuditReport, listed: dict, head: dict, now: datetime, in_flight_s: float,
                     replicated_prefixes: tuple[str, ...]) -> None:
    key = listed["Key"]
    status = head.get("ReplicationStatus")
    modified = head.get("LastModified") or listed.get("LastModified")
    age_s = max(0.0, (now - modified).total_seconds()) if modified else None
    age = f", written {format_duration(age_s)} ago" if age_s is not None else ""
    if status == "COMPLETED":
        report.missing.add(f"{key}: COMPLETED at the source but absent from the replica")
        return
    if age_s is not None:
        report.note_unreplicated_age(age_s)
    if status == "PENDING" and age_s is not None and age_s < in_flight_s:
        report.in_flight += 1
    elif status == "PENDING":
        report.pending.add(f"{key}: PENDING{age}")
    elif status == "FAILED":
        report.failed.add(f"{key}: FAILED{age}")
    elif key.startswith(replicated_prefixes):
        report.missing.add(f"{key}: no replication status, written before the rule that covers it{age}")
    else:
        report.unreplicated.add(f"{key}: no replication status{age}")


class _Batch:
    def __init__(self, handle: Callable[[list], None]):
        self._handle = handle
        self._items: list = []

    def add(self, item: object) -> None:
        self._items.append(item)
        if len(self._items) == BATCH:
            self.flush()

    def flush(self) -> None:
        if self._items:
            self._handle(self._items)
            self._items = []


class _Chooser:
    """Which keys get their checksums compared. Memory stays bounded: a key is chosen on the spot, or kept in a
    reservoir no bigger than the sample."""

    def __init__(self, sample: Sample | None):
        self.sample = sample
        self.reservoir: list[str] = []
        self._seen = 0
        # Seeded: the same bucket gives the same sample, so two runs compare like with like.
        self._random = random.Random(0)

    def take_now(self, key: str) -> bool:
        """True if `key` is chosen for good now; a sample of N keys is only known once the listing ends."""
        if self.sample is None:
            return True
        if self.sample.percent is not None:
            # By the key's hash: a stable, evenly spread share of the keys.
            return zlib.crc32(key.encode()) % 10_000 < self.sample.percent * 100
        self._seen += 1
        if len(self.reservoir) < self.sample.keys:
            self.reservoir.append(key)
        else:  # reservoir sampling: every key seen so far is equally likely to be kept
            slot = self._random.randrange(self._seen)
            if slot < self.sample.keys:
                self.reservoir[slot] = key
        return False


def _compare_checksums(report: AuditReport, source_s3: Any, replica_s3: Any, source_bucket: str,
                       replica_bucket: str, keys: list[str], *, etag_differs: bool = False) -> None:
    """Compare the checksums of `keys` on both sides. Where the ETags differed, no checksum to decide by is a mismatch too."""

    def compare(key: str) -> tuple[bool, str]:
        original = head_object(source_s3, source_bucket, key) or {}
        copy = head_object(replica_s3, replica_bucket, key) or {}
        names = [name for name in CHECKSUM_FIELDS if original.get(name)]
        for name in names:
            if original[name] != copy.get(name):
                return True, f"{key}: {name} {original[name]} in the source, {copy.get(name) or 'none'} in the replica"
        if etag_differs and not names:
            return False, f"{key}: ETag {original.get('ETag')} in the source, {copy.get('ETag')} in the replica, and no checksum to compare"
        return bool(names), ""

    with ThreadPoolExecutor(max_workers=HEAD_WORKERS, thread_name_prefix="drtool-audit") as pool:
        for compared, difference in pool.map(compare, keys):
            report.checksums_compared += compared
            if difference:
                report.mismatched.add(difference)

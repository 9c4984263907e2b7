"""Where a drill keeps what outlives its journal, as a drill file names it: its run history and its evidence bundle.

Both live in S3 only when the drill file says so; the run history is a local
directory otherwise (`drtool.reports.history`). Each is written under a prefix
of drtool's own, and the guard allows writes there and nowhere else.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterator

from pydantic import AfterValidator, Field

from drtool.core.model import KmsKey, Region, Strict, kms_key_region
from drtool.core.tagging import CANARY_PREFIX, EVIDENCE_PREFIX

# S3's rules for general purpose bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, not like an IP.
_BUCKET = re.compile(r"^(?!xn--)(?!sthree-)(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_PREFIX = 512


def bucket_problem(value: str) -> str | None:
    if not _BUCKET.match(value):
        return (f"{value[:80]!r} is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, "
                "starting and ending with a letter or digit)")
    return None


def prefix_problem(value: str) -> str | None:
    """A key prefix drtool writes under: empty, or relative segments ending in '/' (`audits/dr/`)."""
    if value == "":
        return None
    if len(value) > MAX_PREFIX:
        return f"the prefix is {len(value)} characters; at most {MAX_PREFIX}"
    if not value.endswith("/") or value.startswith("/") or "//" in value:
        return f"{value[:80]!r} is not a key prefix: give segments ending in '/', like 'audits/dr/', with no leading '/'"
    if any(segment in (".", "..") for segment in value.split("/")):
        return f"{value[:80]!r} has a '.' or '..' segment"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "the prefix holds a control character"
    return None


def parse_s3_url(text: str) -> tuple[str, str]:
    """`s3://bucket/prefix/` as (bucket, prefix); ValueError naming what is wrong."""
    if not text.startswith("s3://"):
        raise ValueError(f"{text[:80]!r} is not an S3 location; write it as s3://BUCKET/PREFIX/")
    bucket, _, prefix = text[len("s3://"):].partition("/")
    problem = bucket_problem(bucket) or prefix_problem(prefix)
    if problem:
        raise ValueError(problem)
    return bucket, prefix


def _bucket(value: str) -> str:
    problem = bucket_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _prefix(value: str) -> str:
    problem = prefix_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _s3_url(value: str) -> str:
    parse_s3_url(value)
    return value


BucketName = Annotated[str, AfterValidator(_bucket)]
KeyPrefix = Annotated[str, AfterValidator(_prefix)]
S3Url = Annotated[str, AfterValidator(_s3_url)]


class HistoryStore(Strict):
    """Keep the drill's run history (and its run lock) in S3 rather than in a local directory."""

    s3: S3Url = Field(description="s3://BUCKET/PREFIX/: each drill's runs go under PREFIX<drill>/, its run lock beside them.")
    region: Region | None = Field(default=None, description="The bucket's region; default the drill's primary region.")

    @property
    def bucket(self) -> str:
        return parse_s3_url(self.s3)[0]

    @property
    def prefix(self) -> str:
        return parse_s3_url(self.s3)[1]


class EvidenceUpload(Strict):
    """Upload each run's evidence bundle to S3, encrypted with a KMS key, under PREFIX/drtool-evidence/<drill>/<run id>/."""

    bucket: BucketName
    prefix: KeyPrefix = Field(default="", description="Keys go under PREFIX + drtool-evidence/<drill>/<run id>/.")
    kms_key: KmsKey = Field(description="The key S3 encrypts the bundle with (SSE-KMS), in the bucket's region.")
    region: Region | None = Field(default=None, description="The bucket's region; default the drill's primary region.")


def store_problems(drill: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Where the history and the evidence go: never where the drill reads production or cleanup deletes; and a KMS
    key given as an ARN must be in the evidence bucket's region: S3 uses only keys of its own region."""
    if drill.history is not None:
        yield from _placement_problems(drill, ("history", "s3"), "the run history", drill.history.bucket,
                                       drill.history.prefix + f"{drill.drill}/")
    evidence = drill.evidence
    if evidence is None:
        return
    yield from _placement_problems(drill, ("evidence", "prefix" if evidence.prefix else "bucket"), "the evidence",
                                   evidence.bucket, evidence.prefix + EVIDENCE_PREFIX)
    region = evidence.region or drill.primary_region
    key_region = kms_key_region(evidence.kms_key)
    if key_region is not None and key_region != region:
        yield (("evidence", "kms_key"), f"the key is in {key_region}, but the evidence bucket is in {region}; "
                                         "S3 encrypts only with a key of the bucket's region")


def _overlap(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _placement_problems(drill: Any, location: tuple[Any, ...], what: str, bucket: str, written: str
                        ) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Records written where a target's drill reads production would change what it audits (and replicate);
    records under the canary prefix would be deleted by `drtool cleanup`."""
    if _overlap(written, CANARY_PREFIX):
        yield (location, f"{what} would be written under s3://{bucket}/{written}, inside {CANARY_PREFIX}, "
                         f"where drtool cleanup deletes; give it a prefix outside {CANARY_PREFIX}")
        return
    for name, target in drill.targets.items():
        read = getattr(getattr(target, "audit", None), "prefix", None)
        buckets = [getattr(target, field, None) for field in ("source_bucket", "replica_bucket")]
        if read is None or bucket not in buckets or not _overlap(written, read):
            continue
        yield (location, f"{what} would be written under s3://{bucket}/{written}, which target {name!r} reads as "
                         f"production (s3://{bucket}/{read}); keep it in a bucket or prefix the drill does not read")
        return

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
    """Where the history and the evidence go must be drtool's own keys; an evidence key given as an ARN must be in the
    evidence bucket's region: S3 uses only keys of its own region."""
    if drill.history is not None:
        where = f"the history (s3://{drill.history.bucket}/{drill.history.prefix}{drill.drill}/)"
        yield from ((("history",), problem) for problem in
                    _place_problems(drill, drill.history.bucket, f"{drill.history.prefix}{drill.drill}/", where))
    evidence = drill.evidence
    if evidence is None:
        return
    written = f"{evidence.prefix}{EVIDENCE_PREFIX}"
    yield from ((("evidence",), problem) for problem in
                _place_problems(drill, evidence.bucket, written, f"the evidence (s3://{evidence.bucket}/{written})"))
    region = evidence.region or drill.primary_region
    key_region = kms_key_region(evidence.kms_key)
    if key_region is not None and key_region != region:
        yield (("evidence", "kms_key"), f"the key is in {key_region}, but the evidence bucket is in {region}; "
                                         "S3 encrypts only with a key of the bucket's region")


def _place_problems(drill: Any, bucket: str, written: str, where: str) -> Iterator[str]:
    """Keys drtool writes under `written` in `bucket` must not be keys a target reads as production data (the audit
    would count drtool's records as production objects, and a drill would mix its own files into what it judges), nor
    canary keys, which drills and `drtool cleanup` delete."""
    if written.startswith(CANARY_PREFIX):
        yield f"{where} is under {CANARY_PREFIX}, where drills and drtool cleanup delete; give another prefix"
        return
    for name, target in drill.targets.items():
        for read_bucket, read_prefix, what in getattr(target, "read_locations", lambda: ())():
            if read_bucket == bucket and (written.startswith(read_prefix) or read_prefix.startswith(written)):
                yield (f"{where} is in what target {name!r} reads as production data ({what}); "
                       "give a bucket or prefix the drill does not read")
                return

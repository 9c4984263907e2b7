"""The guard's rules for the S3 calls this family makes: canary keys only, and new ones only under this run's prefix."""

from __future__ import annotations

from typing import Any

from drtool.core.guard import CallContext, Guard
from drtool.core.ownership import tag_map, tags_prove
from drtool.core.tagging import CANARY_PREFIX


def _keys(call: CallContext) -> list[str]:
    if call.operation == "DeleteObjects":
        return [obj.get("Key", "") for obj in call.params.get("Delete", {}).get("Objects", [])]
    return [call.params.get("Key", "")]


def canary_write(guard: Guard, call: CallContext) -> str | None:
    """A write creates a canary of this run: under `drtool-canary/<run id>/`, never over another run's or production's."""
    prefix = f"{CANARY_PREFIX}{guard.run_id}/"
    outside = [key for key in _keys(call) if not key.startswith(prefix)]
    if outside:
        return f"S3 writes are allowed only under {prefix}; refused for {', '.join(map(repr, outside))}"
    return None


def _objects(call: CallContext) -> list[tuple[str, str | None]]:
    if call.operation == "DeleteObjects":
        return [(obj.get("Key", ""), obj.get("VersionId")) for obj in call.params.get("Delete", {}).get("Objects", [])]
    return [(call.params.get("Key", ""), call.params.get("VersionId"))]


def _key_run(key: str) -> str | None:
    return key[len(CANARY_PREFIX):].split("/", 1)[0] or None if key.startswith(CANARY_PREFIX) else None


def canary_removal(guard: Guard, call: CallContext) -> str | None:
    """Delete a canary only when ownership is proven, never by its prefix alone.

    Teardown: this run's confirmed write of that key (the ownership ledger). Otherwise (cleanup, or a write whose
    response was lost) each object version's tags, read back from S3: created-by=drtool and the run id the key
    names (for teardown, this run's). A delete marker carries no tags and no data (removing it destroys nothing);
    AbortMultipartUpload discards only an incomplete upload under the canary prefix, which holds no object.
    """
    outside = [key for key in _keys(call) if not key.startswith(CANARY_PREFIX)]
    if outside:
        return f"S3 deletions are allowed only under {CANARY_PREFIX}; refused for {', '.join(map(repr, outside))}"
    if call.operation == "AbortMultipartUpload":
        key = call.params.get("Key", "")
        if not guard.any_run and _key_run(key) != guard.run_id:
            return f"{key!r} is not under this run's canary prefix {CANARY_PREFIX}{guard.run_id}/"
        return None
    bucket = call.params.get("Bucket", "")
    problems = []
    for key, version in _objects(call):
        if not guard.any_run and guard.ownership.owns("s3", None, key):
            continue
        problem = _tags_problem(guard, call.region, bucket, key, version)
        if problem:
            problems.append(problem)
    return "; ".join(problems) or None


def _tags_problem(guard: Guard, region: str, bucket: str, key: str, version: str | None) -> str | None:
    from botocore.exceptions import ClientError

    if guard.lookup is None:
        return f"{key!r} was not written by this run, and its tags cannot be read to prove otherwise"
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
    s3 = guard.lookup("s3", region)
    try:
        tags = s3.get_object_tagging(**params).get("TagSet", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "MethodNotAllowed" and version:
            return None  # a delete marker: no tags, no data
        return f"the tags of {key!r} could not be read to prove it a drill canary ({exc.response.get('Error', {}).get('Code')})"
    return tags_prove(tag_map(tags), None if guard.any_run else guard.run_id, key, named_run=_key_run(key))


GUARD_RULES = {
    ("s3", "PutObject"): canary_write,
    ("s3", "CreateMultipartUpload"): canary_write,
    ("s3", "UploadPart"): canary_write,
    ("s3", "CompleteMultipartUpload"): canary_write,
    ("s3", "AbortMultipartUpload"): canary_removal,
    ("s3", "DeleteObject"): canary_removal,
    ("s3", "DeleteObjects"): canary_removal,
}

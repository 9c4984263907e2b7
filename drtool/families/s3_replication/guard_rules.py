"""The guard's rules for the S3 calls this family makes: canary keys only, and new ones only under this run's prefix."""

from __future__ import annotations

from drtool.core.guard import CallContext, Guard
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


def canary_removal(guard: Guard, call: CallContext) -> str | None:
    """Teardown and cleanup remove canaries of any run, and nothing outside the canary prefix."""
    outside = [key for key in _keys(call) if not key.startswith(CANARY_PREFIX)]
    if outside:
        return f"S3 deletions are allowed only under {CANARY_PREFIX}; refused for {', '.join(map(repr, outside))}"
    return None


GUARD_RULES = {
    ("s3", "PutObject"): canary_write,
    ("s3", "CreateMultipartUpload"): canary_write,
    ("s3", "UploadPart"): canary_write,
    ("s3", "CompleteMultipartUpload"): canary_write,
    ("s3", "AbortMultipartUpload"): canary_removal,
    ("s3", "DeleteObject"): canary_removal,
    ("s3", "DeleteObjects"): canary_removal,
}

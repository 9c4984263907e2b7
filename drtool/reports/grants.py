"""The IAM statements for drtool's own records in S3, when a drill file names them: the run history and its lock
(`history: {s3: ...}`), and the evidence upload (`evidence: {bucket, prefix, kms_key}`).

As for the drill families, the actions come from the operations the code reaches (`@calls`), and each is scoped
here to the drill's own keys; an action reached but not scoped is an error, never a silent `*`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from drtool.core.grants import Condition, Grant, Scope
from drtool.core.model import kms_key_region
from drtool.core.operations import reachable_operations
from drtool.reports.evidence import drill_evidence_prefix, upload_bundle
from drtool.reports.history.lock import LOCK_NAME, S3RunLock
from drtool.reports.history.store import RUNS, S3History

if TYPE_CHECKING:
    from drtool.drill.file import Drill

# The functions that reach S3 for each, as they declare their calls.
HISTORY_CALLS = (S3History.append, S3History.read, S3RunLock.acquire, S3RunLock.release)
EVIDENCE_CALLS = (upload_bundle,)


class UnscopedRecordAction(LookupError):
    """An IAM action drtool's own records need that no statement here scopes."""


def _actions(functions: tuple[Callable, ...]) -> list[str]:
    found = [action for f in functions for op in reachable_operations(f, "store") for action in op.spec.iam_actions]
    return sorted(set(found))


def _via_s3(region: str) -> Condition:
    return {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}


def history_grants(drill: Drill, account: str) -> list[tuple[str, Grant]]:
    """(action, grant) for a history kept in S3: list and read the drill's records, write new ones and the lock."""
    store = drill.history
    if store is None:
        return []
    region = store.region or drill.primary_region
    bucket = f"arn:{Scope(drill, account).partition(region)}:s3:::{store.bucket}"
    base = f"{store.prefix}{drill.drill}/"
    lock = f"{bucket}/{base}{LOCK_NAME}"
    keys = Grant("HistoryKeysThroughS3", (Scope(drill, account).arn("kms", region, "key/*"),), _via_s3(region))
    rules = {
        "s3:ListBucket": Grant("ListRunHistory", (bucket,), {"StringLike": {"s3:prefix": [f"{base}*"]}}),
        "s3:GetObject": Grant("ReadRunHistory", (f"{bucket}/{base}*",)),
        "s3:PutObject": Grant("WriteRunHistory", (f"{bucket}/{base}{RUNS}*", lock)),
        "s3:DeleteObject": Grant("ReleaseRunLock", (lock,)),
        # The bucket's default encryption may be SSE-KMS: S3 then uses its key as the caller.
        "kms:GenerateDataKey": keys,
        "kms:Decrypt": keys,
    }
    return _scoped("history", _actions(HISTORY_CALLS), rules)


def evidence_grants(drill: Drill, account: str) -> list[tuple[str, Grant]]:
    """(action, grant) for the evidence upload: new objects under drtool-evidence/<drill>/, SSE-KMS with the named key."""
    upload = drill.evidence
    if upload is None:
        return []
    scope = Scope(drill, account)
    region = upload.region or drill.primary_region
    objects = f"arn:{scope.partition(region)}:s3:::{upload.bucket}/{drill_evidence_prefix(upload, drill.drill)}*"
    encrypted: dict[str, str] = {"s3:x-amz-server-side-encryption": "aws:kms"}
    key = upload.kms_key
    if key.startswith("alias/") or ":alias/" in key:
        # A key named by alias is matched through the aliases it carries.
        alias = "alias/" + key.split("alias/", 1)[1]
        use_key = Grant("EncryptEvidenceThroughS3", (scope.arn("kms", kms_key_region(key) or region, "key/*"),),
                        {**_via_s3(region), "ForAnyValue:StringEquals": {"kms:ResourceAliases": [alias]}})
    elif key.startswith("arn:"):
        encrypted["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key  # the request names this very ARN
        use_key = Grant("EncryptEvidenceThroughS3", (key,), _via_s3(region))
    else:
        use_key = Grant("EncryptEvidenceThroughS3", (scope.arn("kms", region, f"key/{key}"),), _via_s3(region))
    rules = {
        "s3:PutObject": Grant("UploadEvidence", (objects,), {"StringEquals": encrypted}),
        "kms:GenerateDataKey": use_key,
    }
    return _scoped("evidence upload", _actions(EVIDENCE_CALLS), rules)


def _scoped(what: str, actions: list[str], rules: dict[str, Grant]) -> list[tuple[str, Grant]]:
    unscoped = [action for action in actions if action not in rules]
    if unscoped:
        raise UnscopedRecordAction(f"the {what} reaches {', '.join(unscoped)}, which no statement scopes")
    return [(action, rules[action]) for action in actions]


def own_records_grants(drill: Drill, account: str) -> list[tuple[str, Grant]]:
    return [*history_grants(drill, account), *evidence_grants(drill, account)]

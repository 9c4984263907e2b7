"""The guard: every AWS call drtool makes passes through it before it leaves the process.

Reads are never restricted. A call that changes the world is allowed only on:
- resources this run creates: drill-named (`drtool-<run id>-...`), tagged, new,
  and in the DR region;
- resources this run is proven to own, for teardown and cleanup: its create call returned
  (the run's `Ownership` ledger), or the resource's tags, read back from AWS, say
  created-by=drtool and this run's drtool:run-id (for cleanup, the run its name names).
  A drill name alone is never enough;
- whatever a family's own guard rules allow (S3 canary keys under the canary prefix).
A guard made for drtool's own records (`OwnRecords`: the run history, the
evidence bundle) allows writes exactly there and nothing else.
Everything else (a change to production, a key, a policy, a bucket setting)
is refused with `GuardRefused` before botocore builds the request.

The guard hooks botocore's `before-parameter-build` event, so it sees the
caller's own parameters and no request is ever signed or sent for a refused call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from drtool.core.errors import InfrastructureError
from drtool.core.operations import OperationSpec
from drtool.core.ownership import Ownership, tag_map, tags_prove
from drtool.core.reach import mark_guarded
from drtool.core.registry import families
from drtool.core.tagging import (
    CREATED_BY_KEY,
    CREATED_BY_VALUE,
    NAME_PREFIX,
    RUN_ID_KEY,
)

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup")
# Calls that use, rather than change, what exists.
NON_MUTATING = {
    "kms": {"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "Sign", "Verify", "GenerateMac", "VerifyMac"},
    "sts": {"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetCallerIdentity", "GetSessionToken", "DecodeAuthorizationMessage"},
    "iam": {"SimulatePrincipalPolicy", "SimulateCustomPolicy"},
    # Publishing a run's results adds datapoints or sends a message: nothing is created, changed or removed.
    "cloudwatch": {"PutMetricData"},
    "sns": {"Publish"},
}


class GuardRefused(InfrastructureError):
    """drtool refused to make a call that could change something it did not create.

    The drill cannot run safely as written, so this is an error (exit 3), not a finding."""


@dataclass(frozen=True)
class CallContext:
    service: str
    operation: str
    region: str
    params: dict[str, Any]


Rule = Callable[["Guard", CallContext], str | None]
"""Returns None to allow the call, or the reason it is refused."""


@dataclass(frozen=True)
class OwnRecords:
    """A place in S3 where drtool keeps its own records (run history, evidence bundles).

    A guard given these allows S3 writes under them and nothing else: no drill family's rule applies.
    """

    purpose: str  # named in refusals: "evidence", "history", "run lock"
    bucket: str
    key: str  # the prefix every written key starts with, or with `exact`, the one key
    writes: frozenset[str] = field(default_factory=lambda: frozenset({"PutObject"}))  # the S3 APIs allowed there
    exact: bool = False
    kms_key: str | None = None  # a PutObject must ask S3 for SSE-KMS with exactly this key

    def covers(self, bucket: str, key: str) -> bool:
        if bucket != self.bucket:
            return False
        return key == self.key if self.exact else key.startswith(self.key) and len(key) > len(self.key)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}{'' if self.exact else '*'}"


class Guard:
    def __init__(
        self,
        *,
        run_id: str,
        dr_region: str,
        regions: Iterable[str] = (),
        lookup: Callable[[str, str], Any] | None = None,
        on_refusal: Callable[[CallContext, str], None] | None = None,
        own_records: Iterable[OwnRecords] | None = None,
        ownership: Ownership | None = None,
        any_run: bool = False,
    ):
        self.run_id = run_id
        self.dr_region = dr_region
        # lookup(service, region) -> client, for the reads a rule needs (is this name taken?).
        self.lookup = lookup
        # Regions in which drill-named resources may be deleted (teardown and cleanup).
        self.regions = frozenset(regions) | {dr_region}
        self.on_refusal = on_refusal
        self.refusals: list[str] = []
        # A guard for drtool's own records allows writes there and nothing else.
        self.own_records = tuple(own_records) if own_records is not None else None
        # What this run's create calls are confirmed to have made (filled by Teardown.created).
        self.ownership = ownership if ownership is not None else Ownership()
        # Cleanup: a delete is proven by tags naming the run that the resource's name names, not this guard's run id.
        self.any_run = any_run

    def attach(self, client: Any, service: str, region: str) -> None:
        """A SessionFactory client hook."""
        service_id = client.meta.service_model.service_name

        def check(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
            self.check(CallContext(service_id, model.name, region, params))

        client.meta.events.register_first(f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}", check)
        mark_guarded(client)  # checked already: a drill run's process-wide hook leaves it alone

    def check(self, call: CallContext) -> None:
        reason = self.reason_to_refuse(call)
        if reason is None:
            return
        message = f"guard refused {call.service}:{call.operation} in {call.region}: {reason}"
        self.refusals.append(message)
        if self.on_refusal is not None:
            self.on_refusal(call, message)
        raise GuardRefused(message)

    def reason_to_refuse(self, call: CallContext) -> str | None:
        if is_read(call.service, call.operation):
            return None
        if self.own_records is not None:
            return _own_records_write(self.own_records, call)
        rule = RULES.get((call.service, call.operation)) or families().guard_rule(call.service, call.operation)
        if rule is None:
            return "drtool never changes this kind of resource"
        return rule(self, call)

    # --- what counts as ours -------------------------------------------------

    def is_this_runs_name(self, identifier: str) -> bool:
        return identifier.lower().startswith(f"{NAME_PREFIX}{self.run_id}-")

    def is_drill_name(self, identifier: str) -> bool:
        return identifier.lower().startswith(NAME_PREFIX)

    def ownership_problem(self, service: str, region: str, identifier: str, tags: Callable[[], dict[str, str] | None]) -> str | None:
        """None when this run may delete the resource: its confirmed creation, or its tags read back from AWS."""
        if not self.any_run and self.ownership.owns(service, region, identifier):
            return None
        found = tags()
        if found is None:
            return f"{identifier!r} was not created by this run, and its tags could not be read to prove otherwise"
        return tags_prove(found, None if self.any_run else self.run_id, identifier)


def is_read(service: str, operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or operation in NON_MUTATING.get(service, ())


def coverage_problem(spec: OperationSpec) -> str | None:
    """Why the guard and an operation's declaration disagree about its API, or None when they agree.

    A read must be free to pass; a mutating operation must have a rule, or every drill that reaches it is refused.
    """
    read = is_read(spec.service, spec.api)
    if spec.mutating and read:
        return f"{spec.name}: declared mutating, but the guard lets {spec.service}:{spec.api} pass unchecked as a read"
    if not spec.mutating and not read:
        return f"{spec.name}: declared a read, but the guard treats {spec.service}:{spec.api} as a change"
    if spec.mutating and (spec.service, spec.api) not in RULES and families().guard_rule(spec.service, spec.api) is None:
        return f"{spec.name}: no guard rule allows {spec.service}:{spec.api}, so the guard refuses it always"
    return None


def _identifier(value: str) -> str:
    """The resource name from an identifier or ARN (arn:aws:rds:region:acct:db:NAME)."""
    return value.rsplit(":", 1)[-1] if value.startswith("arn:") else value


def create_in_dr(identifier_param: str, exists: Callable[[Guard, CallContext, str], bool]) -> Rule:
    """A restore or copy: a new, tagged resource of this run, in the DR region, whose name is not taken."""

    def rule(guard: Guard, call: CallContext) -> str | None:
        identifier = call.params.get(identifier_param, "")
        if call.region != guard.dr_region:
            return f"drills create resources only in the DR region {guard.dr_region}"
        if not guard.is_this_runs_name(identifier):
            return f"{identifier!r} is not named for this run ({NAME_PREFIX}{guard.run_id}-...)"
        tags = {t.get("Key"): t.get("Value") for t in call.params.get("Tags", [])}
        if tags.get(CREATED_BY_KEY) != CREATED_BY_VALUE or tags.get(RUN_ID_KEY) != guard.run_id:
            return f"{identifier!r} would be created without the tags {CREATED_BY_KEY}={CREATED_BY_VALUE} and {RUN_ID_KEY}={guard.run_id}"
        if exists(guard, call, identifier):
            return f"{identifier!r} already exists; a drill only creates new resources"
        return None

    return rule


def delete_drill_resource(identifier_param: str, tags_of: Callable[[Guard, CallContext, str], dict[str, str] | None]) -> Rule:
    """A delete of a resource this run owns: confirmed created by it, or tagged so (see Guard.ownership_problem)."""

    def rule(guard: Guard, call: CallContext) -> str | None:
        identifier = _identifier(call.params.get(identifier_param, ""))
        if not guard.is_drill_name(identifier):
            return f"{identifier!r} is not a drill resource"
        if call.region not in guard.regions:
            return f"drill resources are only deleted in {', '.join(sorted(guard.regions))}"
        if call.params.get("FinalDBSnapshotIdentifier") or call.params.get("SkipFinalSnapshot") is False:
            return "a drill resource is deleted without a final snapshot"
        return guard.ownership_problem(call.service, call.region, identifier, lambda: tags_of(guard, call, identifier))

    return rule


def tags_by_describe(service: str, describe: str, param: str, result: str) -> Callable[[Guard, CallContext, str], dict[str, str] | None]:
    """The tags of a resource, read with `describe(param=name)` (its TagList); None if it cannot be read."""

    def tags_of(guard: Guard, call: CallContext, identifier: str) -> dict[str, str] | None:
        from botocore.exceptions import ClientError

        if guard.lookup is None:
            return None
        try:
            found = getattr(guard.lookup(service, call.region), describe)(**{param: identifier}).get(result) or []
        except ClientError:
            return None
        return tag_map(found[0].get("TagList")) if found else None

    return tags_of


def exists_by_describe(service: str, describe: str, param: str, result: str) -> Callable[[Guard, CallContext, str], bool]:
    """Ask AWS, with a read call, whether a name is taken: `describe(param=name)` lists it under `result`."""

    def exists(guard: Guard, call: CallContext, identifier: str) -> bool:
        from botocore.exceptions import ClientError

        if guard.lookup is None:
            return False
        try:
            found = getattr(guard.lookup(service, call.region), describe)(**{param: identifier})
        except ClientError as exc:
            if "NotFound" in exc.response.get("Error", {}).get("Code", ""):
                return False
            raise
        return bool(found.get(result))

    return exists


RDS_INSTANCE_EXISTS = exists_by_describe("rds", "describe_db_instances", "DBInstanceIdentifier", "DBInstances")
RDS_SNAPSHOT_EXISTS = exists_by_describe("rds", "describe_db_snapshots", "DBSnapshotIdentifier", "DBSnapshots")
RDS_INSTANCE_TAGS = tags_by_describe("rds", "describe_db_instances", "DBInstanceIdentifier", "DBInstances")
RDS_SNAPSHOT_TAGS = tags_by_describe("rds", "describe_db_snapshots", "DBSnapshotIdentifier", "DBSnapshots")


def _own_records_write(places: tuple[OwnRecords, ...], call: CallContext) -> str | None:
    where = ", ".join(place.where for place in places) or "nowhere"
    bucket, key = call.params.get("Bucket", ""), call.params.get("Key", "")
    if call.service != "s3":
        return f"this client writes only drtool's own records ({where})"
    place = next((p for p in places if call.operation in p.writes and p.covers(bucket, key)), None)
    if place is None:
        return f"drtool writes only its own records ({where}); refused for s3://{bucket}/{key}"
    if call.operation == "PutObject" and place.kms_key is not None and (
            call.params.get("ServerSideEncryption") != "aws:kms" or call.params.get("SSEKMSKeyId") != place.kms_key):
        return f"the {place.purpose} is written only with SSE-KMS under {place.kms_key}; refused for s3://{bucket}/{key}"
    return None


# Rules for calls no registered family makes: none. A family brings its own (`Family.guard_rules`), with
# tag-based ownership for its deletes, and tests/safety/test_guard.py fails for a rule no family's operations use.
RULES: dict[tuple[str, str], Rule] = {}

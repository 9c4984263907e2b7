"""Scenario 1: the secret's DR-region replica is in sync, under the DR key, readable by the allowed principals and
refused to the denied ones.

The drill reads values only to hash them (`value_digest`): it compares SHA-256 digests, and no value reaches a
note, the journal or a report. Each deviation is one sentence naming the secret, the principal and the remedy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from drtool.core.clock import CallTimer, SystemClock
from drtool.core.errors import describe_error, is_access_denied, is_infrastructure_error
from drtool.core.operations import calls, dr, primary
from drtool.core.principals import role_name
from drtool.core.verdicts import DENIAL, Outcome, Verdict, expect_denied
from drtool.families.secret.context import SecretDrillContext
from drtool.services.kms.probes import describe_key
from drtool.services.secretsmanager import probes
from drtool.services.sts.probes import as_principal

AWS_MANAGED_KEY = "alias/aws/secretsmanager"
IN_SYNC = "InSync"


@dataclass(frozen=True)
class KeyRef:
    """A KMS key as something names it, and what it resolves to in the DR region (None: it does not exist there)."""

    named: str
    metadata: dict[str, Any] | None

    @property
    def arn(self) -> str | None:
        return self.metadata["Arn"] if self.metadata else None


@dataclass(frozen=True)
class SecretState:
    """What the drill learnt of the secret and its replica, without reading a value."""

    name: str  # as Secrets Manager names it; its replica has the same name in the DR region
    arn: str
    primary_region: str | None  # the region Secrets Manager says the secret's primary is in
    replica: dict[str, Any] | None  # the DR region's entry in the secret's ReplicationStatus
    expected_key: KeyRef  # the target's replica_kms_key
    replica_key: KeyRef | None  # the key the replica is encrypted with (None: the AWS-managed key)


@calls(primary(probes.describe_secret), dr("_resolve_key"))
def read_state(ctx: SecretDrillContext) -> SecretState:
    """Describe the secret in the primary region, and resolve the expected and the actual replica key in the DR region."""
    target = ctx.target
    described = probes.describe_secret(ctx.client("secretsmanager", ctx.primary_region), target.secret)
    replica = next((status for status in described.get("ReplicationStatus") or () if status.get("Region") == ctx.dr_region),
                   None)
    kms = ctx.client("kms", ctx.dr_region)
    expected = _resolve_key(kms, target.replica_kms_key)
    used = (replica or {}).get("KmsKeyId")
    actual = None if not used or used == AWS_MANAGED_KEY else (
        expected if used in (target.replica_kms_key, expected.arn) else _resolve_key(kms, used))
    return SecretState(name=described["Name"], arn=described["ARN"], primary_region=described.get("PrimaryRegion"),
                       replica=replica, expected_key=expected, replica_key=actual)


@calls(describe_key)
def _resolve_key(kms: Any, key: str) -> KeyRef:
    """The key's metadata in the client's region, from its id, ARN, alias or alias ARN; None if it is not there."""
    if key.startswith("arn:") and ":key/" in key and key.split(":")[3] != kms.meta.region_name:
        return KeyRef(key, None)  # keys are regional: a key ARN of another region is never the DR region's key
    try:
        return KeyRef(key, describe_key(kms, key))
    except kms.exceptions.NotFoundException:
        return KeyRef(key, None)


def replica_deviations(ctx: SecretDrillContext, state: SecretState) -> list[str]:
    """Every way the replica falls short: missing, not InSync, under another key, or its key unusable."""
    secret, dr_region, expected = state.name, ctx.dr_region, ctx.target.replica_kms_key
    found = []
    if ctx.target.secret_region not in (None, ctx.primary_region):
        found.append(f"secret {ctx.target.secret} is named by an ARN in {ctx.target.secret_region}, not the primary region "
                     f"{ctx.primary_region}: name the primary secret, or correct the drill's regions")
    if state.primary_region and state.primary_region != ctx.primary_region:
        found.append(f"secret {secret} is a replica whose primary is in {state.primary_region}, not {ctx.primary_region}: "
                     "name the primary secret in the target, or correct the drill's regions")
    if state.expected_key.metadata is None:
        found.append(f"replica key {expected} of secret {secret} does not exist in the DR region {dr_region}: create it "
                     f"there, or name the DR-region key in the target's replica_kms_key")
    elif state.expected_key.metadata.get("KeyState") != "Enabled":
        found.append(f"replica key {expected} ({state.expected_key.arn}) of secret {secret} is "
                     f"{state.expected_key.metadata.get('KeyState')}: enable it, or nobody can read the replica in {dr_region}")
    if state.replica is None:
        found.append(f"secret {secret} has no replica in the DR region {dr_region}: replicate it there "
                     f"(ReplicateSecretToRegions, KmsKeyId {state.expected_key.arn or expected})")
        return found
    status = state.replica.get("Status") or "unknown"
    if status != IN_SYNC:
        message = state.replica.get("StatusMessage") or "no status message"
        found.append(f"the replica of secret {secret} in {dr_region} is {status}, not {IN_SYNC} ({message}): it may hold "
                     f"an old value; fix the cause, then remove the replica and replicate the secret to {dr_region} again")
    if state.replica_key is None:
        found.append(f"the replica of secret {secret} in {dr_region} is encrypted with the AWS-managed key "
                     f"aws/secretsmanager, not the replica key {expected}: replicate it with KmsKeyId "
                     f"{state.expected_key.arn or expected}")
    elif state.expected_key.arn and state.replica_key.arn != state.expected_key.arn:
        actual = state.replica_key.named + (f" ({state.replica_key.arn})" if state.replica_key.arn else
                                            f", which does not exist in {dr_region}")
        found.append(f"the replica of secret {secret} in {dr_region} is encrypted with {actual}, not the replica key "
                     f"{expected} ({state.expected_key.arn}): replicate it with KmsKeyId {state.expected_key.arn}, "
                     "or correct the target's replica_kms_key")
    return found


def replica_verdict(ctx: SecretDrillContext, state: SecretState) -> Verdict:
    found = replica_deviations(ctx, state)
    if found:
        return Verdict.failed("; ".join(f"{ctx.name}: {line}" for line in found))
    return Verdict.passed(f"{ctx.name}: the replica of secret {state.name} in {ctx.dr_region} is {IN_SYNC}, encrypted "
                          f"with {ctx.target.replica_kms_key} ({state.expected_key.arn})")


def _timed(call: Any) -> tuple[Any, float]:
    """The call's result and how long it took, in real milliseconds (a monotonic clock, not the drill's world clock)."""
    timer = CallTimer(SystemClock())
    result = call()
    return result, timer.elapsed * 1000


@calls(primary(as_principal), primary(probes.value_digest, acting_as="each allowed principal"),
       dr(probes.value_digest, acting_as="each allowed principal"))
def allowed_reads(ctx: SecretDrillContext, state: SecretState) -> Verdict:
    """Each allowed principal reads the replica in the DR region and the primary's current value, compared by
    SHA-256. The drill's own identity never reads the value: it needs no access to production's secrets."""
    secret, dr_region = state.name, ctx.dr_region
    if not ctx.target.allowed:
        return Verdict.passed(f"{ctx.name}: no allowed principal is listed, so no read of the replica is proven")
    failures = []
    for principal in ctx.target.allowed:
        who = role_name(principal)
        # Assumed before the read: a role the drill cannot assume is an error, never a finding about the secret.
        principal_clients = as_principal(ctx.aws, principal)
        try:
            reference, _ = _timed(lambda: probes.value_digest(principal_clients.client("secretsmanager", ctx.primary_region),
                                                              state.arn))
        except ClientError as exc:
            if is_infrastructure_error(exc) and not is_access_denied(exc):
                raise
            failures.append(f"{ctx.name}: {who} cannot read secret {secret} in {ctx.primary_region} ({describe_error(exc)}), "
                            "so its replica cannot be compared with it: let it read the primary too")
            continue
        client = principal_clients.client("secretsmanager", dr_region)
        try:
            digest, took = _timed(lambda: probes.value_digest(client, secret))
        except ClientError as exc:
            if is_infrastructure_error(exc) and not is_access_denied(exc):
                raise
            failures.append(f"{ctx.name}: {who} cannot read the replica of secret {secret} in {dr_region} "
                            f"({describe_error(exc)}): {_read_remedy(principal, state, exc)}")
            continue
        same = digest.sha256 == reference.sha256
        ctx.note(f"{ctx.name}: {who} read the replica of {secret} in {dr_region} in {took:.0f} ms; "
                 f"{'the same value as' if same else 'a DIFFERENT value from'} the primary's current one")
        if not same:
            failures.append(f"{ctx.name}: {who} read a different value from the replica of secret {secret} in {dr_region} "
                            f"(version {digest.version_id}) than the primary's current one (version "
                            f"{reference.version_id}): the replica is stale; make replication succeed again")
    if failures:
        return Verdict.failed("; ".join(failures))
    names = ", ".join(role_name(p) for p in ctx.target.allowed)
    return Verdict.passed(f"{ctx.name}: {names} read the replica of {secret} in {dr_region}, the same value as the "
                          "primary's current one (compared by SHA-256)")


def _read_remedy(principal: str, state: SecretState, exc: BaseException) -> str:
    key = state.replica_key.arn if state.replica_key and state.replica_key.arn else "the replica's key"
    if is_access_denied(exc):
        return (f"let {principal} use {key} (kms:Decrypt in its key policy, or a grant) and read the secret "
                "(secretsmanager:GetSecretValue in its IAM policy)")
    return f"make the replica readable in its region: {key} must exist and be Enabled"


@calls(primary(as_principal), dr(probes.value_digest, acting_as="each denied principal"))
def denied_reads(ctx: SecretDrillContext, state: SecretState) -> Verdict:
    """Each denied principal must be refused GetSecretValue on the replica in the DR region with AccessDenied."""
    secret, dr_region = state.name, ctx.dr_region
    if not ctx.target.denied:
        return Verdict.passed(f"{ctx.name}: no denied principal is listed, so no refusal of the replica is proven")
    verdicts = []
    for principal in ctx.target.denied:
        who = role_name(principal)
        client = as_principal(ctx.aws, principal).client("secretsmanager", dr_region)
        action = f"secretsmanager:GetSecretValue on the replica of secret {secret} in {dr_region}"
        verdict, took = _timed(lambda: expect_denied(who, action, lambda: probes.value_digest(client, secret)))
        ctx.note(f"{ctx.name}: {who} was {'refused' if verdict.outcome is Outcome.PASS else 'not refused'} the replica of "
                 f"{secret} in {dr_region} in {took:.0f} ms")
        if verdict.outcome is Outcome.FAIL:
            key = state.replica_key.arn if state.replica_key and state.replica_key.arn else "the replica's key"
            verdict = Verdict.failed(f"{ctx.name}: {verdict.sentence}: remove what lets {principal} decrypt with {key} "
                                     "(a key-policy statement or grant naming it) or read the secret", kind=DENIAL)
        elif verdict.outcome is Outcome.ERROR:
            verdict = Verdict.error(f"{ctx.name}: {verdict.sentence}", kind=verdict.kind)
        verdicts.append(verdict)
    failed = [v for v in verdicts if v.outcome is Outcome.FAIL]
    if failed:
        return Verdict.failed("; ".join(v.sentence for v in verdicts if v.outcome is not Outcome.PASS), kind=DENIAL)
    errors = [v for v in verdicts if v.outcome is Outcome.ERROR]
    if errors:
        return Verdict.error("; ".join(v.sentence for v in errors), kind=errors[0].kind)
    names = ", ".join(role_name(p) for p in ctx.target.denied)
    return Verdict.passed(f"{ctx.name}: {names} {'was' if len(ctx.target.denied) == 1 else 'were'} refused the replica of {secret} in {dr_region} with AccessDenied, as "
                          "expected", kind=DENIAL)

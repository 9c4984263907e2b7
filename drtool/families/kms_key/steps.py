"""Steps of the KMS DR-access drill: thin glue over state, access and policy."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_bdd import then, when

from drtool.core.clock import format_duration
from drtool.core.operations import calls
from drtool.core.principals import role_name
from drtool.core.run import TargetRun
from drtool.core.verdicts import Measurement, Verdict, judge
from drtool.families.kms_key import access, policy, state
from drtool.families.kms_key.target import KmsKeyTarget


def _seconds(value: float) -> str:
    # A round trip takes well under a second in a healthy region: whole seconds would hide it.
    return f"{value:.2f}s" if value < 60 else format_duration(value)


def _regions(target: TargetRun) -> tuple[str, str]:
    drill = target.run.drill
    return drill.primary_region, drill.dr_region


def _kms(target: TargetRun) -> tuple[object, object]:
    primary_region, dr_region = _regions(target)
    return target.client("kms", dr_region), target.client("kms", primary_region)


@calls(state.read_state)
def _key_state(target: TargetRun) -> state.KeyState:
    kms_dr, kms_primary = _kms(target)
    return state.read_state(kms_dr, kms_primary, target.target, target.run.clock.now())


# --- state ---------------------------------------------------------------------------------------


@when("the DR key and its primary are described", target_fixture="key_state")
@calls(_key_state)
def describe_keys(target: TargetRun) -> state.KeyState:
    return _key_state(target)


@then("the key is enabled, rotates within the maximum period and replicates its primary")
@calls()
def key_state_as_expected(target: TargetRun, key_state: state.KeyState) -> None:
    for line in key_state.notes:
        target.note(f"{target.name}: {line}")
    if key_state.problems:
        Verdict.failed(f"{target.name}: " + "; ".join(key_state.problems)).enforce()


# --- access --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempts:
    round_trips: list[access.RoundTrip]


@when("each allowed principal generates a data key and decrypts it in the DR region", target_fixture="attempts")
@calls(access.round_trip)
def allowed_round_trips(target: TargetRun) -> Attempts:
    t: KmsKeyTarget = target.target
    if not t.allowed:
        Verdict.skipped(f"{target.name}: the target lists no allowed principals").enforce()
    _, dr_region = _regions(target)
    trips = []
    for principal in t.allowed:
        target.progress(f"round trip as {role_name(principal)}")
        trips.append(access.round_trip(target, principal, t.key, dr_region, target.run.clock))
    return Attempts(trips)


@then("every round trip returns the data key within the objective")
@calls()
def round_trips_met(target: TargetRun, attempts: Attempts) -> None:
    t: KmsKeyTarget = target.target
    objective = t.objectives.max_round_trip.total_seconds()
    problems = [trip.problem for trip in attempts.round_trips if trip.problem]
    timed = [trip for trip in attempts.round_trips if trip.seconds is not None and not trip.problem]
    for trip in timed:
        target.note(f"{target.name}: {role_name(trip.principal)} generated and decrypted a data key under {t.key} "
                    f"in {_seconds(trip.seconds)}")
    if problems:
        Verdict.failed(f"{target.name}: " + "; ".join(problems)).enforce()
    slowest = max(timed, key=lambda trip: trip.seconds or 0.0)
    measurement = Measurement(target.name, "round trip", slowest.seconds or 0.0, objective, "monotonic clock",
                              f"slowest data-key round trip under {t.key}: {_seconds(slowest.seconds or 0.0)} "
                              f"({role_name(slowest.principal)})")
    target.note(measurement.line, measurement=measurement.as_record())
    judge([measurement])


# --- denial --------------------------------------------------------------------------------------


@when("each denied principal tries to encrypt and to decrypt with the DR key", target_fixture="denials")
@calls(access.sample_ciphertext, access.denials)
def denied_attempts(target: TargetRun) -> Verdict:
    t: KmsKeyTarget = target.target
    if not t.denied:
        Verdict.skipped(f"{target.name}: the target lists no denied principals").enforce()
    _, dr_region = _regions(target)
    ciphertext, made_by = access.sample_ciphertext(target, t.allowed, t.key, dr_region)
    note = "" if ciphertext is not None else (
        " (Decrypt not tried: no allowed principal could make a ciphertext under the key)")
    found = []
    for principal in t.denied:
        target.progress(f"denial as {role_name(principal)}")
        found += access.denials(target, principal, t.key, dr_region, ciphertext)
    if made_by:
        target.note(f"{target.name}: the ciphertext the denied principals tried to decrypt was made by {role_name(made_by)}")
    return access.denial_verdict(target.name, t.key, found, note)


@then("each attempt is refused with AccessDenied")
@calls()
def each_refused(target: TargetRun, denials: Verdict) -> None:
    target.note(denials.sentence)
    denials.enforce()


# --- policy --------------------------------------------------------------------------------------


@when("the key policies of the DR key and its primary are read", target_fixture="policies")
@calls(state.resolve, policy.read_policies)
def read_key_policies(target: TargetRun) -> tuple[policy.Access, policy.Access | None]:
    kms_dr, kms_primary = _kms(target)
    dr_key, primary_key = state.resolve(kms_dr, kms_primary, target.target)
    dr_policy, primary_policy = policy.read_policies(kms_dr, kms_primary, dr_key["Arn"], primary_key and primary_key["Arn"])
    return policy.access_of(dr_policy), (policy.access_of(primary_policy) if primary_policy is not None else None)


@then("who may use and who may administer the key is as expected")
@calls()
def policy_as_expected(target: TargetRun, policies: tuple[policy.Access, policy.Access | None]) -> None:
    t: KmsKeyTarget = target.target
    dr_access, primary_access = policies
    for capability in policy.CAPABILITIES:
        target.note(f"{target.name}: may {capability} {t.key}: {', '.join(sorted(dr_access.who(capability))) or 'no one'}")
    lines = policy.drift(dr_access, primary_access) if primary_access is not None else []
    lines += policy.against_expectations(dr_access, {"use": t.expect.users, "administer": t.expect.administrators})
    if lines:
        Verdict.failed(f"{target.name}: the policy of {t.key} differs: " + "; ".join(lines)
                       + ": make the DR key's policy grant what its primary's does and the drill file expects").enforce()


# --- tags ----------------------------------------------------------------------------------------


@when("the DR key's tags are read", target_fixture="tag_problems")
@calls(state.resolve, state.tag_problems)
def read_tags(target: TargetRun) -> list[str]:
    kms_dr, kms_primary = _kms(target)
    dr_key, _ = state.resolve(kms_dr, kms_primary, target.target)
    problems, tags = state.tag_problems(kms_dr, target.target, dr_key["KeyId"])
    target.note(f"{target.name}: tags of {target.target.key}: " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())))
    return problems


@then("it carries every tag the drill file expects")
@calls()
def tags_as_expected(target: TargetRun, tag_problems: list[str]) -> None:
    if tag_problems:
        Verdict.failed(f"{target.name}: " + "; ".join(tag_problems)).enforce()

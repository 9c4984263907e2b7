"""Scenarios 2 and 3: act as each principal in the DR region; the allowed ones round-trip a data key, the denied are refused."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from drtool.core.clock import CallTimer, Clock
from drtool.core.errors import describe_error, error_code, is_access_denied
from drtool.core.operations import calls, dr
from drtool.core.principals import role_name
from drtool.core.verdicts import Outcome, Verdict, expect_denied
from drtool.services.kms.probes import decrypt, encrypt, generate_data_key
from drtool.services.sts.probes import as_principal

DENIAL_PROBE = b"drtool denial probe"
UNUSABLE_KEY_CODES = ("DisabledException", "KMSInvalidStateException", "NotFoundException")


@dataclass(frozen=True)
class RoundTrip:
    principal: str
    seconds: float | None  # None when the round trip did not complete
    problem: str = ""


def kms_as(aws: Any, principal: str, region: str) -> Any:
    """A KMS client acting as `principal` (a role the drill cannot assume ends the step as an error)."""
    return as_principal(aws, principal).client("kms", region)


@calls(dr(as_principal), dr(generate_data_key, acting_as="each allowed principal"),
       dr(decrypt, acting_as="each allowed principal"))
def round_trip(aws: Any, principal: str, key: str, region: str, clock: Clock) -> RoundTrip:
    """GenerateDataKey, then Decrypt of its ciphertext, as `principal`; timed on the monotonic clock."""
    kms = kms_as(aws, principal, region)
    timer, action = CallTimer(clock), "kms:GenerateDataKey"
    try:
        plaintext, ciphertext = generate_data_key(kms, key)
        action = "kms:Decrypt"
        returned = decrypt(kms, key, ciphertext)
    except ClientError as exc:
        if not (is_access_denied(exc) or error_code(exc) in UNUSABLE_KEY_CODES):
            raise
        return RoundTrip(principal, None, f"{role_name(principal)} cannot use {key} in {region}: {action} failed with "
                                          f"{describe_error(exc)}; {_remedy(exc, principal)}")
    seconds = timer.elapsed
    if not hmac.compare_digest(plaintext, returned):
        return RoundTrip(principal, seconds, f"{role_name(principal)}: Decrypt under {key} returned other bytes than the "
                                             "data key it generated; the key cannot be trusted to decrypt DR data")
    return RoundTrip(principal, seconds)


def _remedy(exc: ClientError, principal: str) -> str:
    if is_access_denied(exc):
        return (f"allow {principal} kms:GenerateDataKey and kms:Decrypt in the DR key's policy (or, where the policy "
                "delegates to IAM, in the principal's IAM policy)")
    return "enable the key in the DR region"


@calls(dr(as_principal), dr(encrypt, acting_as="each denied principal"), dr(decrypt, acting_as="each denied principal"))
def denials(aws: Any, principal: str, key: str, region: str, ciphertext: bytes | None) -> list[Verdict]:
    """Encrypt, and Decrypt of a ciphertext the key made, must each be refused to `principal` with AccessDenied."""
    kms = kms_as(aws, principal, region)
    name = role_name(principal)
    found = [expect_denied(name, f"kms:Encrypt with {key}", lambda: encrypt(kms, key, DENIAL_PROBE))]
    if ciphertext is not None:
        found.append(expect_denied(name, f"kms:Decrypt with {key}", lambda: decrypt(kms, key, ciphertext)))
    return found


@calls(dr(as_principal), dr(generate_data_key, acting_as="an allowed principal"))
def sample_ciphertext(aws: Any, allowed: list[str], key: str, region: str) -> tuple[bytes | None, str]:
    """A ciphertext under `key`, made by the first allowed principal that can, for the denied to try to decrypt."""
    for principal in allowed:
        try:
            return generate_data_key(kms_as(aws, principal, region), key)[1], principal
        except ClientError as exc:
            if not is_access_denied(exc):
                raise
    return None, ""


def denial_verdict(target_name: str, key: str, verdicts: list[Verdict], decrypt_note: str) -> Verdict:
    """One verdict for every denial proven: FAIL naming each principal let in, ERROR if any could not be learnt."""
    failed = [v.sentence for v in verdicts if v.outcome is Outcome.FAIL]
    errors = [v.sentence for v in verdicts if v.outcome is Outcome.ERROR]
    if failed:
        return Verdict.failed(f"{target_name}: {'; '.join(failed)}: remove their access from {key}'s policy and their "
                              "IAM policies", kind=verdicts[0].kind)
    if errors:
        return Verdict.error(f"{target_name}: " + "; ".join(errors))
    return Verdict.passed(f"{target_name}: " + "; ".join(v.sentence for v in verdicts) + decrypt_note)

"""The kms-key family against the lab: a healthy DR key, each KMS fault, and keys a user made through the API."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from drtool.families.kms_key import policy
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import (
    ACCOUNT_ID,
    APP_ROLE_ARN,
    DENIED_ROLE,
    DENIED_ROLE_ARN,
    DR_OPERATOR_ROLE_ARN,
    DR_REGION,
    PRIMARY_REGION,
)
from tests.families.test_s3_any_world import outcomes_by_target
from tests.families.test_s3_replication import outcomes
from tests.helpers import REPO, client, drill_file, production_untouched, run_drill

TARGET = "dr-secrets-key"
SCENARIOS = {
    "state": "The DR key is enabled, rotating and a replica of its primary",
    "access": "Every allowed principal round-trips a data key in the DR region",
    "denial": "Every denied principal is refused the DR key",
    "policy": "The DR key's policy grants what its primary's and the drill file's say",
    "tags": "The DR key carries its data-class tags",
}
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"

# fault: the scenarios it must turn red; every other scenario stays green.
FAULTS = {
    "dr-key-policy-grants-denied-role": {"denial", "policy"},
    "dr-replica-missing-app-grant": {"access", "policy"},
    "rotation-off": {"state"},
}


def kms_drill(tmp_path: Path) -> Path:
    # World time runs x120, so a call's real milliseconds become world seconds: judge the logic, not the machine's load.
    return drill_file(tmp_path, TARGET, max_round_trip="1h")


def red(journal: list[dict]) -> set[str]:
    found = outcomes(journal)
    assert set(found) == set(SCENARIOS.values()), found
    return {short for short, scenario in SCENARIOS.items() if found[scenario][0] != "passed"}


def test_a_healthy_dr_key_passes_every_scenario_and_changes_nothing(lab: Lab, tmp_path: Path) -> None:
    kms = client(lab, "kms", DR_REGION)
    key_id = kms.describe_key(KeyId="alias/dr-secrets")["KeyMetadata"]["KeyId"]
    rotated = max(r["RotationDate"] for r in kms.list_key_rotations(KeyId=key_id)["Rotations"])
    before = lab.clock.now()
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=kms_drill(tmp_path))
    after = lab.clock.now() + timedelta(seconds=1)  # the note rounds to the second

    assert outcome.exit_code == 0, outcome.output
    assert red(outcome.journal) == set()
    notes = "\n".join(r["line"] for r in outcome.journal if r["event"] == "note")
    assert "alias/dr-secrets is the DR replica of alias/dr-secrets" in notes
    # The age of the last rotation moves with world time: it is the one the drill read between `before` and `after`.
    shown = re.search(r"rotates every 180 days; last rotated (\d+)d\w* ago", notes)
    assert shown, notes
    assert (before - rotated).days <= int(shown.group(1)) <= (after - rotated).days, (shown.group(0), before, after)
    assert "analytics-readonly is refused kms:Decrypt with alias/dr-secrets, as expected" in notes
    trips = [r["measurement"] for r in outcome.journal if r["event"] == "note" and r.get("measurement")]
    assert trips and all(0 < t["measured_s"] <= t["objective_s"] == 3600 for t in trips), trips
    assert [r for r in outcome.journal if r["event"] == "resource-creating"] == []


@pytest.mark.parametrize("fault", [pytest.param(f, marks=pytest.mark.lab(faults=[f])) for f in FAULTS])
def test_a_fault_turns_exactly_its_scenarios_red(lab: Lab, tmp_path: Path, fault: str) -> None:
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=kms_drill(tmp_path))

    assert outcome.exit_code == 1, outcome.output
    assert red(outcome.journal) == FAULTS[fault], outcomes(outcome.journal)


def test_keys_made_through_the_api_are_judged_and_a_granted_denied_role_turns_the_drill_red(lab: Lab, aws, tmp_path: Path) -> None:
    """A user's own multi-Region key pair and roles; granting the denied role Decrypt on one DR key is caught."""
    iam = aws("iam", PRIMARY_REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}]}
    reader, outsider = (iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
                        for name in ("payments-reader", "payments-outsider"))
    iam.put_role_policy(RoleName="payments-outsider", PolicyName="broad", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}))

    def key_policy(*users: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": ["kms:Describe*", "kms:Get*", "kms:List*",
             "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:EnableKeyRotation"], "Resource": "*"},
            {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": list(users)},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]})

    targets = {}
    for name in ("payments", "ledger"):
        kms = aws("kms", PRIMARY_REGION)
        primary = kms.create_key(MultiRegion=True, Policy=key_policy(reader),
                                 Tags=[{"TagKey": "DataClass", "TagValue": name}])["KeyMetadata"]
        kms.enable_key_rotation(KeyId=primary["KeyId"])
        kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=primary["KeyId"])
        aws("kms", PRIMARY_REGION).replicate_key(KeyId=primary["KeyId"], ReplicaRegion=DR_REGION, Policy=key_policy(reader),
                                                 Tags=[{"TagKey": "DataClass", "TagValue": name}])
        aws("kms", DR_REGION).create_alias(AliasName=f"alias/{name}", TargetKeyId=primary["KeyId"])
        targets[f"{name}-key"] = {"kind": "kms-key", "key": f"alias/{name}", "primary_key": f"alias/{name}",
                                  "allowed": [reader], "denied": [outsider],
                                  "expect": {"tags": {"DataClass": name}, "users": [reader], "administrators": [ROOT]},
                                  "objectives": {"max_round_trip": "1h"}}
    # Someone opens the ledger's DR key to the outsider, in the DR region only.
    aws("kms", DR_REGION).put_key_policy(KeyId=aws("kms", DR_REGION).describe_key(KeyId="alias/ledger")["KeyMetadata"]["KeyId"],
                                         PolicyName="default", Policy=key_policy(reader, outsider))
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump({
        "drill": "keys", "primary_region": PRIMARY_REGION, "dr_region": DR_REGION,
        "features": [str(REPO / "features" / "kms_dr_access.feature")], "targets": targets}, sort_keys=False))

    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=path)

    assert outcome.exit_code == 1, outcome.output
    found = outcomes_by_target(outcome.journal)
    assert {s for s, (status, _) in found["payments-key"].items() if status != "passed"} == set(), found["payments-key"]
    failed = {s: message for s, (status, message) in found["ledger-key"].items() if status != "passed"}
    assert set(failed) == {SCENARIOS["denial"], SCENARIOS["policy"]}, found["ledger-key"]
    assert "payments-outsider was allowed kms:Decrypt with alias/ledger, which must be refused to it" in failed[SCENARIOS["denial"]]
    assert f"+ {outsider} may use the DR key, not the primary" in failed[SCENARIOS["policy"]]
    assert f"+ {outsider} may use the DR key, which the drill file does not expect" in failed[SCENARIOS["policy"]]


def test_policy_access_reads_principals_conditions_denials_and_not_action() -> None:
    document = {"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ID}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": [APP_ROLE_ARN, DR_OPERATOR_ROLE_ARN]}, "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": DR_OPERATOR_ROLE_ARN}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID}}},
        {"Effect": "Allow", "Principal": {"AWS": DENIED_ROLE_ARN}, "NotAction": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"},
    ]}
    access = policy.access_of(document)
    assert access.who("use") == {ROOT, APP_ROLE_ARN, "*", DENIED_ROLE_ARN}  # NotAction still leaves GenerateDataKey
    assert access.who("administer") == {ROOT, DENIED_ROLE_ARN}
    assert access.conditional == {"*"}
    baseline = policy.access_of({"Statement": [document["Statement"][0]]})
    lines = policy.drift(access, baseline)
    assert f"+ {APP_ROLE_ARN} may use the DR key, not the primary" in lines
    assert "+ * (under a condition) may use the DR key, not the primary" in lines
    assert not any(DR_OPERATOR_ROLE_ARN in line for line in lines), "an explicit Deny takes the Allow away"
    assert policy.against_expectations(access, {"use": None, "administer": [ROOT]}) == [
        f"+ {DENIED_ROLE_ARN} may administer the DR key, which the drill file does not expect"]
    assert DENIED_ROLE in DENIED_ROLE_ARN


def test_the_drill_may_assume_exactly_the_listed_roles_and_use_keys_itself_only_when_it_is_listed(tmp_path: Path) -> None:
    from drtool.commands.permissions import drill_policy
    from drtool.drill.validate import check_drill_file

    path = drill_file(tmp_path, TARGET)
    by_sid = {s["Sid"]: s for s in drill_policy(check_drill_file(path), ACCOUNT_ID)["Statement"]}
    assert by_sid["AssumeListedPrincipals"]["Action"] == ["sts:AssumeRole"]
    assert by_sid["AssumeListedPrincipals"]["Resource"] == sorted([APP_ROLE_ARN, DR_OPERATOR_ROLE_ARN, DENIED_ROLE_ARN])
    assert "UseDrKeysAsSelf" not in by_sid, "the roles use the key, not the drill's identity"

    drill = yaml.safe_load(path.read_text())
    drill["targets"][TARGET]["allowed"] = ["self"]
    path.write_text(yaml.safe_dump(drill))
    by_sid = {s["Sid"]: s for s in drill_policy(check_drill_file(path), ACCOUNT_ID)["Statement"]}
    assert by_sid["UseDrKeysAsSelf"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert by_sid["AssumeListedPrincipals"]["Resource"] == [DENIED_ROLE_ARN]

"""Each KMS and Secrets Manager fault changes exactly what its description says, and nothing else a drill observes."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from drtool.sandbox.faults import registered_faults
from drtool.sandbox.kms_model import DR_KEY_POLICY_GRANTS_DENIED_ROLE, DR_REPLICA_MISSING_APP_GRANT, ROTATION_OFF
from drtool.sandbox.secrets_model import SECRET_REPLICA_OUT_OF_SYNC, SECRET_ROTATION_OFF
from drtool.sandbox.seed import (
    APP_ROLE_ARN,
    DENIED_ROLE_ARN,
    DENIED_ROLE_GRANT_SID,
    DR_OPERATOR_ROLE_ARN,
    DR_REGION,
    PRIMARY_REGION,
    SECRET_NAME,
    SECRET_REPLICA_FAILED_MESSAGE,
    key_alias,
)
from tests.helpers import as_role, client

CLASSES = ("secrets", "rds")


def works(call, **kwargs) -> bool:
    try:
        call(**kwargs)
    except ClientError as refused:
        assert refused.response["Error"]["Code"] == "AccessDeniedException", refused.response["Error"]
        return False
    return True


def observe(lab) -> dict[str, object]:
    """What the KMS and Secrets drills look at, as plain clients see it."""
    seen: dict[str, object] = {}
    roles = {"app": APP_ROLE_ARN, "operator": DR_OPERATOR_ROLE_ARN, "denied": DENIED_ROLE_ARN}
    as_roles = {name: as_role(lab, arn) for name, arn in roles.items()}
    for region in (PRIMARY_REGION, DR_REGION):
        kms = client(lab, "kms", region)
        for data_class in CLASSES:
            alias = key_alias(data_class)
            sealed = kms.encrypt(KeyId=alias, Plaintext=b"probe")["CiphertextBlob"]
            for name, make in as_roles.items():
                role_kms = make("kms", region)
                seen[f"{region} {data_class} {name} encrypts"] = works(role_kms.encrypt, KeyId=alias, Plaintext=b"x")
                seen[f"{region} {data_class} {name} decrypts"] = works(role_kms.decrypt, CiphertextBlob=sealed)
            key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]  # rotation status takes no alias
            seen[f"{region} {data_class} rotation"] = kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
        for name, make in as_roles.items():
            seen[f"{region} secret {name} reads"] = works(make("secretsmanager", region).get_secret_value,
                                                          SecretId=SECRET_NAME)
    for data_class in CLASSES:
        policies = [json.loads(client(lab, "kms", region).get_key_policy(KeyId=lab.seeded.key_arn(data_class, region),
                                                                         PolicyName="default")["Policy"])
                    for region in (PRIMARY_REGION, DR_REGION)]
        seen[f"{data_class} DR policy equals primary"] = policies[0] == policies[1]
    secret = client(lab, "secretsmanager", PRIMARY_REGION).describe_secret(SecretId=SECRET_NAME)
    [replica] = secret["ReplicationStatus"]
    seen["secret replica status"] = (replica["Status"], replica["StatusMessage"])
    seen["secret replica key"] = replica["KmsKeyId"] == lab.seeded.key_arn("secrets", DR_REGION)
    seen["secret rotation"] = (secret["RotationEnabled"], secret["RotationRules"]["AutomaticallyAfterDays"],
                               "NextRotationDate" in secret)
    return seen


def healthy_world() -> dict[str, object]:
    seen: dict[str, object] = {}
    for region in (PRIMARY_REGION, DR_REGION):
        for data_class in CLASSES:
            for name in ("app", "operator"):
                seen[f"{region} {data_class} {name} encrypts"] = seen[f"{region} {data_class} {name} decrypts"] = True
            seen[f"{region} {data_class} denied encrypts"] = seen[f"{region} {data_class} denied decrypts"] = False
            seen[f"{region} {data_class} rotation"] = True
        seen[f"{region} secret app reads"] = seen[f"{region} secret operator reads"] = True
        seen[f"{region} secret denied reads"] = False
    for data_class in CLASSES:
        seen[f"{data_class} DR policy equals primary"] = True
    seen["secret replica status"] = ("InSync", "Replication succeeded")
    seen["secret replica key"] = True
    seen["secret rotation"] = (True, 30, True)
    return seen


HEALTHY = healthy_world()


def changes(lab) -> dict[str, object]:
    seen = observe(lab)
    assert set(seen) == set(HEALTHY)
    return {name: value for name, value in seen.items() if value != HEALTHY[name]}


def test_the_healthy_world_is_as_the_drills_expect(lab):
    assert changes(lab) == {}


@pytest.mark.lab(faults=[DR_KEY_POLICY_GRANTS_DENIED_ROLE])
def test_dr_key_policy_grants_denied_role_lets_it_decrypt_the_dr_secrets_key_and_read_the_replica(lab):
    assert changes(lab) == {
        f"{DR_REGION} secrets denied decrypts": True,
        f"{DR_REGION} secret denied reads": True,
        "secrets DR policy equals primary": False,
    }
    policy = json.loads(client(lab, "kms", DR_REGION).get_key_policy(KeyId=lab.seeded.key_arn("secrets", DR_REGION),
                                                               PolicyName="default")["Policy"])
    [grant] = [s for s in policy["Statement"] if s.get("Sid") == DENIED_ROLE_GRANT_SID]
    assert grant["Principal"] == {"AWS": DENIED_ROLE_ARN} and grant["Action"] == "kms:Decrypt"


@pytest.mark.lab(faults=[DR_REPLICA_MISSING_APP_GRANT])
def test_dr_replica_missing_app_grant_shuts_the_app_out_of_the_dr_secrets_key_only(lab):
    assert changes(lab) == {
        f"{DR_REGION} secrets app encrypts": False,
        f"{DR_REGION} secrets app decrypts": False,
        f"{DR_REGION} secret app reads": False,
        "secrets DR policy equals primary": False,
    }


@pytest.mark.lab(faults=[ROTATION_OFF])
def test_rotation_off_turns_off_the_secrets_keys_shared_rotation(lab):
    assert changes(lab) == {f"{PRIMARY_REGION} secrets rotation": False, f"{DR_REGION} secrets rotation": False}


@pytest.mark.lab(faults=[SECRET_REPLICA_OUT_OF_SYNC])
def test_secret_replica_out_of_sync_reports_the_replica_failed(lab):
    assert changes(lab) == {"secret replica status": ("Failed", SECRET_REPLICA_FAILED_MESSAGE)}


@pytest.mark.lab(faults=[SECRET_ROTATION_OFF])
def test_secret_rotation_off_disables_the_secrets_rotation(lab):
    assert changes(lab) == {"secret rotation": (False, 30, False)}


def test_each_new_fault_is_declared_with_what_it_changes():
    faults = registered_faults()
    for name in (DR_KEY_POLICY_GRANTS_DENIED_ROLE, DR_REPLICA_MISSING_APP_GRANT, ROTATION_OFF):
        assert "alias/dr-secrets" in faults[name].description
    for name in (SECRET_REPLICA_OUT_OF_SYNC, SECRET_ROTATION_OFF):
        assert SECRET_NAME in faults[name].description

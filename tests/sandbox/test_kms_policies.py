"""KMS in the lab judges key policies for each caller, and multi-region keys work, as AWS does, for any client.

Every client here is plain boto3, signed with the lab's default keys (the account's administrator) or with keys STS
issued for a role (`as_role`), against keys and policies made through the API as well as the seeded ones.
"""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config

from drtool.sandbox.seed import (
    ACCOUNT_ID,
    APP_ROLE_ARN,
    DATA_CLASSES,
    DENIED_ROLE_ARN,
    DR_OPERATOR_ROLE_ARN,
    DR_REGION,
    KEY_ROTATION_PERIOD_DAYS,
    PRIMARY_REGION,
    key_alias,
)
from tests.conftest import TIME_SCALE
from tests.helpers import TRUST_THE_ACCOUNT, as_role, client, refusal

USE = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"]


@pytest.fixture(scope="module")
def world(lab_server):
    """One healthy world for the module: its tests make keys and roles of their own, or only read."""
    lab_server.reset(time_scale=TIME_SCALE, enforce_iam=False)
    return lab_server



def make_role(lab, name: str, *identity_statements: dict) -> str:
    iam = client(lab, "iam", PRIMARY_REGION)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_THE_ACCOUNT)["Role"]["Arn"]
    if identity_statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(identity_statements)}))
    return arn


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, actions, sid="Allow") -> dict:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*"}


def deny(principal, actions, sid="Deny") -> dict:
    return {"Sid": sid, "Effect": "Deny", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*"}


def test_a_key_policy_made_through_the_api_admits_the_role_it_names_and_no_other(world):
    reader = make_role(world, "api-key-reader")
    outsider = make_role(world, "api-key-outsider")
    kms = client(world, "kms", DR_REGION)
    key = kms.create_key(Policy=policy(allow(reader, USE)))["KeyMetadata"]

    as_reader = as_role(world, reader)("kms", DR_REGION)
    data_key = as_reader.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert as_reader.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]

    as_outsider = as_role(world, outsider, "outsider-session")("kms", DR_REGION)
    code, message = refusal(as_outsider.encrypt, KeyId=key["KeyId"], Plaintext=b"x")
    assert code == "AccessDeniedException"
    assert message == (f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/api-key-outsider/outsider-session is not "
                       f"authorized to perform: kms:Encrypt on resource: {key['Arn']} because no resource-based policy "
                       "allows the kms:Encrypt action")
    assert "kms:Decrypt" in refusal(as_outsider.decrypt, CiphertextBlob=data_key["CiphertextBlob"])[1]
    # The administrator (the lab's default keys) is not named, and is allowed anyway.
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]

    # Changing the policy through the API changes who gets in, at once.
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy(allow([reader, outsider], USE)))
    assert as_outsider.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]


def test_an_explicit_deny_wins_over_any_allow_even_for_the_administrator(world):
    role = make_role(world, "deny-wins", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    kms = client(world, "kms", PRIMARY_REGION)
    key = kms.create_key(Policy=policy(allow("*", "kms:*"), allow(role, USE, sid="Named"),
                                       deny(role, "kms:Decrypt")))["KeyMetadata"]
    as_it = as_role(world, role)("kms", PRIMARY_REGION)
    blob = as_it.encrypt(KeyId=key["Arn"], Plaintext=b"payload")["CiphertextBlob"]
    code, message = refusal(as_it.decrypt, CiphertextBlob=blob)
    assert code == "AccessDeniedException" and message.endswith("with an explicit deny in a resource-based policy")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"payload"

    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default",
                       Policy=policy(allow("*", "kms:*"), deny("*", "kms:Decrypt")))
    assert refusal(kms.decrypt, CiphertextBlob=blob)[0] == "AccessDeniedException"


def test_a_key_that_delegates_to_the_account_admits_whom_iam_policies_allow(world):
    kms = client(world, "kms", PRIMARY_REGION)
    # moto's default policy, as AWS's: the account root may do kms:*, so IAM decides.
    key = kms.create_key(Description="delegating")["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"payload")["CiphertextBlob"]
    bare = make_role(world, "delegated-bare")
    allowed = make_role(world, "delegated-allowed", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]})
    elsewhere = make_role(world, "delegated-other-key",
                          {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f"{key['Arn']}-not-this-one"})
    denied = make_role(world, "delegated-denied", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                       {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"})

    def decrypt_as(role):
        return as_role(world, role)("kms", PRIMARY_REGION).decrypt(CiphertextBlob=blob)

    assert decrypt_as(allowed)["Plaintext"] == b"payload"
    code, message = refusal(decrypt_as, role=bare)
    assert code == "AccessDeniedException" and message.endswith("because no identity-based policy allows the kms:Decrypt action")
    assert refusal(decrypt_as, role=elsewhere)[0] == "AccessDeniedException"
    assert refusal(decrypt_as, role=denied)[1].endswith("with an explicit deny in an identity-based policy")

    # An IAM user's keys are that user, judged by its own policies.
    iam = client(world, "iam", PRIMARY_REGION)
    iam.create_user(UserName="delegated-user")
    access = iam.create_access_key(UserName="delegated-user")["AccessKey"]
    as_user = boto3.client("kms", region_name=PRIMARY_REGION, endpoint_url=world.endpoint,
                           aws_access_key_id=access["AccessKeyId"], aws_secret_access_key=access["SecretAccessKey"])
    assert f"User: arn:aws:iam::{ACCOUNT_ID}:user/delegated-user is not authorized" in refusal(
        as_user.decrypt, CiphertextBlob=blob)[1]
    iam.put_user_policy(UserName="delegated-user", PolicyName="decrypt", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}]}))
    assert as_user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"payload"


def test_a_multi_region_replica_decrypts_its_primarys_ciphertext_and_keeps_its_own_properties(world):
    primary_kms, dr_kms = client(world, "kms", PRIMARY_REGION), client(world, "kms", DR_REGION)
    reader = make_role(world, "mrk-reader")
    primary = primary_kms.create_key(MultiRegion=True, Description="api mrk",
                                     Policy=policy(allow(f"arn:aws:iam::{ACCOUNT_ID}:root", "kms:*")))["KeyMetadata"]
    primary_kms.create_alias(AliasName="alias/api-mrk", TargetKeyId=primary["KeyId"])
    replicated = primary_kms.replicate_key(
        KeyId=primary["KeyId"], ReplicaRegion=DR_REGION, Description="api mrk replica",
        Policy=policy(allow(reader, USE)), Tags=[{"TagKey": "Side", "TagValue": "dr"}])
    replica = replicated["ReplicaKeyMetadata"]
    assert replica["KeyId"] == primary["KeyId"] and replica["Arn"] != primary["Arn"]
    assert json.loads(replicated["ReplicaPolicy"])["Statement"][0]["Principal"] == {"AWS": reader}

    # Shared key material: either side opens what the other sealed.
    sealed_in_primary = primary_kms.encrypt(KeyId="alias/api-mrk", Plaintext=b"from the primary")["CiphertextBlob"]
    opened = dr_kms.decrypt(CiphertextBlob=sealed_in_primary)
    assert opened["Plaintext"] == b"from the primary" and opened["KeyId"] == replica["Arn"]
    sealed_in_dr = dr_kms.encrypt(KeyId=replica["Arn"], Plaintext=b"from the replica")["CiphertextBlob"]
    assert primary_kms.decrypt(CiphertextBlob=sealed_in_dr)["Plaintext"] == b"from the replica"
    # ... subject to each side's own policy.
    assert as_role(world, reader)("kms", DR_REGION).decrypt(CiphertextBlob=sealed_in_primary)["Plaintext"] == b"from the primary"
    assert refusal(as_role(world, reader)("kms", PRIMARY_REGION).decrypt, CiphertextBlob=sealed_in_primary)[0] == "AccessDeniedException"

    # Each region describes its own side, in either order.
    for _ in range(2):
        dr_meta = dr_kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
        primary_meta = primary_kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
        assert dr_meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        assert primary_meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert dr_meta["MultiRegionConfiguration"]["PrimaryKey"] == {"Arn": primary["Arn"], "Region": PRIMARY_REGION}
    assert primary_meta["MultiRegionConfiguration"]["ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": DR_REGION}]
    assert (primary_meta["Description"], dr_meta["Description"]) == ("api mrk", "api mrk replica")
    assert primary_kms.get_key_policy(KeyId=primary["KeyId"], PolicyName="default")["Policy"] != \
        dr_kms.get_key_policy(KeyId=primary["KeyId"], PolicyName="default")["Policy"]
    # Aliases and tags are per region.
    assert "alias/api-mrk" not in {a["AliasName"] for a in dr_kms.list_aliases(KeyId=primary["KeyId"])["Aliases"]}
    dr_kms.create_alias(AliasName="alias/api-mrk-dr", TargetKeyId=primary["KeyId"])
    assert {a["AliasName"] for a in primary_kms.list_aliases(KeyId=primary["KeyId"])["Aliases"]} == {"alias/api-mrk"}
    assert dr_kms.list_resource_tags(KeyId=primary["KeyId"])["Tags"] == [{"TagKey": "Side", "TagValue": "dr"}]
    assert primary_kms.list_resource_tags(KeyId=primary["KeyId"])["Tags"] == []
    # State is per region: a disabled replica leaves the primary working.
    dr_kms.disable_key(KeyId=primary["KeyId"])
    assert refusal(dr_kms.decrypt, CiphertextBlob=sealed_in_primary)[0] == "DisabledException"
    assert primary_kms.decrypt(CiphertextBlob=sealed_in_primary)["Plaintext"] == b"from the primary"

    # Automatic rotation is shared: set on the primary, reported by the replica, refused on the replica.
    primary_kms.enable_key_rotation(KeyId=primary["KeyId"], RotationPeriodInDays=90)
    status = dr_kms.get_key_rotation_status(KeyId=primary["KeyId"])
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 90
    assert refusal(dr_kms.disable_key_rotation, KeyId=primary["KeyId"])[0] == "UnsupportedOperationException"


def test_automatic_rotation_follows_world_time(world):
    kms = client(world, "kms", PRIMARY_REGION)
    key = kms.create_key()["KeyMetadata"]
    before = world.clock.now()
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    after = world.clock.now()
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["RotationPeriodInDays"] == 90
    # Counted from the world moment rotation was enabled.
    assert before + timedelta(days=90) <= status["NextRotationDate"] <= after + timedelta(days=90)
    assert kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"] == []
    # The lab checks the period itself, for clients that do not (botocore does).
    unchecked = client(world, "kms", PRIMARY_REGION, Config(parameter_validation=False))
    assert refusal(unchecked.enable_key_rotation, KeyId=key["KeyId"], RotationPeriodInDays=30)[0] == "ValidationException"


def test_the_seeded_dr_keys_are_replicas_of_their_primaries_with_the_same_policy_and_rotation(world):
    primary_kms, dr_kms = client(world, "kms", PRIMARY_REGION), client(world, "kms", DR_REGION)
    now = world.clock.now()
    for data_class in DATA_CLASSES:
        dr = dr_kms.describe_key(KeyId=key_alias(data_class))["KeyMetadata"]
        primary = primary_kms.describe_key(KeyId=key_alias(data_class))["KeyMetadata"]
        assert dr["Arn"] == world.seeded.key_arn(data_class, DR_REGION)
        assert primary["Arn"] == world.seeded.key_arn(data_class, PRIMARY_REGION)
        assert dr["KeyId"] == primary["KeyId"] and dr["KeyId"].startswith("mrk-")
        assert dr["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        assert dr["MultiRegionConfiguration"]["PrimaryKey"]["Arn"] == primary["Arn"]
        assert dr_kms.get_key_policy(KeyId=dr["KeyId"], PolicyName="default")["Policy"] == \
            primary_kms.get_key_policy(KeyId=primary["KeyId"], PolicyName="default")["Policy"]
        tags = {t["TagKey"]: t["TagValue"] for t in dr_kms.list_resource_tags(KeyId=dr["KeyId"])["Tags"]}
        assert tags["DataClass"] == data_class and tags["Component"]
        status = dr_kms.get_key_rotation_status(KeyId=dr["KeyId"])
        assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == KEY_ROTATION_PERIOD_DAYS
        last = max(r["RotationDate"] for r in dr_kms.list_key_rotations(KeyId=dr["KeyId"])["Rotations"])
        assert timedelta(0) < now - last < timedelta(days=KEY_ROTATION_PERIOD_DAYS)
        assert status["NextRotationDate"] - last == timedelta(days=KEY_ROTATION_PERIOD_DAYS)


@pytest.mark.parametrize("region", [PRIMARY_REGION, DR_REGION])
def test_the_seeded_roles_use_the_data_keys_as_their_policies_say(world, region):
    sealed = client(world, "kms", region).encrypt(KeyId=key_alias("secrets"), Plaintext=b"orders")["CiphertextBlob"]
    for role in (APP_ROLE_ARN, DR_OPERATOR_ROLE_ARN):
        kms = as_role(world, role)("kms", region)
        data_key = kms.generate_data_key(KeyId=key_alias("secrets"), KeySpec="AES_256")
        assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"] == data_key["Plaintext"]
        assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"orders"
    denied = as_role(world, DENIED_ROLE_ARN)("kms", region)
    # Its IAM policy allows kms:Decrypt on everything: the key policy alone keeps it out.
    for call, kwargs in ((denied.encrypt, {"KeyId": key_alias("secrets"), "Plaintext": b"x"}),
                         (denied.decrypt, {"CiphertextBlob": sealed}),
                         (denied.generate_data_key, {"KeyId": key_alias("rds"), "KeySpec": "AES_256"})):
        assert refusal(call, **kwargs)[0] == "AccessDeniedException"

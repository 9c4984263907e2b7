"""Secrets Manager in the lab: replicas keep the key the client named, and reads are judged by that key, for any client."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from drtool.sandbox.seed import (
    APP_ROLE_ARN,
    DENIED_ROLE_ARN,
    DR_OPERATOR_ROLE_ARN,
    DR_REGION,
    PRIMARY_REGION,
    SECRET_DR_KEY_ALIAS,
    SECRET_NAME,
    SECRET_ROTATION_DAYS,
    SECRET_ROTATION_LAMBDA_ARN,
)
from tests.conftest import TIME_SCALE
from tests.helpers import TRUST_THE_ACCOUNT, as_role, client, refusal



@pytest.fixture(scope="module")
def world(lab_server):
    """One healthy world for the module's tests that only read, or make secrets and keys of their own."""
    lab_server.reset(time_scale=TIME_SCALE, enforce_iam=False)
    return lab_server



def test_a_replica_made_through_the_api_keeps_the_key_the_client_named(world):
    dr_kms = client(world, "kms", DR_REGION)
    dr_key = dr_kms.create_key(Description="api secret replica key")["KeyMetadata"]
    dr_kms.create_alias(AliasName="alias/api-secret-dr", TargetKeyId=dr_key["KeyId"])
    secrets = client(world, "secretsmanager", PRIMARY_REGION)
    created = secrets.create_secret(Name="api/with-replica", SecretString="v1",
                                    AddReplicaRegions=[{"Region": DR_REGION, "KmsKeyId": dr_key["Arn"]}])
    assert created["ReplicationStatus"][0]["KmsKeyId"] == dr_key["Arn"]
    [status] = secrets.describe_secret(SecretId="api/with-replica")["ReplicationStatus"]
    assert (status["Region"], status["KmsKeyId"], status["Status"]) == (DR_REGION, dr_key["Arn"], "InSync")
    replica = client(world, "secretsmanager", DR_REGION).describe_secret(SecretId="api/with-replica")
    assert replica["KmsKeyId"] == dr_key["Arn"] and replica["PrimaryRegion"] == PRIMARY_REGION

    # Replicating an existing secret later, by alias; and one with no key named, which gets the AWS-managed key.
    secrets.create_secret(Name="api/replicated-later", SecretString="v1")
    statuses = secrets.replicate_secret_to_regions(
        SecretId="api/replicated-later", AddReplicaRegions=[{"Region": DR_REGION, "KmsKeyId": "alias/api-secret-dr"}],
    )["ReplicationStatus"]
    assert statuses[0]["KmsKeyId"] == "alias/api-secret-dr"
    secrets.create_secret(Name="api/default-key", SecretString="v1", AddReplicaRegions=[{"Region": DR_REGION}])
    assert secrets.describe_secret(SecretId="api/default-key")["ReplicationStatus"][0]["KmsKeyId"] == "alias/aws/secretsmanager"

    # A key that does not exist in the replica's region: replication fails, and says why.
    secrets.create_secret(Name="api/missing-key", SecretString="v1",
                          AddReplicaRegions=[{"Region": DR_REGION, "KmsKeyId": "alias/no-such-key"}])
    [failed] = secrets.describe_secret(SecretId="api/missing-key")["ReplicationStatus"]
    assert failed["Status"] == "Failed" and "alias/no-such-key" in failed["StatusMessage"]


def test_reading_a_replica_is_judged_by_the_dr_regions_key_policy(world):
    iam = client(world, "iam", PRIMARY_REGION)
    reader = iam.create_role(RoleName="replica-reader", AssumeRolePolicyDocument=TRUST_THE_ACCOUNT)["Role"]["Arn"]
    other = iam.create_role(RoleName="replica-other", AssumeRolePolicyDocument=TRUST_THE_ACCOUNT)["Role"]["Arn"]
    reads = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    primary_key = client(world, "kms", PRIMARY_REGION).create_key(Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{**reads, "Principal": {"AWS": [reader, other]}}]}))["KeyMetadata"]
    dr_key = client(world, "kms", DR_REGION).create_key(Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{**reads, "Principal": {"AWS": reader}}]}))["KeyMetadata"]
    client(world, "secretsmanager", PRIMARY_REGION).create_secret(
        Name="api/judged", SecretString="the value", KmsKeyId=primary_key["Arn"],
        AddReplicaRegions=[{"Region": DR_REGION, "KmsKeyId": dr_key["Arn"]}])

    as_reader, as_other = as_role(world, reader), as_role(world, other)
    assert as_reader("secretsmanager", DR_REGION).get_secret_value(SecretId="api/judged")["SecretString"] == "the value"
    assert refusal(as_other("secretsmanager", DR_REGION).get_secret_value, SecretId="api/judged") == (
        "AccessDeniedException", "Access to KMS is not allowed")
    # The primary region's key is the primary's own: there the other role may read.
    assert as_other("secretsmanager", PRIMARY_REGION).get_secret_value(SecretId="api/judged")["SecretString"] == "the value"
    # The administrator reads both.
    assert client(world, "secretsmanager", DR_REGION).get_secret_value(SecretId="api/judged")["SecretString"] == "the value"


def test_the_seeded_secrets_replica_is_in_sync_with_its_dr_key_and_readable_only_by_the_allowed_roles(world):
    primary = client(world, "secretsmanager", PRIMARY_REGION).describe_secret(SecretId=SECRET_NAME)
    dr_key_arn = world.seeded.key_arn("secrets", DR_REGION)
    assert primary["ReplicationStatus"] == [{"Region": DR_REGION, "KmsKeyId": dr_key_arn, "Status": "InSync",
                                             "StatusMessage": "Replication succeeded"}]
    assert client(world, "kms", DR_REGION).describe_key(KeyId=SECRET_DR_KEY_ALIAS)["KeyMetadata"]["Arn"] == dr_key_arn
    assert client(world, "secretsmanager", DR_REGION).describe_secret(SecretId=SECRET_NAME)["KmsKeyId"] == dr_key_arn

    value = client(world, "secretsmanager", PRIMARY_REGION).get_secret_value(SecretId=SECRET_NAME)["SecretString"]
    for role in (APP_ROLE_ARN, DR_OPERATOR_ROLE_ARN):
        assert as_role(world, role)("secretsmanager", DR_REGION).get_secret_value(SecretId=SECRET_NAME)["SecretString"] == value
    for region in (PRIMARY_REGION, DR_REGION):
        denied = as_role(world, DENIED_ROLE_ARN)("secretsmanager", region)
        assert refusal(denied.get_secret_value, SecretId=SECRET_NAME)[0] == "AccessDeniedException"


def test_the_seeded_secret_rotates_every_30_days_and_last_rotated_in_world_time(world):
    secret = client(world, "secretsmanager", PRIMARY_REGION).describe_secret(SecretId=SECRET_NAME)
    now = world.clock.now()
    assert secret["RotationEnabled"] is True
    assert secret["RotationLambdaARN"] == SECRET_ROTATION_LAMBDA_ARN
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == SECRET_ROTATION_DAYS
    assert timedelta(0) < now - secret["LastRotatedDate"] < timedelta(days=SECRET_ROTATION_DAYS)
    assert secret["NextRotationDate"] - secret["LastRotatedDate"] == timedelta(days=SECRET_ROTATION_DAYS)
    assert secret["CreatedDate"] < secret["LastRotatedDate"]


@pytest.mark.lab(faults=[])
def test_a_disabled_dr_key_refuses_reading_the_replica_and_leaves_the_primary_readable(lab, aws):
    aws("kms", DR_REGION).disable_key(KeyId=lab.seeded.key_arn("secrets", DR_REGION).split("/")[-1])
    code, message = refusal(aws("secretsmanager", DR_REGION).get_secret_value, SecretId=SECRET_NAME)
    assert code == "DecryptionFailure" and "Disabled" in message
    assert aws("secretsmanager", PRIMARY_REGION).get_secret_value(SecretId=SECRET_NAME)["SecretString"]

"""A role that trusts its account can be assumed by whoever the account's IAM policies allow, as in AWS."""

from __future__ import annotations

import json

import boto3
import pytest

from drtool.sandbox.seed import ACCOUNT_ID, PRIMARY_REGION
from drtool.sandbox.sts_model import trusts_account
from tests.safety.test_permissions import admin_client, user_with_policy

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


def _trust(principal: str, effect: str = "Allow", **extra: object) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": {"AWS": principal}, "Action": "sts:AssumeRole", **extra}]}


@pytest.mark.lab(enforce_iam=True)
def test_a_role_trusting_the_account_is_assumed_by_a_user_iam_allows_and_by_no_other(lab):
    admin = admin_client(lab, "iam", PRIMARY_REGION)
    role = admin.create_role(RoleName="reports-reader", AssumeRolePolicyDocument=json.dumps(_trust(ROOT)))["Role"]["Arn"]
    allowed = user_with_policy(lab, "may-assume", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]})
    refused = user_with_policy(lab, "may-not-assume", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})

    def sts(credentials: dict[str, str]):
        return boto3.client("sts", region_name=PRIMARY_REGION, endpoint_url=lab.endpoint,
                            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"])

    assumed = sts(allowed).assume_role(RoleArn=role, RoleSessionName="drill")["AssumedRoleUser"]["Arn"]
    assert assumed == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/reports-reader/drill"
    with pytest.raises(Exception, match="AccessDenied"):
        sts(refused).assume_role(RoleArn=role, RoleSessionName="drill")


def test_trust_in_the_account_is_read_as_aws_reads_it():
    assert trusts_account(_trust(ROOT), ACCOUNT_ID)
    assert trusts_account(_trust(ACCOUNT_ID), ACCOUNT_ID)
    assert trusts_account(json.dumps(_trust([ROOT, "arn:aws:iam::210987654321:root"])), ACCOUNT_ID)
    assert not trusts_account(_trust("arn:aws:iam::210987654321:root"), ACCOUNT_ID), "another account"
    assert not trusts_account(_trust(f"arn:aws:iam::{ACCOUNT_ID}:role/ci"), ACCOUNT_ID), "one named principal only"
    assert not trusts_account(_trust(ROOT, Condition={"StringEquals": {"sts:ExternalId": "x"}}), ACCOUNT_ID)
    denied = _trust(ROOT)
    denied["Statement"].append({"Effect": "Deny", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"})
    assert not trusts_account(denied, ACCOUNT_ID)

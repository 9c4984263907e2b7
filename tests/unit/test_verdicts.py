"""Verdicts: expected denials judged against real IAM answers, and AWS errors stated as one sentence."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from drtool.core.errors import remember_call_region
from drtool.core.guard import GuardRefused
from drtool.core.registry import families
from drtool.core.verdicts import AWS_ERROR, COULD_NOT_RUN, DENIAL, Outcome, Verdict, VerdictReached, expect_denied, verdict_for
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import DR_REGION, PRIMARY_REGION


def _client_as(lab: Lab, credentials: dict[str, str], service: str, region: str = DR_REGION):
    return boto3.client(service, region_name=region, endpoint_url=lab.endpoint, **credentials)


def _user_allowed(lab: Lab, name: str, *actions: str) -> dict[str, str]:
    env = lab.environment()
    iam = _client_as(lab, {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}, "iam", PRIMARY_REGION)
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


@pytest.mark.lab(enforce_iam=True)
def test_a_refusal_is_the_pass_and_being_allowed_is_the_failure(lab: Lab):
    reader = _client_as(lab, _user_allowed(lab, "key-lister", "kms:ListKeys"), "kms")

    refused = expect_denied("key-lister", "kms:CreateKey", lambda: reader.create_key(Description="must not exist"))
    assert refused.outcome is Outcome.PASS and refused.kind == DENIAL
    assert refused.sentence == "key-lister is refused kms:CreateKey, as expected"

    allowed = expect_denied("key-lister", "kms:ListKeys", lambda: reader.list_keys())
    assert allowed.outcome is Outcome.FAIL
    assert allowed.sentence == "key-lister was allowed kms:ListKeys, which must be refused to it"


@pytest.mark.lab(enforce_iam=True)
def test_a_denial_cannot_be_proven_with_credentials_aws_does_not_know(lab: Lab):
    stranger = _client_as(lab, {"aws_access_key_id": "AKIAUNKNOWN000000000", "aws_secret_access_key": "x"}, "kms")
    verdict = expect_denied("stranger", "kms:ListKeys", lambda: stranger.list_keys())
    assert verdict.outcome is Outcome.ERROR and verdict.kind == COULD_NOT_RUN, verdict


def test_drtools_own_guard_is_not_an_aws_denial():
    def refused_by_guard():
        raise GuardRefused("refusing DeleteDBInstance on orders-db: not created by this run")

    verdict = expect_denied("app-role", "rds:DeleteDBInstance", refused_by_guard)
    assert verdict.outcome is Outcome.ERROR, "the guard refusing proves nothing about what AWS would allow"


def test_another_aws_error_fails_the_expected_denial():
    def not_found():
        raise ClientError({"Error": {"Code": "NotFoundException", "Message": "Key 'alias/x' does not exist"}}, "Decrypt")

    verdict = expect_denied("auditor", "kms:Decrypt", not_found)
    assert verdict.outcome is Outcome.FAIL
    assert "expected to be refused with AccessDenied" in verdict.sentence and "NotFoundException" in verdict.sentence


def test_an_unexpected_aws_error_in_a_step_reads_as_one_sentence_with_region_and_remedy(lab: Lab):
    session = boto3.Session(**{k.lower(): v for k, v in lab.environment().items() if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    rds = session.client("rds", region_name=DR_REGION, endpoint_url=lab.endpoint)
    remember_call_region(rds, "rds", DR_REGION)
    with pytest.raises(ClientError) as raised:
        rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="drtool-deadbeef-orders", DBSnapshotIdentifier="no-such-snapshot", DBSubnetGroupName="missing-group"
        )

    verdict = verdict_for(raised.value, families().remedies)
    assert verdict.outcome is Outcome.FAIL and verdict.kind == AWS_ERROR
    sentence = verdict.sentence
    assert sentence.startswith(f"RestoreDBInstanceFromDBSnapshot in {DR_REGION} failed with "), sentence
    assert "Remedy: " in sentence and "\n" not in sentence and "Traceback" not in sentence
    assert sentence.count(". Remedy: ") == 1


def test_a_family_remedy_names_the_setting_to_change():
    error = ClientError({"Error": {"Code": "DBSubnetGroupNotFoundFault", "Message": "DBSubnetGroup dr-private not found."},
                         "DrtoolCall": {"service": "rds", "region": "eu-central-1"}}, "RestoreDBInstanceFromDBSnapshot")
    sentence = verdict_for(error, families().remedies).sentence
    assert sentence == (
        "RestoreDBInstanceFromDBSnapshot in eu-central-1 failed with DBSubnetGroupNotFoundFault: DBSubnetGroup dr-private not found. "
        "Remedy: create the DB subnet group in eu-central-1, or name an existing one in the target's restore.subnet_group."
    )


def test_a_verdict_is_frozen_and_only_a_pass_lets_the_step_go_on():
    verdict = Verdict.failed("orders-db: DR key alias/orders is disabled")
    with pytest.raises(AttributeError):
        verdict.outcome = Outcome.PASS  # type: ignore[misc]
    with pytest.raises(VerdictReached) as ended:
        verdict.enforce()
    assert ended.value.verdict is verdict
    assert Verdict.passed("fine").enforce().outcome is Outcome.PASS

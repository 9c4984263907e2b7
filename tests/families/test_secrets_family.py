"""The secret family against the lab: a healthy secret, each Secrets and KMS fault, a denied role granted access
through the API, and secrets built through the API; then the target model, the rotation verdict and the grants, offline.

No secret value may reach the output, the journal or the JUnit file: the drill compares SHA-256 digests.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from drtool.commands.permissions import drill_policy
from drtool.core.verdicts import BREACH, FINDING, Outcome
from drtool.drill.file import parse_drill
from drtool.drill.validate import check_drill_file
from drtool.families.secret.context import SecretDrillContext
from drtool.families.secret.rotation import rotation_verdict, schedule_of
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import (
    ACCOUNT_ID,
    ACCOUNT_ROOT_ARN,
    APP_ROLE,
    DENIED_ROLE,
    DENIED_ROLE_ARN,
    DR_REGION,
    PRIMARY_REGION,
    SECRET_DR_KEY_ALIAS,
    SECRET_NAME,
)
from drtool.core.model import DrillFileError
from tests.families.test_s3_replication import outcomes
from tests.helpers import REPO, client, drill_file, production_untouched, run_drill

TARGET = "orders-db-credentials"
SEEDED_PASSWORD = "not-a-real-password-2"
SCENARIOS = {
    "replica": "The DR replica is in sync, under the DR key, and readable only by the allowed principals",
    "rotation": "The secret rotates automatically, at least as often as the maximum interval",
}
FEATURE = REPO / "features" / "secrets_dr.feature"


def secret_drill(tmp_path: Path) -> Path:
    return drill_file(tmp_path, TARGET)


def by_target(journal: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """(scenario key, target) -> (status, message), for drills with several secret targets."""
    started = {r["test"]: (r["scenario"], r["target"]) for r in journal if r["event"] == "test-started"}
    keys = {name: key for key, name in SCENARIOS.items()}
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for record in journal:
        if record["event"] == "test-outcome" and (record["phase"] == "call" or record["status"] != "passed"):
            scenario, target = started[record["test"]]
            found.setdefault((keys[scenario], target), (record["status"], record["message"]))
    return found


def assert_no_value_written(outcome, tmp_path: Path, *values: str) -> None:
    written = {"output": outcome.output, "junit": (tmp_path / "junit.xml").read_text()}
    written.update({path.name: path.read_text() for path in (tmp_path / "journal").glob("*.jsonl")})
    for value in values:
        assert [where for where, text in written.items() if value in text] == [], f"{value!r} was written"


# --- the seeded secret --------------------------------------------------------------------------------


def test_a_healthy_secret_passes_both_scenarios_and_no_value_is_written_anywhere(lab: Lab, tmp_path: Path) -> None:
    rotated = client(lab, "secretsmanager", PRIMARY_REGION).describe_secret(SecretId=SECRET_NAME)["LastRotatedDate"]
    before = lab.clock.now()
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=secret_drill(tmp_path))
    after = lab.clock.now()

    assert outcome.exit_code == 0, outcome.output
    found = outcomes(outcome.journal)
    assert {found[SCENARIOS[key]][0] for key in SCENARIOS} == {"passed"}, found
    assert_no_value_written(outcome, tmp_path, SEEDED_PASSWORD, "orders_app")
    notes = outcome.verdicts()
    dr_key = lab.seeded.key_arn("secrets", DR_REGION)
    assert f"{TARGET}: the replica of secret {SECRET_NAME} in {DR_REGION} is InSync, encrypted with {SECRET_DR_KEY_ALIAS} ({dr_key})" in notes
    # Every read of the replica is timed, in real milliseconds; each role also reads the primary to compare with.
    timed = [line for line in notes if " ms" in line]
    assert len(timed) == 3, timed
    assert any(f"{APP_ROLE} read the replica of {SECRET_NAME} in {DR_REGION} in " in line
               and "the same value as the primary's current one" in line for line in timed)
    assert any(f"{DENIED_ROLE} was refused the replica" in line for line in timed)
    measured = outcome.measurements()
    assert measured[(TARGET, "rotation interval")]["measured_s"] == 30 * 86400
    assert measured[(TARGET, "rotation interval")]["objective_s"] == 90 * 86400
    # World time, not wall-clock: the age the drill read between `before` and `after`, however long the run took.
    age = measured[(TARGET, "rotation age")]["measured_s"]
    assert (before - rotated).total_seconds() - 1 <= age <= (after - rotated).total_seconds() + 1, (age, before, after)
    assert [r for r in outcome.journal if r["event"] == "resource-creating"] == [], "the drill creates nothing"


CASES = {
    # fault: (the Secrets scenario it turns red, what its failure must say)
    "secret-replica-out-of-sync": ("replica", f"the replica of secret {SECRET_NAME} in {DR_REGION} is Failed, not InSync"),
    "secret-rotation-off": ("rotation", f"rotation of secret {SECRET_NAME} is disabled"),
    "dr-key-policy-grants-denied-role": ("replica", f"{DENIED_ROLE} was allowed secretsmanager:GetSecretValue on the "
                                                    f"replica of secret {SECRET_NAME} in {DR_REGION}"),
    "dr-replica-missing-app-grant": ("replica", f"{APP_ROLE} cannot read the replica of secret {SECRET_NAME} in {DR_REGION}"),
    "rotation-off": (None, ""),  # the KMS key's rotation: the secret's own is judged, and both scenarios stay green
}


@pytest.mark.parametrize("fault", [pytest.param(f, marks=pytest.mark.lab(faults=[f])) for f in CASES])
def test_each_fault_turns_exactly_its_secrets_scenario_red(lab: Lab, tmp_path: Path, fault: str) -> None:
    red, says = CASES[fault]
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=secret_drill(tmp_path))

    assert outcome.exit_code == (1 if red else 0), outcome.output
    found = outcomes(outcome.journal)
    for key, name in SCENARIOS.items():
        status, message = found[name]
        assert status == ("failed" if key == red else "passed"), (key, status, message)
        if key == red:
            assert message.startswith(f"{TARGET}: ") and says in message, message
    assert_no_value_written(outcome, tmp_path, SEEDED_PASSWORD)


def test_a_denied_role_granted_decrypt_through_the_api_turns_the_replica_red_naming_it(lab: Lab, tmp_path: Path) -> None:
    kms = client(lab, "kms", DR_REGION)
    key_id = kms.describe_key(KeyId=SECRET_DR_KEY_ALIAS)["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    policy["Statement"].append({"Sid": "QuietlyLetAnalyticsIn", "Effect": "Allow", "Principal": {"AWS": DENIED_ROLE_ARN},
                                "Action": "kms:Decrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))

    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=secret_drill(tmp_path))

    assert outcome.exit_code == 1, outcome.output
    found = outcomes(outcome.journal)
    status, message = found[SCENARIOS["replica"]]
    assert status == "failed"
    assert f"{DENIED_ROLE} was allowed secretsmanager:GetSecretValue" in message
    assert f"remove what lets {DENIED_ROLE_ARN} decrypt with {lab.seeded.key_arn('secrets', DR_REGION)}" in message
    assert APP_ROLE not in message, "the allowed roles still read it: only the denial is wrong"
    assert found[SCENARIOS["rotation"]][0] == "passed"
    assert_no_value_written(outcome, tmp_path, SEEDED_PASSWORD)


# --- secrets made through the API ------------------------------------------------------------------------


def _role(lab: Lab, name: str, *, broad_read: bool = False) -> str:
    iam = client(lab, "iam", PRIMARY_REGION)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT_ARN}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if broad_read:  # only the key policy can keep it out
        iam.put_role_policy(RoleName=name, PolicyName="read-everything", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                                                    "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"]}]}))
    return arn


def _key(lab: Lab, region: str, readers: list[str]) -> dict:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Administer", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT_ARN},
         "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:Put*"], "Resource": "*"},
        {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": readers}, "Action": "kms:Decrypt", "Resource": "*"}]}
    return client(lab, "kms", region).create_key(Policy=json.dumps(policy), Description="api secret key")["KeyMetadata"]


def test_secrets_made_through_the_api_are_judged_by_a_drill_file_naming_them(lab: Lab, tmp_path: Path) -> None:
    reader, outsider = _role(lab, "payments-dr-reader"), _role(lab, "payments-outsider", broad_read=True)
    primary_key, dr_key = _key(lab, PRIMARY_REGION, [reader, outsider]), _key(lab, DR_REGION, [reader])
    client(lab, "kms", DR_REGION).create_alias(AliasName="alias/payments-secrets-dr", TargetKeyId=dr_key["KeyId"])
    secrets = client(lab, "secretsmanager", PRIMARY_REGION)
    # Replicated under the DR key named by its alias (so the replica reports the alias), and rotated every 7 days.
    payments = secrets.create_secret(Name="api/payments/token", SecretString="api-token-value-1", KmsKeyId=primary_key["Arn"],
                                     AddReplicaRegions=[{"Region": DR_REGION, "KmsKeyId": "alias/payments-secrets-dr"}])["ARN"]
    secrets.rotate_secret(SecretId=payments, RotationRules={"AutomaticallyAfterDays": 7}, RotateImmediately=False)
    # Replicated under the AWS-managed key, and never rotated.
    secrets.create_secret(Name="api/reports/token", SecretString="api-token-value-2", AddReplicaRegions=[{"Region": DR_REGION}])
    drill = {
        "drill": "api-secrets", "primary_region": PRIMARY_REGION, "dr_region": DR_REGION, "features": [str(FEATURE)],
        "targets": {
            "payments-token": {"kind": "secret", "secret": payments, "replica_kms_key": dr_key["Arn"],
                               "allowed": [reader], "denied": [outsider], "rotation": {"max_interval": "30d"}},
            "reports-token": {"kind": "secret", "secret": "api/reports/token", "replica_kms_key": "alias/payments-secrets-dr",
                              "allowed": [reader], "rotation": {"max_interval": "30d"}},
        },
    }
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False))

    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=path)

    assert outcome.exit_code == 1, outcome.output
    found = by_target(outcome.journal)
    assert found[("replica", "payments-token")][0] == "passed", found
    assert found[("rotation", "payments-token")][0] == "passed", found
    status, message = found[("replica", "reports-token")]
    assert status == "failed" and ("encrypted with the AWS-managed key aws/secretsmanager, not the replica key "
                                   "alias/payments-secrets-dr") in message, message
    status, message = found[("rotation", "reports-token")]
    assert status == "failed"
    assert "rotation of secret api/reports/token is disabled" in message and "has never rotated" in message, message
    assert_no_value_written(outcome, tmp_path, "api-token-value-1", "api-token-value-2")


# --- offline: the target model, the rotation verdict, the grants ---------------------------------------------

DRILL_HEAD = f"drill: t\nprimary_region: {PRIMARY_REGION}\ndr_region: {DR_REGION}\nfeatures: [x.feature]\ntargets:\n  s:\n"


def _target_problems(body: str) -> list[str]:
    try:
        parse_drill(DRILL_HEAD + body, "d.yaml")
    except DrillFileError as exc:
        return [problem.message for problem in exc.problems]
    return []


@pytest.mark.parametrize("body,problem", [
    ("    kind: secret\n    secret: x\n    replica_kms_key: alias/k\n    allowed: [self]\n    denied: [self]\n"
     "    rotation: {max_interval: 90d}\n", "both allowed and denied: the drill's own identity"),
    ("    kind: secret\n    secret: x\n    replica_kms_key: alias/k\n    allowed: [orders-app]\n"
     "    rotation: {max_interval: 90d}\n", "is neither `self` nor an IAM role ARN"),
    ("    kind: secret\n    secret: x\n    replica_kms_key: alias/k\n    rotation: {max_interval: 0d}\n",
     "must be longer than zero"),
    ("    kind: secret\n    secret: arn:aws:s3:::bucket\n    replica_kms_key: alias/k\n    rotation: {max_interval: 9d}\n",
     "is not a Secrets Manager secret ARN"),
    ("    kind: secret\n    secret: x\n    replica_kms_key: dr-key\n    rotation: {max_interval: 9d}\n",
     "is not a KMS key id, key ARN, alias ARN or alias/NAME"),
])
def test_the_target_model_refuses_what_it_can_tell_statically(body: str, problem: str) -> None:
    problems = _target_problems(body)
    assert len(problems) == 1 and problem in problems[0], problems


def _context(max_interval: str = "90d") -> SecretDrillContext:
    target = parse_drill(DRILL_HEAD + "    kind: secret\n    secret: app/s\n    replica_kms_key: alias/k\n"
                         f"    rotation: {{max_interval: {max_interval}}}\n", "d.yaml").targets["s"]
    return SecretDrillContext("s", target, aws=None, primary_region=PRIMARY_REGION, dr_region=DR_REGION, clock=None)  # type: ignore[arg-type]  # the verdict takes `now`


NOW = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)


def test_rotation_schedules_rate_and_days_are_judged_and_cron_by_the_next_rotation() -> None:
    assert schedule_of({"ScheduleExpression": "rate(10 days)", "AutomaticallyAfterDays": 99}).interval == timedelta(days=10)
    assert schedule_of({"ScheduleExpression": "rate(12 hours)"}).interval == timedelta(hours=12)
    assert schedule_of({"AutomaticallyAfterDays": 30}).interval == timedelta(days=30)
    assert schedule_of({}) is None
    cron = schedule_of({"ScheduleExpression": "cron(0 16 1,15 * ? *)"})
    assert cron.interval is None and "does not evaluate the schedule expression 'cron(0 16 1,15 * ? *)'" in cron.unjudged

    base = {"Name": "app/s", "RotationEnabled": True, "LastRotatedDate": NOW - timedelta(days=10)}
    verdict, notes = rotation_verdict(_context(), {**base, "RotationRules": {"ScheduleExpression": "cron(0 16 1,15 * ? *)"},
                                                   "NextRotationDate": NOW + timedelta(days=5)}, NOW)
    assert verdict.outcome is Outcome.PASS, verdict.sentence
    assert any("is judged by the next scheduled rotation" in note for note in notes), notes
    assert {m.name: m.measured for m in verdict.measurements}["rotation interval"] == 15 * 86400

    verdict, _ = rotation_verdict(_context(), {**base, "RotationRules": {"ScheduleExpression": "rate(120 days)"}}, NOW)
    assert verdict.outcome is Outcome.FAIL and verdict.kind == BREACH
    assert "app/s rotates rate(120 days) (rotation interval 90d): BREACHED by 30d" in verdict.sentence
    assert "shorten its RotationRules to at most 90d" in verdict.sentence

    stale = {**base, "LastRotatedDate": NOW - timedelta(days=100), "RotationRules": {"AutomaticallyAfterDays": 30}}
    verdict, _ = rotation_verdict(_context(), stale, NOW)
    assert "app/s last rotated 100d ago (rotation age 90d): BREACHED by 10d: rotate it now" in verdict.sentence

    never = {"Name": "app/s", "RotationEnabled": True, "RotationRules": {"AutomaticallyAfterDays": 30}}
    verdict, _ = rotation_verdict(_context(), never, NOW)
    assert verdict.outcome is Outcome.FAIL and verdict.kind == FINDING
    assert verdict.sentence == "s: secret app/s has never rotated: rotate it (RotateSecret) and check that its rotation function succeeds"


def _policy(tmp_path: Path, **changes) -> dict[str, dict]:
    drill = yaml.safe_load((REPO / "drills" / "sandbox.yaml").read_text())
    drill["features"] = [str(FEATURE)]
    drill["targets"] = {TARGET: {**drill["targets"][TARGET], **changes}}
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(drill))
    return {s["Sid"]: s for s in drill_policy(check_drill_file(path), ACCOUNT_ID)["Statement"]}


def test_the_policy_assumes_exactly_the_listed_roles_and_decrypts_only_through_secrets_manager(tmp_path: Path) -> None:
    by_sid = _policy(tmp_path)
    target = check_drill_file(REPO / "drills" / "sandbox.yaml").drill.targets[TARGET]
    assert by_sid["AssumeListedPrincipals"]["Action"] == ["sts:AssumeRole"]
    assert by_sid["AssumeListedPrincipals"]["Resource"] == sorted(target.allowed + target.denied)
    secret = f"arn:aws:secretsmanager:{PRIMARY_REGION}:{ACCOUNT_ID}:secret:{SECRET_NAME}-??????"
    assert "ReadDrilledSecrets" not in by_sid and "DecryptSecretsThroughSecretsManager" not in by_sid, \
        "the listed roles read values; the drill's own identity never does"
    assert by_sid["DescribeDrilledSecrets"]["Resource"] == [secret]
    assert by_sid["ReadSecretReplicaKeys"]["Resource"] == [f"arn:aws:kms:{DR_REGION}:{ACCOUNT_ID}:key/*"]

    # The drill's own identity among the principals: it reads the replica too; no role: nothing to assume.
    by_sid = _policy(tmp_path, allowed=["self"], denied=[])
    assert "AssumeListedPrincipals" not in by_sid
    assert by_sid["ReadDrilledSecrets"]["Resource"] == sorted(
        f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{SECRET_NAME}-??????" for region in (PRIMARY_REGION, DR_REGION))
    assert by_sid["DecryptSecretsThroughSecretsManager"]["Condition"]["StringEquals"]["kms:ViaService"] == sorted(
        f"secretsmanager.{region}.amazonaws.com" for region in (PRIMARY_REGION, DR_REGION))

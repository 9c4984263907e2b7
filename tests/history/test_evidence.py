"""The evidence bundle: a manifest whose digests verify, `drtool evidence`, the SSE-KMS upload to the lab under
drtool-evidence/<drill>/<run id>/ only (the guard refuses any other write), and the grants `drtool permissions` adds.

moto 5.2.5 echoes SSEKMSKeyId as the request gave it (an alias stays an alias; AWS answers with the key ARN), and
neither verifies a ChecksumSHA256 sent with a PutObject nor returns it: the tests read each object back and hash it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from drtool.cli import app
from drtool.commands.permissions import drill_policy
from drtool.core.guard import Guard, GuardRefused
from drtool.core.session import SessionFactory
from drtool.drill.outputs import EvidenceUpload
from drtool.drill.validate import check_drill_file
from drtool.reports.evidence import MANIFEST, build_bundle, evidence_client, upload_bundle, verify_bundle
from drtool.reports.history.lock import LockHolder
from drtool.reports.history.store import open_history
from drtool.sandbox.seed import ACCOUNT_ID, DR_REGION, PRIMARY_REGION

from tests.helpers import drill_file, finish_drill, start_drill
from tests.history.synthetic import DRILL, FIRST_RUN, Figure, drill_with_outputs, monthly_records, synthetic_run

BUCKET = "dr-audit-evidence"
UPLOAD = EvidenceUpload(bucket=BUCKET, prefix="audits/", kms_key="alias/dr-logs")


def _reports(tmp_path: Path) -> tuple[Path, Path]:
    """A journal, and a report directory as other reports leave it (JUnit, HTML, a JSON summary, a nested file)."""
    journal, _ = synthetic_run(tmp_path / "journals", "0a1b2c3d", FIRST_RUN, [Figure("orders-db", "RTO", 720, 1800)])
    reports = tmp_path / "reports"
    (reports / "assets").mkdir(parents=True)
    (reports / "junit.xml").write_text("<testsuites/>")
    (reports / "report.html").write_text("<html>drill monthly</html>")
    (reports / "summary.json").write_text('{"met": 2}')
    (reports / "assets" / "chart.svg").write_text("<svg/>")
    return journal, reports


def test_the_manifest_names_every_file_with_its_sha256_and_size(tmp_path):
    journal, reports = _reports(tmp_path)
    bundle = tmp_path / "bundle"
    manifest = build_bundle(journal, bundle, [reports], drill=DRILL, run_id="0a1b2c3d")

    assert (manifest["drill"], manifest["run_id"], manifest["schema"]) == (DRILL, "0a1b2c3d", 1)
    # A report directory goes in a folder of its own name, so its junit.xml never meets another.
    assert [f["path"] for f in manifest["files"]] == [
        "20260105T031700Z-0a1b2c3d.jsonl", "reports/assets/chart.svg", "reports/junit.xml", "reports/report.html",
        "reports/summary.json"]
    for entry in manifest["files"]:
        content = (bundle / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest() and entry["size"] == len(content)
    assert (bundle / "20260105T031700Z-0a1b2c3d.jsonl").read_bytes() == journal.read_bytes()
    assert json.loads((bundle / MANIFEST).read_text()) == manifest
    assert verify_bundle(bundle) == []

    (bundle / "reports" / "report.html").write_text("<html>edited</html>")
    (bundle / "reports" / "summary.json").unlink()
    assert verify_bundle(bundle) == ["reports/report.html: differs from the manifest", "reports/summary.json: missing"]


def test_a_bundle_in_the_report_directory_hashes_the_reports_where_they_are(tmp_path):
    journal, reports = _reports(tmp_path)
    manifest = build_bundle(journal, reports, [reports], drill=DRILL, run_id="0a1b2c3d")
    assert len(manifest["files"]) == 5 and verify_bundle(reports) == []
    assert sorted(p.name for p in reports.iterdir()) == [
        "20260105T031700Z-0a1b2c3d.jsonl", "assets", "junit.xml", MANIFEST, "report.html", "summary.json"]


def test_a_junit_file_bundled_into_the_report_directory_never_replaces_the_report_sets_own(tmp_path):
    journal, reports = _reports(tmp_path)
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "junit.xml").write_text("<testsuites name='ci'/>")
    manifest = build_bundle(journal, reports, [tmp_path / "ci" / "junit.xml", reports], drill=DRILL, run_id="0a1b2c3d")
    assert "ci/junit.xml" in [f["path"] for f in manifest["files"]]
    assert (reports / "junit.xml").read_text() == "<testsuites/>" and verify_bundle(reports) == []


def test_drtool_evidence_bundles_a_journal_and_its_reports(tmp_path):
    journal, reports = _reports(tmp_path)
    done = CliRunner().invoke(app, ["evidence", str(journal), str(tmp_path / "out"), "--reports", str(reports / "junit.xml"),
                                    "--reports", str(reports / "report.html")])
    assert done.exit_code == 0, done.output
    assert f"{tmp_path / 'out'}: 3 files and manifest.json" in done.output
    assert verify_bundle(tmp_path / "out") == []

    bad = CliRunner().invoke(app, ["evidence", str(reports / "junit.xml"), str(tmp_path / "out2"), "--reports", "nowhere"])
    assert bad.exit_code == 2
    assert "option --reports: nowhere: no such file or directory" in bad.output
    assert "not a drtool run journal" in bad.output
    assert not (tmp_path / "out2").exists()


def test_same_named_reports_from_different_places_each_keep_a_folder_and_nothing_is_refused(tmp_path):
    journal, reports = _reports(tmp_path)
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "junit.xml").write_text("<testsuites name='ci'/>")
    (tmp_path / "strict").mkdir()
    (tmp_path / "strict" / "junit.xml").write_text("<testsuites name='strict'/>")
    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["evidence", str(journal), str(out), "--reports", str(tmp_path / "ci" / "junit.xml"),
                                    "--reports", str(tmp_path / "strict" / "junit.xml"), "--reports", str(reports)])
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert [f["path"] for f in manifest["files"]] == [
        "20260105T031700Z-0a1b2c3d.jsonl", "junit.xml", "reports/assets/chart.svg", "reports/junit.xml",
        "reports/report.html", "reports/summary.json", "strict/junit.xml"]
    assert (out / "junit.xml").read_text() == "<testsuites name='ci'/>"
    assert (out / "strict" / "junit.xml").read_text() == "<testsuites name='strict'/>"
    assert (out / "reports" / "junit.xml").read_text() == "<testsuites/>"
    assert verify_bundle(out) == []


def test_drtool_evidence_refused_writes_nothing(tmp_path):
    """A refusal comes before the first copy: the bundle's own manifest.json given as a report."""
    journal, reports = _reports(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("{}")
    done = CliRunner().invoke(app, ["evidence", str(journal), str(out), "--reports", str(reports),
                                    "--reports", str(out / MANIFEST)])
    assert done.exit_code == 2, done.output
    assert (f"option DIR: would write its manifest.json over the report {out / MANIFEST}; "
            "an output may not overwrite an input") in done.output.splitlines()
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST] and (out / MANIFEST).read_text() == "{}"


def test_a_run_with_junit_a_report_dir_and_evidence_beside_each_other_leaves_a_whole_bundle(lab, tmp_path):
    """The README's combination: a JUnit file, the report set and the evidence bundle, all under out/ (relative)."""
    # Wide objectives: the RPO grows with world time, and this test is about the bundle, not the verdict.
    drill = drill_file(tmp_path, "orders-db", rto="4h", rpo="48h")
    command = (sys.executable, "-m", "drtool.cli", "run", str(drill), "--junit-xml", "out/junit.xml",
               "--report-dir", "out/rep", "--evidence", "out/ev")
    done = finish_drill(start_drill(lab, tmp_path, command=command), tmp_path)
    assert done.exit_code == 0, done.output
    assert re.search(r"\b[1-9]\d* met, 0 failed, 0 errors in ", done.output), done.output  # every scenario met, no error
    bundle = tmp_path / "out" / "ev"
    manifest = json.loads((bundle / MANIFEST).read_text())
    names = [f["path"] for f in manifest["files"]]
    journal = next((tmp_path / "journal").glob("*.jsonl"))
    assert names == sorted([journal.name, "junit.xml", *(f"rep/{name}" for name in sorted(
        p.name for p in (tmp_path / "out" / "rep").iterdir()))])
    assert {"rep/junit.xml", "rep/report.html", "rep/summary.json", "rep/summary.md", "rep/cucumber.json",
            "rep/journal.jsonl"} <= set(names)
    assert (bundle / "junit.xml").read_bytes() == (tmp_path / "out" / "junit.xml").read_bytes()
    assert verify_bundle(bundle) == []
    assert [r for r in done.journal if r["event"] == "evidence-written"], done.output
    assert not [r for r in done.journal if r["event"] == "run-error"], done.output


@pytest.fixture
def evidence_bucket(lab, aws, monkeypatch):
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    aws("s3", PRIMARY_REGION).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    return aws("s3", PRIMARY_REGION)


def _uploaded(s3) -> dict[str, bytes]:
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_the_bundle_is_uploaded_with_sse_kms_under_the_runs_evidence_prefix(tmp_path, evidence_bucket):
    journal, reports = _reports(tmp_path)
    manifest = build_bundle(journal, tmp_path / "bundle", [reports], drill=DRILL, run_id="0a1b2c3d")
    s3 = evidence_client(UPLOAD, DRILL, "0a1b2c3d", region=PRIMARY_REGION)
    assert upload_bundle(s3, UPLOAD, tmp_path / "bundle", manifest) == f"s3://{BUCKET}/audits/drtool-evidence/{DRILL}/0a1b2c3d/"

    uploaded = _uploaded(evidence_bucket)
    prefix = f"audits/drtool-evidence/{DRILL}/0a1b2c3d/"
    assert sorted(uploaded) == sorted(f"{prefix}{f['path']}" for f in [*manifest["files"], {"path": MANIFEST}])
    for entry in manifest["files"]:
        assert hashlib.sha256(uploaded[f"{prefix}{entry['path']}"]).hexdigest() == entry["sha256"]
    assert json.loads(uploaded[f"{prefix}{MANIFEST}"]) == manifest
    for key in uploaded:
        head = evidence_bucket.head_object(Bucket=BUCKET, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", "alias/dr-logs")


def test_the_evidence_client_writes_nothing_outside_the_runs_evidence_prefix(evidence_bucket):
    s3 = evidence_client(UPLOAD, DRILL, "0a1b2c3d", region=PRIMARY_REGION)
    encrypted = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/dr-logs"}
    outside = {
        "another key in the bucket": dict(Bucket=BUCKET, Key="audits/other.txt", **encrypted),
        "another run's evidence": dict(Bucket=BUCKET, Key=f"audits/drtool-evidence/{DRILL}/ffffffff/x", **encrypted),
        "the prefix without the drill file's prefix": dict(Bucket=BUCKET, Key=f"drtool-evidence/{DRILL}/0a1b2c3d/x", **encrypted),
        "a canary key": dict(Bucket=BUCKET, Key="drtool-canary/0a1b2c3d/x", **encrypted),
        "another bucket": dict(Bucket="orders-data-eu-west-1", Key=f"audits/drtool-evidence/{DRILL}/0a1b2c3d/x", **encrypted),
    }
    for what, params in outside.items():
        with pytest.raises(GuardRefused, match="drtool writes only its own records") as refused:
            s3.put_object(Body=b"x", **params)
        assert f"s3://{BUCKET}/audits/drtool-evidence/{DRILL}/0a1b2c3d/*" in str(refused.value), what
    inside = f"audits/drtool-evidence/{DRILL}/0a1b2c3d/x"
    with pytest.raises(GuardRefused, match="only with SSE-KMS under alias/dr-logs"):
        s3.put_object(Bucket=BUCKET, Key=inside, Body=b"x")
    with pytest.raises(GuardRefused, match="only with SSE-KMS under alias/dr-logs"):
        s3.put_object(Bucket=BUCKET, Key=inside, Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/dr-s3")
    with pytest.raises(GuardRefused):
        s3.delete_object(Bucket=BUCKET, Key=inside)
    assert _uploaded(evidence_bucket) == {}


def test_a_drills_own_guard_refuses_writes_to_the_evidence_prefix(evidence_bucket):
    clients = SessionFactory()
    clients.add_client_hook(Guard(run_id="0a1b2c3d", dr_region=DR_REGION).attach)
    with pytest.raises(GuardRefused, match="S3 writes are allowed only under drtool-canary/0a1b2c3d/"):
        clients.client("s3", PRIMARY_REGION).put_object(
            Bucket=BUCKET, Key=f"audits/drtool-evidence/{DRILL}/0a1b2c3d/forged.json", Body=b"{}",
            ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/dr-logs")


KEY_ARN = f"arn:aws:kms:{PRIMARY_REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_permissions_grant_the_evidence_upload_and_the_history_exactly_their_keys(tmp_path):
    plain = drill_policy(check_drill_file(drill_file(tmp_path, "orders-db")), ACCOUNT_ID)
    path = drill_with_outputs(tmp_path, None, evidence={"bucket": BUCKET, "prefix": "audits/", "kms_key": KEY_ARN},
                         history={"s3": "s3://dr-history/drills/"})
    policy = {s["Sid"]: s for s in drill_policy(check_drill_file(path), ACCOUNT_ID)["Statement"]}
    assert {sid for sid in policy} - {s["Sid"] for s in plain["Statement"]} == {
        "UploadEvidence", "EncryptEvidenceThroughS3", "ListRunHistory", "ReadRunHistory", "WriteRunHistory",
        "ReleaseRunLock", "HistoryKeysThroughS3"}
    assert policy["UploadEvidence"] == {
        "Sid": "UploadEvidence", "Effect": "Allow", "Action": ["s3:PutObject"],
        "Resource": [f"arn:aws:s3:::{BUCKET}/audits/drtool-evidence/sandbox/*"],
        "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms",
                                       "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}}}
    assert policy["EncryptEvidenceThroughS3"] == {
        "Sid": "EncryptEvidenceThroughS3", "Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": [KEY_ARN],
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{PRIMARY_REGION}.amazonaws.com"}}}
    assert policy["WriteRunHistory"]["Resource"] == ["arn:aws:s3:::dr-history/drills/sandbox/lock.json",
                                                     "arn:aws:s3:::dr-history/drills/sandbox/runs/*"]
    assert policy["ReleaseRunLock"] == {"Sid": "ReleaseRunLock", "Effect": "Allow", "Action": ["s3:DeleteObject"],
                                        "Resource": ["arn:aws:s3:::dr-history/drills/sandbox/lock.json"]}
    assert policy["ListRunHistory"]["Condition"] == {"StringLike": {"s3:prefix": ["drills/sandbox/*"]}}

    by_alias = drill_with_outputs(tmp_path, None, evidence={"bucket": BUCKET, "kms_key": "alias/dr-logs"})
    statements = {s["Sid"]: s for s in drill_policy(check_drill_file(by_alias), ACCOUNT_ID)["Statement"]}
    assert statements["EncryptEvidenceThroughS3"]["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": ["alias/dr-logs"]}
    assert statements["UploadEvidence"]["Resource"] == [f"arn:aws:s3:::{BUCKET}/drtool-evidence/sandbox/*"]


@pytest.mark.parametrize("evidence, problem", [
    ({"bucket": "Not_A_Bucket", "kms_key": "alias/dr-logs"}, "evidence.bucket: 'Not_A_Bucket' is not an S3 bucket name"),
    ({"bucket": BUCKET, "prefix": "/audits", "kms_key": "alias/dr-logs"}, "evidence.prefix: '/audits' is not a key prefix"),
    ({"bucket": BUCKET}, "missing required key 'evidence.kms_key'"),
    ({"bucket": BUCKET, "kms_key": KEY_ARN.replace(PRIMARY_REGION, DR_REGION)},
     f"the key is in {DR_REGION}, but the evidence bucket is in {PRIMARY_REGION}"),
])
def test_a_bad_evidence_section_is_refused_at_its_line(tmp_path, evidence, problem):
    path = drill_with_outputs(tmp_path, None, evidence=evidence)
    done = CliRunner().invoke(app, ["validate", str(path)])
    assert done.exit_code == 2
    assert problem in done.output and f"{path}:" in done.output


def _user(lab, statements: list[dict]) -> dict[str, str]:
    """Credentials of a new IAM user holding exactly these statements."""
    env = lab.environment()
    iam = boto3.client("iam", region_name=PRIMARY_REGION, endpoint_url=lab.endpoint,
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    iam.create_user(UserName="drill-outputs")
    iam.put_user_policy(UserName="drill-outputs", PolicyName="drtool", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName="drill-outputs")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


# moto checks an S3 request's action against its object or bucket ARN (conditions it treats as met, and the KMS call
# S3 makes for SSE-KMS it does not check): so the lab proves the statements' S3 resources are enough, and no wider.
@pytest.mark.lab(enforce_iam=True)
def test_the_generated_statements_are_enough_to_upload_evidence_and_keep_history_and_no_more(lab, tmp_path, monkeypatch):
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    admin = boto3.client("s3", region_name=PRIMARY_REGION, endpoint_url=lab.endpoint)
    for bucket in (BUCKET, "dr-history"):
        admin.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    plain = {s["Sid"] for s in drill_policy(check_drill_file(drill_file(tmp_path, "orders-db")), ACCOUNT_ID)["Statement"]}
    path = drill_with_outputs(tmp_path, None, evidence={"bucket": BUCKET, "prefix": "audits/", "kms_key": "alias/dr-logs"},
                         history={"s3": "s3://dr-history/drills/"})
    ours = [s for s in drill_policy(check_drill_file(path), ACCOUNT_ID)["Statement"] if s["Sid"] not in plain]
    user = _user(lab, ours)
    for name, value in user.items():
        monkeypatch.setenv(name, value)

    journal, reports = _reports(tmp_path)
    manifest = build_bundle(journal, tmp_path / "bundle", [reports], drill="sandbox", run_id="0a1b2c3d")
    upload = check_drill_file(path).drill.evidence
    upload_bundle(evidence_client(upload, "sandbox", "0a1b2c3d", region=PRIMARY_REGION), upload, tmp_path / "bundle", manifest)
    store = open_history("sandbox", configured=check_drill_file(path).drill.history, region=PRIMARY_REGION)
    store.append(monthly_records(tmp_path / "journals2", [12])[0])
    assert [r["run_id"] for r in store.read().records] == ["00000000"]
    lock = store.lock()
    now = datetime.now(timezone.utc)
    assert lock.acquire(LockHolder.me("0a1b2c3d", "sandbox", now, None), now) == ""
    lock.release()

    # No guard here: IAM alone decides.
    as_user = boto3.client("s3", region_name=PRIMARY_REGION, endpoint_url=lab.endpoint, aws_access_key_id=user["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=user["AWS_SECRET_ACCESS_KEY"])
    for bucket, key in ((BUCKET, "audits/elsewhere.txt"), ("dr-history", "drills/other-drill/runs/x.json"),
                        ("dr-history", "drills/sandbox/forged.json")):
        with pytest.raises(ClientError, match="AccessDenied|403"):
            as_user.put_object(Bucket=bucket, Key=key, Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/dr-logs")
    with pytest.raises(ClientError, match="AccessDenied|403"):
        as_user.delete_object(Bucket="dr-history", Key="drills/sandbox/runs/20260105T031700000000Z-00000000.json")

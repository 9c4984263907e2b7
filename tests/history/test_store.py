"""The history store: one record per run, appended and read back in a local directory and in an S3 prefix (the lab)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drtool.core.guard import GuardRefused
from drtool.reports.history.record import history_record
from drtool.reports.history.store import LocalHistory, open_history
from drtool.sandbox.seed import PRIMARY_REGION

from tests.history.synthetic import DRILL, FIRST_RUN, Figure, monthly_records, synthetic_run

BUCKET = "dr-drill-history"


def test_records_are_built_from_the_journal_and_read_back_oldest_first(tmp_path):
    store = LocalHistory(tmp_path / "history", DRILL)
    met = [Figure("orders-db", "RTO", 12 * 60, 1800), Figure("orders-data", "lag p95", 43, 300)]
    breached = [Figure("orders-db", "RTO", 41 * 60, 1800), Figure("orders-data", "lag p95", 50, 300)]
    runs = [
        synthetic_run(tmp_path, "0000000b", FIRST_RUN + timedelta(days=31), breached)[1],
        synthetic_run(tmp_path, "0000000a", FIRST_RUN, met)[1],
        synthetic_run(tmp_path, "0000000c", FIRST_RUN + timedelta(days=62), [], errored=("orders-db", "orders-data"))[1],
    ]
    for result in runs:  # appended out of order: reading sorts them by when they were recorded
        store.append(history_record(result, recorded_at=result.started_at))

    stored = store.read()
    assert stored.problems == []
    assert [(r["run_id"], r["exit_code"]) for r in stored.records] == [("0000000a", 0), ("0000000b", 1), ("0000000c", 3)]
    breach = stored.records[1]
    assert breach["drill"] == DRILL and breach["counts"]["failed"] == 1 and breach["started_at"].startswith("2026-02-05")
    rto = breach["targets"]["orders-db"]["scenarios"][0]
    assert rto["status"] == "failed" and rto["kind"] == "objective-breached"
    assert rto["figures"] == [{"name": "RTO", "measured_s": 2460.0, "objective_s": 1800.0, "met": False, "source": "aws-event"}]
    assert breach["targets"]["orders-data"]["kind"] == "s3-replication"
    errored = stored.records[2]["targets"]["orders-db"]["scenarios"][0]
    assert (errored["status"], errored["figures"], errored["message"]) == ("error", [], "orders-db: AccessDenied")
    assert sorted(p.name for p in (tmp_path / "history" / DRILL / "runs").iterdir()) == [
        "20260105T031700000000Z-0000000a.json", "20260205T031700000000Z-0000000b.json", "20260308T031700000000Z-0000000c.json"]


def test_a_file_that_is_not_a_record_is_skipped_and_named(tmp_path):
    store = LocalHistory(tmp_path / "history", DRILL)
    store.append(monthly_records(tmp_path, [12])[0])
    (tmp_path / "history" / DRILL / "runs" / "notes.json").write_text("[1, 2]")
    (tmp_path / "history" / DRILL / "runs" / "future.json").write_text('{"schema": 99}')
    stored = store.read()
    assert [r["run_id"] for r in stored.records] == ["00000000"]
    assert [p.rsplit("/", 1)[1] for p in stored.problems] == [
        "future.json: history schema 99, which this drtool does not read (it reads 1)", "notes.json: not a JSON object"]


@pytest.fixture
def history_bucket(lab, aws, monkeypatch):
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    aws("s3", PRIMARY_REGION).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    return aws("s3", PRIMARY_REGION)


def test_an_s3_history_appends_and_reads_records_under_the_drills_prefix(tmp_path, history_bucket):
    store = open_history(DRILL, f"s3://{BUCKET}/dr/history/", region=PRIMARY_REGION)
    assert store.location == f"s3://{BUCKET}/dr/history/{DRILL}/"
    records = monthly_records(tmp_path, [12, 13, 20])
    for record in reversed(records):
        store.append(record)
    store.append(records[0])  # a retried append leaves the record as it was

    assert store.read().records == records
    keys = [o["Key"] for o in history_bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"dr/history/{DRILL}/runs/20260105T031700000000Z-00000000.json",
                    f"dr/history/{DRILL}/runs/20260204T031700000000Z-00000001.json",
                    f"dr/history/{DRILL}/runs/20260306T031700000000Z-00000002.json"]


def test_the_s3_history_client_writes_nothing_outside_the_drills_history(history_bucket):
    store = open_history(DRILL, f"s3://{BUCKET}/dr/history/", region=PRIMARY_REGION)
    for key in (f"dr/history/{DRILL}/evil.json", "dr/history/other-drill/runs/x.json", "production/data.csv"):
        with pytest.raises(GuardRefused, match="drtool writes only its own records"):
            store.s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    with pytest.raises(GuardRefused):
        store.s3.delete_object(Bucket=BUCKET, Key=f"dr/history/{DRILL}/runs/20260105T031700000000Z-00000000.json")
    assert "Contents" not in history_bucket.list_objects_v2(Bucket=BUCKET)

"""A damaged or foreign history record is skipped with a warning by every reader (the run's report and its trends,
`drtool history`, regressions) and never changes a run's exit code."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

from drtool.reports.history.store import LocalHistory
from drtool.sandbox.seed import ORDERS_DB

from tests.helpers import drill_file, lab_env, run_drill
from tests.history.synthetic import monthly_records


def damaged_records(good: dict) -> dict[str, object]:
    """Each shape of record a history store can hold that drtool did not write whole, by file name."""
    fast = copy.deepcopy(good)
    fast["run_id"] = "fa57fa57"
    fast["targets"][ORDERS_DB]["scenarios"][0]["figures"][0]["measured_s"] = "fast"
    missing = {key: value for key, value in good.items() if key != "targets"}
    wrong = {**copy.deepcopy(good), "run_id": "0bad0bad", "started_at": 17, "targets": {ORDERS_DB: ["not", "a", "target"]}}
    naive = {**copy.deepcopy(good), "run_id": "0bad0bae", "recorded_at": "2026-01-01T00:00:00"}
    figures = copy.deepcopy(good)
    figures["targets"][ORDERS_DB]["scenarios"][0]["figures"] = "RTO: 12 min"
    return {"fast": fast, "not-an-object": [good], "missing-targets": missing, "wrong-types": wrong,
            "naive-time": naive, "figures-not-a-list": figures}


def test_a_damaged_history_record_never_breaks_a_run_its_report_or_history(lab, tmp_path):
    history = Path(os.environ["DRTOOL_HISTORY_DIR"])  # the test's own (tests/conftest.py), which the drill inherits
    store = LocalHistory(history, "sandbox")
    good = monthly_records(tmp_path / "synthetic", [10, 11, 12])
    for record in good:
        store.append(record)
    runs = history / "sandbox" / "runs"
    damaged = damaged_records(good[-1])
    for name, record in damaged.items():
        (runs / f"20260301T000000000000Z-{name}.json").write_text(json.dumps(record))
    reports = tmp_path / "reports"

    outcome = run_drill(lab, tmp_path, "--report-dir", str(reports), drill=drill_file(tmp_path, ORDERS_DB, rto="4h", rpo="48h"))

    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    for name in damaged:
        assert f"-{name}.json" in outcome.output, name  # one warning naming each skipped file
    assert {"report.html", "junit.xml"} <= {p.name for p in reports.iterdir()}, list(reports.iterdir())
    assert "Trends" in (reports / "report.html").read_text()
    stored = store.read()
    assert len(stored.records) == len(good) + 1 and len(stored.problems) == len(damaged)
    assert "history-recorded" in [r["event"] for r in outcome.journal]

    env = lab_env(lab, tmp_path)

    def history_command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "drtool.cli", "history", "sandbox", *args],
                              env=env, capture_output=True, text=True, timeout=60)

    shown = history_command()
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Traceback" not in shown.stdout + shown.stderr
    assert "fast" in shown.stdout + shown.stderr  # the skipped record is named
    as_json = history_command("--format", "json")
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    assert len(json.loads(as_json.stdout)["problems"]) == len(damaged)

    # Whether this run regressed depends on the world's time of day; the damaged records must not change the answer.
    judged_with_damage = history_command("--fail-on-regression")
    assert "Traceback" not in judged_with_damage.stdout + judged_with_damage.stderr
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in damaged:
        (runs / f"20260301T000000000000Z-{name}.json").rename(aside / f"{name}.json")
    judged_without = history_command("--fail-on-regression")
    assert judged_with_damage.returncode == judged_without.returncode in (0, 1), (
        judged_with_damage.stdout + judged_with_damage.stderr, judged_without.stdout + judged_without.stderr)

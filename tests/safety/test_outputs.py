"""Outputs never clobber inputs or each other, and every documented combination of outputs works (issue 16, part 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO, drill_file, run_drill


def test_pytest_drill_refuses_a_junit_over_its_drill_file_and_leaves_it_as_it_was(tmp_path):
    drill = drill_file(tmp_path, "orders-db")
    before = drill.read_bytes()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--drill", str(drill), "--drill-junit", str(drill)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error: nothing ran
    assert f"option --drill-junit: {drill} is the drill file; an output never overwrites an input" in done.stderr
    assert drill.read_bytes() == before
    assert not (tmp_path / "journal").exists()


def test_a_bundled_feature_is_never_overwritten(tmp_path):
    feature = REPO / "features" / "rds_restore.feature"
    before = feature.read_bytes()
    done = subprocess.run([sys.executable, "-m", "drtool.cli", "run", str(drill_file(tmp_path, "orders-db")), "--junit-xml", str(feature)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert "is the feature rds_restore.feature; an output never overwrites an input" in done.stdout + done.stderr
    assert feature.read_bytes() == before


def test_junit_report_dir_and_evidence_side_by_side_make_a_complete_bundle(lab, tmp_path):
    out = tmp_path / "out"
    outcome = run_drill(lab, tmp_path, "--junit-xml", str(out / "junit.xml"), "--report-dir", str(out / "rep"),
                        "--evidence", str(out / "ev"), drill=drill_file(tmp_path, "orders-db", rto="4h"))
    assert outcome.exit_code == 0, outcome.output
    manifest = json.loads((out / "ev" / "manifest.json").read_text())
    names = {entry["path"] for entry in manifest["files"]}
    # The report directory's own junit.xml and --junit-xml's are two files, both kept, apart.
    assert {"junit.xml", "rep/junit.xml", "rep/report.html", "rep/summary.json"} <= names, names
    for entry in manifest["files"]:
        assert (out / "ev" / entry["path"]).stat().st_size == entry["size"]

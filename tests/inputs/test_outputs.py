"""An output never overwrites an input or another output: refused before anything runs, the input left as it was.

The corpus (tests/inputs/corpus.py, class `outputs`) holds each message; these prove that nothing was written, that
paths are compared resolved (a symlink, `..`), and that `pytest --drill` refuses the same through its own options.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drtool.cli import app
from drtool.drill.bundled import features_dir
from tests.helpers import SANDBOX_DRILL

OVERWRITE = "an output may not overwrite an input"


@pytest.fixture
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may reach AWS (a closed port), and journals go to tmp."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "outputs")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "outputs")
    monkeypatch.setenv("DRTOOL_JOURNAL_DIR", str(tmp_path / "journals"))


def _drill(tmp_path: Path) -> Path:
    drill = tmp_path / "drill.yaml"
    drill.write_text(SANDBOX_DRILL.read_text().replace("../features/", str(features_dir()) + "/"))
    return drill


def _refused(argv: list[str]) -> str:
    done = CliRunner().invoke(app, argv)
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    return done.output


def test_junit_at_the_drill_file_is_refused_and_the_file_is_unchanged(tmp_path, no_aws):
    drill = _drill(tmp_path)
    before = drill.read_bytes()
    link = tmp_path / "link.xml"
    link.symlink_to(drill)
    for given in (str(drill), str(tmp_path / "sub" / ".." / "drill.yaml"), str(link)):
        (tmp_path / "sub").mkdir(exist_ok=True)
        output = _refused(["run", str(drill), "--junit-xml", given])
        assert f"option --junit-xml: is the drill file {drill}; {OVERWRITE}" in output.splitlines()
    assert drill.read_bytes() == before
    assert not (tmp_path / "journals").exists()


def test_junit_at_a_bundled_feature_is_refused_and_the_feature_is_unchanged(tmp_path, no_aws):
    feature = features_dir() / "rds_restore.feature"
    before = feature.read_bytes()
    try:
        output = _refused(["run", str(_drill(tmp_path)), "--junit-xml", str(feature)])
        assert f"option --junit-xml: is the bundled feature {feature}; {OVERWRITE}" in output.splitlines()
    finally:
        if feature.read_bytes() != before:  # today's code overwrites drtool's own feature: put it back
            feature.write_bytes(before)
            pytest.fail("the bundled feature was overwritten")


def test_junit_and_cucumber_at_one_path_are_refused(tmp_path, no_aws):
    output = _refused(["run", str(_drill(tmp_path)), "--junit-xml", str(tmp_path / "P"), "--cucumber-json", str(tmp_path / "P")])
    assert "option --cucumber-json: is the same file as --junit-xml" in output.splitlines()
    assert not (tmp_path / "P").exists()


def test_junit_outside_the_names_a_report_dir_writes_is_accepted_by_the_check(tmp_path):
    """Only true clobbers are refused: a report dir holding the drill file, or a JUnit file of another name in it."""
    from drtool.drill.validate import check_drill_file
    from drtool.reports.outputs import JUNIT, REPORT_DIR, Front, ReportFiles
    from drtool.runner.output_paths import run_path_problems

    drill = _drill(tmp_path)
    loaded = check_drill_file(drill)
    reports = ReportFiles({JUNIT.key: tmp_path / "junit-strict.xml", REPORT_DIR.key: tmp_path})
    assert run_path_problems(drill, loaded, reports, tmp_path / "ev", Front.DRTOOL) == []
    # The README's bundle in the report directory, with the JUnit file elsewhere: the bundle gives it a folder.
    reports = ReportFiles({JUNIT.key: tmp_path / "junit.xml", REPORT_DIR.key: tmp_path / "rep"})
    assert run_path_problems(drill, loaded, reports, tmp_path / "rep", Front.DRTOOL) == []


def test_pytest_drill_refuses_the_same_through_its_own_options(tmp_path):
    drill = _drill(tmp_path)
    before = drill.read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRTOOL_"))}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", DRTOOL_HISTORY_DIR=str(tmp_path / "history"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--drill", str(drill), "--drill-journal-dir", str(tmp_path / "journals"),
         "--drill-junit", str(drill), "--drill-cucumber-json", str(tmp_path / "rep" / "cucumber.json"),
         "--drill-report-dir", str(tmp_path / "rep"), "-p", "no:cacheprovider", "-p", "no:xdist", "-c", os.devnull],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert f"option --drill-junit: is the drill file {drill}; {OVERWRITE}" in done.stderr
    assert (f"option --drill-report-dir: would write its cucumber.json over --drill-cucumber-json "
            f"({tmp_path / 'rep' / 'cucumber.json'})") in done.stderr
    assert drill.read_bytes() == before
    assert not (tmp_path / "journals").exists() or not list((tmp_path / "journals").iterdir())

"""`pytest --drill` with pytest's own reports: `--junitxml` carries the figures, and Cucumber JSON works under `-n 2`.

One run, as a CI job would start it: `pytest --drill DRILL -n 2 --junitxml native.xml -o junit_logging=system-out
--drill-cucumber-json cucumber.json`, in which orders-db breaches its RTO (the slow-restore fault) and billing-db
meets its wide one; and one with wrong credentials, in which every scenario errs in setup.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from drtool.reports import cucumber
from drtool.sandbox.seed import BILLING_DB, ORDERS_DB
from tests.conftest import TIME_SCALE
from tests.reports.runs import SANDBOX_RTO, Run, databases_drill, pytest_run

DURATION = r"\d[\dhms]*"
FRAMES = re.compile(r"Traceback|File \"|/_pytest/|/pluggy/|site-packages")
BAD_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-the-secret"}


@pytest.fixture(scope="module")
def run(lab_server, tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("native")
    drill = databases_drill(folder, rto={ORDERS_DB: SANDBOX_RTO})
    done = pytest_run(lab_server, folder, drill, "-n", "2", "--junitxml", str(folder / "native.xml"),
                      "-o", "junit_logging=system-out", "--drill-cucumber-json", str(folder / "cucumber.json"),
                      "--drill-report-dir", str(folder / "reports"), faults=("slow-restore",))
    assert done.exit_code == 1, done.output
    return done


def cases_by_target(path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {case.get("name").split("[")[-1].rstrip("]"): case for case in root.iter("testcase")}


def test_pytest_junitxml_carries_the_figures_as_properties_and_output(run):
    cases = cases_by_target(run.folder / "native.xml")
    for target in (ORDERS_DB, BILLING_DB):
        properties = {p.get("name"): p.get("value") for p in cases[target].iter("property")}
        assert float(properties["RTO.measured_s"]) > 0 and properties["RPO.objective_s"] == "172800.0"
    assert {p.get("name"): p.get("value") for p in cases[BILLING_DB].iter("property")}["RTO.met"] == "True"
    # With junit_logging=system-out, a passing scenario's figures are in its output too.
    assert re.search(rf"RTO {DURATION} against objective 4h: met", cases[BILLING_DB].findtext("system-out"))
    suite = {p.get("name"): p.get("value") for p in ET.parse(run.folder / "native.xml").getroot().find("testsuite/properties")}
    assert suite["drtool.drill"] == "sandbox" and suite["drtool.run_id"] == run.result.run_id
    assert suite["drtool.journal"] == str(run.journal)


def test_pytest_junitxml_failure_is_the_verdict_and_its_figures_not_frames(run):
    failure = cases_by_target(run.folder / "native.xml")[ORDERS_DB].find("failure")
    assert failure.get("message").startswith(f"{ORDERS_DB}: restored in eu-central-1 in") and "BREACHED" in failure.get("message")
    assert failure.text.startswith(failure.get("message"))
    assert re.search(rf"RTO {DURATION} against objective 30m: BREACHED by {DURATION}", failure.text)
    assert not FRAMES.search(failure.text) and f"The traceback is in the journal, {run.journal}" in failure.text


def test_cucumber_json_under_xdist_has_every_scenario_with_real_step_durations(run):
    features = json.loads((run.folder / "cucumber.json").read_text())
    [feature] = features
    assert feature["uri"] == "features/rds_restore.feature" and {"name": "@rds", "line": 1} in feature["tags"]
    elements = {element["name"].rsplit(" / ", 1)[1]: element for element in feature["elements"]}
    assert set(elements) == {ORDERS_DB, BILLING_DB}
    result = run.result
    for target, element in elements.items():
        test = next(t for t in result.tests.values() if t.target == target)
        durations = [step["result"]["duration"] for step in element["steps"]]
        assert all(isinstance(d, int) and d >= 0 for d in durations)
        # Nanoseconds of real time: the world seconds the drill measured, divided by the time scale.
        assert sum(durations) == pytest.approx(sum(s.duration_s for s in test.steps) / TIME_SCALE * 1e9, rel=0.01)
        assert [step["line"] for step in element["steps"]] == sorted(step["line"] for step in element["steps"])
    breached = elements[ORDERS_DB]["steps"][-1]
    assert breached["result"]["status"] == "failed" and "BREACHED" in breached["result"]["error_message"]
    assert any("(RTO 30m): BREACHED" in line for line in breached["output"])
    assert all(step["result"]["status"] == "passed" for step in elements[BILLING_DB]["steps"])
    assert any(line.startswith("teardown: rds-instance") for line in elements[BILLING_DB]["after"][0]["output"])


def test_cucumber_json_is_rendered_from_the_journal_alone(run):
    assert cucumber.render(run.result) == json.loads((run.folder / "cucumber.json").read_text())


def test_pytest_junitxml_setup_error_is_its_reason_not_frames(lab_server, tmp_path):
    done = pytest_run(lab_server, tmp_path, databases_drill(tmp_path), "--junitxml", str(tmp_path / "native.xml"),
                      "--drill-cucumber-json", str(tmp_path / "cucumber.json"), enforce_iam=True, env=BAD_CREDENTIALS)
    assert done.exit_code == 1, done.output
    errors = list(ET.parse(tmp_path / "native.xml").getroot().iter("error"))
    assert len(errors) == 2
    for error in errors:
        assert error.get("message") == 'failed on setup with "cannot use AWS from here: GetCallerIdentity: ' \
                                       'InvalidClientTokenId: The security token included in the request is invalid."'
        assert error.text.startswith("cannot use AWS from here") and not FRAMES.search(error.text)
    [feature] = json.loads((tmp_path / "cucumber.json").read_text())
    for element in feature["elements"]:
        outcomes = [hook["result"]["status"] for hook in element.get("before", [])] + [s["result"]["status"] for s in element["steps"]]
        assert "failed" in outcomes, element


def test_under_pytest_with_n_the_report_set_and_history_are_those_drtool_run_and_report_give(run, tmp_path):
    from typer.testing import CliRunner

    from drtool.cli import app
    from drtool.reports.history.store import LocalHistory

    reports = run.folder / "reports"
    again = tmp_path / "again"
    done = CliRunner().invoke(app, ["report", str(reports / "journal.jsonl"), "-q", "--report-dir", str(again)])
    assert done.exit_code == 1, done.output
    for name in ("report.html", "summary.json", "summary.md", "junit.xml", "cucumber.json", "journal.jsonl"):
        same = (again / name).read_bytes() == (reports / name).read_bytes()
        if name == "junit.xml":  # written at two moments: only its timestamp may differ
            same = re.sub(rb'timestamp="[^"]*"', b"", (again / name).read_bytes()) == \
                re.sub(rb'timestamp="[^"]*"', b"", (reports / name).read_bytes())
        assert same, name
    [record] = LocalHistory(run.folder / "history", "sandbox").read().records
    assert record["run_id"] == run.result.run_id and record["exit_code"] == 1
    figures = {t: {f["name"] for s in target["scenarios"] for f in s["figures"]} for t, target in record["targets"].items()}
    assert figures[ORDERS_DB] == figures[BILLING_DB] == {"RTO", "RPO"}

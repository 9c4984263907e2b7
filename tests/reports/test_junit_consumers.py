"""drtool's JUnit XML as each consumer reads it, from real sandbox runs: one passing, one failing, one erroring.

The failing run breaches orders-db's RTO (the slow-restore fault) while billing-db, with a wide
objective, passes: one file holds a failure and a pass. The erroring run's credentials are wrong.
Every variant is checked against Jenkins' junit-10.xsd (xmlschema), junitparser, and the parsers
of GitLab, Jenkins, dorny/test-reporter, mikepenz/action-junit-report and EnricoMi's action
(tests/reports/consumers.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema
from junitparser import JUnitXml

from drtool.core.results import summarize
from drtool.reports import junit
from drtool.reports.junit import JUnitOptions
from drtool.sandbox.seed import BILLING_DB, ORDERS_DB
from tests.conftest import TIME_SCALE
from tests.helpers import REPO
from tests.reports import consumers
from tests.reports.runs import SANDBOX_RTO, Run, databases_drill, drtool_run

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))
FEATURE = "features/rds_restore.feature"
SCENARIO = "Restore the newest recoverable point of a database in the DR region"
SCENARIO_LINE = next(n for n, line in enumerate((REPO / FEATURE).read_text().splitlines(), 1) if SCENARIO in line)
DURATION = r"\d[\dhms]*"
BREACH = re.compile(rf"RTO {DURATION} against objective 30m: BREACHED by {DURATION}")
MET = re.compile(rf"RTO {DURATION} against objective 4h: met .*\nRPO {DURATION} against objective 2d: met")
# What a traceback of pytest's, pluggy's or anyone's looks like in a report.
FRAMES = re.compile(r"Traceback|File \"|/_pytest/|/pluggy/|site-packages")
BAD_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-the-secret"}


@pytest.fixture(scope="module")
def passing(lab_server, tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("passing")
    run = drtool_run(lab_server, folder, databases_drill(folder))
    assert run.exit_code == 0, run.output
    return run


@pytest.fixture(scope="module")
def failing(lab_server, tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("failing")
    run = drtool_run(lab_server, folder, databases_drill(folder, rto={ORDERS_DB: SANDBOX_RTO}), faults=("slow-restore",))
    assert run.exit_code == 1, run.output
    return run


@pytest.fixture(scope="module")
def erroring(lab_server, tmp_path_factory) -> Run:
    """Wrong credentials, and `--junit-strict` on the command line."""
    folder = tmp_path_factory.mktemp("erroring")
    run = drtool_run(lab_server, folder, databases_drill(folder), "--junit-strict", enforce_iam=True, env=BAD_CREDENTIALS)
    assert run.exit_code == 3, run.output
    return run


def rendered(run: Run, tmp_path: Path, **options: bool) -> Path:
    path = tmp_path / f"{run.folder.name}-{'-'.join(options) or 'default'}.xml"
    junit.write(run.result, path, JUnitOptions(**options))
    return path


def by_target(cases, name=lambda case: case.name):
    return {name(case).split(" / ")[2].split(":")[0]: case for case in cases}


@pytest.mark.parametrize("kind", ["passing", "failing", "erroring"])
def test_strict_junit_validates_against_jenkins_junit_10_xsd(kind, request, tmp_path):
    run: Run = request.getfixturevalue(kind)
    strict = run.junit if kind == "erroring" else rendered(run, tmp_path, strict=True)
    SCHEMA.validate(str(strict))
    assert "<properties>" in strict.read_text(), "suite properties are valid, and kept"
    if kind != "erroring":
        # The default keeps what the schema does not allow: testcase properties, file and line.
        reasons = {error.reason for error in SCHEMA.iter_errors(str(run.junit))}
        assert any("'file' attribute not allowed" in (reason or "") for reason in reasons), reasons


def test_junitparser_reads_counts_and_real_times_with_world_time_beside_them(failing):
    result = failing.result
    [suite] = JUnitXml.fromfile(str(failing.junit))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (2, 1, 0, 0)
    tests = {test.target: test for test in result.tests.values()}
    for case in suite:
        test = tests[case.name.rsplit(" / ", 1)[1]]
        # `time` is real seconds; the world time the figures are in is beside it.
        assert case.time == pytest.approx(test.duration_s / TIME_SCALE, abs=0.001)
        assert f"world time (x{TIME_SCALE}), {test.duration_s / TIME_SCALE:.1f}s real" in case.system_out
    properties = {p.name: p.value for p in suite.properties()}
    assert properties["drtool.drill"] == "sandbox" and properties["drtool.run_id"] == result.run_id
    assert (properties["drtool.primary_region"], properties["drtool.dr_region"]) == ("eu-west-1", "eu-central-1")
    assert properties["drtool.version"] and properties["drtool.time_scale"] == str(TIME_SCALE)
    assert float(properties["drtool.world_time_s"]) == pytest.approx(float(properties["drtool.real_time_s"]) * TIME_SCALE, rel=0.01)


def test_gitlab_shows_the_reason_and_figures_of_a_failure_and_links_the_feature(failing, tmp_path):
    cases = by_target(consumers.gitlab(failing.junit))
    breached, met = cases[ORDERS_DB], cases[BILLING_DB]
    assert breached.status == "failed" and breached.suite == "drtool.sandbox"
    assert breached.system_output.startswith(f"{ORDERS_DB}: restored in eu-central-1 in"), "the reason first, not a hash"
    assert BREACH.search(breached.system_output) and "System Out:" in breached.system_output
    assert breached.file == met.file == FEATURE
    assert met.status == "success" and met.system_output is None, "GitLab shows nothing but the name of a pass"
    assert "RTO" not in met.name, "names stay stable by default: GitLab keys a test's history on it"
    assert not {case.get("type") for case in _outcomes(failing.junit)} & consumers.ACTIVESUPPORT_TYPES

    named = by_target(consumers.gitlab(rendered(failing, tmp_path, figures_in_names=True)))
    assert re.search(rf"RTO {DURATION}/4h met, RPO {DURATION}/2d met$", named[BILLING_DB].name), named[BILLING_DB].name


def test_jenkins_shows_the_figures_of_a_pass_in_stdout_and_of_a_failure_in_its_details(failing):
    cases = by_target(consumers.jenkins(failing.junit))
    breached, met = cases[ORDERS_DB], cases[BILLING_DB]
    assert breached.error_details.startswith(f"{ORDERS_DB}: restored in") and "BREACHED" in breached.error_details
    assert BREACH.search(breached.error_stack_trace)
    # A passing test's stdout is cut to its first and last 500 characters: the figures come first.
    assert MET.search(met.stdout[:500]), met.stdout
    assert float(met.properties["RTO.measured_s"]) > 0 and met.properties["RTO.met"] == "True"
    assert met.duration < 60, "real seconds, not world time"


def test_dorny_shows_the_reason_and_figures_of_a_failure_and_a_pass_by_its_name(failing, tmp_path):
    cases = by_target(consumers.dorny(failing.junit))
    breached, met = cases[ORDERS_DB], cases[BILLING_DB]
    assert breached.result == "failed" and "BREACHED" in breached.message and BREACH.search(breached.details)
    assert met.result == "success" and "RTO" not in met.name
    named = by_target(consumers.dorny(rendered(failing, tmp_path, figures_in_names=True)))
    assert "RTO" in named[BILLING_DB].name and "met" in named[BILLING_DB].name


def test_mikepenz_annotates_the_scenario_line_with_the_reason_and_figures(failing, tmp_path):
    annotations = by_target(consumers.mikepenz(failing.junit), name=lambda a: a.title)
    breached, met = annotations[ORDERS_DB], annotations[BILLING_DB]
    assert (breached.path, breached.start_line) == (FEATURE, SCENARIO_LINE)
    assert breached.annotation_level == "failure" and "BREACHED" in breached.message and BREACH.search(breached.raw_details)
    assert met.annotation_level == "notice" and met.message.endswith(f"/ {BILLING_DB}"), "a pass shows its name"
    named = by_target(consumers.mikepenz(rendered(failing, tmp_path, figures_in_names=True)), name=lambda a: a.title)
    assert "RTO" in named[BILLING_DB].message


def test_enricomi_annotates_a_failure_with_its_figures_and_shows_a_pass_in_the_suite_log(failing):
    cases = by_target(consumers.enricomi(failing.junit), name=lambda case: case.test_name)
    breached, met = cases[ORDERS_DB], cases[BILLING_DB]
    assert (breached.test_file, breached.line) == (FEATURE, SCENARIO_LINE)
    assert breached.result == "failure" and breached.annotation.startswith(f"{ORDERS_DB}: restored in")
    assert BREACH.search(breached.annotation)
    assert met.result == "success" and met.annotation is None and MET.search(met.stdout), "parsed, kept in its JSON"
    # A pass's figures show in the suite's log (report_suite_logs: info), one line per target.
    [log] = consumers.enricomi_suite_logs(failing.junit)
    assert re.search(rf"^{BILLING_DB}: RTO {DURATION}/4h met, RPO {DURATION}/2d met", log, re.MULTILINE), log
    assert re.search(rf"^{ORDERS_DB}: RTO {DURATION}/30m BREACHED", log, re.MULTILINE), log


def test_an_error_states_its_reason_first_with_no_frames(erroring):
    text = erroring.junit.read_text()
    assert not FRAMES.search(text)
    for case in consumers.gitlab(erroring.junit):
        assert case.status == "error"
        assert case.system_output.startswith("cannot use AWS from here: GetCallerIdentity: InvalidClientTokenId")
    for case in consumers.jenkins(erroring.junit):
        assert case.error_stack_trace.startswith(case.error_details)
    [journaled] = {r["message"] for r in erroring.records if r["event"] == "test-outcome" and r["status"] == "error"}
    assert "InvalidClientTokenId" in journaled


def test_no_two_testcases_share_a_name_when_two_features_share_a_scenario_title(passing, tmp_path):
    """GitLab keeps only the first of a name. A second feature file with the same scenario gives a second
    testcase of the same scenario and target: here, the passing run's journal with its scenarios written twice."""
    records = passing.records
    again = [{**r, "test": f"other.feature::{r['test']}"} for r in records if "test" in r]
    end = next(i for i, r in enumerate(records) if r["event"] == "api-calls")
    path = tmp_path / "twice.xml"
    junit.write(summarize(records[:end] + again + records[end:]), path)
    names = [case.name for case in consumers.gitlab(path)]
    assert len(names) == 4 and len(set(names)) == 4, names
    assert sum(name.endswith(" #2") for name in names) == 2


def test_reports_carry_no_ansi_codes(passing, failing, erroring):
    for run in (passing, failing, erroring):
        text = run.junit.read_text()
        assert "\x1b" not in text and "#x1B" not in text.upper()


def test_strict_and_default_say_the_same_but_for_what_the_schema_forbids(failing, tmp_path):
    default = {case.test_name: case for case in consumers.enricomi(failing.junit)}
    strict = {case.test_name: case for case in consumers.enricomi(rendered(failing, tmp_path, strict=True))}
    assert default.keys() == strict.keys()
    for name, case in strict.items():
        assert (case.message, case.content, case.stdout) == (default[name].message, default[name].content, default[name].stdout)
        assert case.test_file is None and default[name].test_file == FEATURE


def _outcomes(path: Path):
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return [*root.iter("failure"), *root.iter("error")]


def test_drtool_report_renders_the_same_files_again_in_every_style(failing, tmp_path):
    again = tmp_path / "again"
    done = subprocess.run(
        [sys.executable, "-m", "drtool.cli", "report", str(failing.journal), "--junit-xml", str(again / "junit.xml"),
         "--junit-strict", "--junit-figures-in-names", "--cucumber-json", str(again / "cucumber.json")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    both = rendered(failing, tmp_path, strict=True, figures_in_names=True)
    assert (again / "junit.xml").read_text() == both.read_text()
    SCHEMA.validate(str(again / "junit.xml"))
    assert (again / "cucumber.json").read_text() == failing.cucumber.read_text()

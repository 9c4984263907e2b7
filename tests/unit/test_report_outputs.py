"""The one registry of outputs: what each writes is what the checks compare, and drtool run hands pytest objects."""

from __future__ import annotations

import shutil
from pathlib import Path

from drtool.core.journal import new_run_id
from drtool.drill.validate import check_drill_file
from drtool.reports.damaged import summarize_journal
from drtool.reports.outputs import (
    CUCUMBER,
    JOURNAL_COPY,
    JUNIT,
    OUTPUTS,
    REPORT_DIR,
    REPORTS,
    Front,
    Rendering,
    ReportFiles,
)
from drtool.runner.options import RunOptions
from tests.helpers import SANDBOX_DRILL

SAMPLE_JOURNAL = Path(__file__).resolve().parent.parent / "inputs" / "sample_journal.jsonl"


def _rendering(journal: Path = SAMPLE_JOURNAL) -> Rendering:
    result, damage = summarize_journal(journal)
    assert not damage
    return Rendering(result, journal)


def _files(directory: Path) -> set[str]:
    return {path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()}


def test_each_output_writes_exactly_what_the_checks_are_told_it_writes(tmp_path):
    reports = ReportFiles({JUNIT.key: tmp_path / "j" / "junit.xml", CUCUMBER.key: tmp_path / "c.json",
                           REPORT_DIR.key: tmp_path / "set"})
    written = reports.write(_rendering())
    assert written == [tmp_path / "j" / "junit.xml", tmp_path / "c.json", tmp_path / "set"]
    for output, path in reports.requested():
        names = output.writes(path)
        assert (_files(path) == names) if names is not None else path.is_file()
    assert REPORT_DIR.writes(tmp_path / "set") == {*REPORTS, JOURNAL_COPY}
    assert [o.option(Front.DRTOOL) for o in OUTPUTS] == ["--junit-xml", "--cucumber-json", "--report-dir"]
    assert [o.option(Front.PYTEST) for o in OUTPUTS] == ["--drill-junit", "--drill-cucumber-json", "--drill-report-dir"]


def test_a_report_set_beside_its_own_journal_leaves_the_journal_alone(tmp_path):
    journal = tmp_path / JOURNAL_COPY
    shutil.copyfile(SAMPLE_JOURNAL, journal)
    before = journal.read_bytes()
    reports = ReportFiles({REPORT_DIR.key: tmp_path})
    [written] = reports.written(Front.DRTOOL, journal)
    assert JOURNAL_COPY not in written.names and written.option == "--report-dir"
    reports.write(_rendering(journal))
    assert journal.read_bytes() == before
    assert _files(tmp_path) == {*REPORTS, JOURNAL_COPY}


def test_only_the_report_set_waits_for_publishing(tmp_path):
    reports = ReportFiles({JUNIT.key: tmp_path / "junit.xml", REPORT_DIR.key: tmp_path / "set"})
    assert reports.write(_rendering(), after_publishing=False) == [tmp_path / "junit.xml"]
    assert not (tmp_path / "set").exists()
    assert reports.write(_rendering(), after_publishing=True) == [tmp_path / "set"]


def test_drtool_run_gives_pytest_only_what_pytest_needs():
    """The drill and the run's options reach the plugin as objects: nothing in argv for it to parse and check again."""
    loaded = check_drill_file(SANDBOX_DRILL)
    options = RunOptions(loaded, new_run_id(), Path("/nonexistent/journals"),
                         ReportFiles({JUNIT.key: Path("junit.xml")}), tags="rds and not slow")
    args = options.pytest_args()
    assert args[0] == str(loaded.path) and args[-2:] == ["-m", "rds and not slow"]
    assert not [arg for arg in args if arg.startswith("--drill") or arg == "junit.xml"]

"""The pytest plugin: `pytest --drill FILE` runs a drill file's features with drtool's step library.

Registered through the `pytest11` entry point, so any repository with drtool
installed gets the steps, the fixtures and the options. `drtool run` is a
thin front over exactly this plugin.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry

from drtool.core.budget import BudgetWatch
from drtool.core.events import (
    ApiCalls,
    PreflightPassed,
    ResultsPublished,
    RunFinished,
    StepFailed,
    StepPassed,
    StepStarted,
    TargetChosen,
    TestFinished,
    TestOutcome,
    TestStarted,
)
from drtool.core.interrupts import process_interrupts
from drtool.core.journal import current_scenario, default_journal_dir, new_run_id
from drtool.core.model import DrillFileError
from drtool.core.preflight import preflight
from drtool.core.registry import families
from drtool.core.run import DrillRun, TargetRun
from drtool.core.teardown import Teardown, TeardownError
from drtool.core.verdicts import FINDING, Outcome, Verdict, VerdictReached, verdict_for
from drtool.drill.step_library import step_modules
from drtool.drill.target_steps import EACH_TARGET_STEP, NAMED_TARGET_STEP
from drtool.core.inputs import output_dir_problems, output_file_problems, run_id_problems
from drtool.runner.output_paths import RunPaths, run_path_problems
from drtool.drill.file import LoadedDrill
from drtool.drill.validate import check_drill_file
from drtool.reports import cucumber, junit
from drtool.core.results import RunResult
from drtool.commands.publish import Delivery, publish_run, publishing_clients
from drtool.drill.publish import PublishOptions, Publishing
from drtool.reports.markdown import STEP_SUMMARY_ENV, append_step_summary
from drtool.reports.report_set import write_report_set
from drtool.runner import records
from drtool.runner import pytest_reports
from drtool.runner.locations import report_path

RUN_KEY = pytest.StashKey[DrillRun]()
LOADED_KEY = pytest.StashKey[LoadedDrill]()
BUDGET_KEY = pytest.StashKey[BudgetWatch]()
STEP_START_KEY = pytest.StashKey[float]()
PUBLISHING_KEY = pytest.StashKey[Publishing]()
DELIVERIES_KEY = pytest.StashKey[list[Delivery]]()
PUBLISH_OPTION_NAMES = ("--drill-cloudwatch-namespace", "--drill-pushgateway", "--drill-sns-topic")
NOTES_KEY = pytest.StashKey[pytest_reports.ScenarioNotes]()
_EACH_TARGET = re.compile(EACH_TARGET_STEP)
_NAMED_TARGET = re.compile(NAMED_TARGET_STEP)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("drtool", "disaster-recovery drills")
    group.addoption("--drill", metavar="FILE", help="run the features of this drill file against its environment")
    group.addoption("--drill-junit", metavar="PATH", help="write the drill's JUnit XML (rendered from its journal) here")
    group.addoption("--drill-junit-strict", action="store_true",
                    help="make --drill-junit valid against Jenkins' junit-10.xsd: no testcase properties, file or line")
    group.addoption("--drill-junit-figures-in-names", action="store_true",
                    help="end each --drill-junit testcase name with its figures, for reporters that show a passing test's name alone")
    group.addoption("--drill-cucumber-json", metavar="PATH", help="write the drill's Cucumber JSON (rendered from its journal) here")
    group.addoption(
        "--drill-journal-dir",
        metavar="DIR",
        help=f"where run journals go (default: {default_journal_dir()})",
    )
    group.addoption("--drill-run-id", metavar="ID", help="use this run id instead of a fresh one")
    # Publishing after the run: each option replaces or adds its sink's main setting from the drill file's `publish:`.
    group.addoption("--drill-cloudwatch-namespace", metavar="NS", help="publish the figures to CloudWatch under NS")
    group.addoption("--drill-pushgateway", metavar="URL", help="push the figures to this Prometheus Pushgateway")
    group.addoption("--drill-sns-topic", metavar="ARN", help="send a summary to this SNS topic when the drill fails")
    group.addoption("--drill-no-publish", action="store_true", help="publish nothing, whatever the drill file says")
    group.addoption("--drill-report-dir", metavar="DIR",
                    help="write the drill's report set here: report.html, summary.json, summary.md and the journal")
    records.add_options(group)
    for name in step_modules():
        if not pluginmanager.has_plugin(name):
            pluginmanager.register(importlib.import_module(name), name)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # A drill is one run with one journal and one teardown: it runs in this process, whatever -n says.
    if config.getoption("drill", None) and config.pluginmanager.has_plugin("xdist"):
        config.option.numprocesses = 0
        config.option.dist = "no"


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("drill")
    if not path:
        return
    junit_path = config.getoption("drill_junit")
    cucumber_path = config.getoption("drill_cucumber_json")
    journal_dir = Path(config.getoption("drill_journal_dir") or default_journal_dir())
    problems = [
        *output_file_problems(Path(junit_path) if junit_path else None, "--drill-junit"),
        *output_file_problems(Path(cucumber_path) if cucumber_path else None, "--drill-cucumber-json"),
        *output_dir_problems(journal_dir, "--drill-journal-dir"),
        *run_id_problems(config.getoption("drill_run_id"), "--drill-run-id"),
        *output_dir_problems(_report_dir(config), "--drill-report-dir"),
        *records.option_problems(config),
    ]
    publish_options = PublishOptions(config.getoption("drill_cloudwatch_namespace"), config.getoption("drill_pushgateway"),
                                     config.getoption("drill_sns_topic"), bool(config.getoption("drill_no_publish")))
    problems += publish_options.problems(PUBLISH_OPTION_NAMES)
    loaded = None
    try:
        loaded = check_drill_file(Path(path))
    except DrillFileError as exc:
        problems.extend(exc.problems)
    evidence = config.getoption("drill_evidence")
    problems += run_path_problems(Path(path), loaded, RunPaths(
        ("--drill-junit", Path(junit_path) if junit_path else None),
        ("--drill-cucumber-json", Path(cucumber_path) if cucumber_path else None),
        ("--drill-report-dir", _report_dir(config)), ("--drill-evidence", Path(evidence) if evidence else None)))
    if problems:
        raise pytest.UsageError("invalid drill input:\n" + "\n".join(str(problem) for problem in problems)) from None
    # The drill file's own step modules: known only now, after option parsing, and still in time for collection.
    for name in loaded.drill.steps:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(importlib.import_module(name), name)
    # The run, and its journal, start only once collection found scenarios to run (pytest_collection_finish).
    config.stash[LOADED_KEY] = loaded
    config.stash[PUBLISHING_KEY] = publish_options.applied_to(loaded.drill.publish)
    for tag in _feature_tags(loaded.feature_paths):
        config.addinivalue_line("markers", f"{tag}: tag from the drill's features")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(loaded.path)]
    if loaded.drill.tags and not config.option.markexpr:
        config.option.markexpr = loaded.drill.tags
    # SIGTERM (a stopped container or CI job) must tear down like Ctrl-C does, on every thread that runs a scenario.
    handling = process_interrupts().installed()
    handling.__enter__()
    config.add_cleanup(lambda: handling.__exit__(None, None, None))


def _feature_tags(paths: tuple[Path, ...]) -> set[str]:
    tags: set[str] = set()
    for path in paths:
        tags.update(re.findall(r"(?<![\w@])@([\w.:-]+)", path.read_text(encoding="utf-8")))
    return tags


def _not_a_run(config: pytest.Config) -> bool:
    """Invocations that only show things (--collect-only, --fixtures, ...) run no drill and write no journal."""
    option = config.option
    return bool(getattr(option, "collectonly", False) or getattr(option, "showfixtures", False)
                or getattr(option, "show_fixtures_per_test", False) or getattr(option, "setupplan", False))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the run, and its journal, now that there is something to run."""
    config = session.config
    loaded = config.stash.get(LOADED_KEY, None)
    if loaded is None or RUN_KEY in config.stash or _not_a_run(config) or not session.items:
        return
    journal_dir = Path(config.getoption("drill_journal_dir") or default_journal_dir())
    run_id = config.getoption("drill_run_id") or new_run_id()
    # One run of a drill at a time: a second start stops here, before it has a journal (exit 3).
    records.take_lock(config, loaded, run_id)
    run = DrillRun.start(loaded, journal_dir, run_id=run_id)
    config.stash[RUN_KEY] = run
    run.guard_process()
    config.add_cleanup(run.end)  # however pytest stops; pytest_sessionfinish ends it first in the normal course
    records.journal_lock(config, run)
    config.stash[NOTES_KEY] = pytest_reports.ScenarioNotes()
    run.journal.listeners.append(config.stash[NOTES_KEY])
    if run.drill.budget is not None:
        config.stash[BUDGET_KEY] = BudgetWatch(run.drill.budget.total_seconds(), run.clock, run.journal).start()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    loaded = parent.config.stash.get(LOADED_KEY, None)
    if loaded is not None and file_path.resolve() == loaded.path:
        return DrillModule.from_parent(parent, path=file_path)
    return None


class DrillModule(pytest.Module):
    """The drill file collected as a test module holding the scenarios of its features."""

    def _getobj(self) -> types.ModuleType:
        loaded = self.config.stash[LOADED_KEY]
        module = types.ModuleType(f"drtool_drill_{loaded.drill.drill.replace('-', '_')}")
        module.__file__ = str(self.path)
        module.__dict__["_drtool_features"] = [str(p) for p in loaded.feature_paths]
        exec(compile("from pytest_bdd import scenarios\nscenarios(*_drtool_features)\n", str(self.path), "exec"), module.__dict__)
        return module


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a scenario that says `Given each <kind> target of the drill` once per target of that kind."""
    template = scenario_wrapper_template_registry.get(metafunc.function)
    if template is None:
        return
    kinds = {m.group("kind") for step in template.steps if (m := _EACH_TARGET.fullmatch(step.name))}
    if not kinds:
        return
    loaded = metafunc.config.stash.get(LOADED_KEY, None)
    names = [name for name, t in loaded.drill.targets.items() if t.kind in kinds] if loaded else []
    _use_fixture(metafunc, "drill_target")
    metafunc.parametrize("drill_target", names, ids=names)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """A scenario for a kind of target the drill file has none of does not apply to it: leave it out, not skipped."""
    if config.stash.get(LOADED_KEY, None) is None:
        return
    empty = [item for item in items
             if "drill_target" in getattr(getattr(item, "callspec", None), "params", {})
             and not isinstance(item.callspec.params["drill_target"], str)]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [item for item in items if item not in empty]


def _use_fixture(metafunc: pytest.Metafunc, name: str) -> None:
    # pytest-bdd resolves step fixtures at run time; a fixture needed at setup must be named up front.
    if name not in metafunc.fixturenames:
        metafunc.fixturenames.append(name)


# --- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="session")
def drill_run(request: pytest.FixtureRequest) -> DrillRun:
    run = request.config.stash.get(RUN_KEY, None)
    if run is None:
        raise pytest.UsageError("drtool scenarios need a drill file: run pytest with --drill FILE")
    return run


@pytest.fixture(scope="session")
def aws_identity(drill_run: DrillRun) -> dict[str, Any]:
    """Fails every scenario as an *error* when AWS cannot be used at all."""
    identity = preflight(drill_run.aws, drill_run.drill)
    drill_run.journal.emit(PreflightPassed(**identity))
    return identity


@pytest.fixture
def target_run_factory(
    request: pytest.FixtureRequest, drill_run: DrillRun, aws_identity: dict[str, Any]
) -> Iterator[Callable[[str, str], TargetRun]]:
    """Makes the scenario's TargetRun, and tears down whatever it created, however the scenario ends."""
    made: list[TargetRun] = []

    def make(name: str, kind: str) -> TargetRun:
        target = drill_run.drill.targets[name]
        if target.kind != kind:
            pytest.fail(f"target {name!r} is a {target.kind}, not a {kind}", pytrace=False)
        teardown = Teardown(drill_run.journal, drill_run.clock, scope=request.node.nodeid, ownership=drill_run.ownership,
                            target=name)
        made.append(TargetRun(drill_run, name, target, request.node.nodeid, teardown))
        # A scenario that names its target (not parametrized over them) learns it only here; its events name it from now.
        scenario = current_scenario()
        if scenario is not None and scenario.test == request.node.nodeid and not scenario.target:
            scenario.target = name
        drill_run.journal.emit(TargetChosen(test=request.node.nodeid, target=name))
        return made[-1]

    yield make
    failures = []
    for target_run in made:
        try:
            target_run.teardown.run()
        except TeardownError as exc:
            failures.append(str(exc))
        finally:
            for line in target_run.teardown.summary_lines():
                target_run.note(line)
    if failures:
        raise TeardownError("; ".join(failures))


@pytest.fixture
def drill_target() -> str:
    raise pytest.UsageError("drill_target is chosen per scenario: run with --drill FILE")


def _drills_a_target(item: pytest.Item) -> bool:
    template = scenario_wrapper_template_registry.get(getattr(item, "function", None))
    return template is not None and any(
        _NAMED_TARGET.fullmatch(step.name) or _EACH_TARGET.fullmatch(step.name) for step in template.steps)


@pytest.fixture(autouse=True)
def _drill_preflight(request: pytest.FixtureRequest) -> None:
    """Preflight in setup, so that "AWS cannot be used" is a test error (in pytest's report too), not a failed step.

    Autouse, because pytest prunes a fixture named in pytest_generate_tests from a test it parametrizes.
    """
    if _run(request.config) is not None and _drills_a_target(request.node):
        request.getfixturevalue("aws_identity")


@pytest.fixture(scope="session", autouse=True)
def _drill_suite_properties(request: pytest.FixtureRequest) -> None:
    """pytest's own JUnit file (--junitxml) names the drill and run in its suite's properties."""
    run = _run(request.config)
    if run is None:
        return
    record = request.getfixturevalue("record_testsuite_property")
    for name, value in pytest_reports.suite_properties(run):
        record(name, value)


# --- journal hooks -------------------------------------------------------------


def _run(config: pytest.Config) -> DrillRun | None:
    return config.stash.get(RUN_KEY, None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = _run(item.config)
    if run is None:
        return
    template = scenario_wrapper_template_registry.get(getattr(item, "function", None))
    where = dict(
        file=report_path(template.feature.filename), line=template.line_number, tags=sorted(template.tags),
        feature_line=template.feature.line_number, feature_tags=sorted(template.feature.tags),
    ) if template else {}
    run.journal.emit(TestStarted(
        test=item.nodeid,
        feature=template.feature.name if template else "",
        scenario=template.name if template else item.name,
        target=_parametrized_target(item),
        **where,
    ))


def pytest_bdd_before_step(request, feature, scenario, step, step_func) -> None:
    run = _run(request.config)
    if run is not None:
        request.node.stash[STEP_START_KEY] = run.clock.monotonic()
        run.journal.emit(StepStarted(test=request.node.nodeid, keyword=step.keyword, step=step.name, line=step.line_number))


def pytest_bdd_after_step(request, feature, scenario, step, step_func, step_func_args) -> None:
    _step_ended(request, step, StepPassed)


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception) -> None:
    _step_ended(request, step, StepFailed, error=verdict_for(exception, families().remedies).sentence)


def _step_ended(request: pytest.FixtureRequest, step, event: type[StepPassed | StepFailed], **fields: Any) -> None:
    run = _run(request.config)
    if run is None:
        return
    started = request.node.stash.get(STEP_START_KEY, None)
    duration = round(run.clock.monotonic() - started, 3) if started is not None else None
    run.journal.emit(event(test=request.node.nodeid, step=step.name, duration_s=duration, **fields))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    run = _run(item.config)
    notes = item.config.stash.get(NOTES_KEY, None)
    if run is not None and notes is not None:
        pytest_reports.add_figures(item, call.when, notes.unreported(item.nodeid))  # before pytest makes the report
    report = yield
    if run is None or (report.passed and call.when != "call"):
        return report
    exc = call.excinfo.value if call.excinfo else None
    verdict = _verdict(report, call, exc)
    if verdict.outcome is Outcome.SKIP and not report.skipped:
        # A step that finds its check does not apply ends with a SKIP verdict; pytest shows it as skipped too.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {verdict.sentence}")
    # The traceback is for whoever debugs drtool: the journal keeps it, the reports show the sentence.
    trace = "".join(traceback.format_exception(exc)) if exc is not None and not isinstance(exc, VerdictReached) else ""
    run.journal.emit(TestOutcome(
        test=item.nodeid, phase=call.when, status=verdict.outcome.value, kind=verdict.kind, message=verdict.sentence, traceback=trace,
    ))
    if report.failed and notes is not None and not pytest_reports.keeps_traceback(item.config):
        report.longrepr = pytest_reports.verdict_repr(item, verdict.sentence, notes.of(item.nodeid), str(run.journal.path))
    return report


def _verdict(report: pytest.TestReport, call: pytest.CallInfo, exc: BaseException | None) -> Verdict:
    if report.passed:
        return Verdict.passed("")
    if report.skipped:
        return Verdict.skipped(str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else "skipped")
    if exc is None:
        return Verdict.failed(str(report.longrepr), kind=FINDING)
    verdict = verdict_for(exc, families().remedies)
    if call.when == "teardown":
        return Verdict.error(f"teardown: {verdict.sentence}")
    if call.when == "setup" and verdict.outcome is Outcome.FAIL:
        return Verdict.error(verdict.sentence)  # a fixture (preflight, the drill run) failed: nothing was drilled
    return verdict


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    run = _run(item.config)
    if run is None:
        return (yield)
    # Every event written while the scenario runs (setup to teardown) names it, and its target once known.
    with run.journal.scenario(item.nodeid, _parametrized_target(item)):
        result = yield
        run.journal.emit(TestFinished(test=item.nodeid))
    return result


def _parametrized_target(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("drill_target", "") if callspec else ""
    return target if isinstance(target, str) else ""


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    if run is None:
        return
    budget = session.config.stash.get(BUDGET_KEY, None)
    if budget is not None:
        budget.cancel()
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    run.journal.emit(ApiCalls(**run.api_stats.snapshot()))
    run.journal.emit(RunFinished(pytest_exit=int(exitstatus), interrupted=interrupted))
    run.end_process_hooks()  # what follows makes drtool's own clients, each with its own guard
    result = run.result  # folded as the run went: the file may have stopped at a full disk
    option = session.config.getoption
    junit_path = option("drill_junit")
    try:
        if junit_path:
            style = junit.JUnitOptions(strict=option("drill_junit_strict"), figures_in_names=option("drill_junit_figures_in_names"))
            junit.write(result, Path(junit_path), style)
        if option("drill_cucumber_json"):
            cucumber.write(result, Path(option("drill_cucumber_json")))
        try:
            append_step_summary(result)
        except OSError as exc:  # GitHub's page is a courtesy: the reports above are written, the verdict stands
            sys.stderr.write(f"drtool: could not append to ${STEP_SUMMARY_ENV}: {exc}\n")
        session.config.stash[DELIVERIES_KEY] = _publish(run, result, session.config.stash.get(PUBLISHING_KEY, None))
        report_dir = _report_dir(session.config)
        if report_dir is not None:
            # The set holds the journal as it is now; what follows (evidence, history) only adds to the run's journal.
            history = records.past_results(session.config, run)  # first: its warnings belong in the set's journal
            write_report_set(run.result, run.journal.path, report_dir, history=history)
        reports = [Path(p) for p in (junit_path, option("drill_cucumber_json")) if p]
        records.bundle_evidence(session.config, run, reports + ([report_dir] if report_dir is not None else []))
        records.record_history(session.config, run)  # last, so the record holds any evidence error
    finally:
        run.journal.close()
        run.end()


def _report_dir(config: pytest.Config) -> Path | None:
    value = config.getoption("drill_report_dir", None)
    return Path(value) if value is not None else None


def _publish(run: DrillRun, result: RunResult, publishing: Publishing | None) -> list[Delivery]:
    """Publish the finished run's results; each delivery, or why it failed, goes in the journal (a warning only)."""
    if publishing is None or not publishing.configured:
        return []
    deliveries = publish_run(result, run.drill, publishing, publishing_clients(run.drill, run.run_id))
    for delivery in deliveries:
        run.journal.emit(ResultsPublished(sink=delivery.sink, destination=delivery.destination, detail=delivery.detail,
                                          error=delivery.error))
    return deliveries


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Under plain `pytest --drill`, say where the results were published, and what could not be."""
    for delivery in config.stash.get(DELIVERIES_KEY, []):
        terminalreporter.write_line(f"drtool: {'warning: ' if delivery.error else ''}{delivery.line}", yellow=bool(delivery.error))

"""The pytest plugin: `pytest --drill FILE` runs a drill file's features with drtool's step library.

Registered through the `pytest11` entry point, so any repository with drtool
installed gets the steps, the fixtures and the options. `drtool run` is a
thin front over exactly this plugin: it hands pytest the checked run as a
DrillPlugin object, where `pytest --drill` builds the same from its options.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
import types
from contextlib import contextmanager
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
from drtool.core.journal import current_scenario
from drtool.core.preflight import preflight
from drtool.core.registry import families
from drtool.core.run import DrillRun, TargetRun
from drtool.core.teardown import Teardown, TeardownError
from drtool.core.turns import process_turns
from drtool.core.verdicts import FINDING, Outcome, Verdict, VerdictReached, verdict_for
from drtool.drill.step_library import step_modules
from drtool.drill.target_steps import EACH_TARGET_STEP, NAMED_TARGET_STEP
from drtool.drill.file import LoadedDrill
from drtool.core.results import RunResult
from drtool.commands.publish import Delivery, publish_run, publishing_clients
from drtool.drill.publish import Publishing
from drtool.reports.markdown import STEP_SUMMARY_ENV, append_step_summary
from drtool.reports.outputs import Rendering
from drtool.runner import records
from drtool.runner.options import RunOptions, add_pytest_options, options_from_pytest
from drtool.runner import pytest_reports
from drtool.runner.lanes import run_concurrently
from drtool.runner.locations import report_path

RUN_KEY = pytest.StashKey[DrillRun]()
OPTIONS_KEY = pytest.StashKey[RunOptions]()
BUDGET_KEY = pytest.StashKey[BudgetWatch]()
STEP_START_KEY = pytest.StashKey[float]()
PUBLISHING_KEY = pytest.StashKey[Publishing]()
DELIVERIES_KEY = pytest.StashKey[list[Delivery]]()
NOTES_KEY = pytest.StashKey[pytest_reports.ScenarioNotes]()
_EACH_TARGET = re.compile(EACH_TARGET_STEP)
_NAMED_TARGET = re.compile(NAMED_TARGET_STEP)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    add_pytest_options(parser.getgroup("drtool", "disaster-recovery drills"))
    for name in step_modules():
        if not pluginmanager.has_plugin(name):
            pluginmanager.register(importlib.import_module(name), name)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # A drill is one run with one journal and one teardown: it runs in this process, whatever -n says.
    if (config.getoption("drill", None) or drill_plugin(config)) and config.pluginmanager.has_plugin("xdist"):
        config.option.numprocesses = 0
        config.option.dist = "no"


class DrillPlugin:
    """One drill run inside pytest, from its checked options. `drtool run` hands one to `pytest.main`; under
    `pytest --drill FILE`, pytest_configure below registers one built from the options. From here both are one run."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.config: pytest.Config | None = None  # kept, so that after the run we can read why it was refused to start

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        _configure(config, self.options)


def drill_plugin(config: pytest.Config) -> DrillPlugin | None:
    return next((plugin for plugin in config.pluginmanager.get_plugins() if isinstance(plugin, DrillPlugin)), None)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("drill") and drill_plugin(config) is None:
        # Registered now, its pytest_configure runs at once (pytest replays the hook to late plugins).
        config.pluginmanager.register(DrillPlugin(options_from_pytest(config)), "drtool-drill")


def _configure(config: pytest.Config, options: RunOptions) -> None:
    loaded = options.loaded
    # The drill file's own step modules: known only now, after option parsing, and still in time for collection.
    for name in loaded.drill.steps:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(importlib.import_module(name), name)
    # The run, and its journal, start only once collection found scenarios to run (pytest_collection_finish).
    config.stash[OPTIONS_KEY] = options
    config.stash[PUBLISHING_KEY] = options.publish.applied_to(loaded.drill.publish)
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
    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or RUN_KEY in config.stash or _not_a_run(config) or not session.items:
        return
    # One run of a drill at a time: a second start stops here, before it has a journal (exit 3).
    records.take_lock(config, options.loaded, options.run_id, options.outputs)
    run = DrillRun.start(options.loaded, options.journal_dir, run_id=options.run_id)
    config.stash[RUN_KEY] = run
    run.guard_process()
    config.add_cleanup(run.end)  # however pytest stops; pytest_sessionfinish ends it first in the normal course
    records.journal_lock(config, run)
    config.stash[NOTES_KEY] = pytest_reports.ScenarioNotes()
    run.journal.listeners.append(config.stash[NOTES_KEY])
    if run.drill.budget is not None:
        config.stash[BUDGET_KEY] = BudgetWatch(run.drill.budget.total_seconds(), run.clock, run.journal).start()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    loaded = _loaded(parent.config)
    if loaded is not None and file_path.resolve() == loaded.path:
        return DrillModule.from_parent(parent, path=file_path)
    return None


class DrillModule(pytest.Module):
    """The drill file collected as a test module holding the scenarios of its features."""

    def _getobj(self) -> types.ModuleType:
        loaded = self.config.stash[OPTIONS_KEY].loaded
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
    loaded = _loaded(metafunc.config)
    names = [name for name, t in loaded.drill.targets.items() if t.kind in kinds] if loaded else []
    _use_fixture(metafunc, "drill_target")
    metafunc.parametrize("drill_target", names, ids=names)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """A scenario for a kind of target the drill file has none of does not apply to it: leave it out, not skipped."""
    if _loaded(config) is None:
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


def _loaded(config: pytest.Config) -> LoadedDrill | None:
    options = config.stash.get(OPTIONS_KEY, None)
    return options.loaded if options is not None else None


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
    with _scenario_journal(run, item):
        return (yield)


@contextmanager
def _scenario_journal(run: DrillRun, item: pytest.Item) -> Iterator[None]:
    # Every event written while the scenario runs (setup to teardown) names it, and its target once known.
    with run.journal.scenario(item.nodeid, _parametrized_target(item)):
        yield
        run.journal.emit(TestFinished(test=item.nodeid))


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> Iterator[None]:
    """A fixture is set up on its lane's turn, waits included: pytest keeps one cache per fixture, and a lane that
    found another's setup half done would set it up again (a session fixture such as the preflight, twice)."""
    with process_turns().kept():
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Targets side by side: each target's scenarios in order on a lane of their own, at most max_parallel at once."""
    run = _run(session.config)
    options = session.config.stash.get(OPTIONS_KEY, None)
    if run is None or options is None or options.parallel < 2:
        return None  # pytest's own loop: one scenario after another
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return None  # pytest's own loop refuses to run after collection errors, and says so
    run_concurrently(session, options.parallel, _lane_of, lambda item: _scenario_journal(run, item))
    return True


def _lane_of(item: pytest.Item) -> str | None:
    """The target whose lane runs the scenario; "" for a drill scenario that names none; None for a plain test."""
    if not isinstance(item.parent, DrillModule):
        return None
    target = _parametrized_target(item)
    if target:
        return target
    template = scenario_wrapper_template_registry.get(getattr(item, "function", None))
    named = (m.group("name") for step in (template.steps if template else ()) if (m := _NAMED_TARGET.fullmatch(step.name)))
    return next(named, "")


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
    run.journal.emit(ApiCalls(**run.api_stats.snapshot(), **run.api_budget.snapshot()))
    run.journal.emit(RunFinished(pytest_exit=int(exitstatus), interrupted=interrupted))
    run.end_process_hooks()  # what follows makes drtool's own clients, each with its own guard
    result = run.result  # folded as the run went: the file may have stopped at a full disk
    options = session.config.stash[OPTIONS_KEY]
    reports = options.reports
    try:
        reports.write(Rendering(result, run.journal.path), after_publishing=False)
        try:
            append_step_summary(result)
        except OSError as exc:  # GitHub's page is a courtesy: the reports above are written, the verdict stands
            sys.stderr.write(f"drtool: could not append to ${STEP_SUMMARY_ENV}: {exc}\n")
        session.config.stash[DELIVERIES_KEY] = _publish(run, result, session.config.stash.get(PUBLISHING_KEY, None))
        if reports.requested_after_publishing():
            # The set holds the journal as it is now; what follows (evidence, history) only adds to the run's journal.
            history = records.past_results(session.config, run)  # first: its warnings belong in the set's journal
            reports.write(Rendering(run.result, run.journal.path, history), after_publishing=True)
        records.bundle_evidence(run, [path for _, path in reports.requested()], options.outputs.evidence)
        records.record_history(session.config, run, options.outputs)  # last, so the record holds any evidence error
    finally:
        run.journal.close()
        run.end()


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

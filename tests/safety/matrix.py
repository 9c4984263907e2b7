"""The fault-injection matrix: every way a drill can be cut short, at every step of every drill family.

The families come from the registry (drtool's own and the tests' toy), each
drilled on one target of its kind from the sandbox drills, so a new family is
broken at every step without an edit here. After each cell: zero drill resources remain (listing the lab), the journal and
the JUnit file are complete and valid, and no request touched production.
Each cell runs on a fresh lab (the `lab` fixture); a throttling storm starts
exactly at its step (the drill waits at a gate until the storm is up) and passes
after a counted number of throttled requests, so no cell depends on timing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml
from junitparser import JUnitXml
from pytest_bdd.parser import FeatureParser

from drtool.commands.plan import build_plan
from drtool.core.registry import Family
from drtool.core.model import DrillFileError
from drtool.drill.validate import check_drill_file
from drtool.sandbox.lab import Lab
from drtool.sandbox.throttle import ThrottlingError
from tests.helpers import (
    REPO,
    SANDBOX_DRILL,
    TOY_DRILL,
    TOY_FAMILIES_ENV,
    DrillRunOutcome,
    drill_file,
    drill_resources,
    families_under_test,
    finish_drill,
    production_untouched,
    start_drill,
    wait_for_journal_event,
)
from tests.safety.fault_injection import GATE_ENV, INJECT_ENV

# Where each family finds a target of its kind in the lab's world.
SANDBOX_DRILLS = (SANDBOX_DRILL, TOY_DRILL)
# The lab throttles the RDS API only (its `throttling` fault); other services' families get the other cells.
THROTTLED_SERVICES = {"rds"}
# Throttled answers in a row: enough to force retries; each costs real seconds of back-off, so few.
STORM_REQUESTS = 2


class Storm:
    """Throttles the next `requests` RDS requests, then passes: a storm measured in requests, not seconds."""

    def __init__(self, requests: int = STORM_REQUESTS):
        self.left = requests
        self._lock = threading.Lock()

    def admit(self, account_id: str, region: str) -> None:
        with self._lock:
            if self.left > 0:
                self.left -= 1
                raise ThrottlingError()


def sandbox_target(family: Family) -> tuple[Path, str]:
    """The drill file and target a family is broken on: its target in the sandbox drills that makes the most calls."""
    for drill in SANDBOX_DRILLS:
        names = [name for name, target in yaml.safe_load(drill.read_text())["targets"].items() if target["kind"] == family.kind]
        if names:
            return drill, names[-1] if len(names) == 1 else max(names, key=lambda name: _planned_calls(drill, name))
    raise LookupError(f"drill family {family.kind} has no target in the sandbox drills: add one to drills/sandbox.yaml")


def _planned_calls(drill: Path, target: str) -> int:
    plan = build_plan(check_drill_file(drill))
    return sum(len(scenario.calls()) for scenario in plan.scenarios if scenario.target == target)


@dataclass(frozen=True)
class Step:
    scenario: str
    tags: frozenset[str]
    index: int  # within its scenario: what the injection plugin counts
    text: str  # keyword and name


def family_steps(family: Family) -> list[Step]:
    """Every step of every scenario in the family's own features (the sandbox drill names other families' too)."""
    drill, _ = sandbox_target(family)
    own = {Path(name).name for name in family.features}
    steps = []
    for feature_name in yaml.safe_load(drill.read_text())["features"]:
        path = (drill.parent / feature_name).resolve()
        if path.name not in own:
            continue
        for template in FeatureParser(str(path.parent), path.name).parse().scenarios.values():
            steps.extend(Step(template.name, frozenset(template.tags), index, f"{s.keyword} {s.name}")
                         for index, s in enumerate(template.steps))
    return steps


def _broken_steps(family: Family) -> list[int]:
    """Every step of a scenario that creates something: each may leave it behind. A scenario that creates nothing
    has nothing to orphan, so one step of it (its first When) proves its journal, JUnit and exit code."""
    steps = family_steps(family)
    drill, target = sandbox_target(family)
    try:
        creating = {scenario.scenario for scenario in build_plan(check_drill_file(drill)).scenarios
                    if scenario.target == target and any(call.mutating for call in scenario.calls())}
    except DrillFileError:  # a family this process has not registered (the toy one): break every step
        creating = {step.scenario for step in steps}
    chosen, first_when = [], {}
    for index, step in enumerate(steps):
        if step.scenario in creating:
            chosen.append(index)
        elif step.text.startswith("When "):
            first_when.setdefault(step.scenario, index)
    return sorted(chosen + list(first_when.values()))


def cells(kinds: tuple[str, ...], *, alternate: bool = False) -> list[tuple[str, str, int]]:
    """(family kind, fault kind, step index) for every family under test: each kind at every step, or with
    `alternate`, one kind a step in turn (kinds that reach the drill by the same path: Ctrl-C and SIGTERM)."""
    found = []
    for family in families_under_test():
        services = {probe.service for probe in family.preflight}
        usable = [kind for kind in kinds if kind != "throttling" or services & THROTTLED_SERVICES]
        steps = _broken_steps(family)
        if alternate:
            found += [(family.kind, usable[index % len(usable)], index) for index in steps]
        else:
            found += [(family.kind, kind, index) for kind in usable for index in steps]
    return found


def paired_targets(family: Family) -> tuple[Path, list[str]] | None:
    """Two targets of the family's kind in one sandbox drill, drilled side by side; None if no drill has two."""
    for drill in SANDBOX_DRILLS:
        names = [name for name, target in yaml.safe_load(drill.read_text())["targets"].items() if target["kind"] == family.kind]
        if len(names) >= 2:
            return drill, names[:2]
    return None


def pair_cells(kinds: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """Cells with two targets of one family in flight when the fault strikes: each kind, in turn, at each step that
    creates something (of the families whose sandbox drills have two targets of their kind)."""
    found = []
    for family in families_under_test():
        if paired_targets(family) is None:
            continue
        steps = _broken_steps(family)
        found += [(family.kind, kinds[position % len(kinds)], index) for position, index in enumerate(steps)]
    return found


def run_cell(lab: Lab, tmp_path: Path, family_kind: str, kind: str, index: int,
             paired: bool = False) -> tuple[DrillRunOutcome, list[str]]:
    """Break step `index` of the family's drill; `paired`: in both of two targets drilled side by side (the first
    of them to reach it breaks the run)."""
    family = families_under_test().get(family_kind)
    source, target = sandbox_target(family)
    targets = [target]
    if paired:
        pair = paired_targets(family)
        assert pair is not None, f"{family_kind} has no two targets in one sandbox drill"
        source, targets = pair
    step = family_steps(family)[index]
    drill = drill_file(tmp_path, *targets, source=source)
    if step.tags:  # run only the scenario being broken: the others of its feature are cells of their own
        narrowed = yaml.safe_load(drill.read_text())
        narrowed["tags"] = " and ".join(sorted(step.tags))
        drill.write_text(yaml.safe_dump(narrowed, sort_keys=False))
    gate = tmp_path / "gate"
    env = {**TOY_FAMILIES_ENV, "PYTEST_PLUGINS": "tests.safety.fault_injection", "PYTHONPATH": str(REPO),
           INJECT_ENV: f"{'gate' if kind == 'throttling' else kind}@{step.index}@{step.scenario}", GATE_ENV: str(gate)}
    with production_untouched(lab):
        proc = start_drill(lab, tmp_path, drill=drill, env=env)
        try:
            if kind == "throttling":
                wait_for_journal_event(tmp_path, "step-started", step=step.text.split(" ", 1)[1])
                lab.world.model("rds").throttle = Storm()
                gate.touch()
            outcome = finish_drill(proc, tmp_path, timeout=180)
        finally:
            lab.world.model("rds").throttle = None
            if proc.poll() is None:
                proc.kill()
        orphans = drill_resources(lab)
    check_journal(tmp_path)
    check_junit(tmp_path / "junit.xml", targets)
    return outcome, orphans


def check_journal(tmp_path: Path) -> None:
    [path] = (tmp_path / "journal").glob("*.jsonl")
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    # The run ends with run-finished; only what happens after a run (publishing, evidence, history) may follow it.
    finished = [r["event"] for r in records].index("run-finished")
    assert records[0]["event"] == "run-started"
    assert {r["event"] for r in records[finished + 1:]} <= {"results-published", "evidence-written", "history-recorded",
                                                          "run-error", "run-warning"}, records[finished + 1:]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    created = {(r["kind"], r["identifier"]) for r in records if r["event"] == "resource-created"}
    deleted = {(r["kind"], r["identifier"]) for r in records if r["event"] == "resource-deleted"}
    assert created <= deleted, f"journal shows undeleted resources: {created - deleted}"


def check_junit(path: Path, targets: list[str]) -> None:
    xml = JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite if not case.name.endswith(" / run")]
    drilled = sorted(case.name.rsplit(" / ", 1)[-1] for case in cases)
    # One testcase for each drilled target; a target whose scenario had not started when the run stopped has none.
    assert drilled and set(drilled) <= set(targets) and len(drilled) == len(set(drilled)), drilled
    for suite in xml:
        assert suite.tests == len(list(suite)) and suite.failures + suite.errors == sum(not case.is_passed for case in suite)

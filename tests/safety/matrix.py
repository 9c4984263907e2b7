"""The fault-injection matrix: every way a drill can be cut short, at every step of every drill family.

After each cell: zero drill resources remain (listing the lab), the journal and
the JUnit file are complete and valid, and production is unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from junitparser import JUnitXml

from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import BILLING_DB
from drtool.validate import check_drill_file
from tests.helpers import REPO, SANDBOX_DRILL, drill_resources, finish_drill, production_state, single_target_drill, start_drill, wait_for_journal_event
from tests.safety.fault_injection import INJECT_ENV

# One drill file per family, each with one target, so a cell runs in seconds.
FAMILIES = {"rds-restore": BILLING_DB}
STORM_REAL_SECONDS = 1.5


def family_steps(family: str) -> list[str]:
    loaded = check_drill_file(SANDBOX_DRILL)
    from pytest_bdd.parser import FeatureParser

    steps = []
    for path in loaded.feature_paths:
        feature = FeatureParser(str(path.parent), path.name).parse()
        for template in feature.scenarios.values():
            steps.extend(f"{s.keyword} {s.name}" for s in template.steps)
    return steps


def cells(kinds: tuple[str, ...]) -> list[tuple[str, str, int]]:
    return [(family, kind, index) for family in FAMILIES for kind in kinds for index in range(len(family_steps(family)))]


def run_cell(lab: Lab, tmp_path: Path, family: str, kind: str, index: int):
    drill = single_target_drill(tmp_path, FAMILIES[family])
    before = production_state(lab)
    command = (sys.executable, "-m", "drtool.cli", "run", str(drill), "--junit-xml", str(tmp_path / "junit.xml"))
    extra_env = {"PYTEST_PLUGINS": "tests.safety.fault_injection", "PYTHONPATH": str(REPO)}
    if kind != "throttling":
        extra_env[INJECT_ENV] = f"{kind}@{index}"
    os.environ.update(extra_env)
    try:
        proc = start_drill(lab, tmp_path, command=command)
    finally:
        for name in extra_env:
            os.environ.pop(name, None)
    if kind == "throttling":
        step = family_steps(family)[index].split(" ", 1)[1]
        wait_for_journal_event(tmp_path, "step-started", step=step)
        lab.world.throttle = _storm()
        # A storm passes: long enough to force retries in this step, short enough to keep the matrix affordable.
        calm = threading.Timer(STORM_REAL_SECONDS, lambda: setattr(lab.world, "throttle", None))
        calm.start()
    try:
        outcome = finish_drill(proc, tmp_path, timeout=180)
    finally:
        if kind == "throttling":
            calm.cancel()
        lab.world.throttle = None

    orphans = drill_resources(lab)
    check_journal(tmp_path)
    check_junit(tmp_path / "junit.xml", FAMILIES[family])
    assert production_state(lab) == before
    return outcome, orphans


def _storm():
    from drtool.sandbox.throttle import RdsThrottle

    return RdsThrottle()


def check_journal(tmp_path: Path) -> None:
    [path] = (tmp_path / "journal").glob("*.jsonl")
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is whole JSON
    assert records[0]["event"] == "run-started" and records[-1]["event"] == "run-finished"
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    created = {(r["kind"], r["identifier"]) for r in records if r["event"] == "resource-created"}
    deleted = {(r["kind"], r["identifier"]) for r in records if r["event"] == "resource-deleted"}
    assert created <= deleted, f"journal shows undeleted resources: {created - deleted}"


def check_junit(path: Path, target: str) -> None:
    xml = JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite if case.name != "sandbox / run"]
    assert [case.name.rsplit(" / ", 1)[-1] for case in cases] == [target], "one testcase for the drilled target"
    for suite in xml:
        assert suite.tests == len(list(suite)) and suite.failures + suite.errors == sum(not case.is_passed for case in suite)

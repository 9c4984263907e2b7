"""The fault-injection matrix: every way a drill can be cut short, at every step of every drill family.

After each cell: zero drill resources remain (listing the lab), the journal and
the JUnit file are complete and valid, and no request touched production.
Each cell runs on a fresh lab (the `lab` fixture); a throttling storm starts
exactly at its step (the drill waits at a gate until the storm is up) and passes
after a counted number of throttled requests, so no cell depends on timing.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from junitparser import JUnitXml

from drtool.drill.validate import check_drill_file
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import BILLING_DB
from drtool.sandbox.throttle import ThrottlingError
from tests.helpers import (
    REPO,
    SANDBOX_DRILL,
    DrillRunOutcome,
    drill_file,
    drill_resources,
    finish_drill,
    production_untouched,
    start_drill,
    wait_for_journal_event,
)
from tests.safety.fault_injection import GATE_ENV, INJECT_ENV

# One drill file per family, each with one target, so a cell runs in seconds.
FAMILIES = {"rds-restore": BILLING_DB}
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


def run_cell(lab: Lab, tmp_path: Path, family: str, kind: str, index: int) -> tuple[DrillRunOutcome, list[str]]:
    drill = drill_file(tmp_path, FAMILIES[family])
    gate = tmp_path / "gate"
    env = {"PYTEST_PLUGINS": "tests.safety.fault_injection", "PYTHONPATH": str(REPO),
           INJECT_ENV: f"{'gate' if kind == 'throttling' else kind}@{index}", GATE_ENV: str(gate)}
    with production_untouched(lab):
        proc = start_drill(lab, tmp_path, drill=drill, env=env)
        try:
            if kind == "throttling":
                step = family_steps(family)[index].split(" ", 1)[1]
                wait_for_journal_event(tmp_path, "step-started", step=step)
                lab.world.throttle = Storm()
                gate.touch()
            outcome = finish_drill(proc, tmp_path, timeout=180)
        finally:
            lab.world.throttle = None
            if proc.poll() is None:
                proc.kill()
        orphans = drill_resources(lab)
    check_journal(tmp_path)
    check_junit(tmp_path / "junit.xml", FAMILIES[family])
    return outcome, orphans


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

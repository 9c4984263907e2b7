"""Steps that pick the target a scenario drills.

`Given each <kind> target of the drill` runs the scenario once per target of
that kind (the plugin parametrizes it); `Given the <kind> target "NAME"`
names one. Either way the feature stays free of environment details.
"""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers

from drtool.core.run import DrillRun, TargetRun

EACH_TARGET_STEP = r"each (?P<kind>[a-z0-9-]+) target of the drill"
NAMED_TARGET_STEP = r'the (?P<kind>[a-z0-9-]+) target "(?P<name>[^"]+)"'


@given(parsers.re(EACH_TARGET_STEP), target_fixture="target")
def each_target(kind: str, drill_target: str, target_run_factory) -> TargetRun:
    return target_run_factory(drill_target, kind)


@given(parsers.re(NAMED_TARGET_STEP), target_fixture="target")
def named_target(kind: str, name: str, drill_run: DrillRun, target_run_factory) -> TargetRun:
    if name not in drill_run.drill.targets:
        pytest.fail(f"the drill file defines no target named {name!r}", pytrace=False)
    return target_run_factory(name, kind)

"""Under the `throttling` fault the drill's calls are throttled at RDS's documented rate and retried.

AWS's limits and botocore's back-off run on real seconds, so this module's
lab runs at a modest time scale, where a throttled poll costs world time the
way it would in a real account.
"""

from __future__ import annotations

import sys
from typing import Iterator

import pytest

from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import BILLING_DB
from tests.helpers import drill_resources, finish_drill, single_target_drill, start_drill


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(time_scale=120, faults=["throttling"]) as running:
        yield running


def test_throttled_api_is_retried_and_the_drill_still_completes(lab, tmp_path):
    drill = single_target_drill(tmp_path, BILLING_DB)
    command = (sys.executable, "-m", "drtool.cli", "run", str(drill), "--junit-xml", str(tmp_path / "junit.xml"))
    outcome = finish_drill(start_drill(lab, tmp_path, command=command), tmp_path, timeout=240)

    assert outcome.exit_code == 0, outcome.output
    calls = next(r for r in outcome.journal if r["event"] == "api-calls")
    assert calls["throttled"] > 0, "the fault must actually have throttled the drill's calls"
    assert drill_resources(lab) == []

"""Each sandbox fault turns the S3 scenario it is aimed at red, and leaves green what AWS itself would leave green.

Where AWS makes a second scenario fail too (a disabled rule replicates no canary either), the test names both;
docs/sandbox.md has the table.
"""

from __future__ import annotations

import pytest

from tests.families.test_s3_replication import SCENARIOS, outcomes, s3_drill
from tests.helpers import production_untouched, run_drill

CASES = {
    # fault: (scenarios that must fail, scenarios that must pass)
    "replica-missing-objects": ({"audit"}, {"configuration", "canary", "metrics"}),
    "replica-corrupted-object": ({"audit"}, {"configuration", "canary", "metrics"}),
    "replication-failed-for-key": ({"metrics", "audit"}, {"configuration", "canary"}),
    "replication-rule-disabled": ({"configuration", "canary"}, set()),
    "replica-versioning-suspended": ({"configuration", "canary"}, set()),
    "replication-paused": ({"canary"}, {"configuration"}),
    "dr-key-disabled": ({"canary"}, set()),
}


@pytest.mark.parametrize("fault", [pytest.param(f, marks=pytest.mark.lab(faults=[f])) for f in CASES])
def test_a_fault_turns_its_scenario_red(lab, tmp_path, fault):
    red, green = CASES[fault]
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=s3_drill(tmp_path))

    assert outcome.exit_code == 1, outcome.output
    found = outcomes(outcome.journal)
    for name in red:
        assert found[SCENARIOS[name]][0] == "failed", (name, found[SCENARIOS[name]])
    for name in green:
        assert found[SCENARIOS[name]][0] == "passed", (name, found[SCENARIOS[name]])
    assert not [r for r in outcome.journal if r["event"] == "resource-delete-failed"], "every canary is still removed"

"""Under the `throttling` fault the drill's calls are throttled at RDS's documented rate and retried.

AWS's limits and botocore's back-off run on real seconds, so a throttled poll
costs world time as it would in a real account, more so at a high time scale.
The drill's objectives are wide, so the test judges completion, not the margin. orders-db restores from a
snapshot already in the DR region: the shortest drill that still polls a restore under throttling.
"""

from __future__ import annotations

import pytest

from drtool.sandbox.seed import ORDERS_DB
from tests.helpers import drill_file, drill_resources, production_untouched, run_drill


@pytest.mark.lab(time_scale=120, faults=["throttling"])
def test_throttled_api_is_retried_and_the_drill_still_completes(lab, tmp_path):
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, ORDERS_DB, rto="4h"), timeout=240)

    assert outcome.exit_code == 0, outcome.output
    calls = next(r for r in outcome.journal if r["event"] == "api-calls")
    assert calls["throttled"] > 0, "the fault must actually have throttled the drill's calls"
    assert drill_resources(lab) == []

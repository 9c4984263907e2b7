"""Fault-injection matrix, part 2: an exception and a throttling storm at every step."""

from __future__ import annotations

import pytest

from tests.safety.matrix import cells, run_cell


@pytest.mark.parametrize("family,kind,index", cells(("exception", "throttling")))
def test_cell(lab, tmp_path, family, kind, index):
    outcome, orphans = run_cell(lab, tmp_path, family, kind, index)
    assert orphans == []
    if kind == "exception":
        assert outcome.exit_code == 1, outcome.output
        assert "injected failure" in outcome.output
    else:
        # Retries ride out the storm; the real seconds they wait may cost the RTO, never the drill or its teardown.
        assert outcome.exit_code in (0, 1), outcome.output
        assert [r["throttled"] > 0 for r in outcome.journal if r["event"] == "api-calls"] == [True], outcome.output

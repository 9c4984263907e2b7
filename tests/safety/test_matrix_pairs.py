"""Fault-injection matrix, part 3: two targets in flight when the fault strikes.

Each family with two targets of its kind in a sandbox drill has both drilled side by side, and the fault at each
step that creates something: a Ctrl-C, SIGTERM or exception in turn. Whichever target reaches the step first
breaks; the other is mid-scenario. Neither leaves anything behind, and the journal and JUnit file stay whole.
"""

from __future__ import annotations

import pytest

from tests.safety.matrix import pair_cells, run_cell


@pytest.mark.parametrize("family,kind,index", pair_cells(("keyboard-interrupt", "exception", "sigterm")))
def test_cell(lab, tmp_path, family, kind, index):
    outcome, orphans = run_cell(lab, tmp_path, family, kind, index, paired=True)
    assert orphans == []
    assert outcome.exit_code == (1 if kind == "exception" else 130), outcome.output

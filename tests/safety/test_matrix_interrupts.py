"""Fault-injection matrix, part 1: an interrupt at every step, Ctrl-C and SIGTERM in turn.

Both reach a run through one handler (drtool.core.interrupts), proven for each signal in tests/unit and
tests/drills; here every step of every family is interrupted once, and each family sees both signals.
"""

from __future__ import annotations

import pytest

from tests.safety.matrix import cells, run_cell


@pytest.mark.parametrize("family,kind,index", cells(("keyboard-interrupt", "sigterm"), alternate=True))
def test_cell(lab, tmp_path, family, kind, index):
    outcome, orphans = run_cell(lab, tmp_path, family, kind, index)
    assert orphans == []
    assert outcome.exit_code == 130, outcome.output

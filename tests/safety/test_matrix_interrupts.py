"""Fault-injection matrix, part 1: KeyboardInterrupt and SIGTERM at every step."""

from __future__ import annotations

import pytest

from tests.safety.matrix import cells, run_cell


@pytest.mark.parametrize("family,kind,index", cells(("keyboard-interrupt", "sigterm")))
def test_cell(lab, tmp_path, family, kind, index):
    outcome, orphans = run_cell(lab, tmp_path, family, kind, index)
    assert orphans == []
    assert outcome.exit_code == 130, outcome.output

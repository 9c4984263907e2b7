"""Fault-injection matrix, part 1: KeyboardInterrupt and SIGTERM at every step."""

from __future__ import annotations

from typing import Iterator

import pytest

from drtool.sandbox.lab import Lab
from tests.safety.matrix import cells, run_cell


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(time_scale=600) as running:
        yield running


@pytest.mark.parametrize("family,kind,index", cells(("keyboard-interrupt", "sigterm")))
def test_cell(lab, tmp_path, family, kind, index):
    outcome, orphans = run_cell(lab, tmp_path, family, kind, index)
    assert orphans == []
    assert outcome.exit_code == 130, outcome.output

from __future__ import annotations

from typing import Iterator

import pytest

from drtool.sandbox.lab import Lab

# 1 real second is 10 world minutes: a 12-minute restore takes 1.2 s.
TIME_SCALE = 600


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One lab per test module (moto's state is per process; modules are the unit of xdist distribution)."""
    with Lab(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def clean_lab(lab: Lab) -> Lab:
    lab.reset()
    return lab

from __future__ import annotations

from typing import Iterator

import pytest
from botocore.config import Config

from drtool.sandbox.lab import Lab
from tests.helpers import client

# 1 real second is 20 world minutes: a 12-minute restore takes 0.6 s.
TIME_SCALE = 1200


def make_client(lab: Lab, service: str, region: str, **config: object):
    """A client with botocore's own defaults unless the test asks for more."""
    return client(lab, service, region, Config(**config))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def aws(lab: Lab):
    """`aws(service, region, **botocore_config)` -> client against the module's lab."""
    return lambda service, region, **config: make_client(lab, service, region, **config)

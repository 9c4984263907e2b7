from __future__ import annotations

from typing import Iterator

import boto3
import pytest
from botocore.config import Config

from drtool.sandbox.lab import Lab

# 1 real second is 20 world minutes: a 12-minute restore takes 0.6 s.
TIME_SCALE = 1200


def make_client(lab: Lab, service: str, region: str, **config: object):
    """A plain boto3 client pointed at the lab, as any drill would build one."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=lab.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config) if config else None,
    )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def aws(lab: Lab):
    """`aws(service, region, **botocore_config)` -> client against the module's lab."""
    return lambda service, region, **config: make_client(lab, service, region, **config)

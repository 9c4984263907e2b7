"""Test fixtures, and the three rules that keep this suite from failing by chance on a busy machine.

1. **A fresh world for every test.** `lab` is one moto server per test process
   (moto's state is per process), reset to a newly seeded world before each
   test. Its world clock runs `scale` times faster than real time, so a lab
   left running would age its snapshots and run its nightly backups in the
   middle of a test. Options come from a marker:
   `@pytest.mark.lab(time_scale=120, faults=["slow-restore"], enforce_iam=True)`.

2. **Wait for an event, never for an amount of time.** A test that needs "the
   moment X happens" waits for a journal record (`wait_for_journal_event`), a
   lab state or any condition (`wait_for`), each with a bounded timeout that
   only matters when something is broken. A test that needs the world to stay
   in a state holds it there: `with lab.world.hold(RestoreJob):` keeps restores
   `creating`, and `lab.world.hold()` stops every process, while the clock runs
   on. An assertion never depends on how much real time passed: compare world
   timestamps (an RDS event's date against `InstanceCreateTime`), not sleeps.
   Where a verdict is not the point of a test, its drill file has wide
   objectives (`drill_file(..., rto="4h")`), so no time scale eats its margin.

3. **Prove that production is untouched by name.** The lab records every
   mutating request any client sends it: service, operation, target resource,
   caller and world time (`lab.requests`). Wrap a drill in
   `with production_untouched(lab):`; afterwards it fails, listing the
   requests, if any mutating request named a production resource, and if a
   production resource that existed before is gone or changed state (the one
   thing a request log cannot show: a side effect). The world's own nightly
   backups add snapshots; that is production working, not a drill's doing.

Every test also gets a history store of its own (`DRTOOL_HISTORY_DIR` under its
`tmp_path`, which the drills it starts inherit): drills take a run lock there, and
two tests running the same drill at once must not refuse each other.

`tests/helpers.py` is assert-rewritten, so a failing helper shows what differed.
"""

from __future__ import annotations

from typing import Iterator

import pytest

pytest.register_assert_rewrite("tests.helpers", "tests.safety.matrix")

from drtool.sandbox.lab import Lab  # noqa: E402

# 1 real second is 10 world minutes: a 12-minute restore takes 1.2 s.
TIME_SCALE = 600


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lab(time_scale=600, faults=(), enforce_iam=False): how the test's fresh lab is set up"
    )


@pytest.fixture(autouse=True)
def own_history(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DRTOOL_HISTORY_DIR", str(tmp_path / "history"))


@pytest.fixture(scope="session")
def lab_server() -> Iterator[Lab]:
    with Lab(time_scale=TIME_SCALE) as running:
        yield running


@pytest.fixture
def lab(lab_server: Lab, request: pytest.FixtureRequest) -> Lab:
    """A freshly seeded lab, set up as the test's `lab` marker says."""
    marker = request.node.get_closest_marker("lab")
    options = dict(marker.kwargs) if marker else {}
    lab_server.reset(
        faults=options.pop("faults", ()),
        time_scale=options.pop("time_scale", TIME_SCALE),
        enforce_iam=options.pop("enforce_iam", False),
    )
    assert not options, f"unknown lab options: {sorted(options)}"
    return lab_server


@pytest.fixture
def aws(lab: Lab):
    """`aws(service, region, **botocore_config)`: a plain client against the test's lab, with botocore's defaults."""
    from botocore.config import Config

    from tests.helpers import client

    return lambda service, region, **config: client(lab, service, region, Config(**config))

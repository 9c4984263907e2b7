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

Every test also runs in a home of its own (`tests/sealed.py`): `HOME` and the XDG
state, config and cache homes under its `tmp_path`, a history store there
(`DRTOOL_HISTORY_DIR`, which the drills it starts inherit), and none of the user's
`DRTOOL_*` settings. So drills take their run locks there, two tests running the
same drill at once never refuse each other, and nothing lands in the user's
`drtool history`. A guard fails any test during which the real home's drtool
places (or `~/.aws`, or the names at the top of the home) changed.

`tests/helpers.py` is assert-rewritten, so a failing helper shows what differed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

pytest.register_assert_rewrite("tests.helpers", "tests.safety.matrix")

from drtool.runner.plugin import DrillModule  # noqa: E402
from drtool.sandbox.lab import Lab  # noqa: E402
from tests.sealed import HomeGuard, RealHome, state_home  # noqa: E402

pytest_plugins = ["pytester"]

# Taken when the suite starts, before any test's home replaces it.
REAL_HOME = RealHome.of(Path.home(), os.environ)
# What scripts/test sets for the whole suite; every other DRTOOL_* setting is the user's, not a test's.
SUITE_SETTINGS = ("DRTOOL_TESTS_REQUIRE_TOOLS",)

# 1 real second is 10 world minutes: a 12-minute restore takes 1.2 s.
TIME_SCALE = 600


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lab(time_scale=600, faults=(), enforce_iam=False): how the test's fresh lab is set up"
    )


@pytest.fixture(scope="session")
def home_guard() -> HomeGuard:
    return HomeGuard(REAL_HOME)


@pytest.fixture(autouse=True)
def sealed_home(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                home_guard: HomeGuard) -> Iterator[None]:
    if request.node.getparent(DrillModule) is not None:
        # A drill's scenario, in a drill a test started from a folder under tests/: the test sealed it already.
        yield
        return
    for name in [name for name in os.environ if name.startswith("DRTOOL_") and name not in SUITE_SETTINGS]:
        monkeypatch.delenv(name)
    for name, value in state_home(tmp_path).items():
        Path(value).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DRTOOL_HISTORY_DIR", str(tmp_path / "history"))
    yield
    written = home_guard.check()
    if written:
        pytest.fail(f"this test (or one beside it) wrote under the real home {REAL_HOME.home}:\n  "
                    + "\n  ".join(written[:20]), pytrace=False)


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

"""A pytest plugin, loaded into a drill run by tests through PYTEST_PLUGINS, that breaks a drill at a chosen step.

DRTOOL_TEST_INJECT="<kind>@<step index>@<scenario>": just before the step with that index in that
scenario runs, raise an exception, raise KeyboardInterrupt, send this process SIGTERM,
or (kind "gate") wait until the file named by DRTOOL_TEST_GATE exists, so the
test can change the lab at exactly that moment (a throttling storm) and then let
the step go.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

INJECT_ENV = "DRTOOL_TEST_INJECT"
GATE_ENV = "DRTOOL_TEST_GATE"
GATE_TIMEOUT_S = 120.0


class InjectedFailure(RuntimeError):
    pass


def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args):
    kind, index, name = (os.environ.get(INJECT_ENV, "").split("@", 2) + ["", ""])[:3]
    if not kind or scenario.steps.index(step) != int(index) or scenario.name != name:
        return
    if kind == "exception":
        raise InjectedFailure(f"injected failure before step {index}: {step.name}")
    if kind == "keyboard-interrupt":
        raise KeyboardInterrupt
    if kind == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    if kind == "gate":
        gate, deadline = Path(os.environ[GATE_ENV]), time.monotonic() + GATE_TIMEOUT_S
        while not gate.exists():
            if time.monotonic() > deadline:
                raise InjectedFailure(f"the test never opened the gate before step {index}")
            time.sleep(0.01)

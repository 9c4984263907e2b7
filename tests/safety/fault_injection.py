"""A pytest plugin, loaded into a drill run by tests through PYTEST_PLUGINS, that breaks a drill at a chosen step.

DRTOOL_TEST_INJECT="<kind>@<step index>": just before the step with that index
runs, raise an exception, raise KeyboardInterrupt, or send this process SIGTERM.
"""

from __future__ import annotations

import os
import signal

INJECT_ENV = "DRTOOL_TEST_INJECT"


class InjectedFailure(RuntimeError):
    pass


def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args):
    kind, _, index = os.environ.get(INJECT_ENV, "").partition("@")
    if not kind or scenario.steps.index(step) != int(index):
        return
    if kind == "exception":
        raise InjectedFailure(f"injected failure before step {index}: {step.name}")
    if kind == "keyboard-interrupt":
        raise KeyboardInterrupt
    if kind == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)

"""Starting and stopping labs: loopback only, one per process, clean stop."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from moto.rds.models import RDSBackend

from drtool.core.clock import CLOCK_ENV, ScaledClock
from drtool.sandbox.lab import Lab, LabAlreadyRunning
from tests.helpers import REPO


def test_lab_lifecycle():
    """In a process of its own: the suite's `lab` fixture keeps a lab running in this one."""
    check = subprocess.run([sys.executable, "-c", "from tests.sandbox.test_lifecycle import lifecycle; lifecycle()"],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def lifecycle():
    original_restore = RDSBackend.__dict__["restore_db_instance_from_db_snapshot"]
    lab = Lab(time_scale=600).start()
    try:
        assert lab.endpoint.startswith("http://127.0.0.1:")
        port = int(lab.endpoint.rsplit(":", 1)[1])
        assert lab._server._server.server_address[0] == "127.0.0.1"
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        env = lab.environment()
        assert env["AWS_ENDPOINT_URL"] == lab.endpoint and env["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert ScaledClock.from_env(env[CLOCK_ENV]).scale == 600
        assert RDSBackend.__dict__["restore_db_instance_from_db_snapshot"] is not original_restore
        with pytest.raises(LabAlreadyRunning):
            Lab().start()
    finally:
        lab.stop()
    lab.stop()  # idempotent
    assert RDSBackend.__dict__["restore_db_instance_from_db_snapshot"] is original_restore
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    # The slot is free again. At x1 none of the seeded processes falls due while we look.
    with Lab(time_scale=1) as second:
        # Only the seeded production's own processes: nothing left over from the first lab.
        assert sorted(type(job).__name__ for job in second.world.jobs()) == [
            "ApplicationWrites", "MetricsPublisher", "NightlyBackups"]

"""A lab: an in-process moto server on loopback, seeded with the production world and run by a world model."""

from __future__ import annotations

import logging
import threading
from typing import Iterable

from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

from drtool.sandbox.faults import validate_faults
from drtool.sandbox.patches import WorldPatches
from drtool.sandbox.seed import PRIMARY_REGION, SeededWorld, seed
from drtool.sandbox.world import World, WorldSettings
from drtool.timing import CLOCK_ENV, ScaledClock

LOOPBACK = "127.0.0.1"

# moto's backends are process-global, so two labs in one process would share (and reset) one world.
_active_lab_lock = threading.Lock()
_active_lab: "Lab | None" = None


class LabAlreadyRunning(RuntimeError):
    pass


class Lab:
    def __init__(self, *, time_scale: float = 60.0, faults: Iterable[str] = (), port: int = 0,
                 settings: WorldSettings | None = None):
        self.clock = ScaledClock(time_scale)
        self.faults = validate_faults(faults)
        self.settings = settings or WorldSettings()
        self.port = port
        self.endpoint = ""
        self.world: World | None = None
        self.seeded: SeededWorld | None = None
        self._server: ThreadedMotoServer | None = None
        self._patches: WorldPatches | None = None

    def start(self) -> "Lab":
        global _active_lab
        with _active_lab_lock:
            if _active_lab is not None:
                raise LabAlreadyRunning(
                    f"a sandbox lab is already running in this process at {_active_lab.endpoint}; stop it first"
                )
            _active_lab = self
        # werkzeug logs every request at INFO; a drill's polling would drown the console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=self.port, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self.endpoint = f"http://{host}:{port}"
            self._build_world(self.faults)
        except BaseException:
            self.stop()
            raise
        return self

    def reset(self, faults: Iterable[str] = ()) -> None:
        """Start a fresh world with `faults` on the same server."""
        if self._server is None:
            raise RuntimeError("the lab is not running")
        self.faults = validate_faults(faults)
        self._stop_world()
        self._build_world(self.faults)

    def stop(self) -> None:
        global _active_lab
        self._stop_world()
        if self._server is not None:
            self._server.stop()
            self._server = None
        with _active_lab_lock:
            if _active_lab is self:
                _active_lab = None

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": PRIMARY_REGION,
            "AWS_REGION": PRIMARY_REGION,
            CLOCK_ENV: self.clock.to_env(),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _build_world(self, faults: tuple[str, ...]) -> None:
        # Seed against plain moto, then switch on the world's behaviour.
        moto_api_backend.reset()
        self.world = World(self.clock, self.settings, faults)
        self.seeded = seed(self.endpoint, self.world)
        self._patches = WorldPatches(self.world)
        self._patches.install()
        self.world.start()

    def _stop_world(self) -> None:
        if self.world is not None:
            self.world.stop()
        if self._patches is not None:
            self._patches.remove()
            self._patches = None

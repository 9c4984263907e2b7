"""A lab: an in-process moto server on loopback, seeded with the production world and run by a world model."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable, Iterable

import boto3
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from drtool.core.clock import CLOCK_ENV, ScaledClock
from drtool.sandbox.faults import validate_faults
from drtool.sandbox.requests import ProductionNames, RecordingMiddleware, RequestLog
from drtool.sandbox.seed import (
    ADMIN_USER,
    PRIMARY_REGION,
    SeedClients,
    SeededWorld,
    production_names,
    seed,
    start_production,
)
from drtool.sandbox.world import World, WorldSettings

LOOPBACK = "127.0.0.1"

# moto's backends are process-global, so two labs in one process would share (and reset) one world.
_active_lab_lock = threading.Lock()
_active_lab: "Lab | None" = None


class LabAlreadyRunning(RuntimeError):
    pass


class _RecordingMotoServer(ThreadedMotoServer):
    """moto's threaded server with the lab's request log in front of it."""

    def __init__(self, middleware: Callable[[Callable[..., Any]], Callable[..., Any]], **kwargs: Any):
        super().__init__(**kwargs)
        self._middleware = middleware

    def _server_entry(self) -> None:
        app = _one_request_at_a_time(self._middleware(DomainDispatcherApplication(create_backend_app)))
        # As ThreadedMotoServer does, but with the wrapped app.
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def _one_request_at_a_time(app: Callable[..., Any]) -> Callable[..., Any]:
    """moto's backends are not safe for concurrent requests (a listing of a bucket another request is changing can
    fail inside moto), and a drill's targets now call side by side: the lab answers one request at a time."""
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))

    return serialized


class Lab:
    def __init__(self, *, time_scale: float = 60.0, faults: Iterable[str] = (), port: int = 0,
                 settings: WorldSettings | None = None, enforce_iam: bool = False):
        self.clock = ScaledClock(time_scale)
        self.faults = validate_faults(faults)
        self.settings = settings or WorldSettings()
        self.port = port
        # With enforce_iam, moto evaluates IAM identity policies for every request once the world is seeded;
        # `environment()` then carries the keys of an admin user, and tests make users of their own.
        self.enforce_iam = enforce_iam
        self.admin_credentials: dict[str, str] = {}
        self.endpoint = ""
        self.world: World | None = None
        self.seeded: SeededWorld | None = None
        # Every mutating request any client sends, with world time (see drtool.sandbox.requests).
        self.requests = RequestLog()
        self._server: ThreadedMotoServer | None = None
        self._seed_clients: SeedClients | None = None

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
            self._server = _RecordingMotoServer(
                lambda app: RecordingMiddleware(self._caught_up(app), self.requests, lambda: self.clock.now()),
                ip_address=LOOPBACK, port=self.port, verbose=False,
            )
            self._server.start()
            host, port = self._server.get_host_and_port()
            self.endpoint = f"http://{host}:{port}"
            self._seed_clients = SeedClients(self.endpoint)
            self._build_world(self.faults)
        except BaseException:
            self.stop()
            raise
        return self

    def reset(self, faults: Iterable[str] = (), *, time_scale: float | None = None, enforce_iam: bool | None = None) -> None:
        """Start a fresh world with `faults` on the same server (and, if given, a new clock or IAM setting)."""
        if self._server is None:
            raise RuntimeError("the lab is not running")
        self.faults = validate_faults(faults)
        self._stop_world()
        if time_scale is not None:
            self.clock = ScaledClock(time_scale)
        if enforce_iam is not None:
            self.enforce_iam = enforce_iam
        self._build_world(self.faults)

    def production_names(self, *, drill_named: bool = False) -> ProductionNames:
        """Everything the world holds now that no drill made: what a drill must never change.

        With `drill_named`, drill-named resources too: before a run, one that merely looks like drtool's is not
        the run's own, and must be as safe from it as production."""
        assert self.world is not None, "the lab is not running"
        with self.world.lock:
            return production_names(drill_named=drill_named)

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
            "AWS_ACCESS_KEY_ID": self.admin_credentials.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": self.admin_credentials.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": PRIMARY_REGION,
            "AWS_REGION": PRIMARY_REGION,
            CLOCK_ENV: self.clock.to_env(),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def __enter__(self) -> "Lab":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _caught_up(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if self.world is not None:
                self.world.catch_up()
            return app(environ, start_response)

        return serve

    def _build_world(self, faults: tuple[str, ...]) -> None:
        # Seed against plain moto, then switch on the world's behaviour.
        if self.enforce_iam:
            _enforce_iam(False)
        moto_api_backend.reset()
        self.admin_credentials = {}
        self.world = World(self.clock, self.settings, faults)
        # Seeded resources carry world time as API-created ones will.
        self.world.install_clock()
        assert self._seed_clients is not None
        self.seeded = seed(self._seed_clients, self.world)
        start_production(self.world, self.seeded)
        if self.enforce_iam:
            self.admin_credentials = _create_admin(self.endpoint)
            _enforce_iam(True)
        self.world.install()
        # Seeding is the world's history, not requests to judge drills by.
        self.requests.clear()
        self.world.start()

    def _stop_world(self) -> None:
        if self.enforce_iam:
            _enforce_iam(False)
        if self.world is not None:
            self.world.stop()
            self.world.uninstall()


def _enforce_iam(on: bool) -> None:
    # moto authorizes every request once it has served INITIAL_NO_AUTH_ACTION_COUNT unchecked ones (default: never).
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0


def _create_admin(endpoint: str) -> dict[str, str]:
    """An IAM user allowed everything, made while IAM is not yet enforced; its keys sign the lab's own requests."""
    iam = boto3.client("iam", region_name=PRIMARY_REGION, endpoint_url=endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

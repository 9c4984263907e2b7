"""One place that makes AWS sessions and clients.

Standard AWS configuration is honoured as boto3 honours it: the credential
chain, AWS_PROFILE, region settings, AWS_ENDPOINT_URL and the per-service
AWS_ENDPOINT_URL_<SERVICE>. A drill may add a profile and a role to assume.
Every client gets botocore's retry mode for throttling and transient errors,
and every client this factory makes passes through the hooks registered here
(the guard among them). A client made any other way while a drill runs,
`factory.session.client(...)` included, gets the run's hooks from the
process-wide hook in drtool.core.reach, so no botocore client reaches AWS
around the guard.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

import boto3
import botocore.config
import botocore.parsers
from botocore.credentials import RefreshableCredentials
from botocore.session import Session as BotocoreSession

from drtool import __version__
from drtool.core.model import AwsAccess
from drtool.core.turns import off_turn_while_on_the_network

ClientHook = Callable[[Any, str, str], None]
"""Called once for every new client: (client, service_name, region)."""


class ClientFactory(Protocol):
    def _profile_sets_retries(self) -> bool:
        scoped = self.session._session.get_scoped_config()
        return "retry_mode" in scoped or "max_attempts" in scoped

    def client(self, service: str, region: str) -> Any: ...


# Ten attempts in all; adaptive mode also slows this client down when AWS throttles it.
DEFAULT_RETRIES = {"mode": "adaptive", "total_max_attempts": 10}


class SessionFactory:
    """Builds the boto3 session for a drill and hands out cached, hooked clients."""

    def __init__(
        self,
        access: AwsAccess | None = None,
        *,
        retries: dict[str, Any] | None = None,
        client_hooks: list[ClientHook] | None = None,
        botocore_session: BotocoreSession | None = None,
    ):
        self.access = access or AwsAccess()
        self.retries = retries or DEFAULT_RETRIES
        self.client_hooks: list[ClientHook] = list(client_hooks or [])
        self._botocore_session = botocore_session
        self._session: boto3.Session | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._roles: dict[tuple[str, str | None, str], SessionFactory] = {}
        self._assumed_from: SessionFactory | None = None  # set on the factories `as_role` makes
        self._lock = threading.Lock()

    def add_client_hook(self, hook: ClientHook) -> None:
        with self._lock:
            if self._clients or self._roles:
                raise RuntimeError("client hooks must be added before the first client or role is made")
            self.client_hooks.append(hook)

    def as_role(self, role_arn: str, *, external_id: str | None = None, session_name: str | None = None) -> "SessionFactory":
        """Clients for another principal (the DR application's role, a role that must be denied), one factory per role.

        The role is assumed with this factory's own credentials, through its own (hooked) STS client, and its
        clients pass through the same hooks: the guard still refuses what it refuses, and the call counts include them.
        """
        access = AwsAccess(role_arn=role_arn, external_id=external_id, session_name=session_name or self.access.session_name)
        key = (access.role_arn, access.external_id, access.session_name)
        with self._lock:
            cached = self._roles.get(key)
            if cached is None:
                cached = self._roles[key] = SessionFactory(access, retries=self.retries, client_hooks=self.client_hooks)
                cached._assumed_from = self
            return cached

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            if self._session is None:
                self._session = self._make_session()
                self._session._session.get_component("response_parser_factory").set_parser_defaults(
                    timestamp_parser=parse_timestamp)
            return self._session

    def _make_session(self) -> boto3.Session:
        if self._assumed_from is not None:
            source = self._assumed_from
            return _assumed_role_session(source.session, self.access, sts=source.client("sts", _sts_region(source.session)))
        base = boto3.Session(profile_name=self.access.profile, botocore_session=self._botocore_session)
        if not self.access.role_arn:
            return base
        return _assumed_role_session(base, self.access)

    def client_config(self) -> botocore.config.Config:
        # A retry mode or attempt count set the standard way (environment, profile) wins over drtool's default.
        configured = os.environ.get("AWS_RETRY_MODE") or os.environ.get("AWS_MAX_ATTEMPTS") or self._profile_sets_retries()
        return botocore.config.Config(
            retries=None if configured else dict(self.retries),
            user_agent_appid=f"drtool-{__version__}",
            connect_timeout=10,
            read_timeout=60,
        )

    def _profile_sets_retries(self) -> bool:
        scoped = self.session._session.get_scoped_config()
        return "retry_mode" in scoped or "max_attempts" in scoped

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        client = self.session.client(service, region_name=region, config=self.client_config())
        off_turn_while_on_the_network(client, service)
        for hook in self.client_hooks:
            hook(client, service, region)
        with self._lock:
            return self._clients.setdefault(key, client)


def _sts_region(session: boto3.Session) -> str:
    # STS answers in every region; without a configured one, use the global endpoint's.
    return session.region_name or "us-east-1"


def parse_timestamp(value: Any) -> datetime:
    """AWS's ISO 8601 timestamps, read without dateutil, which costs a third of a large S3 listing's time."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11 reads the trailing Z as well
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return botocore.parsers.DEFAULT_TIMESTAMP_PARSER(value)


def _assumed_role_session(base: boto3.Session, access: AwsAccess, sts: Any = None) -> boto3.Session:
    """A session whose credentials come from sts:AssumeRole and refresh before they expire."""
    # Named: botocore reads AWS_DEFAULT_REGION, not the AWS_REGION a container may be given alone.
    sts = sts or base.client("sts", region_name=_sts_region(base))

    def fetch() -> dict[str, str]:
        params: dict[str, Any] = {"RoleArn": access.role_arn, "RoleSessionName": access.session_name}
        if access.external_id:
            params["ExternalId"] = access.external_id
        creds = sts.assume_role(**params)["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    botocore_session = BotocoreSession()
    if base.profile_name and base.profile_name != "default":
        botocore_session.set_config_variable("profile", base.profile_name)
    botocore_session._credentials = credentials  # botocore has no public setter for refreshable credentials
    return boto3.Session(botocore_session=botocore_session)

"""Checks that AWS can be used at all, before any scenario starts.

They run in fixtures so that a missing credential, an unreachable endpoint or
a denied read becomes a test *error* (could not run), not a drill failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drtool.core.errors import (
    InfrastructureError,
    describe_error,
    is_infrastructure_error,
)
from drtool.core.operations import operation
from drtool.core.registry import PreflightProbe, families
from drtool.core.session import ClientFactory

if TYPE_CHECKING:
    from drtool.drill.file import Drill



@operation("sts", "GetCallerIdentity", iam=("sts:GetCallerIdentity",))
def caller_identity(sts: Any) -> dict[str, str]:
    """Who the drill runs as."""
    identity = sts.get_caller_identity()
    return {"account": identity["Account"], "arn": identity["Arn"]}


def preflight(clients: ClientFactory, drill: Drill) -> dict[str, Any]:
    try:
        identity = caller_identity(clients.client("sts", drill.primary_region))
    except Exception as exc:
        raise InfrastructureError(f"cannot use AWS from here: {describe_error(exc)}") from exc
    for probe in region_probes(drill):
        for region in (drill.primary_region, drill.dr_region):
            try:
                getattr(clients.client(probe.service, region), probe.method)(**probe.params)
            except Exception as exc:
                if is_infrastructure_error(exc):
                    raise InfrastructureError(f"cannot use {probe.service} in {region}: {describe_error(exc)}") from exc
                raise
    return identity


def region_probes(drill: Drill) -> list[PreflightProbe]:
    """The cheap reads the drill's families need in both regions, each once."""
    probes: list[PreflightProbe] = []
    for kind in sorted({target.kind for target in drill.targets.values()}):
        probes += [probe for probe in families().get(kind).preflight if probe not in probes]
    return probes

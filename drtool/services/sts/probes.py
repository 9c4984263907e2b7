"""STS: acting as another principal."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drtool.core.errors import describe_error
from drtool.core.operations import operation
from drtool.core.principals import SELF
from drtool.core.verdicts import Verdict, VerdictReached

__all__ = ["as_principal"]


@operation("sts", "AssumeRole", iam=("sts:AssumeRole",))
def as_principal(aws: Any, principal: str) -> Any:
    """Clients acting as `principal`: `aws` itself for `self`, else the role, assumed now with `aws`'s credentials.

    `aws` is anything with `client(service, region)` and `as_role(arn)`. A role the drill cannot assume is an
    error of the drill's own set-up, never a finding about what the role may do: it ends the step as one.
    """
    if principal == SELF:
        return aws
    clients = aws.as_role(principal)
    try:
        clients.session  # noqa: B018 - the role is assumed when its session is made
    except ClientError as exc:
        raise VerdictReached(Verdict.error(
            f"the drill could not act as {principal}: {describe_error(exc)}; allow the drill's identity sts:AssumeRole "
            "on it, and name the drill's identity (or its account) in the role's trust policy")) from exc
    return clients

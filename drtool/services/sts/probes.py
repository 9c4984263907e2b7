"""STS: acting as another principal."""

from __future__ import annotations

from typing import Any

from drtool.core.operations import operation
from drtool.core.principals import SELF

__all__ = ["as_principal"]


@operation("sts", "AssumeRole", iam=("sts:AssumeRole",))
def as_principal(aws: Any, principal: str) -> Any:
    """Clients acting as `principal`: `aws` itself for `self`, else the role, assumed with `aws`'s credentials
    when its first client is made. `aws` is anything with `client(service, region)` and `as_role(arn)`."""
    return aws if principal == SELF else aws.as_role(principal)

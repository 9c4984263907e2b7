"""Read-only IAM operations."""

from __future__ import annotations

from typing import Any

from drtool.core.operations import operation

__all__ = ["get_role"]


@operation("iam", "GetRole", iam=("iam:GetRole",))
def get_role(iam: Any, name: str) -> dict[str, Any] | None:
    """A role by name, or None if it does not exist."""
    try:
        return iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None

"""Who a drill acts as when it proves access: its own identity, or a role it assumes.

A drill file lists principals under `allowed` and `denied`. Each is `self` (the
drill's own credentials) or an IAM role ARN, which the drill assumes with its own
credentials; it never needs more than `sts:AssumeRole` on exactly those roles.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

SELF = "self"
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def _principal(value: str) -> str:
    if value != SELF and not ROLE_ARN.match(value):
        raise ValueError(f"{value!r} is neither `self` nor an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
    return value


Principal = Annotated[str, AfterValidator(_principal),
                      Field(description="`self` (the drill's own identity) or an IAM role ARN the drill assumes.")]


def role_name(principal: str) -> str:
    """A short name for sentences: the role's name, or `the drill's own identity`."""
    return "the drill's own identity" if principal == SELF else principal.rsplit("/", 1)[-1]

"""The secret target: a Secrets Manager secret with a DR-region replica, who must and must not read it, and its rotation."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from drtool.core.model import Duration, Strict
from drtool.core.principals import Principal, role_name

# Secrets Manager's own rules: a name of up to 512 of these characters; an ARN ends in the name and a 6-character suffix.
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
SECRET_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:secretsmanager:(?P<region>[a-z0-9-]+):\d{12}:secret:(?P<name>[A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$")
KEY_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$")
KEY_REF = re.compile(r"^(alias/[A-Za-z0-9/_-]{1,250}|(mrk-)?[0-9a-f-]{32,36})$")


class RotationPolicy(Strict):
    """How often the secret must rotate."""

    max_interval: Duration = Field(
        description="Longest the rotation schedule may be, and longest since the last rotation, e.g. 90d.")


class SecretTarget(Strict):
    """A secret in the primary region, replicated to the DR region under the DR key, and rotated."""

    kind: Literal["secret"]
    secret: str = Field(description="The secret in the primary region: its name, or its ARN.")
    replica_kms_key: str = Field(
        description="The KMS key the DR-region replica must be encrypted with, in the DR region: key id, ARN or alias/NAME.")
    allowed: list[Principal] = Field(
        default_factory=list,
        description="Who must be able to read the replica in the DR region: `self` or IAM role ARNs the drill assumes.")
    denied: list[Principal] = Field(
        default_factory=list,
        description="Who must be refused the replica in the DR region: `self` or IAM role ARNs the drill assumes.")
    rotation: RotationPolicy

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if value.startswith("arn:"):
            if not SECRET_ARN.match(value):
                raise ValueError(f"{value!r} is not a Secrets Manager secret ARN "
                                 "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef)")
        elif not SECRET_NAME.match(value):
            raise ValueError(f"{value!r} is not a secret name (letters, digits and /_+=.@-, at most 512)")
        return value

    @field_validator("replica_kms_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not (KEY_ARN.match(value) if value.startswith("arn:") else KEY_REF.match(value)):
            raise ValueError(f"{value!r} is not a KMS key id, key ARN, alias ARN or alias/NAME")
        return value

    @field_validator("allowed", "denied")
    @classmethod
    def _once_each(cls, principals: list[str]) -> list[str]:
        repeated = sorted({p for p in principals if principals.count(p) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return principals

    @model_validator(mode="after")
    def _disjoint(self) -> "SecretTarget":
        both = [role_name(p) for p in self.allowed if p in self.denied]
        if both:
            raise ValueError(f"both allowed and denied: {', '.join(both)}")
        return self

    @property
    def secret_name(self) -> str:
        """The secret's name (from its ARN if given as one): a replica has the same name in its region."""
        found = SECRET_ARN.match(self.secret)
        return found.group("name") if found else self.secret

    @property
    def secret_region(self) -> str | None:
        """The region an ARN names; None for a name."""
        found = SECRET_ARN.match(self.secret)
        return found.group("region") if found else None

    @property
    def principals(self) -> list[str]:
        return [*self.allowed, *self.denied]

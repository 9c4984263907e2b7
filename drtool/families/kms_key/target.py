"""The kms-key target: a data class's key in the DR region, who must be able to use it, and who must not."""

from __future__ import annotations

from typing import Any, Iterator, Literal

from pydantic import Field, model_validator

from drtool.core.model import Duration, KmsKey, Strict, kms_key_region
from drtool.core.principals import SELF, Principal


class KeyExpectations(Strict):
    rotation: bool = Field(default=True, description="Automatic key rotation is on.")
    max_rotation_period: Duration = Field(default="365d", validate_default=True,
                                          description="Longest the rotation period may be, and the longest since the last rotation.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags the key must carry, e.g. DataClass and Component.")
    users: list[str] | None = Field(default=None, description=(
        "Principal ARNs the key policy may let use the key (encrypt, decrypt, generate data keys), and no others; "
        "the account's root ARN stands for IAM policies. Omit to judge the policy only against its primary's."))
    administrators: list[str] | None = Field(default=None, description=(
        "Principal ARNs the key policy may let administer the key (change its policy, disable or delete it), and no others."))


class KmsObjectives(Strict):
    max_round_trip: Duration = Field(default="5s", validate_default=True,
                                     description="Longest a GenerateDataKey and Decrypt round trip may take for a principal.")


class KmsKeyTarget(Strict):
    """A KMS key in the DR region: enabled, rotating, a replica of its primary, usable by `allowed` and by no one in `denied`."""

    kind: Literal["kms-key"]
    key: KmsKey = Field(description="The DR-region key: alias/NAME, key id or ARN.")
    primary_key: KmsKey | None = Field(default=None, description=(
        "The multi-Region primary in the primary region: the DR key must be its replica, and its policy is the baseline "
        "for drift. Omit for a key that is not multi-Region."))
    allowed: list[Principal] = Field(default_factory=list, description="Principals that must be able to use the key in the DR region.")
    denied: list[Principal] = Field(default_factory=list, description="Principals that must be refused the key.")
    expect: KeyExpectations = Field(default_factory=KeyExpectations)
    objectives: KmsObjectives = Field(default_factory=KmsObjectives)

    @model_validator(mode="after")
    def _principals(self) -> "KmsKeyTarget":
        both = sorted(set(self.allowed) & set(self.denied))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both allowed and denied")
        if SELF in self.denied:
            raise ValueError("`self` cannot be denied: the drill needs its own identity to read the key")
        return self

    def drill_problems(self, drill: Any) -> Iterator[tuple[tuple[str, ...], str]]:
        for field, region in (("key", drill.dr_region), ("primary_key", drill.primary_region)):
            named = kms_key_region(getattr(self, field) or "")
            if named is not None and named != region:
                yield (field,), f"the key is in {named}, but {field} must be in {region}"

"""The rds-instance target: which database to restore in the DR region, how, and against which objectives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator, Literal

from pydantic import Field

from drtool.core.model import KmsKey, Objectives, Strict, kms_key_region


class RdsRestoreSettings(Strict):
    instance_class: str = Field(description="DB instance class of the restored instance, e.g. db.t3.medium.")
    subnet_group: str = Field(description="DB subnet group in the DR region.")
    security_groups: list[str] = Field(
        default_factory=list, description="VPC security group ids (sg-...) or names in the DR region."
    )
    parameter_group: str | None = Field(default=None, description="DB parameter group in the DR region.")
    option_group: str | None = Field(
        default=None, description="Option group in the DR region; needed for a snapshot with a non-default one."
    )


class RdsInstanceTarget(Strict):
    """An RDS DB instance whose snapshots must be restorable in the DR region."""

    kind: Literal["rds-instance"]
    source_instance: str = Field(description="DB instance identifier in the primary region.")
    dr_kms_key: KmsKey = Field(description="KMS key in the DR region: key id, ARN or alias/NAME.")
    restore: RdsRestoreSettings
    objectives: Objectives

    def drill_problems(self, drill: Any) -> Iterator[tuple[tuple[str, ...], str]]:
        """KMS keys are regional: the snapshot copy and the restore need a key in the DR region."""
        region = kms_key_region(self.dr_kms_key)
        if region is not None and region != drill.dr_region:
            yield ("dr_kms_key",), (f"the key is in {region}, but the restore runs in dr_region {drill.dr_region}; "
                                    "KMS keys are regional, so give a key in the DR region")

    def time_needed(self) -> timedelta:
        return self.objectives.rto

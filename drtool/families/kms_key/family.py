"""The kms-key family: prove that a data class's DR-region key works for those who need it, and for no one else."""

from __future__ import annotations

from drtool.core.registry import Family, PreflightProbe
from drtool.families.kms_key.grants import GRANTS
from drtool.families.kms_key.target import KmsKeyTarget

FAMILY = Family(
    kind="kms-key",
    target_model=KmsKeyTarget,
    step_module="drtool.families.kms_key.steps",
    features=("kms_dr_access.feature",),
    preflight=(PreflightProbe("kms", "list_aliases", iam=("kms:ListAliases",)),),
    grants=GRANTS,
    figures=("round trip",),
    remedies={
        "NotFoundException": "the key does not exist in {region}: correct the target's key, or create its DR replica there",
        "DisabledException": "enable the key in {region}",
        "KMSInvalidStateException": "the key in {region} is pending deletion or import: cancel the deletion",
        "UnsupportedOperationException": "the key in {region} does not support this: check its key spec and origin",
    },
)

"""The secret family: prove a Secrets Manager secret's DR replica is in sync under the DR key, readable only by whom
it must be, and that the secret rotates. Read-only: it creates nothing."""

from __future__ import annotations

from drtool.core.registry import Family, PreflightProbe
from drtool.families.secret.grants import GRANTS
from drtool.families.secret.rotation import LAST_ROTATION, SCHEDULE
from drtool.families.secret.target import SecretTarget

FAMILY = Family(
    kind="secret",
    target_model=SecretTarget,
    step_module="drtool.families.secret.steps",
    features=("secrets_dr.feature",),
    preflight=(PreflightProbe("secretsmanager", "list_secrets", {"MaxResults": 1}),),
    grants=GRANTS,
    figures=(SCHEDULE, LAST_ROTATION),
    # Only codes that are Secrets Manager's own: remedies are shared by every family (an RDS error never reads these).
    remedies={
        "ResourceNotFoundException": "the secret does not exist in {region}: correct the target's secret (a name or "
                                     "ARN in the primary region), or replicate it to {region}",
        "DecryptionFailure": "the secret's KMS key in {region} must exist, be Enabled and let the caller kms:Decrypt",
    },
)

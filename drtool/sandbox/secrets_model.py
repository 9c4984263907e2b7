"""Secrets Manager as AWS runs it, where moto does not.

- A replica keeps the KMS key the client named (moto reports every replica as encrypted with
  `alias/aws/secretsmanager`); a replica whose key does not exist in its region fails to replicate. Described in
  its own region, a replica reports its own key.
- GetSecretValue decrypts with the secret's key in the caller's region (the replica's key for a replica), so it is
  refused when that key is not enabled, or when its key policy does not let the caller kms:Decrypt
  (customer-managed keys only: the AWS-managed key lets every principal of the account use it through the service).
- Dates (created, changed, rotated, next rotation) are world time.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any, Callable, ClassVar, Iterable

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.secretsmanager.models import FakeSecret, ReplicaSecret, SecretsManagerBackend, secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse

from drtool.sandbox.faults import Fault
from drtool.sandbox.key_policy import evaluate
from drtool.sandbox.kms_model import find_key
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, replace_attribute, wrap_method
from drtool.sandbox.principals import calling_patch, current_request

SECRET_REPLICA_OUT_OF_SYNC = "secret-replica-out-of-sync"
SECRET_ROTATION_OFF = "secret-rotation-off"

AWS_MANAGED_KEY = SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS


class SecretsAccessDenied(JsonRESTError):
    code = 400

    def __init__(self, message: str = "Access to KMS is not allowed"):
        super().__init__("AccessDeniedException", message)


class DecryptionFailure(JsonRESTError):
    code = 400

    def __init__(self, detail: str):
        super().__init__("DecryptionFailure",
                         f"Secrets Manager can't decrypt the protected secret text using the provided KMS key. {detail}")


def replica_key_ref(secret: FakeSecret | ReplicaSecret) -> str | None:
    """The key (as the client named it) that encrypts the secret in its own region; None for the AWS-managed key."""
    ref = secret.config.get("KmsKeyId") if isinstance(secret, ReplicaSecret) else secret.kms_key_id
    return None if not ref or ref == AWS_MANAGED_KEY else ref


def keep_replica_keys(secret: FakeSecret, replicas: list[ReplicaSecret], configs: list[dict[str, str]]) -> None:
    """Record on each new replica the key its configuration named; a replica whose key is missing in its region
    fails, and holds no secret there."""
    for replica, config in zip(replicas, configs):
        key_ref = config.get("KmsKeyId")
        if not key_ref:
            continue
        replica.config["KmsKeyId"] = key_ref
        if key_ref != AWS_MANAGED_KEY and find_key(key_ref, replica.region, secret.account_id) is None:
            if replica.has_replica:
                dict.pop(secretsmanager_backends[secret.account_id][replica.region].secrets, replica.arn, None)
                replica.has_replica = False
            set_replica_status(replica, "Failed",
                               f"Replication failed: KMS key {key_ref} is not found in {replica.region}.")


def set_replica_status(replica: ReplicaSecret, status: str, message: str) -> None:
    """What DescribeSecret reports for the replica (`InSync`, `InProgress` or `Failed`); its value stays readable."""
    replica.status = status
    replica.message = message
    replica.config.update({"Status": status, "StatusMessage": message})


class SecretsModel(QueuedModel):
    """Replica keys, KMS-gated reads and world-time dates. Nothing in Secrets Manager takes time."""

    name = "secretsmanager"
    # The seed applies them to the seeded secret.
    faults: ClassVar[tuple[Fault, ...]] = (
        Fault(SECRET_REPLICA_OUT_OF_SYNC,
              "The prod/orders/db-credentials secret's eu-central-1 replica reports Status Failed with a "
              "StatusMessage; its value can still be read."),
        Fault(SECRET_ROTATION_OFF,
              "The prod/orders/db-credentials secret's rotation is disabled (RotationEnabled false, no "
              "NextRotationDate); its rotation Lambda and rules are kept."),
    )
    clock_modules = ("moto.secretsmanager.models",)

    def clock_patches(self) -> Iterable[Patch]:
        yield from super().clock_patches()
        # moto stamps secrets with time.time(): give its module a `time` that tells world time.
        module = importlib.import_module("moto.secretsmanager.models")
        world_time = SimpleNamespace(time=lambda: unix_time(self.world.now()))
        yield replace_attribute(module, "time", lambda original: world_time)

    def patches(self) -> Iterable[Patch]:
        return (
            calling_patch(SecretsManagerResponse),
            wrap_method(FakeSecret, "create_replicas", _create_replicas),
            wrap_method(ReplicaSecret, "to_dict", _replica_to_dict),
            wrap_method(SecretsManagerBackend, "get_secret_value", _get_secret_value),
        )


def _create_replicas(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_replicas(secret: FakeSecret, replica_regions: list[dict[str, str]], force_overwrite: bool) -> Any:
        replicas = original(secret, replica_regions, force_overwrite)
        keep_replica_keys(secret, replicas, list(replica_regions or []))
        return replicas

    return create_replicas


def _replica_to_dict(original: Callable[..., Any]) -> Callable[..., Any]:
    def to_dict(replica: ReplicaSecret) -> dict[str, Any]:
        found = original(replica)
        key_ref = replica_key_ref(replica)
        if key_ref:
            found["KmsKeyId"] = key_ref
        else:
            found.pop("KmsKeyId", None)
        return found

    return to_dict


def _get_secret_value(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_secret_value(backend: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
        value = original(backend, secret_id, *args, **kwargs)
        request = current_request()
        if request is None:
            return value
        key_ref = replica_key_ref(backend.secrets[secret_id])
        if key_ref is None:
            return value
        key = find_key(key_ref, backend.region_name, backend.account_id)
        if key is None:
            raise DecryptionFailure(f"The KMS key {key_ref} does not exist in {backend.region_name}.")
        if key.key_manager != "CUSTOMER":
            return value
        if not evaluate(key, "kms:Decrypt", request.caller, backend.region_name).allowed:
            raise SecretsAccessDenied()
        if key.key_state != "Enabled":
            raise DecryptionFailure(f"The KMS key {key.arn} is {key.key_state}.")
        return value

    return get_secret_value

"""KMS key state enforcement: moto lets disabled and pending-deletion keys keep working; AWS does not."""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterable

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.kms.models import Key, KmsBackend, kms_backends
from moto.rds.exceptions import KMSKeyNotAccessibleFault

from drtool.sandbox.faults import Fault
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, wrap_method

DR_KEY_DISABLED = "dr-key-disabled"


class DisabledException(JsonRESTError):
    code = 400

    def __init__(self, key_arn: str):
        super().__init__("DisabledException", f"{key_arn} is disabled.")


class KMSInvalidStateException(JsonRESTError):
    code = 400

    def __init__(self, key_arn: str):
        super().__init__("KMSInvalidStateException", f"{key_arn} is pending deletion.")


def region_of(key_ref: str, default_region: str) -> str:
    """Keys are regional: an ARN names its region, a bare id or alias means the caller's region."""
    if key_ref.startswith("arn:"):
        return key_ref.split(":")[3]
    return default_region


def find_key(key_ref: str, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Key | None:
    """Resolve a key id, key ARN, alias name or alias ARN to moto's key, or None if there is none."""
    backend = kms_backends[account_id][region_of(key_ref, region)]
    try:
        return backend.keys.get(backend.any_id_to_key_id(key_ref))
    except (KeyError, TypeError, AttributeError):
        return None


def require_usable(key: Key) -> None:
    """For KMS API calls (Encrypt, Decrypt, GenerateDataKey, ReEncrypt)."""
    if key.key_state == "Disabled":
        raise DisabledException(key.arn)
    if key.key_state != "Enabled":
        raise KMSInvalidStateException(key.arn)


def require_usable_by_rds(key_ref: str | None, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
    """For RDS copies and restores: RDS reports any unusable key as KMSKeyNotAccessibleFault."""
    if not key_ref:
        return
    key = find_key(key_ref, region, account_id)
    if key is None or key.key_state != "Enabled":
        raise KMSKeyNotAccessibleFault(key_ref)


class KmsModel(QueuedModel):
    """Refuses cryptographic use of keys that are not enabled, the way AWS does. Nothing in KMS takes time."""

    name = "kms"
    # The seed applies it: it is a state of the seeded world, not a behaviour of KMS.
    faults: ClassVar[tuple[Fault, ...]] = (
        Fault(DR_KEY_DISABLED, "The DR-region alias/dr-rds and alias/dr-s3 KMS keys are disabled: DR restores, "
                               "copies and S3 replication fail."),
    )
    clock_modules = ("moto.kms.models",)

    def patches(self) -> Iterable[Patch]:
        return (wrap_method(KmsBackend, "encrypt", _encrypt), wrap_method(KmsBackend, "decrypt", _decrypt))


def _encrypt(original: Callable[..., Any]) -> Callable[..., Any]:
    # GenerateDataKey and ReEncrypt go through encrypt in moto, so this covers them too.
    def encrypt(backend: KmsBackend, key_id: str, *args: Any, **kwargs: Any) -> Any:
        require_usable(backend.keys[backend.any_id_to_key_id(key_id)])
        return original(backend, key_id, *args, **kwargs)

    return encrypt


def _decrypt(original: Callable[..., Any]) -> Callable[..., Any]:
    # The key is known only once the ciphertext is opened, so check afterwards.
    def decrypt(backend: KmsBackend, *args: Any, **kwargs: Any) -> Any:
        plaintext, key_arn = original(backend, *args, **kwargs)
        require_usable(backend.keys[backend.any_id_to_key_id(key_arn)])
        return plaintext, key_arn

    return decrypt

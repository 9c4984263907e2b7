"""KMS as AWS runs it, where moto does not.

- Key state: disabled and pending-deletion keys refuse cryptographic use.
- Key policies: Encrypt, Decrypt, GenerateDataKey*, ReEncrypt, DescribeKey and GetKeyPolicy are judged against the
  key policy (and, where it delegates to the account, the caller's IAM policies) for the request's caller
  (`drtool.sandbox.key_policy`, `drtool.sandbox.principals`), with IAM enforcement on or off.
- Multi-region keys: a replica shares key id and key material with its primary and decrypts what the primary
  encrypted (moto truncates an `mrk-` id in its ciphertext, so no MRK could decrypt anything). Each side keeps its
  own MultiRegionConfiguration view, key policy, description, tags, aliases, grants and state; ReplicateKey's Policy,
  Description and Tags are honoured. Automatic rotation is shared, as AWS shares it: a replica reports its primary's
  setting and refuses to change it.
- Rotation: EnableKeyRotation takes RotationPeriodInDays; GetKeyRotationStatus reports the period and the next
  rotation in world time; automatic rotations happen when due and are listed by ListKeyRotations.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Iterable

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.kms import utils as kms_utils
from moto.kms.models import Key, KmsBackend, kms_backends
from moto.kms.responses import KmsResponse
from moto.rds.exceptions import KMSKeyNotAccessibleFault

from drtool.sandbox.faults import Fault
from drtool.sandbox.key_policy import AccessDeniedException, authorize
from drtool.sandbox.model import QueuedModel
from drtool.sandbox.patches import Patch, wrap_method
from drtool.sandbox.principals import calling_patch, current_request

DR_KEY_DISABLED = "dr-key-disabled"
DR_KEY_POLICY_GRANTS_DENIED_ROLE = "dr-key-policy-grants-denied-role"
DR_REPLICA_MISSING_APP_GRANT = "dr-replica-missing-app-grant"
ROTATION_OFF = "rotation-off"

DEFAULT_ROTATION_PERIOD_DAYS = 365
ROTATION_PERIOD_RANGE = (90, 2560)

# The IAM action each KMS operation needs of the key it encrypts under, and of the key that decrypts.
_ENCRYPT_ACTIONS = {"Encrypt": "kms:Encrypt", "GenerateDataKey": "kms:GenerateDataKey",
                    "GenerateDataKeyWithoutPlaintext": "kms:GenerateDataKeyWithoutPlaintext",
                    "ReEncrypt": "kms:ReEncryptTo"}
_DECRYPT_ACTIONS = {"Decrypt": "kms:Decrypt", "ReEncrypt": "kms:ReEncryptFrom"}


class UnsupportedOperationException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("UnsupportedOperationException", message)


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




def authorize_request(key: Key, action: str) -> None:
    """Judge `action` on `key` for the API request being served; in-process calls are not judged."""
    request = current_request()
    if request is not None:
        authorize(key, action, request.caller, request.region)


# --- multi-region keys ---------------------------------------------------------------------------------------------


def primary_of(key: Key) -> Key:
    """A multi-region replica's primary (itself for any other key, or if the primary is gone)."""
    if not key.multi_region:
        return key
    primary_arn = key.multi_region_configuration["PrimaryKey"]["Arn"]
    if primary_arn == key.arn:
        return key
    return find_key(primary_arn, region_of(primary_arn, key.region), key.account_id) or key


def is_replica(key: Key) -> bool:
    return primary_of(key) is not key


def own_replica(primary: Key, replica: Key, creation_date: float) -> None:
    """Give a replica that moto made as a shallow copy of its primary its own per-region properties.

    Shared, as in AWS: key id, key material, key spec and usage, origin, rotation (read from the primary) and its
    rotation history. Its own: key policy (the default one unless ReplicateKey named one), description, aliases,
    grants, tags, key state, creation date, and its MultiRegionKeyType. Both see one list of replicas."""
    replicas = primary.multi_region_configuration["ReplicaKeys"]
    primary_ref = dict(primary.multi_region_configuration["PrimaryKey"])
    primary.multi_region_configuration = {"MultiRegionKeyType": "PRIMARY", "PrimaryKey": primary_ref,
                                          "ReplicaKeys": replicas}
    replica.multi_region_configuration = {"MultiRegionKeyType": "REPLICA", "PrimaryKey": dict(primary_ref),
                                          "ReplicaKeys": replicas}
    replica.aliases = {}
    replica.grants = {}
    replica.policy = replica.generate_default_policy()
    replica.description = ""
    replica.creation_date = creation_date
    replica.key_rotation_status = False  # never read: a replica reports its primary's


def _find_ciphertext_key(backend: KmsBackend, ciphertext_blob: bytes) -> Key | None:
    """The multi-region key a ciphertext names, when moto's fixed-width header cut its `mrk-` id short."""
    try:
        truncated = kms_utils._deserialize_ciphertext_blob(ciphertext_blob).key_id
    except Exception:
        return None
    if not truncated.startswith("mrk-") or truncated in backend.keys:
        return None
    found = [key for key_id, key in backend.keys.items() if key_id.startswith(truncated)]
    return found[0] if len(found) == 1 else None


# --- rotation ------------------------------------------------------------------------------------------------------


def rotation_period(key: Key) -> int:
    return int(getattr(primary_of(key), "rotation_period_in_days", DEFAULT_ROTATION_PERIOD_DAYS))


def set_rotation(key: Key, enabled: bool, now: datetime, period_days: int | None = None,
                 last_rotated: datetime | None = None) -> None:
    """Turn a (primary) key's automatic rotation on or off. The schedule counts from `last_rotated` (recorded as an
    automatic rotation) or else from now."""
    was_enabled = key.key_rotation_status
    key.key_rotation_status = enabled
    if period_days is not None:
        key.rotation_period_in_days = period_days
    if last_rotated is not None:
        key.rotations.append({"KeyId": key.arn, "RotationDate": unix_time(last_rotated), "RotationType": "AUTOMATIC"})
        key.rotation_anchor = last_rotated
    elif enabled and not was_enabled:
        key.rotation_anchor = now


def next_rotation(key: Key) -> datetime | None:
    primary = primary_of(key)
    if not primary.key_rotation_status:
        return None
    anchor = getattr(primary, "rotation_anchor", None) or datetime.fromtimestamp(
        primary.creation_date, timezone.utc).replace(tzinfo=None)
    return anchor + timedelta(days=rotation_period(primary))


def catch_up_rotations(key: Key, now: datetime) -> None:
    """Record the automatic rotations that fell due up to `now` (rotation keeps the key id; moto keeps one material)."""
    primary = primary_of(key)
    due = next_rotation(primary)
    while due is not None and due <= now:
        primary.rotations.append({"KeyId": primary.arn, "RotationDate": unix_time(due), "RotationType": "AUTOMATIC"})
        primary.rotation_anchor = due
        due = next_rotation(primary)


class KmsModel(QueuedModel):
    """Key state, key policies, multi-region keys and rotation as AWS has them. Nothing in KMS takes time."""

    name = "kms"
    # The seed applies them: they are states of the seeded world, not behaviours of KMS.
    faults: ClassVar[tuple[Fault, ...]] = (
        Fault(DR_KEY_DISABLED, "The DR-region alias/dr-rds and alias/dr-s3 KMS keys are disabled: DR restores, "
                               "copies and S3 replication fail."),
        Fault(DR_KEY_POLICY_GRANTS_DENIED_ROLE,
              "The DR-region alias/dr-secrets key (replica of the multi-region secrets key) also allows the "
              "analytics-readonly role kms:Decrypt in its key policy: a role that must never decrypt can."),
        Fault(DR_REPLICA_MISSING_APP_GRANT,
              "The DR-region alias/dr-secrets replica key's policy lacks the orders-app role's statement, unlike its "
              "primary: the application cannot use the key, or read the secret's replica, in the DR region."),
        Fault(ROTATION_OFF,
              "Automatic rotation is off for the multi-region alias/dr-secrets key: disabled on its primary, so its "
              "DR-region replica reports it off too (rotation is shared by MRKs)."),
    )
    clock_modules = ("moto.kms.models",)

    def patches(self) -> Iterable[Patch]:
        now = self.world.now
        return (
            calling_patch(KmsResponse),
            wrap_method(KmsBackend, "encrypt", _encrypt),
            wrap_method(KmsBackend, "decrypt", _decrypt),
            wrap_method(KmsBackend, "describe_key", _describe_key),
            wrap_method(KmsBackend, "get_key_policy", _get_key_policy),
            wrap_method(KmsBackend, "replicate_key", lambda original: _replicate_key(original, now)),
            wrap_method(KmsResponse, "replicate_key", _replicate_key_response),
            wrap_method(KmsBackend, "enable_key_rotation", lambda original: _rotation_switch(original, True, now)),
            wrap_method(KmsBackend, "disable_key_rotation", lambda original: _rotation_switch(original, False, now)),
            wrap_method(KmsBackend, "get_key_rotation_status", _get_key_rotation_status),
            wrap_method(KmsResponse, "enable_key_rotation", _enable_key_rotation_response),
            wrap_method(KmsResponse, "get_key_rotation_status", lambda original: _rotation_status_response(original, now)),
            wrap_method(KmsBackend, "list_key_rotations", lambda original: _list_key_rotations(original, now)),
        )


def _encrypt(original: Callable[..., Any]) -> Callable[..., Any]:
    # GenerateDataKey and ReEncrypt go through encrypt in moto, so this covers them too.
    def encrypt(backend: KmsBackend, key_id: str, *args: Any, **kwargs: Any) -> Any:
        key = backend.keys[backend.any_id_to_key_id(key_id)]
        request = current_request()
        if request is not None and request.operation in _ENCRYPT_ACTIONS:
            authorize(key, _ENCRYPT_ACTIONS[request.operation], request.caller, request.region)
        require_usable(key)
        return original(backend, key_id, *args, **kwargs)

    return encrypt


def _decrypt(original: Callable[..., Any]) -> Callable[..., Any]:
    # The key is known only once the ciphertext is opened, so check afterwards.
    def decrypt(backend: KmsBackend, ciphertext_blob: bytes, encryption_context: dict[str, str],
                key_id: str | None = None) -> tuple[bytes, str]:
        mrk = _find_ciphertext_key(backend, ciphertext_blob)
        if mrk is None:
            plaintext, key_arn = original(backend, ciphertext_blob, encryption_context, key_id)
            key = backend.keys[backend.any_id_to_key_id(key_arn)]
        else:
            if key_id is not None and backend.any_id_to_key_id(key_id) != mrk.id:
                raise AccessDeniedException(
                    "The ciphertext refers to a customer master key that does not exist, "
                    "does not exist in this region, or you are not allowed to access.")
            truncated = kms_utils._deserialize_ciphertext_blob(ciphertext_blob).key_id
            plaintext, _ = kms_utils.decrypt({truncated: mrk}, ciphertext_blob, encryption_context)
            key = mrk
        request = current_request()
        if request is not None and request.operation in _DECRYPT_ACTIONS:
            authorize(key, _DECRYPT_ACTIONS[request.operation], request.caller, request.region)
        require_usable(key)
        return plaintext, key.arn

    return decrypt


def _describe_key(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_key(backend: KmsBackend, key_id: str) -> Key:
        key = original(backend, key_id)
        request = current_request()
        if request is not None and request.operation == "DescribeKey":
            authorize(key, "kms:DescribeKey", request.caller, request.region)
        return key

    return describe_key


def _get_key_policy(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_key_policy(backend: KmsBackend, key_id: str) -> str:
        request = current_request()
        if request is not None and request.operation == "GetKeyPolicy":
            authorize(backend.keys[backend.get_key_id(key_id)], "kms:GetKeyPolicy", request.caller, request.region)
        return original(backend, key_id)

    return get_key_policy


def _replicate_key(original: Callable[..., Any], now: Callable[[], datetime]) -> Callable[..., Any]:
    def replicate_key(backend: KmsBackend, key_id: str, replica_region: str) -> Key:
        primary = backend.keys[backend.any_id_to_key_id(key_id)]
        if not primary.multi_region or is_replica(primary):
            raise UnsupportedOperationException(f"{primary.arn} is not a multi-Region primary key.")
        if primary.id in kms_backends[backend.account_id][replica_region].keys:
            raise JsonRESTError("AlreadyExistsException",
                                f"Replica key of {primary.arn} already exists in {replica_region}.")
        replica = original(backend, key_id, replica_region)
        own_replica(primary, replica, unix_time(now()))
        return replica

    return replicate_key


def _replicate_key_response(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto ignores ReplicateKey's Policy, Description and Tags, and answers with a default policy.
    def replicate_key(response: KmsResponse) -> str:
        metadata = json.loads(original(response))["ReplicaKeyMetadata"]
        backend = kms_backends[response.current_account][response._get_param("ReplicaRegion")]
        replica = backend.keys[metadata["KeyId"]]
        if response._get_param("Policy"):
            replica.policy = response._get_param("Policy")
        if response._get_param("Description") is not None:
            replica.description = response._get_param("Description")
        tags = response._get_param("Tags") or []
        if tags:
            backend.tagger.tag_resource(replica.id, tags)
        return json.dumps({"ReplicaKeyMetadata": replica.to_dict()["KeyMetadata"], "ReplicaPolicy": replica.policy,
                           "ReplicaTags": tags})

    return replicate_key


def _rotation_switch(original: Callable[..., Any], enabled: bool, now: Callable[[], datetime]) -> Callable[..., Any]:
    def switch(backend: KmsBackend, key_id: str) -> None:
        key = backend.keys[backend.get_key_id(key_id)]
        if is_replica(key):
            raise UnsupportedOperationException(
                f"{key.arn} is a multi-Region replica key: automatic rotation is set on its primary key.")
        set_rotation(key, enabled, now())

    return switch


def _get_key_rotation_status(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_key_rotation_status(backend: KmsBackend, key_id: str) -> bool:
        return primary_of(backend.keys[backend.get_key_id(key_id)]).key_rotation_status

    return get_key_rotation_status


def _enable_key_rotation_response(original: Callable[..., Any]) -> Callable[..., Any]:
    def enable_key_rotation(response: KmsResponse) -> str:
        period = response._get_param("RotationPeriodInDays")
        low, high = ROTATION_PERIOD_RANGE
        if period is not None and not low <= int(period) <= high:
            raise JsonRESTError("ValidationException", f"1 validation error detected: Value '{period}' at "
                                f"'rotationPeriodInDays' failed to satisfy constraint: Member must have value "
                                f"between {low} and {high}")
        answer = original(response)
        backend = response.kms_backend
        key = backend.keys[backend.get_key_id(response._get_param("KeyId"))]
        key.rotation_period_in_days = int(period) if period is not None else DEFAULT_ROTATION_PERIOD_DAYS
        return answer

    return enable_key_rotation


def _rotation_status_response(original: Callable[..., Any], now: Callable[[], datetime]) -> Callable[..., Any]:
    def get_key_rotation_status(response: KmsResponse) -> str:
        body = json.loads(original(response))
        backend = response.kms_backend
        key = backend.keys[backend.get_key_id(response._get_param("KeyId"))]
        catch_up_rotations(key, now())
        body["KeyId"] = key.arn
        if body.get("KeyRotationEnabled"):
            body["RotationPeriodInDays"] = rotation_period(key)
            upcoming = next_rotation(key)
            if upcoming is not None:
                body["NextRotationDate"] = unix_time(upcoming)
        return json.dumps(body)

    return get_key_rotation_status


def _list_key_rotations(original: Callable[..., Any], now: Callable[[], datetime]) -> Callable[..., Any]:
    def list_key_rotations(backend: KmsBackend, key_id: str, *args: Any, **kwargs: Any) -> Any:
        catch_up_rotations(backend.keys[backend.get_key_id(key_id)], now())
        return original(backend, key_id, *args, **kwargs)

    return list_key_rotations

"""Wrappers around moto internals that route calls through the world model.

They are installed when a lab starts and removed when it stops, so importing
drtool never changes moto. Every wrapper consults the one active world.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.kms.models import KmsBackend
from moto.rds.models import RDSBackend
from moto.rds.responses import RDSResponse
from moto.s3.models import FakeKey, S3Backend

from drtool.sandbox.s3_model import STATUS_ATTRIBUTE
from drtool.sandbox.throttle import ThrottlingError
from drtool.sandbox.world import World

_INHERITED = object()


class WorldPatches:
    """Installs and removes the world's moto patches; `world` can be swapped on reset."""

    def __init__(self, world: World):
        self.world = world
        # (class, attribute, original or _INHERITED when the class only inherits it)
        self._originals: list[tuple[type, str, Any]] = []

    @property
    def installed(self) -> bool:
        return bool(self._originals)

    def install(self) -> None:
        if self.installed:
            return
        self._wrap(RDSResponse, "call_action", self._rds_dispatch)
        self._wrap(RDSBackend, "restore_db_instance_from_db_snapshot", self._restore)
        self._wrap(RDSBackend, "copy_db_snapshot", self._copy_snapshot)
        self._wrap(RDSBackend, "delete_db_instance", self._delete_instance)
        self._wrap(KmsBackend, "encrypt", self._kms_encrypt)
        self._wrap(KmsBackend, "decrypt", self._kms_decrypt)
        self._wrap(S3Backend, "put_object", self._s3_put_object)
        self._wrap_property(FakeKey, "response_dict", self._s3_object_headers)

    def remove(self) -> None:
        for owner, name, original in reversed(self._originals):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._originals.clear()

    def _wrap(self, owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = getattr(owner, name)
        self._originals.append((owner, name, owner.__dict__.get(name, _INHERITED)))
        setattr(owner, name, functools.wraps(original)(make(original)))

    def _wrap_property(self, owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = owner.__dict__[name]
        self._originals.append((owner, name, original))
        setattr(owner, name, property(make(original.fget)))

    # --- RDS -------------------------------------------------------------------------------------

    def _rds_dispatch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        patches = self

        def call_action(response: RDSResponse) -> Any:
            world = patches.world
            if world.throttle is not None:
                try:
                    world.throttle.admit(response.current_account, response.region)
                except ThrottlingError as error:
                    status, headers, body = response.serialized(ActionResult(error))
                    headers["status"] = status
                    return status, *response._enrich_response(headers, body)
            # Serialise API calls with the world thread, which mutates the same backends.
            with world.lock:
                return original(response)

        return call_action

    def _restore(self, original: Callable[..., Any]) -> Callable[..., Any]:
        patches = self

        def restore(backend: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
            rds = patches.world.rds
            snapshot = rds.check_restore(backend, from_snapshot_id, overrides)
            events_before = len(backend.events)
            instance = original(backend, from_snapshot_id, overrides)
            rds.start_restore(backend, instance, snapshot, events_before)
            return instance

        return restore

    def _copy_snapshot(self, original: Callable[..., Any]) -> Callable[..., Any]:
        patches = self

        def copy(backend: RDSBackend, source_db_snapshot_identifier: str, target_db_snapshot_identifier: str,
                 kms_key_id: str | None = None, **kwargs: Any) -> Any:
            rds = patches.world.rds
            source = rds.check_copy(backend, source_db_snapshot_identifier, kms_key_id)
            copied = original(backend, source_db_snapshot_identifier, target_db_snapshot_identifier,
                              kms_key_id=kms_key_id, **kwargs)
            rds.start_copy(backend, copied, source, source_db_snapshot_identifier)
            return copied

        return copy

    def _delete_instance(self, original: Callable[..., Any]) -> Callable[..., Any]:
        patches = self

        def delete(backend: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
            rds = patches.world.rds
            rds.check_delete(backend, db_instance_identifier)
            instance = original(backend, db_instance_identifier, *args, **kwargs)
            rds.start_delete(backend, instance)
            return instance

        return delete

    # --- KMS -------------------------------------------------------------------------------------

    def _kms_encrypt(self, original: Callable[..., Any]) -> Callable[..., Any]:
        # GenerateDataKey and ReEncrypt go through encrypt in moto, so this covers them too.
        patches = self

        def encrypt(backend: KmsBackend, key_id: str, *args: Any, **kwargs: Any) -> Any:
            patches.world.keys.require_usable(backend.keys[backend.any_id_to_key_id(key_id)])
            return original(backend, key_id, *args, **kwargs)

        return encrypt

    def _kms_decrypt(self, original: Callable[..., Any]) -> Callable[..., Any]:
        # The key is known only once the ciphertext is opened, so check afterwards.
        patches = self

        def decrypt(backend: KmsBackend, *args: Any, **kwargs: Any) -> Any:
            plaintext, key_arn = original(backend, *args, **kwargs)
            patches.world.keys.require_usable(backend.keys[backend.any_id_to_key_id(key_arn)])
            return plaintext, key_arn

        return decrypt

    # --- S3 --------------------------------------------------------------------------------------

    def _s3_put_object(self, original: Callable[..., Any]) -> Callable[..., Any]:
        patches = self

        def put_object(backend: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
            key = original(backend, bucket_name, key_name, *args, **kwargs)
            with patches.world.lock:
                patches.world.replication.on_put(bucket_name, key)
            return key

        return put_object

    def _s3_object_headers(self, original_getter: Callable[[FakeKey], dict[str, Any]]) -> Callable[[FakeKey], Any]:
        def response_dict(key: FakeKey) -> dict[str, Any]:
            headers = original_getter(key)
            status = getattr(key, STATUS_ATTRIBUTE, None)
            if status is not None:
                headers["x-amz-replication-status"] = status
            return headers

        return response_dict

"""While a drill runs, every botocore client in the process passes through the run's hooks.

A team's step module can build clients drtool never hands out: `boto3.client`, `boto3.resource`,
`boto3.Session(...).client`, a raw `botocore.session`, the run's own `aws.session`. For the run's duration
`BaseClient._make_api_call`, which every API method, paginator, waiter and resource action goes through, is
wrapped: before a client's first call the run's hooks (guard, call counts, region) are attached to it, once.
So a client made before the run started (a module-level client in a step module) is covered too.

Not covered: a client already checked by a drtool guard (the run's own factories, and drtool's own-records
clients for history, evidence and the run lock, which keep their own guard); requests made without a botocore
client (a presigned URL given to another HTTP library, raw sockets); other processes.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

import botocore.client

ClientHook = Callable[[Any, str, str], None]

_GUARDED: "weakref.WeakSet[Any]" = weakref.WeakSet()  # clients a drtool guard already checks
_lock = threading.Lock()
_active: tuple[ClientHook, ...] | None = None
_original: Callable[..., Any] | None = None


def mark_guarded(client: Any) -> None:
    """A guard attached itself to this client: the process-wide hook leaves it alone."""
    with _lock:
        _GUARDED.add(client)


def _hook_once(client: Any) -> None:
    with _lock:
        hooks = _active
        if hooks is None or client in _GUARDED:
            return
        _GUARDED.add(client)
    region = client.meta.region_name or ""
    service = client.meta.service_model.service_name
    for hook in hooks:
        hook(client, service, region)


class ProcessHooks:
    """Install with `install()`, remove with `remove()`; one run's hooks at a time."""

    def __init__(self, hooks: list[ClientHook]):
        self.hooks = tuple(hooks)

    def install(self) -> "ProcessHooks":
        global _active, _original
        with _lock:
            _active = self.hooks  # one run per process: a later run's hooks replace an unended one's
            if _original is None:
                _original = botocore.client.BaseClient._make_api_call
                original = _original

                def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
                    if _active is not None:
                        _hook_once(client)
                    return original(client, operation_name, api_params)

                botocore.client.BaseClient._make_api_call = _make_api_call
        return self

    def remove(self) -> None:
        global _active, _original
        with _lock:
            if _active is not self.hooks:
                return
            _active = None
            if _original is not None:
                botocore.client.BaseClient._make_api_call = _original
                _original = None

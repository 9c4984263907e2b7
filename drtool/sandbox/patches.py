"""Patches to moto internals, as values: the service models declare them, a `Patcher` installs and removes them.

They are installed when a lab starts and removed when it stops, so importing
drtool never changes moto. Which service gets which patch is the models'
business (`drtool.sandbox.model`); nothing here names a service.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable

_INHERITED = object()

Make = Callable[[Any], Any]  # the original -> its replacement


@dataclass(frozen=True)
class Patch:
    """Replace `owner.name` (a class's method or property, or a module's attribute) with `make(original)`."""

    owner: Any
    name: str
    make: Make
    kind: str = "method"  # "method", "property" (make wraps the getter) or "attribute"


def wrap_method(owner: type, name: str, make: Make) -> Patch:
    return Patch(owner, name, make, "method")


def wrap_property(owner: type, name: str, make: Make) -> Patch:
    return Patch(owner, name, make, "property")


def replace_attribute(owner: Any, name: str, make: Make) -> Patch:
    return Patch(owner, name, make, "attribute")


class Patcher:
    """Installs patches and puts every original back on `remove`, in reverse order."""

    def __init__(self) -> None:
        # (owner, attribute, original or _INHERITED when a class only inherits it)
        self._originals: list[tuple[Any, str, Any]] = []

    @property
    def installed(self) -> bool:
        return bool(self._originals)

    def install(self, patches: Iterable[Patch]) -> None:
        for patch in patches:
            self._apply(patch)

    def remove(self) -> None:
        for owner, name, original in reversed(self._originals):
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._originals.clear()

    def _apply(self, patch: Patch) -> None:
        owner, name = patch.owner, patch.name
        if patch.kind == "property":
            original = owner.__dict__[name]
            self._originals.append((owner, name, original))
            setattr(owner, name, property(patch.make(original.fget)))
            return
        original = getattr(owner, name)
        if patch.kind == "method":
            self._originals.append((owner, name, owner.__dict__.get(name, _INHERITED)))
            setattr(owner, name, functools.wraps(original)(patch.make(original)))
        else:
            self._originals.append((owner, name, original))
            setattr(owner, name, patch.make(original))

"""Named faults a lab can inject, so a drill can be shown to catch each failure mode.

Each service model declares the faults it owns (`ServiceModel.faults`); this
module only validates names against what the registered models declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Fault:
    name: str
    description: str


def registered_faults(models: Iterable[type] | None = None) -> dict[str, Fault]:
    """Every fault the service models own (the registered ones unless `models` says), by name."""
    from drtool.sandbox.model import model_types  # the models import this module for `Fault`

    found: dict[str, Fault] = {}
    for model in model_types() if models is None else models:
        for fault in model.faults:
            if fault.name in found:
                raise ValueError(f"two sandbox service models claim the fault {fault.name!r}")
            found[fault.name] = fault
    return found


def validate_faults(names: Iterable[str], models: Iterable[type] | None = None) -> tuple[str, ...]:
    """Return the fault names unchanged (deduplicated, in order); raise ValueError for unknown ones."""
    chosen = tuple(dict.fromkeys(names))
    known = registered_faults(models)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; valid faults: {', '.join(sorted(known))}")
    return chosen

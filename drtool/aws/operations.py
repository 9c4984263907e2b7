"""A registry of drtool's AWS operations and the IAM actions each needs.

Each operation declares, next to its code, whether it changes the world and
which IAM actions it calls, so that `drtool plan` and `drtool permissions`
can be derived from the code rather than kept by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class OperationSpec:
    name: str
    service: str
    iam_actions: tuple[str, ...]
    mutating: bool
    summary: str


OPERATIONS: dict[str, OperationSpec] = {}


def operation(service: str, *iam_actions: str, mutating: bool = False) -> Callable[[F], F]:
    def register(func: F) -> F:
        summary = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else func.__name__
        spec = OperationSpec(f"{func.__module__}.{func.__name__}", service, tuple(iam_actions), mutating, summary)
        OPERATIONS[spec.name] = spec
        func.operation = spec  # type: ignore[attr-defined]
        return func

    return register

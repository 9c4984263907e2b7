"""A registry of drtool's AWS operations: the API each calls and the IAM actions each needs.

Each operation declares, next to its code, the API it calls, whether it
changes the world and every IAM action AWS checks for it, so that `drtool
plan`, `drtool permissions` and the guard's coverage can be derived from the
code rather than kept by hand. The API and the actions are named apart
because they differ: ListObjectVersions needs s3:ListBucketVersions, and a
restore also needs kms:CreateGrant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class OperationSpec:
    name: str
    service: str  # botocore's service name, as a client is made: "rds", "s3"
    api: str  # the API operation the request names, as botocore's model spells it: "ListObjectVersions"
    iam_actions: tuple[str, ...]  # every IAM action AWS checks for it: "s3:ListBucketVersions"
    mutating: bool
    summary: str


OPERATIONS: dict[str, OperationSpec] = {}


def operation(service: str, api: str, *, iam: tuple[str, ...] | list[str], mutating: bool = False) -> Callable[[F], F]:
    """`@operation("rds", "CopyDBSnapshot", iam=("rds:CopyDBSnapshot", "kms:CreateGrant"), mutating=True)`."""
    if ":" in api or not api[:1].isupper():
        raise ValueError(f"{api!r} is not an API name (like CopyDBSnapshot); IAM actions go in iam=(...)")
    if isinstance(iam, str) or not iam or any(action.count(":") != 1 for action in iam):
        raise ValueError(f"{service}:{api}: iam= is a non-empty tuple of IAM actions like 'rds:CopyDBSnapshot'")

    def register(func: F) -> F:
        summary = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else func.__name__
        spec = OperationSpec(f"{func.__module__}.{func.__name__}", service, api, tuple(iam), mutating, summary)
        OPERATIONS[spec.name] = spec
        func.operation = spec  # type: ignore[attr-defined]
        return func

    return register


# --- which operations a function may invoke -----------------------------------
#
# Drill logic and steps declare their calls with `@calls(...)`, so the plan and
# the IAM policy of a drill follow the code. A call site names the region whose
# client it uses (the primary's or the DR region's); a bare callee runs in its
# caller's region. Either side may be a teardown (an RDS copy is removed in the
# DR region, an S3 canary in the primary). `tests/safety` checks the
# declarations against the code.

PRIMARY = "primary"
DR = "dr"


@dataclass(frozen=True)
class CallSite:
    callee: Callable | str  # an @operation, a @calls function, or the name of one in the caller's module
    region: str | None = None  # PRIMARY or DR; None: the caller's region
    only_if: str | None = None  # the condition under which the call happens at all
    teardown: bool = False  # registered for teardown, so it runs when the scenario ends
    acting_as: str | None = None  # another principal makes the call ("each allowed principal"), not the drill's identity


def primary(callee: Callable | str, *, only_if: str | None = None, teardown: bool = False,
            acting_as: str | None = None) -> CallSite:
    return CallSite(callee, PRIMARY, only_if, teardown, acting_as)


def dr(callee: Callable | str, *, only_if: str | None = None, teardown: bool = False,
       acting_as: str | None = None) -> CallSite:
    return CallSite(callee, DR, only_if, teardown, acting_as)


def calls(*sites: Callable | str | CallSite) -> Callable[[F], F]:
    """Declare every operation (or declared function) the decorated function may invoke; `@calls()` for none."""

    def declare(func: F) -> F:
        func.declared_calls = tuple(s if isinstance(s, CallSite) else CallSite(s) for s in sites)  # type: ignore[attr-defined]
        return func

    return declare


@dataclass(frozen=True)
class ReachedOperation:
    spec: OperationSpec
    region: str  # PRIMARY or DR
    conditions: tuple[str, ...]  # every `only_if` on the way, outermost first
    teardown: bool
    path: tuple[str, ...]  # function names from the declaring function to the operation
    acting_as: str | None = None  # the principal that makes it, when not the drill's own identity


class UndeclaredCall(LookupError):
    pass


def is_declared(func: Callable) -> bool:
    return hasattr(func, "declared_calls") or hasattr(func, "operation")


def reachable_operations(func: Callable, region: str | None = None) -> list[ReachedOperation]:
    """Every operation `func` may invoke, directly or through declared functions, in declaration order."""
    found: dict[tuple, ReachedOperation] = {}
    _walk(func, region, (), False, (), found, None)
    return list(found.values())


def _walk(func: Callable, region: str | None, conditions: tuple[str, ...], teardown: bool,
          path: tuple[str, ...], found: dict[tuple, ReachedOperation], acting_as: str | None) -> None:
    path = path + (func.__name__,)
    spec = getattr(func, "operation", None)
    if spec is not None:
        if region is None:
            raise UndeclaredCall(f"{' -> '.join(path)}: no region declared for this call (use primary() or dr())")
        reached = ReachedOperation(spec, region, conditions, teardown, path, acting_as)
        found.setdefault((spec.name, region, conditions, teardown, acting_as), reached)
        return
    sites = getattr(func, "declared_calls", None)
    if sites is None:
        raise UndeclaredCall(f"{' -> '.join(path)}: neither an @operation nor declared with @calls")
    if func.__name__ in path[:-1]:
        raise UndeclaredCall(f"{' -> '.join(path)}: declared calls form a cycle")
    for site in sites:
        callee = func.__globals__[site.callee] if isinstance(site.callee, str) else site.callee
        _walk(
            callee,
            site.region or region,
            conditions + ((site.only_if,) if site.only_if else ()),
            teardown or site.teardown,
            path,
            found,
            site.acting_as or acting_as,
        )

"""The step library: thin pytest-bdd glue over drtool's operations. No AWS calls of its own.

A drill's steps come from drtool's target steps, each registered family's step
module, and the modules the drill file itself names (`steps:`), found the way
pytest finds them once the module is registered as a plugin: in its namespace.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

from drtool.core.registry import families

TARGET_STEPS = "drtool.drill.target_steps"


def step_modules() -> tuple[str, ...]:
    """The steps that pick a target, then each registered family's own."""
    return (TARGET_STEPS, *(family.step_module for family in families()))


@lru_cache(maxsize=None)
def module_steps(name: str) -> tuple[StepFunctionContext, ...]:
    """The pytest-bdd steps a module defines (it is imported): the step fixtures pytest-bdd put in its namespace."""
    found = []
    for value in vars(importlib.import_module(name)).values():
        try:
            context = step_function_context_registry.get(getattr(value, "__wrapped__", None))
        except TypeError:  # not weak-referenceable, so not a step fixture
            continue
        if context is not None:
            found.append(context)
    return tuple(found)


def step_library(extra_modules: tuple[str, ...] = ()) -> tuple[StepFunctionContext, ...]:
    """Every step a drill can use: drtool's and the families', then the drill file's own `steps` modules."""
    return tuple(context for name in dict.fromkeys((*step_modules(), *extra_modules)) for context in module_steps(name))

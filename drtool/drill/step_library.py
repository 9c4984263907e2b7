"""The step library: thin pytest-bdd glue over drtool's operations. No AWS calls of its own."""

from __future__ import annotations

from drtool.core.registry import families

TARGET_STEPS = "drtool.drill.target_steps"


def step_modules() -> tuple[str, ...]:
    """The steps that pick a target, then each registered family's own."""
    return (TARGET_STEPS, *(family.step_module for family in families()))

"""The step library: thin pytest-bdd glue over drtool's operations. No AWS calls of its own."""

STEP_MODULES = ("drtool.steps.targets", "drtool.steps.rds")

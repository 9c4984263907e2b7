"""The step library: thin pytest-bdd glue over drtool's operations. No AWS calls of its own."""

STEP_MODULES = ("drtool.drill.target_steps", "drtool.families.rds_instance.steps")

"""Custom steps for the toy drill: check the drill parameter carries this run's tags.

It declares its own operation and its calls, so `drtool plan` and `drtool permissions` include them.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import then

from drtool.core.operations import calls, dr, operation
from drtool.core.run import TargetRun
from drtool.core.tagging import RUN_ID_KEY, tags_to_dict
from drtool.core.verdicts import Verdict


@operation("ssm", "ListTagsForResource", iam=("ssm:ListTagsForResource",))
def parameter_tags(ssm: Any, name: str) -> dict[str, str]:
    """A parameter's tags."""
    return tags_to_dict(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"])


@then("the drill parameter carries this run's tags")
@calls(dr(parameter_tags))
def tagged_for_the_run(target: TargetRun, written) -> None:
    region = target.run.drill.dr_region
    tags = parameter_tags(target.client("ssm", region), written.name)
    assert tags.get(RUN_ID_KEY) == target.run.run_id, f"{written.name} is tagged {tags}"
    target.note(f"{target.name}: {written.name} tagged {RUN_ID_KEY}={tags[RUN_ID_KEY]}")


@then("the drill parameter's earlier versions are checked")
@calls()
def earlier_versions(target: TargetRun, written) -> None:
    # A check that does not apply to this target ends the scenario as skipped, with the reason, not as met.
    Verdict.skipped(f"{target.name}: {written.name} was written once by this drill; it has no earlier versions").enforce()

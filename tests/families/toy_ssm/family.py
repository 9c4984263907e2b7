"""The ssm-parameter toy family: target model, operations, cleanup, guard rules and grants, declared as drtool asks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from drtool.core.grants import (
    DRILL_NAMES,
    REQUEST_TAGGED,
    RESOURCE_TAGGED,
    Grant,
    Scope,
    everywhere,
)
from drtool.core.events import Event, event
from drtool.core.guard import create_in_dr, delete_drill_resource, exists_by_describe
from drtool.core.leftovers import Leftover, RemovalPhase, age, tagged_time
from drtool.core.model import Duration, Strict
from drtool.core.operations import operation
from drtool.core.registry import Family, PreflightProbe, ResourceKind
from drtool.core.results import on_timeline
from drtool.core.tagging import (
    RUN_ID_KEY,
    is_drill_tagged,
    run_id_from_name,
    tags_to_dict,
)

KIND = "ssm-parameter"
FEATURE = Path(__file__).with_name("ssm_parameter.feature")


def _parameter_tags(guard, call, name):
    """A parameter's tags read back from AWS, so the guard can prove a delete is this run's."""
    try:
        listed = guard.lookup("ssm", call.region).list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
    except Exception:  # not found, or not readable: ownership is not proven
        return None
    return {t["Key"]: t["Value"] for t in listed.get("TagList", [])}


class ToyObjectives(Strict):
    max_lag: Duration = Field(description="Longest a written parameter may take to read back in the DR region.")


class SsmParameterTarget(Strict):
    kind: Literal["ssm-parameter"]
    value: str = "drill"
    objectives: ToyObjectives


@operation("ssm", "PutParameter", iam=("ssm:PutParameter", "ssm:AddTagsToResource"), mutating=True)
def put_parameter(ssm: Any, name: str, value: str, tags: list[dict[str, str]]) -> None:
    """Write a new drill parameter, tagged as it is created."""
    ssm.put_parameter(Name=name, Value=value, Type="String", Tags=tags)


@operation("ssm", "GetParameter", iam=("ssm:GetParameter",))
def get_parameter(ssm: Any, name: str) -> str | None:
    """A parameter's value, or None while it cannot be read."""
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None


@operation("ssm", "DeleteParameter", iam=("ssm:DeleteParameter",), mutating=True)
def delete_parameter(ssm: Any, name: str) -> bool:
    """Delete a drill parameter; False if it was already gone."""
    try:
        ssm.delete_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


@operation("ssm", "DescribeParameters", iam=("ssm:DescribeParameters", "ssm:ListTagsForResource"))
def drill_parameters(ssm: Any, region: str, now: datetime) -> list[Leftover]:
    """Every drill-named parameter in a region, with its tags."""
    found = []
    pages = ssm.get_paginator("describe_parameters").paginate(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [DRILL_NAMES.rstrip("*")]}])
    for parameter in (parameter for page in pages for parameter in page["Parameters"]):
        name = parameter["Name"]
        tags = tags_to_dict(ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"])
        created_at = parameter.get("LastModifiedDate") or tagged_time(tags)
        found.append(Leftover(KIND, name, region, parameter.get("ARN"), tags.get(RUN_ID_KEY) or run_id_from_name(name),
                              created_at, age(created_at, now), "present", is_drill_tagged(tags)))
    return found


@event("parameter-read-back")
@dataclass(frozen=True, kw_only=True)
class ParameterReadBack(Event):
    """The toy's own journal event: the core's results learn it only through the handler below."""

    test: str
    target: str
    name: str
    reads: int


def _parameters_in_dr(sid: str, condition: dict | None = None):
    def rule(scope: Scope) -> list[Grant]:
        return [Grant(sid, (scope.arn("ssm", scope.drill.dr_region, f"parameter/{DRILL_NAMES}"),), condition)]

    return rule


FAMILY = Family(
    kind=KIND,
    target_model=SsmParameterTarget,
    step_module="tests.families.toy_ssm.steps",
    features=(str(FEATURE),),
    preflight=(PreflightProbe("ssm", "describe_parameters", {"MaxResults": 1}),),
    creates=(
        ResourceKind(KIND, "ssm", find=drill_parameters, phase=RemovalPhase.OBJECTS, created_by=put_parameter.operation.name,
                     remove=lambda ssm, leftover, clock: delete_parameter(ssm, leftover.identifier),
                     cost=lambda target: "standard parameters: free"),
    ),
    grants={
        "ssm:PutParameter": _parameters_in_dr("WriteDrillParameters", REQUEST_TAGGED),
        "ssm:AddTagsToResource": _parameters_in_dr("WriteDrillParameters", REQUEST_TAGGED),
        "ssm:GetParameter": _parameters_in_dr("ReadDrillParameters"),
        "ssm:ListTagsForResource": _parameters_in_dr("ReadDrillParameters"),  # cleanup's listing, and custom steps
        "ssm:DeleteParameter": _parameters_in_dr("DeleteDrillParameters", RESOURCE_TAGGED),
        "ssm:DescribeParameters": everywhere("ListParameters"),
    },
    guard_rules={
        ("ssm", "PutParameter"): create_in_dr("Name", exists_by_describe("ssm", "get_parameter", "Name", "Parameter")),
        ("ssm", "DeleteParameter"): delete_drill_resource("Name", _parameter_tags),
    },
    figures=("write-read",),
    events=(ParameterReadBack,),
    result_handlers={ParameterReadBack: on_timeline("{name} read back after {reads} read(s)")},
)

"""`drtool plan`: what a drill would do, derived from the code's declared calls, without calling AWS.

For every scenario and target it lists the steps in order, the AWS calls each
step may make (read or MUTATING, in which region, and under which condition),
the teardown calls, and the resources the drill would create with a rough
hourly cost. The same model feeds `drtool permissions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from _pytest.mark.expression import Expression
from pytest_bdd.parser import FeatureParser, ScenarioTemplate

from drtool.commands.publish import cloudwatch_region
from drtool.core import preflight as preflight_module
from drtool.core.operations import (
    PRIMARY,
    ReachedOperation,
    UndeclaredCall,
    reachable_operations,
)
from drtool.core.registry import FamilyRegistry, ResourceKind, families
from drtool.core.tagging import resource_name
from drtool.drill.file import Drill, LoadedDrill
from drtool.drill.target_steps import EACH_TARGET_STEP, NAMED_TARGET_STEP
from drtool.drill.step_library import step_library
from drtool.services.cloudwatch.publish import put_metric_data
from drtool.services.sns.publish import publish_message

RUN_ID_PLACEHOLDER = "<run-id>"
# Who assumes the drill file's aws.role_arn: the credential chain the run starts with (a profile, the scheduler's role).
STARTING_IDENTITY = "the identity that starts the drill"
_EACH = re.compile(EACH_TARGET_STEP)
_NAMED = re.compile(NAMED_TARGET_STEP)

@dataclass(frozen=True)
class PlannedCall:
    service: str
    api: str
    region: str
    mutating: bool
    iam_actions: tuple[str, ...]
    only_if: tuple[str, ...] = ()
    acting_as: str | None = None  # made as another principal, whose own policies must allow it, not the drill's

    def line(self) -> str:
        kind = "MUTATING" if self.mutating else "read"
        condition = f"  only if {'; and '.join(self.only_if)}" if self.only_if else ""
        principal = f"  as {self.acting_as}" if self.acting_as else ""
        return f"{kind:<8}  {self.service}:{self.api:<34} {self.region}{condition}{principal}"


@dataclass(frozen=True)
class PlannedStep:
    keyword: str
    text: str
    calls: tuple[PlannedCall, ...]


@dataclass(frozen=True)
class PlannedResource:
    kind: str
    name: str
    region: str
    only_if: tuple[str, ...]
    cost: str


@dataclass(frozen=True)
class ScenarioPlan:
    feature: str
    scenario: str
    target: str | None
    steps: tuple[PlannedStep, ...]
    teardown: tuple[PlannedCall, ...]
    resources: tuple[PlannedResource, ...]

    @property
    def title(self) -> str:
        return f"{self.scenario} [{self.target}]" if self.target else self.scenario

    def calls(self) -> list[PlannedCall]:
        return [call for step in self.steps for call in step.calls] + list(self.teardown)


@dataclass(frozen=True)
class DrillPlan:
    drill: Drill
    preflight: tuple[PlannedCall, ...]
    scenarios: tuple[ScenarioPlan, ...]
    publishing: tuple[PlannedCall, ...] = ()  # after the run, to the sinks the drill file names

    def calls(self) -> list[PlannedCall]:
        """Every call the drill's own identity makes (calls made as another principal are that principal's)."""
        return [call for call in self.all_calls() if call.acting_as is None]

    def all_calls(self) -> list[PlannedCall]:
        return [*self.preflight, *(call for scenario in self.scenarios for call in scenario.calls()), *self.publishing]

    def render(self) -> str:
        drill = self.drill
        lines = [
            f"Drill {drill.drill}: primary {drill.primary_region}, DR {drill.dr_region}. "
            "A plan only: no AWS call was made to make it.",
            "",
            "Preflight, once before any scenario:",
            *(f"  {call.line()}" for call in self.preflight),
        ]
        for scenario in self.scenarios:
            lines += ["", f"Scenario: {scenario.title}  ({scenario.feature})"]
            for step in scenario.steps:
                lines.append(f"  {step.keyword} {step.text}")
                lines += [f"    {call.line()}" for call in step.calls] or ["    no AWS call"]
            lines.append("  Teardown, whatever the outcome, newest resource first:")
            lines += [f"    {call.line()}" for call in scenario.teardown] or ["    nothing to tear down"]
            lines.append("  Creates (tagged created-by=drtool, deleted by teardown):")
            for resource in scenario.resources:
                condition = f", only if {'; and '.join(resource.only_if)}" if resource.only_if else ""
                lines.append(f"    {resource.kind} {resource.name} in {resource.region}{condition}; {resource.cost}")
            if not scenario.resources:
                lines.append("    nothing")
        if self.publishing:
            lines += ["", "After the run, publishing its results (a failure is a warning):",
                      *(f"  {'publish':<8}  {call.service}:{call.api:<34} {call.region}" for call in self.publishing)]
        return "\n".join(lines)


def build_plan(loaded: LoadedDrill) -> DrillPlan:
    """The plan of a drill file already checked by `check_drill_file`."""
    drill = loaded.drill
    scenarios: list[ScenarioPlan] = []
    for feature_path in loaded.feature_paths:
        feature = FeatureParser(str(feature_path.parent), feature_path.name).parse()
        for template in feature.scenarios.values():
            if not _selected(drill.tags, feature.tags | template.tags):
                continue
            for steps in _rendered_scenarios(template):
                for target in _targets_of(steps, drill):
                    scenarios.append(_plan_scenario(drill, feature_path, template.name, target, steps))
    return DrillPlan(drill, _preflight_calls(drill), tuple(scenarios), _publishing_calls(drill))


def _selected(expression: str | None, tags: set[str]) -> bool:
    # The same marker expression the plugin hands to pytest (`-m`).
    return not expression or Expression.compile(expression).evaluate(lambda name, **kwargs: name in tags)


def _rendered_scenarios(template: ScenarioTemplate) -> list[list]:
    contexts = [ctx for examples in template.examples for ctx in examples.as_contexts()] or [{}]
    return [template.render(context).steps for context in contexts]


def _targets_of(steps: list, drill: Drill) -> list[str | None]:
    """Expand the target-picking step the way the plugin parametrizes it."""
    for step in steps:
        if each := _EACH.fullmatch(step.name):
            return [name for name, target in drill.targets.items() if target.kind == each.group("kind")]
        if named := _NAMED.fullmatch(step.name):
            return [named.group("name")]
    return [None]


def _plan_scenario(drill: Drill, feature_path: Path, scenario: str, target: str | None, steps: list) -> ScenarioPlan:
    resolved = [(step.keyword, step.name, _step_function_of(step, drill)) for step in steps]
    return plan_scenario(drill, _display_path(feature_path), scenario, target, resolved)


def plan_scenario(drill: Drill, feature: str, scenario: str, target: str | None,
                  steps: Sequence[tuple[str, str, Callable | None]], registry: FamilyRegistry | None = None) -> ScenarioPlan:
    """One scenario's plan from its steps as (keyword, text, step function; None for a step that makes no call)."""
    registry = registry or families()
    planned_steps: list[PlannedStep] = []
    teardown: dict[tuple[str, ...], list[PlannedCall]] = {}  # remover function -> its calls
    resources: list[PlannedResource] = []
    for keyword, text, func in steps:
        step_calls: list[PlannedCall] = []
        for reached in reachable_operations(func) if func is not None else []:
            call = _planned(reached, drill)
            if reached.teardown:
                teardown.setdefault(reached.path[:-1], []).append(call)
            else:
                step_calls.append(call)
                if target and (created := registry.resource_kind_created_by(reached.spec.name)):
                    resources.append(_resource(drill, target, created, call))
        planned_steps.append(PlannedStep(keyword, text, tuple(dict.fromkeys(step_calls))))
    return ScenarioPlan(
        feature=feature,
        scenario=scenario,
        target=target,
        steps=tuple(planned_steps),
        # Teardown removes the newest resource first, each remover's calls in their own order.
        teardown=tuple(dict.fromkeys(call for remover in reversed(teardown.values()) for call in remover)),
        resources=tuple(resources),
    )


def _step_function_of(step, drill: Drill) -> Callable | None:
    if _EACH.fullmatch(step.name) or _NAMED.fullmatch(step.name):
        return None  # picking a target makes no call; the AWS checks are the preflight
    return _step_function(step.type, step.name, tuple(drill.steps))


def _step_function(step_type: str, text: str, extra_modules: tuple[str, ...]) -> Callable:
    for context in step_library(extra_modules):
        if context.type in (None, step_type) and context.parser.is_matching(text):
            return context.step_func
    raise UndeclaredCall(f"no step implementation for {step_type} {text!r}")


def _planned(reached: ReachedOperation, drill: Drill) -> PlannedCall:
    spec = reached.spec
    region = drill.primary_region if reached.region == PRIMARY else drill.dr_region
    return PlannedCall(spec.service, spec.api, region, spec.mutating, spec.iam_actions, reached.conditions, reached.acting_as)


def _resource(drill: Drill, target: str, created: ResourceKind, call: PlannedCall) -> PlannedResource:
    if created.planned_name is not None:
        name = created.planned_name(RUN_ID_PLACEHOLDER, target)
    else:
        name = resource_name(RUN_ID_PLACEHOLDER, target, created.name_suffix)
    return PlannedResource(created.name, name, call.region, call.only_if, created.cost(drill.targets[target]))


def _preflight_calls(drill: Drill) -> tuple[PlannedCall, ...]:
    """What drtool.core.preflight calls: who am I, then one cheap read per target kind in both regions."""
    identity = preflight_module.caller_identity.operation
    calls = []
    if drill.aws.role_arn:
        # Made with the credentials the run starts from, before anything else: the scheduler's role, not the drill's.
        calls.append(PlannedCall("sts", "AssumeRole", drill.primary_region, False, ("sts:AssumeRole",),
                                 acting_as=STARTING_IDENTITY))
    calls.append(PlannedCall(identity.service, identity.api, drill.primary_region, False, identity.iam_actions))
    for probe in preflight_module.region_probes(drill):  # what preflight itself runs, so the plan follows it
        api = _api_name(probe.service, probe.method)
        for region in (drill.primary_region, drill.dr_region):
            calls.append(PlannedCall(probe.service, api, region, False, probe.iam or (f"{probe.service}:{api}",)))
    return tuple(calls)


def _publishing_calls(drill: Drill) -> tuple[PlannedCall, ...]:
    """What drtool.commands.publish calls for the sinks the drill file names (a Pushgateway is HTTP, not AWS)."""
    sinks = drill.publish
    found = []
    if sinks.cloudwatch is not None:
        found.append((put_metric_data.operation, cloudwatch_region(drill, sinks)))
    if sinks.sns is not None:
        found.append((publish_message.operation, sinks.sns.region))
    return tuple(PlannedCall(spec.service, spec.api, region, spec.mutating, spec.iam_actions) for spec, region in found)


@lru_cache(maxsize=None)
def _api_name(service: str, method: str) -> str:
    """botocore's API name for a client method (read from botocore's bundled models, no request)."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return next(name for name in model.operation_names if xform_name(name) == method)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

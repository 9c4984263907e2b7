"""Steps of the toy drill: write a drill parameter in the DR region, then time reading it back."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_bdd import then, when

from drtool.core.clock import Stopwatch, format_duration, poll_until
from drtool.core.operations import calls, dr
from drtool.core.run import TargetRun
from drtool.core.tagging import drill_tags, resource_name
from drtool.core.teardown import TrackedResource
from drtool.core.verdicts import Measurement, judge
from tests.families.toy_ssm.family import (
    KIND,
    ParameterReadBack,
    delete_parameter,
    get_parameter,
    put_parameter,
)


@dataclass
class Written:
    name: str
    watch: Stopwatch


@when("a drill parameter is written in the DR region", target_fixture="written")
@calls(dr(put_parameter), dr(delete_parameter, teardown=True))
def write(target: TargetRun) -> Written:
    region, run = target.run.drill.dr_region, target.run
    ssm = target.client("ssm", region)
    name = resource_name(run.run_id, target.name)
    resource = target.teardown.announce(
        TrackedResource(KIND, name, region, target.name, remove=lambda: delete_parameter(ssm, name)))
    watch = Stopwatch.start(run.clock)
    put_parameter(ssm, name, target.target.value, drill_tags(run.run_id, run.drill.drill, target.name, run.clock.now()))
    target.teardown.created(resource)
    return Written(name, watch)


@then("it reads back in the DR region within the maximum lag")
@calls(dr(get_parameter))
def read_back(target: TargetRun, written: Written) -> None:
    region, objective = target.run.drill.dr_region, target.target.objectives.max_lag.total_seconds()
    ssm = target.client("ssm", region)
    reads = 0

    def read() -> str | None:
        nonlocal reads
        reads += 1
        return get_parameter(ssm, written.name)

    poll_until(read, lambda value: value == target.target.value,
               clock=target.run.clock, deadline=2 * objective, interval=1.0, what=f"parameter {written.name}")
    took = written.watch.stop()
    target.run.journal.emit(ParameterReadBack(test=target.test_id, target=target.name, name=written.name, reads=reads))
    measurement = Measurement(target.name, "write-read", took, objective, "poll", f"read back in {region} in {format_duration(took)}")
    target.note(measurement.line, measurement=measurement.as_record())
    judge([measurement])

"""The service-model seam without a lab: the due-time queue, holds, and faults read from the models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from drtool.core.clock import ScaledClock
from drtool.sandbox.faults import Fault, registered_faults, validate_faults
from drtool.sandbox.model import DueQueue, QueuedModel, ServiceModel, model_types
from drtool.sandbox.world import World

T0 = datetime(2026, 11, 27, 12, 0)


@dataclass
class Tick:
    """Finishes after `steps` advances, each `every` apart; logs each advance."""

    name: str
    due: datetime
    steps: int = 1
    every: timedelta = timedelta(minutes=1)
    log: list[str] = field(default_factory=list)

    def advance(self, now: datetime) -> bool:
        self.log.append(self.name)
        self.steps -= 1
        self.due += self.every
        return self.steps <= 0


class Broken(Tick):
    def advance(self, now: datetime) -> bool:
        raise RuntimeError("broken job")


def test_due_queue_runs_what_is_due_in_due_order_and_keeps_the_rest():
    log: list[str] = []
    queue = DueQueue()
    for name, minutes in (("late", 30), ("first", 1), ("second", 2), ("repeating", 0)):
        queue.push(Tick(name, T0 + timedelta(minutes=minutes), steps=3 if name == "repeating" else 1, log=log))
    queue.run_due(T0 + timedelta(minutes=5), lambda job: False)
    assert log == ["repeating", "first", "second"]  # each due job once per run, earliest first
    assert queue.next_due() == T0 + timedelta(minutes=1)  # the repeating job, moved on by a minute
    assert len(queue) == 2
    queue.run_due(T0 + timedelta(minutes=5), lambda job: job.name == "repeating")
    assert log == ["repeating", "first", "second"] and len(queue) == 2, "a held job stays, unadvanced"


def test_a_failing_job_and_those_after_it_stay_queued():
    queue = DueQueue()
    log: list[str] = []
    queue.push(Broken("broken", T0, log=log))
    queue.push(Tick("after", T0 + timedelta(seconds=1), log=log))
    with pytest.raises(RuntimeError):
        queue.run_due(T0 + timedelta(minutes=1), lambda job: False)
    assert log == [] and len(queue) == 2


def test_world_composes_the_registered_models_and_faults_come_from_them():
    world = World(ScaledClock(60))
    assert list(world.models) == [model.name for model in model_types()] == ["kms", "rds", "s3", "secretsmanager", "sts"]
    assert all(isinstance(model, ServiceModel) for model in world.models.values())
    declared = {fault.name for model in model_types() for fault in model.faults}
    assert set(registered_faults()) == declared
    assert "slow-restore" in declared and "replication-paused" in declared
    with pytest.raises(ValueError, match="replication-paused"):
        validate_faults(["no-such-fault"])
    with pytest.raises(LookupError, match="kms, rds, s3, secretsmanager"):
        world.model("sqs")


def test_holding_a_model_kind_holds_all_its_work_and_step_to_ignores_holds():
    class Toy(QueuedModel):
        name = "toy"
        faults = (Fault("toy-outage", "The toy service is down."),)

    world = World(ScaledClock(60), faults=["toy-outage"], models=[Toy])
    assert world.has_fault("toy-outage")  # a model's own fault, though no registered model declares it
    toy = world.model("toy")
    job = Tick("toy-job", world.now() - timedelta(seconds=1))
    toy.schedule(job)
    with world.hold(Toy):
        world.tick()
        assert job.log == []
        world.step_to(world.now())
        assert job.log == ["toy-job"]
    assert world.jobs() == []

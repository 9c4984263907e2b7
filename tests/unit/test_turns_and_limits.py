"""Lanes taking turns, drtool's share of an API's rate, and limits on requests in progress, on clocks the test moves."""

from __future__ import annotations

import threading

import pytest

from drtool.core.api_budget import ApiBudget, Rate
from drtool.core.clock import CallTimer, ScaledClock
from drtool.core.turns import Turns


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_budget_allows_its_share_of_the_burst_then_paces_at_its_share_of_the_rate():
    time = FakeTime()
    budget = ApiBudget(share=0.5, rates={"rds": Rate(burst=300, per_second=12.0)}, clock=time, sleep=time.sleep)

    for _ in range(150):
        budget.take("rds", "eu-central-1")
    assert time.slept == [] and time.now == 0.0, "half the burst is drtool's, at once"
    for _ in range(60):
        budget.take("rds", "eu-central-1")
    assert time.now == pytest.approx(10.0), "then 6 a second: 60 more requests take 10 seconds"
    assert budget.snapshot()["budget"] == {"rds": {"burst": 150.0, "per_second": 6.0}}
    assert budget.snapshot()["budget_waits"] == 60


def test_each_region_has_a_bucket_of_its_own():
    time = FakeTime()
    budget = ApiBudget(share=0.01, rates={"rds": Rate(burst=300, per_second=12.0)}, clock=time, sleep=time.sleep)

    for region in ("eu-west-1", "eu-central-1", "us-east-1"):
        for _ in range(3):
            budget.take("rds", region)
    assert time.slept == [], "3 requests a region fit each region's burst of 3"
    budget.take("rds", "eu-west-1")
    assert time.now == pytest.approx(1 / 0.12)


def test_a_turn_passes_only_while_its_holder_waits_and_in_the_order_asked():
    turns, order, holding = Turns(), [], threading.Event()

    def lane(name: str) -> None:
        with turns.taken():
            order.append(f"{name} runs")

    with turns.taken():
        threads = [threading.Thread(target=lane, args=(name,)) for name in ("b", "c")]
        for thread in threads:
            thread.start()
            # each lane queues for the turn before the next starts, so the order they asked in is known
            while thread.is_alive() and len(turns._lock._queue) < threads.index(thread) + 1:
                pass
        order.append("a runs")
        assert order == ["a runs"], "nobody runs while the holder runs"
        with turns.given_up():
            for thread in threads:
                thread.join(5)
            holding.set()
        order.append("a again")
    assert order == ["a runs", "b runs", "c runs", "a again"]


def test_a_call_timer_leaves_out_the_time_spent_waiting_for_the_turn():
    turns_clock = ScaledClock(1.0)
    from drtool.core import turns as turns_module

    turns = turns_module.process_turns()
    released = threading.Event()

    def other_lane() -> None:
        with turns.taken():
            released.wait(5)
            import time

            time.sleep(0.3)  # holds the turn while the timed lane wants it back

    with turns.taken():
        timer = CallTimer(turns_clock)
        thread = threading.Thread(target=other_lane)
        with turns.given_up():
            thread.start()
            while not turns._lock._held:
                pass
            released.set()
        thread.join(5)
        assert timer.elapsed < 0.25, timer.elapsed

"""Targets side by side under pytest: each target's scenarios run in order on a lane of their own.

Lanes are threads that take turns (`drtool.core.turns`): a lane runs until its
scenario waits (on the clock, or on an AWS call), and another lane runs meanwhile. pytest keeps one
setup stack and one cache per fixture for the whole session, made for one test
at a time, so each lane's `ScenarioSwitch` puts its scenario's part of them away
while it waits, and back when its turn comes again. Collectors above the
scenarios (the session, the drill module) and their fixtures are shared by
every lane and torn down by the main thread once every lane is done.

The main thread only starts lanes, at most `max_parallel` at once, and waits:
a Ctrl-C or SIGTERM reaches it, stops every lane at its next wait, and lets
each lane tear its own scenario down before the run ends.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable

import pytest
from _pytest.outcomes import Exit
from _pytest.runner import SetupState, call_and_report, runtestprotocol

from drtool.core.interrupts import process_interrupts
from drtool.core.turns import process_turns

CURRENT_TEST = "PYTEST_CURRENT_TEST"  # pytest sets it for the test running now, and deletes it after
_lane = threading.local()  # the scenario a lane thread is running, if this thread is a lane


@dataclass(eq=False)  # a lane is itself, whatever it holds
class Lane:
    key: str  # the target its scenarios drill ("" for scenarios that name none)
    items: list[pytest.Item] = field(default_factory=list)
    error: BaseException | None = None


class _ParentsOf:
    """What `teardown_exact` keeps: every collector above `item`, but not the item itself."""

    def __init__(self, item: pytest.Item) -> None:
        self._chain = item.listchain()[:-1]

    def listchain(self) -> list:
        return self._chain


class LaneSetupState(SetupState):
    """pytest's setup stack, where a lane tears down only its own scenario, never the collectors other lanes share."""

    def teardown_exact(self, nextitem: pytest.Item | None) -> None:
        item = getattr(_lane, "item", None)
        super().teardown_exact(nextitem if item is None else _ParentsOf(item))  # type: ignore[arg-type]


class ScenarioSwitch:
    """Puts a waiting scenario's share of pytest's session-wide state away, and back when its lane runs again:
    its entry on the setup stack, the cached value and finalizers of each function-scoped fixture it holds, and
    $PYTEST_CURRENT_TEST."""

    def __init__(self, item: pytest.Item, state: SetupState) -> None:
        self.item = item
        self.state = state
        self._entry = None
        self._fixtures: list[tuple] = []
        self._current_test: str | None = None

    def suspend(self) -> None:
        self._current_test = os.environ.pop(CURRENT_TEST, None)
        self._entry = self.state.stack.pop(self.item, None)
        request = getattr(self.item, "_request", None)
        for fixturedef in (request._fixture_defs.values() if request else ()):
            if fixturedef.scope == "function" and (fixturedef.cached_result is not None or fixturedef._finalizers):
                self._fixtures.append((fixturedef, fixturedef.cached_result, list(fixturedef._finalizers)))
                fixturedef.cached_result = None
                fixturedef._finalizers.clear()

    def resume(self) -> None:
        for fixturedef, cached, finalizers in self._fixtures:
            fixturedef.cached_result = cached
            fixturedef._finalizers[:] = finalizers
        self._fixtures = []
        if self._entry is not None:
            self.state.stack[self.item] = self._entry
            self._entry = None
        if self._current_test is not None:
            os.environ[CURRENT_TEST] = self._current_test


ScenarioContext = Callable[[pytest.Item], AbstractContextManager]


class Lanes:
    def __init__(self, session: pytest.Session, lanes: list[Lane], max_parallel: int, scenario: ScenarioContext) -> None:
        self.session = session
        self.lanes = lanes
        self.max_parallel = max(1, max_parallel)
        self.scenario = scenario
        self._finished: queue.Queue[Lane] = queue.Queue()
        self._stop = threading.Event()

    def run(self) -> None:
        """Run every lane; returns once all are done, raising what stopped the run (Ctrl-C, pytest.exit, an error)."""
        waiting = deque(self.lanes)
        running: dict[Lane, threading.Thread] = {}
        stopped_by: BaseException | None = None
        try:
            while waiting or running:
                while waiting and len(running) < self.max_parallel and not self._stopping():
                    lane = waiting.popleft()
                    running[lane] = threading.Thread(target=self._run_lane, args=(lane,), daemon=True,
                                                     name=f"drtool-lane-{lane.key or 'untargeted'}")
                    running[lane].start()
                if not running:
                    break
                lane = self._finished.get()
                running.pop(lane).join()
                if lane.error is not None and stopped_by is None:
                    stopped_by = lane.error
                    self._stop.set()
                    if isinstance(lane.error, (KeyboardInterrupt, Exit)):  # as a Ctrl-C would: every lane stops now
                        process_interrupts().stopping.set()
        except KeyboardInterrupt as interrupt:  # Ctrl-C, SIGTERM or the budget: every lane stops at its next wait
            stopped_by = interrupt
            while True:
                try:
                    self._stop.set()
                    process_interrupts().stopping.set()
                    self._join(running)
                    break
                except KeyboardInterrupt:  # a signal racing the first: teardown must still be waited for
                    continue
        if stopped_by is not None:
            raise stopped_by

    def _stopping(self) -> bool:
        return self._stop.is_set() or bool(self.session.shouldfail or self.session.shouldstop)

    def _join(self, running: dict[Lane, threading.Thread]) -> None:
        """Wait for every lane to tear down; a further signal is counted by teardown's shield, not obeyed here."""
        for thread in running.values():
            while thread.is_alive():
                try:
                    thread.join(0.5)
                except KeyboardInterrupt:
                    continue

    def _run_lane(self, lane: Lane) -> None:
        try:
            for item in lane.items:
                if self._stopping():
                    break
                self._run_scenario(item)
        except BaseException as exc:  # handed to the main thread, which raises it once every lane is done
            lane.error = exc
        finally:
            self._finished.put(lane)

    def _run_scenario(self, item: pytest.Item) -> None:
        state = self.session._setupstate
        _lane.item = item
        try:
            with process_turns().taken(ScenarioSwitch(item, state)):
                item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
                with self.scenario(item):
                    try:
                        runtestprotocol(item, nextitem=None, log=True)
                    finally:
                        if item in state.stack:  # stopped mid-scenario: its teardown still runs, here on its lane
                            call_and_report(item, "teardown", log=True, nextitem=None)
                item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        finally:
            _lane.item = None


def run_concurrently(session: pytest.Session, max_parallel: int, lane_of: Callable[[pytest.Item], str | None],
                     scenario: ScenarioContext) -> None:
    """pytest's run loop, with the drill's scenarios in lanes: `lane_of(item)` names an item's lane, or None for an
    item that runs on the main thread, in order, as pytest would run it."""
    if not isinstance(session._setupstate, LaneSetupState):
        session._setupstate = LaneSetupState()
    items = session.items
    index = 0
    while index < len(items):
        item = items[index]
        if lane_of(item) is None:
            nextitem = items[index + 1] if index + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            index += 1
        else:
            # Contiguous scenarios of one collector share their parents: they run in lanes, then the next item's
            # setup finds only what it shares with them still set up.
            end = index
            while end < len(items) and lane_of(items[end]) is not None and items[end].parent is item.parent:
                end += 1
            lanes: dict[str, Lane] = {}
            for scenario_item in items[index:end]:
                key = lane_of(scenario_item) or ""
                lanes.setdefault(key, Lane(key)).items.append(scenario_item)
            Lanes(session, list(lanes.values()), max_parallel, scenario).run()
            if end < len(items):
                session._setupstate.teardown_exact(items[end])
            index = end
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)

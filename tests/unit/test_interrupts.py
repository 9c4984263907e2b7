"""Ctrl-C, SIGTERM and the budget when scenarios run on worker threads: signals reach only the main thread.

Each case runs in a process of its own, since it sends itself signals. Every wait is for an event (a
journal record, a thread reaching a point), bounded only in case something is broken.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from drtool.core.journal import read_journal

PRELUDE = r'''
import json, os, signal, sys, threading, time
from pathlib import Path
from drtool.core.clock import SystemClock, poll_until
from drtool.core.interrupts import TeardownAbandoned, process_interrupts
from drtool.core.journal import Journal, read_journal
from drtool.core.teardown import Teardown, TrackedResource

clock = SystemClock()
journal = Journal(Path(sys.argv[1]), "c0ffee00", clock)
polling, tearing, release, finished = threading.Event(), threading.Event(), threading.Event(), threading.Event()
outcome = {}

def wait_for_record(event, **match):
    for _ in range(3000):
        if any(r["event"] == event and all(r.get(k) == v for k, v in match.items()) for r in read_journal(journal.path)):
            return
        time.sleep(0.01)
    raise SystemExit(f"no {event} {match}")

def held_removal(name):
    def remove():
        tearing.set()
        poll_until(release.is_set, bool, clock=clock, deadline=120, interval=0.02, what=f"{name} released")
        return True
    return TrackedResource("rds-instance", name, "eu-central-1", "db", remove)

def scenario(*resources):
    teardown = Teardown(journal, clock, scope="worker-scenario")
    for resource in resources:
        teardown.created(teardown.announce(resource))  # created by this run: teardown owns it
    try:
        poll_until(lambda: polling.set(), bool, clock=clock, deadline=600, interval=0.02, what="a long restore")
    except KeyboardInterrupt:
        outcome["stopped"] = True
    try:
        teardown.run()
        outcome["torn_down"] = True
    except TeardownAbandoned:
        outcome["abandoned"] = True
    finally:
        finished.set()

def interrupt_main_and_catch():
    try:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(3000):
            time.sleep(0.01)
    except KeyboardInterrupt:
        outcome["main_interrupted"] = True
'''

SHIELDED = PRELUDE + r'''
with process_interrupts().installed():
    worker = threading.Thread(target=scenario, args=(held_removal("drtool-c0ffee00-db"),))
    worker.start()
    polling.wait(60)
    interrupt_main_and_catch()
    tearing.wait(60)
    os.kill(os.getpid(), signal.SIGINT)  # during the worker's teardown: counted, never raised
    wait_for_record("signal-during-teardown", count=1)
    release.set()
    finished.wait(60)
print(json.dumps(outcome))
'''

ABANDONED = PRELUDE + r'''
first = TrackedResource("rds-instance", "drtool-c0ffee00-first", "eu-central-1", "db", lambda: True)
with process_interrupts().installed():
    worker = threading.Thread(target=scenario, args=(first, held_removal("drtool-c0ffee00-second")))
    worker.start()
    polling.wait(60)
    interrupt_main_and_catch()
    tearing.wait(60)
    for count in (1, 2, 3):
        os.kill(os.getpid(), signal.SIGINT)
        wait_for_record("signal-during-teardown", count=count)
    outcome["worker_done"] = finished.wait(60)
print(json.dumps(outcome))
'''

BUDGET = PRELUDE + r'''
from drtool.core.budget import BudgetWatch
with process_interrupts().installed():
    worker = threading.Thread(target=scenario, args=(TrackedResource("rds-instance", "drtool-c0ffee00-db", "eu-central-1", "db", lambda: True),))
    worker.start()
    polling.wait(60)
    BudgetWatch(0.2, clock, journal).start()
    try:
        finished.wait(120)
    except KeyboardInterrupt:
        outcome["main_interrupted"] = True
        # Not worker.join(): a join cut short by KeyboardInterrupt may return at once the next time (CPython).
        finished.wait(60)
print(json.dumps(outcome))
'''


def _run(script: str, tmp_path: Path) -> tuple[dict, list[dict]]:
    journal = tmp_path / "run.jsonl"
    done = subprocess.run([sys.executable, "-c", script, str(journal)], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), read_journal(journal)


def test_a_worker_thread_stops_at_ctrl_c_and_its_teardown_is_shielded_from_the_next(tmp_path):
    outcome, journal = _run(SHIELDED, tmp_path)
    assert outcome == {"main_interrupted": True, "stopped": True, "torn_down": True}
    events = [r["event"] for r in journal]
    assert events.index("teardown-started") < events.index("signal-during-teardown") < events.index("resource-deleted")
    assert journal[-1]["event"] == "teardown-finished" and journal[-1]["failures"] == []


def test_the_third_interrupt_abandons_a_worker_threads_teardown_and_the_journal_names_what_is_left(tmp_path):
    outcome, journal = _run(ABANDONED, tmp_path)
    assert outcome == {"main_interrupted": True, "stopped": True, "abandoned": True, "worker_done": True}
    assert [r["count"] for r in journal if r["event"] == "signal-during-teardown"] == [1, 2, 3]
    assert not [r for r in journal if r["event"] in ("resource-deleted", "teardown-finished")], "abandoned mid-way"
    assert "drtool-c0ffee00-second" in journal[-1]["pending"]


def test_the_budget_stops_a_scenario_on_a_worker_thread_and_it_still_tears_down(tmp_path):
    outcome, journal = _run(BUDGET, tmp_path)
    assert outcome == {"main_interrupted": True, "stopped": True, "torn_down": True}
    events = [r["event"] for r in journal]
    assert events.index("budget-exceeded") < events.index("teardown-started") < events.index("resource-deleted")

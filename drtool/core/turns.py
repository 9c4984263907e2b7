"""Turns: how scenarios of different targets run at the same time in one process.

Each target's scenarios run on a thread of their own, but only one thread runs
at a time: it holds the turn, and it gives the turn up only while it waits on
the clock (a poll interval, a backoff, a free slot). A drill is waiting
almost all of its time (a restore takes minutes, a describe milliseconds), so
targets overlap wherever it matters, while the code between two waits (pytest's
own machinery, the journal, the guard, teardown's records) never runs on two
threads at once.

A call to AWS gives up the turn while it is on the network (its request, its
retries and their back-off), so a fleet's calls overlap as its waits do. The
rule that keeps this free of deadlock: no lock may be held across a call that
gives up the turn, for a lane blocked on that lock would hold the turn the
caller needs back. drtool holds none; botocore holds its credential-refresh
lock across an STS call, so STS calls keep the turn.

A thread that gives up its turn may leave state behind that the next thread
must not see (pytest keeps one cache per fixture): its `Switch` puts that state
away when the turn is given up and back when it is taken again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Protocol


class Switch(Protocol):
    def suspend(self) -> None: ...

    def resume(self) -> None: ...


class _FairLock:
    """A lock taken in the order it was asked for: a lane that just gave up its turn queues behind the others."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._queue: deque[object] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._changed:
            ticket = object()
            self._queue.append(ticket)
            while self._held or self._queue[0] is not ticket:
                self._changed.wait()
            self._queue.popleft()
            self._held = True

    def release(self) -> None:
        with self._changed:
            self._held = False
            self._changed.notify_all()


class Turns:
    def __init__(self) -> None:
        self._lock = _FairLock()
        self._local = threading.local()

    @contextmanager
    def taken(self, switch: Switch | None = None) -> Iterator[None]:
        """Hold the turn for the block, except while the block waits (`given_up`)."""
        if self.held():  # the scenario's own thread, already holding it
            yield
            return
        self._lock.acquire()
        self._local.switch = switch
        self._local.held = True
        if switch is not None:
            switch.resume()
        try:
            yield
        finally:
            if switch is not None:
                switch.suspend()
            self._local.held = False
            self._local.switch = None
            self._lock.release()

    def held(self) -> bool:
        return getattr(self._local, "held", False)

    def waited(self) -> float:
        """Real seconds this thread has waited to get its turn back after giving it up: time no AWS call took."""
        return getattr(self._local, "waited", 0.0)

    @contextmanager
    def kept(self) -> Iterator[None]:
        """Keep the turn for the block, through its waits: for work that others must not see half done."""
        self._local.kept = getattr(self._local, "kept", 0) + 1
        try:
            yield
        finally:
            self._local.kept -= 1

    @contextmanager
    def given_up(self) -> Iterator[None]:
        """Let other scenarios run for the block: a wait. A thread without the turn, or keeping it, just waits."""
        if not self.held() or getattr(self._local, "kept", 0):
            yield
            return
        switch = self._local.switch
        if switch is not None:
            switch.suspend()
        self._local.held = False
        self._lock.release()
        try:
            yield
        finally:
            asked = time.monotonic()
            self._lock.acquire()
            self._local.waited = self.waited() + time.monotonic() - asked
            self._local.held = True
            if switch is not None:
                switch.resume()


@lru_cache(maxsize=1)
def process_turns() -> Turns:
    return Turns()



# Calls that keep the turn: botocore refreshes credentials with STS while holding a lock.
KEEP_THE_TURN = frozenset({"sts"})


def off_turn_while_on_the_network(client: Any, service: str) -> None:
    """Let other lanes run while `client` waits on AWS. The guard's check, the call counts and the journal run
    before and after the request, on the turn; only botocore's own sending (and drtool's API budget, which waits
    there for a token) runs off it."""
    if service in KEEP_THE_TURN:
        return
    endpoint = client._endpoint
    send = endpoint._send_request

    def send_request(request_dict: Any, operation_model: Any) -> Any:
        with process_turns().given_up():
            return send(request_dict, operation_model)

    endpoint._send_request = send_request

"""Clocks, durations and bounded polling.

Every measured figure in drtool comes from a `Clock`. Against real AWS that is
the monotonic clock of this process. Against the sandbox it is the lab's world
clock, which runs `scale` times faster than real time, so that a 20-minute
restore takes seconds while every reported figure stays in world time.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol, TypeVar

import tenacity

from drtool.core.interrupts import process_interrupts
from drtool.core.turns import process_turns

T = TypeVar("T")

CLOCK_ENV = "DRTOOL_SANDBOX_CLOCK"

_DURATION_RE = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")


# Longer than any drill, backup retention or cleanup age; and far from where datetime arithmetic overflows.
MAX_DURATION = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """Parse a human duration such as `30m`, `1h30m`, `24h`, `2d`, `45s`."""
    match = _DURATION_RE.match(text or "")
    if not text or not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; write it like 30m, 1h30m, 24h or 90s")
    days, hours, minutes, seconds = match.groups()
    if any(part and len(part) > 12 for part in match.groups()):  # int() of a huge digit string is slow, and pointless
        raise ValueError(f"{text[:40]!r} is far too long a duration")
    try:
        duration = timedelta(
            days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0)
        )
    except OverflowError:
        raise ValueError(f"{text!r} is far too long a duration") from None
    if duration > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than {MAX_DURATION.days} days; no drill waits that long")
    return duration


def format_duration(seconds: float | timedelta) -> str:
    """Render a duration the way verdict lines read: 12m04s, 1h02m10s, 30m, 24h, 45s."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    sign = "-" if seconds < 0 else ""
    total = int(round(abs(seconds)))
    if total >= 172800:
        days, rest = divmod(total, 86400)
        return f"{sign}{days}d" + (f"{rest // 3600:02d}h" if rest >= 3600 else "")
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes or (hours and secs):
        parts.append(f"{minutes:02d}m" if hours else f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs:02d}s" if parts else f"{secs}s")
    return sign + "".join(parts)


class Clock(Protocol):
    """World time: `now()` for timestamps, `monotonic()` for intervals, `sleep()` to wait."""

    scale: float

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: wall clock for timestamps, the monotonic clock for intervals."""

    scale = 1.0

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock:
    """A world clock running `scale` times faster than real time.

    World time equals real time at the real instant `origin` (epoch seconds),
    and runs `scale` times faster after it. Processes that share `origin` and
    `scale` agree on world time, which is how a drill run and a separately
    started sandbox agree (see `to_env` and `from_env`).
    """

    def __init__(self, scale: float, origin: float | None = None):
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = float(scale)
        self.origin = time.time() if origin is None else float(origin)
        # Intervals come from the monotonic clock, anchored once to the wall clock.
        self._mono_anchor = time.monotonic()
        self._wall_anchor = time.time()

    def _real_elapsed_since_origin(self) -> float:
        return (self._wall_anchor - self.origin) + (time.monotonic() - self._mono_anchor)

    def now(self) -> datetime:
        world = self.origin + self._real_elapsed_since_origin() * self.scale
        return datetime.fromtimestamp(world, timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic() * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def to_env(self) -> str:
        return f"{self.scale:g}@{self.origin:.6f}"

    @classmethod
    def from_env(cls, value: str) -> "ScaledClock":
        scale, _, origin = value.partition("@")
        return cls(float(scale), float(origin) if origin else None)


def clock_from_environment(environ: dict[str, str] | None = None) -> Clock:
    """The clock to measure with: the sandbox's world clock if one is announced, else real time."""
    value = (environ if environ is not None else os.environ).get(CLOCK_ENV)
    return ScaledClock.from_env(value) if value else SystemClock()


@dataclass
class Stopwatch:
    """Measures one interval on a clock; `elapsed` is live until `stop()`."""

    clock: Clock
    started_mono: float = 0.0
    started_at: datetime | None = None
    stopped_mono: float | None = None

    @classmethod
    def start(cls, clock: Clock) -> "Stopwatch":
        return cls(clock=clock, started_mono=clock.monotonic(), started_at=clock.now())

    @property
    def elapsed(self) -> float:
        end = self.stopped_mono if self.stopped_mono is not None else self.clock.monotonic()
        return end - self.started_mono

    def stop(self) -> float:
        if self.stopped_mono is None:
            self.stopped_mono = self.clock.monotonic()
        return self.elapsed


class CallTimer:
    """Times drtool's own calls to AWS (a data-key round trip, a read): the interval on `clock`, less any time the
    scenario waited for its turn while other targets ran (drtool.core.turns), which no AWS call took."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._started = clock.monotonic()
        self._waited = process_turns().waited()

    @property
    def elapsed(self) -> float:
        return self.clock.monotonic() - self._started - (process_turns().waited() - self._waited) * self.clock.scale


class DeadlineExceeded(Exception):
    """A bounded wait ran past its deadline."""

    def __init__(self, what: str, waited: float, deadline: float, last: object = None):
        super().__init__(
            f"gave up waiting for {what} after {format_duration(waited)} (deadline {format_duration(deadline)})"
            + (f"; last seen: {last}" if last is not None else "")
        )
        self.what = what
        self.waited = waited
        self.deadline = deadline
        self.last = last


def poll_until(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    clock: Clock,
    deadline: float,
    interval: float | Callable[[float], float] = 30.0,
    what: str = "a condition",
    on_poll: Callable[[T], None] | None = None,
) -> T:
    """Call `probe` every `interval` world seconds until `done(result)`, for at most `deadline` world seconds.

    `interval` may be a function of the world seconds waited so far, for polls that look closely at first.

    Built on tenacity so that every wait in drtool shares one bounded mechanism.
    Exceptions from `probe` propagate at once: a failed probe fails the drill.
    """
    watch = Stopwatch.start(clock)
    last: list[T] = []

    def observe() -> T:
        result = probe()
        last[:] = [result]
        if on_poll is not None:
            on_poll(result)
        return result

    def next_wait(retry_state: tenacity.RetryCallState | None = None) -> float:
        return interval(watch.elapsed) if callable(interval) else interval

    def past_deadline(retry_state: tenacity.RetryCallState) -> bool:
        return watch.elapsed + next_wait() > deadline

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda result: not done(result)),
        stop=past_deadline,
        wait=next_wait,
        # A worker thread's wait ends when the run is stopped: signals only reach the main thread.
        sleep=lambda seconds: process_interrupts().pause(clock, seconds),
        reraise=True,
    )
    try:
        return retrying(observe)
    except tenacity.RetryError:
        raise DeadlineExceeded(what, watch.elapsed, deadline, last[0] if last else None) from None

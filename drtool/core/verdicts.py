"""Verdicts: what a drill concluded, in one sentence, with the figures that decided it.

A step ends in a `Verdict`. PASS and FAIL are findings about the DR set-up;
ERROR means the drill could not run; SKIP means it did not apply. Reports
read the verdict's outcome and kind, never its wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterable, Mapping

from botocore.exceptions import ClientError

from drtool.core.clock import format_duration
from drtool.core.errors import (
    aws_error_sentence,
    describe_error,
    is_access_denied,
    is_infrastructure_error,
)


class Outcome(str, Enum):
    # The values are the statuses the journal and the reports use.
    PASS = "passed"
    FAIL = "failed"
    ERROR = "error"
    SKIP = "skipped"


# Why a verdict is what it is; JUnit uses it as the failure or error type.
BREACH = "objective-breached"
FINDING = "drill-failure"  # the DR set-up cannot recover, or a step failed: JUnit has always called it this
AWS_ERROR = "aws-error"
COULD_NOT_RUN = "could-not-run"
DENIAL = "denial"


@dataclass(frozen=True)
class Measurement:
    target: str
    name: str  # "RTO", "RPO"
    measured: float  # seconds, world time
    objective: float  # seconds
    source: str  # where the figure came from, e.g. "aws-event" or "poll"
    text: str  # how the figure reads in the verdict, e.g. "restored in eu-central-1 in 12m04s"

    @property
    def met(self) -> bool:
        return self.measured <= self.objective

    @property
    def line(self) -> str:
        head = f"{self.target}: {self.text} ({self.name} {format_duration(self.objective)})"
        if self.met:
            return f"{head}: met"
        return f"{head}: BREACHED by {format_duration(self.measured - self.objective)}"

    def as_record(self) -> dict[str, object]:
        return {
            "target": self.target,
            "name": self.name,
            "measured_s": round(self.measured, 3),
            "objective_s": round(self.objective, 3),
            "met": self.met,
            "source": self.source,
            "line": self.line,
        }


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    sentence: str
    measurements: tuple[Measurement, ...] = ()
    kind: str = ""

    @classmethod
    def passed(cls, sentence: str, measurements: Iterable[Measurement] = (), kind: str = "") -> "Verdict":
        return cls(Outcome.PASS, sentence, tuple(measurements), kind)

    @classmethod
    def failed(cls, sentence: str, measurements: Iterable[Measurement] = (), kind: str = FINDING) -> "Verdict":
        return cls(Outcome.FAIL, sentence, tuple(measurements), kind)

    @classmethod
    def error(cls, sentence: str, kind: str = COULD_NOT_RUN) -> "Verdict":
        return cls(Outcome.ERROR, sentence, (), kind)

    @classmethod
    def skipped(cls, sentence: str) -> "Verdict":
        return cls(Outcome.SKIP, sentence, (), "")

    def enforce(self) -> "Verdict":
        """Return a passing verdict; end the step with any other."""
        if self.outcome is not Outcome.PASS:
            raise VerdictReached(self)
        return self


class VerdictReached(AssertionError):
    """Ends a step with its verdict; the runner reports the verdict as it is."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.sentence)
        self.verdict = verdict


class ObjectiveBreached(VerdictReached):
    """A drill measured a figure worse than its objective. This is a drill failure."""

    def __init__(self, sentence: str, measurements: Iterable[Measurement] = ()):
        super().__init__(Verdict.failed(sentence, measurements, kind=BREACH))


class DrillFinding(VerdictReached):
    """The drill found the DR set-up unable to recover (not an infrastructure problem)."""

    def __init__(self, sentence: str):
        super().__init__(Verdict.failed(sentence, kind=FINDING))


def judge(measurements: list[Measurement]) -> Verdict:
    """The verdict on measured figures; a breach ends the step naming each one, measured against objective."""
    breaches = [m for m in measurements if not m.met]
    if breaches:
        raise ObjectiveBreached("; ".join(m.line for m in breaches), measurements)
    return Verdict.passed("; ".join(m.line for m in measurements), measurements)


def expect_denied(principal: str, action: str, call: Callable[[], object]) -> Verdict:
    """A call that AWS must refuse: AccessDenied is the PASS, success the FAIL.

    Any other refusal also fails, since it proves nothing about access. Throttling or
    an unreachable endpoint is an ERROR: the drill could not find out.
    """
    try:
        call()
    except Exception as exc:
        if is_access_denied(exc):
            return Verdict.passed(f"{principal} is refused {action}, as expected", kind=DENIAL)
        if is_infrastructure_error(exc):
            return Verdict.error(f"could not learn whether {principal} is refused {action}: {describe_error(exc)}")
        return Verdict.failed(
            f"{principal}: {action} was expected to be refused with AccessDenied, but failed otherwise: {describe_error(exc)}",
            kind=DENIAL,
        )
    return Verdict.failed(f"{principal} was allowed {action}, which must be refused to it", kind=DENIAL)


def verdict_for(exc: BaseException, remedies: Mapping[str, str] | None = None) -> Verdict:
    """The verdict an exception that ended a step stands for."""
    if isinstance(exc, VerdictReached):
        return exc.verdict
    if is_infrastructure_error(exc):
        return Verdict.error(describe_error(exc))
    if isinstance(exc, ClientError):
        return Verdict.failed(aws_error_sentence(exc, remedies), kind=AWS_ERROR)
    if isinstance(exc, AssertionError):
        text = str(exc).strip()
        return Verdict.failed(text.splitlines()[0] if text else "assertion failed", kind=FINDING)
    if not isinstance(exc, Exception):  # pytest's own outcomes (pytest.fail) say what they mean
        return Verdict.failed(str(exc), kind=FINDING)
    return Verdict.failed(describe_error(exc), kind=FINDING)

"""Scenario 2: the secret rotates automatically, on a schedule no longer than the target's maximum, and did lately.

Judged in the run's clock (world time in the sandbox). A schedule is `AutomaticallyAfterDays` or a
`ScheduleExpression`: `rate(N days)` and `rate(N hours)` are judged exactly; a `cron(...)` expression is not
(drtool does not evaluate cron), so it is judged by the next rotation Secrets Manager has scheduled, and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drtool.core.clock import format_duration
from drtool.core.operations import calls, primary
from drtool.core.verdicts import BREACH, FINDING, Measurement, Verdict
from drtool.families.secret.context import SecretDrillContext
from drtool.services.secretsmanager import probes

RATE = re.compile(r"^rate\(\s*(\d+)\s+(day|days|hour|hours)\s*\)$")
LAST_ROTATION = "rotation age"
SCHEDULE = "rotation interval"


@dataclass(frozen=True)
class Schedule:
    """A rotation schedule as the drill can judge it: its interval, or None with why it cannot."""

    text: str  # as the secret states it
    interval: timedelta | None
    unjudged: str = ""  # why the interval is unknown


def schedule_of(rules: dict[str, Any]) -> Schedule | None:
    """The schedule `RotationRules` give (a ScheduleExpression wins over AutomaticallyAfterDays); None if neither."""
    expression = (rules.get("ScheduleExpression") or "").strip()
    if expression:
        found = RATE.match(expression)
        if found:
            count, unit = int(found.group(1)), found.group(2)
            return Schedule(expression, timedelta(days=count) if unit.startswith("day") else timedelta(hours=count))
        return Schedule(expression, None, f"drtool does not evaluate the schedule expression {expression!r}")
    days = rules.get("AutomaticallyAfterDays")
    if days:
        return Schedule(f"every {days} days (AutomaticallyAfterDays)", timedelta(days=int(days)))
    return None


@calls(primary(probes.describe_secret))
def read_rotation(ctx: SecretDrillContext) -> dict[str, Any]:
    """The secret's rotation settings and dates, as DescribeSecret gives them (no value is read)."""
    return probes.describe_secret(ctx.client("secretsmanager", ctx.primary_region), ctx.target.secret)


def rotation_verdict(ctx: SecretDrillContext, described: dict[str, Any], now: datetime) -> tuple[Verdict, list[str]]:
    """The verdict on the rotation, and the notes that say what was found (schedule, last and next rotation)."""
    secret, maximum = described.get("Name", ctx.target.secret), ctx.target.rotation.max_interval
    limit = format_duration(maximum)
    problems: list[str] = []
    notes: list[str] = []
    measurements: list[Measurement] = []

    if not described.get("RotationEnabled"):
        problems.append(f"rotation of secret {secret} is disabled: turn on automatic rotation (RotateSecret with a "
                        f"rotation function and RotationRules of at most {limit})")
    schedule = schedule_of(described.get("RotationRules") or {})
    next_rotation = described.get("NextRotationDate")
    last = described.get("LastRotatedDate")
    if schedule is None:
        if described.get("RotationEnabled"):
            problems.append(f"secret {secret} has no rotation schedule (RotationRules): set one of at most {limit}")
    elif schedule.interval is not None:
        measurements.append(Measurement(ctx.name, SCHEDULE, schedule.interval.total_seconds(), maximum.total_seconds(),
                                        "RotationRules", f"{secret} rotates {schedule.text}"))
    else:
        basis = last or now
        if next_rotation is not None and described.get("RotationEnabled"):
            notes.append(f"{ctx.name}: {schedule.unjudged}; its interval is judged by the next scheduled rotation "
                         f"({next_rotation:%Y-%m-%d %H:%M} UTC) instead")
            measurements.append(Measurement(ctx.name, SCHEDULE, (next_rotation - basis).total_seconds(),
                                            maximum.total_seconds(), "NextRotationDate",
                                            f"{secret} next rotates {format_duration(next_rotation - basis)} after "
                                            f"{'its last rotation' if last else 'now'} ({schedule.text})"))
        else:
            notes.append(f"{ctx.name}: {schedule.unjudged}, and no next rotation is scheduled: its interval is not judged")
    if last is None:
        problems.append(f"secret {secret} has never rotated: rotate it (RotateSecret) and check that its rotation "
                        "function succeeds")
    else:
        age = max(now - last, timedelta(0))
        measurements.append(Measurement(ctx.name, LAST_ROTATION, age.total_seconds(), maximum.total_seconds(),
                                        "LastRotatedDate", f"{secret} last rotated {format_duration(age)} ago"))
    if next_rotation is not None:
        notes.append(f"{ctx.name}: {secret} next rotates on {next_rotation:%Y-%m-%d %H:%M} UTC")

    breached = [m for m in measurements if not m.met]
    for m in breached:
        remedy = ("rotate it now (RotateSecret), and find why its rotation stopped (the rotation function's logs)"
                  if m.name == LAST_ROTATION else f"shorten its RotationRules to at most {limit}")
        problems.append(f"{m.line}: {remedy}")
    if problems:
        kind = BREACH if len(problems) == len(breached) else FINDING
        return Verdict.failed("; ".join(f"{ctx.name}: {p}" if not p.startswith(f"{ctx.name}:") else p for p in problems),
                              measurements, kind=kind), notes
    judged = ", ".join(f"{m.name} {format_duration(m.measured)}" for m in measurements)
    return Verdict.passed(f"{ctx.name}: secret {secret} rotates automatically; {judged}, each within {limit}",
                          measurements), notes

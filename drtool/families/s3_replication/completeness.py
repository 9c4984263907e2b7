"""Scenario 4's judgement: what the completeness and integrity audit found, against the objectives.

The audit itself (`audit.py`) streams both listings; this module only turns its report into a verdict.
"""

from __future__ import annotations

from typing import Any

from drtool.core.clock import format_duration
from drtool.core.verdicts import FINDING, Measurement, Verdict
from drtool.families.s3_replication.target import S3ReplicationTarget

# Each class of problem the audit reports, as one sentence with its remedy.
CLASSES = (
    ("missing", "{n} object(s) missing from the replica", "re-replicate them with S3 Batch Replication"),
    ("mismatched", "{n} object(s) differ between source and replica in size, ETag or checksum",
     "copy them again from the source, and find out what changed the replica"),
    ("pending", "{n} object(s) stuck in PENDING",
     "check the replication role's permissions and the replica key, which S3 needs to finish them"),
    ("failed", "{n} object(s) FAILED to replicate",
     "fix the cause (role, KMS keys, replica bucket policy), then re-replicate them with S3 Batch Replication"),
)
UNREPLICATED = ("{n} object(s) carry no replication status, written before the rule or outside it",
                "replicate them with S3 Batch Replication")
EXAMPLES = 3


def _sentence(examples: Any, text: str, remedy: str) -> str:
    shown = "; ".join(examples.examples[:EXAMPLES])
    return f"{text.format(n=examples.count)}" + (f" (e.g. {shown})" if shown else "") + f": {remedy}"


def audit_verdict(name: str, target: S3ReplicationTarget, report: Any) -> Verdict:
    """FAIL naming each class of problem with examples, or an oldest unreplicated object older than the objective."""
    problems = [_sentence(getattr(report, attr), text, remedy) for attr, text, remedy in CLASSES if getattr(report, attr).count > 0]
    measurements = []
    if report.oldest_unreplicated_age_s is not None:
        age = Measurement(name, "unreplicated age", report.oldest_unreplicated_age_s,
                          target.objectives.max_unreplicated_age.total_seconds(), "audit",
                          f"oldest object not in the replica is {format_duration(report.oldest_unreplicated_age_s)} old")
        measurements.append(age)
        if not age.met:
            problems.append(age.line.split(": ", 1)[1])
    if problems:
        if report.unreplicated.count > 0:
            problems.append(_sentence(report.unreplicated, *UNREPLICATED))
        return Verdict.failed(f"{name}: audit of {target.source_bucket}, {report.covered}: " + "; ".join(problems),
                              measurements, kind=FINDING)
    age_text = f"; {measurements[0].line.split(': ', 1)[1]}" if measurements else ""
    state = "identical and replicated" if not measurements else "identical, or on its way"
    return Verdict.passed(f"{name}: every object of {target.source_bucket} is in {target.replica_bucket}, {state}{age_text} "
                          f"(audited {report.covered})", measurements)

"""The building blocks of drill files that every layer shares: problems, durations, regions, objectives, AWS access."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.functional_validators import BeforeValidator
from pydantic.json_schema import WithJsonSchema

from drtool.core.clock import parse_duration


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class DrillFileError(Exception):
    """A drill file (or a feature it names) is invalid. Nothing has been run."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a duration; write it like 30m, 1h30m, 24h or 90s")
    if isinstance(value, (int, float)):
        raise ValueError(f"{value!r} needs a unit; write it like 30m, 1h30m, 24h or 90s")
    if not isinstance(value, timedelta):
        raise ValueError(f"a {type(value).__name__} is not a duration; write it like 30m, 1h30m, 24h or 90s")
    return value


# A drill's durations (objectives, budgets, windows) are positive and at most a year.
MAX_DRILL_DURATION = timedelta(days=366)


def _positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    if value > MAX_DRILL_DURATION:
        raise ValueError(f"is longer than {MAX_DRILL_DURATION.days} days; no drill objective or budget is that long")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
    AfterValidator(_positive_duration),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+(\.\d+)?s)?$", "examples": ["30m", "1h30m"]}),
]

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,40}$"


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region botocore knows in any partition (read from its bundled endpoint data)."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        for service in ("rds", "s3", "kms", "secretsmanager"):
            regions.update(session.get_available_regions(service, partition_name=partition))
    return frozenset(regions)


def _check_region(value: str) -> str:
    if value not in known_regions():
        raise ValueError(f"unknown AWS region {value!r}")
    return value


Region = Annotated[str, BeforeValidator(lambda v: _check_region(v) if isinstance(v, str) else v)]


# A KMS key as a drill file names it: a key id, a multi-Region key id, an alias, or the ARN of either.
_KEY_ID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
KMS_KEY_ARN = re.compile(rf"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):\d{{12}}:(?:key/{_KEY_ID}|{_ALIAS})$")
KMS_KEY_REF = re.compile(rf"^(?:{_KEY_ID}|{_ALIAS})$")


def _check_kms_key(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith("arn:"):
        if not KMS_KEY_ARN.match(value):
            raise ValueError(f"{value[:120]!r} is not a KMS key ARN (arn:aws:kms:REGION:123456789012:key/KEY-ID or "
                             "...:alias/NAME)")
    elif not KMS_KEY_REF.match(value):
        raise ValueError(f"{value[:120]!r} is not a KMS key: give a key id (1234abcd-..., mrk-...), alias/NAME, or an ARN")
    return value


def kms_key_region(value: str) -> str | None:
    """The region a KMS key ARN names; None for a key id or alias (they are looked up in the region asked)."""
    match = KMS_KEY_ARN.match(value)
    return match.group("region") if match else None


KmsKey = Annotated[str, AfterValidator(_check_kms_key)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Objectives(Strict):
    """Recovery objectives. A breach of any of them fails the drill."""

    rto: Duration = Field(description="Recovery time objective: from the start of recovery until the restore is usable.")
    rpo: Duration = Field(description="Recovery point objective: the most data, as age of the recovered point, you may lose.")


class AwsAccess(Strict):
    profile: str | None = Field(default=None, description="Named profile from the shared AWS config.")
    role_arn: str | None = Field(default=None, description="Role to assume for the drill.")
    external_id: str | None = None
    session_name: str = "drtool-drill"

    @field_validator("role_arn")
    @classmethod
    def _role_arn_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+", value):
            raise ValueError(f"{value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
        return value

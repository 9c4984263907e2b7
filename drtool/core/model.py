"""The building blocks of drill files that every layer shares: problems, durations, regions, objectives, AWS access."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
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
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{value!r} needs a unit; write it like 30m, 1h30m, 24h or 90s")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_timedelta),
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

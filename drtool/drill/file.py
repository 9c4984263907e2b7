"""Drill files: the typed model, and loading YAML with every problem located by file and line.

A drill file binds features (what a drill does) to an environment (where it
runs and what it must achieve). `load_drill` returns a `Drill` or raises
`DrillFileError` carrying every problem found, each with its line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import AfterValidator, Field, ValidationError, create_model

from drtool.core.model import (
    NAME_PATTERN,
    AwsAccess,
    DrillFileError,
    Duration,
    Problem,
    Region,
    Strict,
)
from drtool.core.api_budget import DEFAULT_SHARE
from drtool.core.inputs import line_for, parse_yaml, read_input
from drtool.services.rds.limits import SNAPSHOT_COPIES_IN_PROGRESS
from drtool.core.registry import families
from drtool.drill.publish import Publishing
from drtool.drill.outputs import EvidenceUpload, HistoryStore
from drtool.drill.semantics import semantic_problems
from drtool.drill.step_library import module_steps

# Any family's target model; `drill_model()` types `Drill.targets` with every registered one.
Target = Strict

MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


def _step_module(name: str) -> str:
    """A module the drill's features take steps from: it must import and define at least one pytest-bdd step."""
    try:
        steps = module_steps(name)
    except Exception as exc:  # any import failure is the drill file's problem, reported at its line
        raise ValueError(f"cannot import step module {name!r}: {type(exc).__name__}: {exc}") from None
    if not steps:
        raise ValueError(f"step module {name!r} defines no pytest-bdd steps")
    return name


StepModule = Annotated[str, Field(pattern=MODULE_PATTERN), AfterValidator(_step_module)]


DEFAULT_MAX_PARALLEL = 10
MAX_PARALLEL_LIMIT = 200


class Concurrency(Strict):
    """How many targets a run drills at once. Each target's scenarios still run in order."""

    max_parallel: int = Field(
        default=DEFAULT_MAX_PARALLEL, ge=1, le=MAX_PARALLEL_LIMIT,
        description="Targets drilled at the same time (drtool run --max-parallel overrides it); 1 drills them one by one.")
    rds_snapshot_copies: int = Field(
        default=SNAPSHOT_COPIES_IN_PROGRESS, ge=1, le=SNAPSHOT_COPIES_IN_PROGRESS,
        description="Snapshot copies into the DR region in progress at once; RDS allows 20 per destination Region "
                    "per account, shared with the account's own copies.")
    api_share: float = Field(
        default=DEFAULT_SHARE, gt=0, le=1,
        description="Share of each rate-limited API's documented per-account rate the drill may use (RDS: 300 burst, "
                    "12/s); the rest is left to the account's own automation. Shards of one drill divide it.")


def target_kinds() -> tuple[str, ...]:
    return families().kinds


class Drill(Strict):
    """A drill file: where a drill runs and what it must achieve."""

    drill: str = Field(pattern=NAME_PATTERN, description="Name of the drill; used in reports and resource names.")
    primary_region: Region
    dr_region: Region
    features: list[str] = Field(min_length=1, description="Feature files, relative to this drill file.")
    tags: str | None = Field(default=None, description="pytest marker expression selecting scenarios, e.g. 'rds and not slow'.")
    steps: list[StepModule] = Field(
        default_factory=list,
        description="Python modules (importable, e.g. mycompany.dr_steps) with your own pytest-bdd steps for the features.",
    )
    aws: AwsAccess = Field(default_factory=AwsAccess)
    budget: Duration | None = Field(default=None, description="Longest the whole drill may take; past it the run stops and tears down.")
    concurrency: Concurrency = Field(default_factory=Concurrency, description="How many targets are drilled at once.")
    history: HistoryStore | None = Field(default=None, description="Keep the run history and the run lock in S3 (default: a local directory).")
    evidence: EvidenceUpload | None = Field(default=None, description="Upload each run's evidence bundle to S3 with SSE-KMS.")
    targets: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Any] = Field(min_length=1)
    publish: Publishing = Field(default_factory=Publishing,
                                description="Optional: where the results go after the run (CloudWatch, a Pushgateway, SNS).")

    def targets_of_kind(self, kind: str) -> dict[str, Target]:
        return {name: target for name, target in self.targets.items() if target.kind == kind}


@dataclass(frozen=True)
class LoadedDrill:
    """A validated drill with where it came from."""

    drill: Drill
    path: Path
    sha256: str
    feature_paths: tuple[Path, ...] = field(default_factory=tuple)


@lru_cache(maxsize=1)
def drill_model() -> type[Drill]:
    """`Drill` whose targets are validated by the registered families' target models, chosen by `kind`."""
    models = tuple(family.target_model for family in families())
    target = Annotated[Union[models], Field(discriminator="kind")]  # type: ignore[valid-type]
    name = Annotated[str, Field(pattern=NAME_PATTERN)]
    return create_model("Drill", __base__=Drill, __doc__=Drill.__doc__, targets=(dict[name, target], Field(min_length=1)))


def drill_json_schema() -> dict[str, Any]:
    schema = drill_model().model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "drtool drill file"
    return schema


# --- YAML with line numbers -------------------------------------------------


def parse_yaml_with_lines(text: str, file: str) -> tuple[Any, dict[tuple, int]]:
    """The bounded, safe loader of the input layer (drtool.core.inputs)."""
    return parse_yaml(text, file)


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    return line_for(loc, lines)


def _describe_error(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"] if not (isinstance(part, str) and part in target_kinds())]
    where = ".".join(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {where!r}"
    if kind == "missing":
        return f"missing required key {where!r}"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "union_tag_invalid":
        message = f"unknown target kind {error['input'].get('kind')!r}; expected one of: {', '.join(target_kinds())}"
    elif kind == "union_tag_not_found":
        message = f"needs a 'kind', one of: {', '.join(target_kinds())}"
    return f"{where}: {message}" if where else message


def _strip_kind(loc: tuple) -> tuple:
    # Discriminated unions add the tag to the location: targets.orders-db.rds-instance.restore
    return tuple(part for part in loc if not (isinstance(part, str) and part in target_kinds()))


def parse_drill(text: str, file: str) -> Drill:
    data, lines = parse_yaml_with_lines(text, file)
    if not isinstance(data, dict):
        raise DrillFileError([Problem(file, 1, "a drill file is a mapping of keys (drill, primary_region, ...)")])
    try:
        drill = drill_model().model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(file, _line_for(_strip_kind(err["loc"]), lines), _describe_error(err)) for err in exc.errors()
        ]
        raise DrillFileError(sorted(problems, key=lambda p: (p.line or 0, p.message))) from None
    problems = [Problem(file, _line_for(loc, lines), message) for loc, message in semantic_problems(drill)]
    if problems:
        raise DrillFileError(sorted(problems, key=lambda p: (p.line or 0, p.message)))
    return drill


def load_drill(path: str | Path) -> LoadedDrill:
    """Read and validate a drill file's own contents (see `drtool.drill.validate` for feature checks)."""
    path = Path(path)
    raw, text = read_input(path, "drill file")
    drill = parse_drill(text, str(path))
    return LoadedDrill(drill=drill, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest())

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

import yaml
from pydantic import AfterValidator, Field, ValidationError, create_model, model_validator

from drtool.core.model import (
    NAME_PATTERN,
    AwsAccess,
    DrillFileError,
    Duration,
    Problem,
    Region,
    Strict,
)
from drtool.core.registry import families
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
    targets: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _regions_differ(self) -> "Drill":
        if self.primary_region == self.dr_region:
            raise ValueError("dr_region must differ from primary_region")
        return self

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


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key and sequence item."""


def _compose_lines(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            _compose_lines(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _compose_lines(item, path + (index,), lines)


def _no_duplicate_keys(node: yaml.Node, file: str, problems: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                problems.append(Problem(file, line, f"duplicate key {key_node.value!r} (first at line {seen[key_node.value]})"))
            seen.setdefault(key_node.value, line)
            _no_duplicate_keys(value_node, file, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_duplicate_keys(item, file, problems)


def parse_yaml_with_lines(text: str, file: str) -> tuple[Any, dict[tuple, int]]:
    try:
        node = yaml.compose(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DrillFileError([Problem(file, mark.line + 1 if mark else None, f"not valid YAML: {getattr(exc, 'problem', exc)}")])
    if node is None:
        raise DrillFileError([Problem(file, None, "the file is empty")])
    problems: list[Problem] = []
    _no_duplicate_keys(node, file, problems)
    if problems:
        raise DrillFileError(problems)
    lines: dict[tuple, int] = {}
    _compose_lines(node, (), lines)
    data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    return data, lines


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


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
        return drill_model().model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(file, _line_for(_strip_kind(err["loc"]), lines), _describe_error(err)) for err in exc.errors()
        ]
        raise DrillFileError(sorted(problems, key=lambda p: (p.line or 0, p.message))) from None


def load_drill(path: str | Path) -> LoadedDrill:
    """Read and validate a drill file's own contents (see `drtool.drill.validate` for feature checks)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DrillFileError([Problem(str(path), None, f"cannot read the drill file: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DrillFileError([Problem(str(path), None, "the drill file is not UTF-8 text")]) from None
    drill = parse_drill(text, str(path))
    return LoadedDrill(drill=drill, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest())

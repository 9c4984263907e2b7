"""Full validation of a drill file: its own contents and the features it names.

Nothing here touches AWS. Every problem is reported at once, with file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

from pytest_bdd import exceptions as bdd_exceptions
from pytest_bdd.parser import Feature, FeatureParser, ScenarioTemplate

from drtool.core.inputs import option_problem, read_text_file
from drtool.core.model import DrillFileError, Problem
from drtool.core.registry import families
from drtool.drill.bundled import features_dir
from drtool.drill.file import Drill, LoadedDrill, load_drill, target_kinds
from drtool.drill.step_library import step_library
from drtool.drill.tags import selects, tag_expression_problem
from drtool.drill.target_steps import EACH_TARGET_STEP, NAMED_TARGET_STEP

_EACH = re.compile(EACH_TARGET_STEP)
_NAMED = re.compile(NAMED_TARGET_STEP)


def library_features() -> dict[str, Path]:
    """The features the installed families ship, by file name (a family names them bare, from drtool's features, or by path)."""
    found: dict[str, Path] = {}
    for family in families():
        for feature in family.features:
            path = Path(feature) if Path(feature).is_absolute() else features_dir() / feature
            found.setdefault(path.name, path)
    return found


def resolve_feature(drill_path: Path, name: str) -> Path | None:
    """A feature path is relative to the drill file; a bare file name may also be a family's own feature.

    Only a bare name: `typo-dir/rds_restore.feature` is a typo, not a request for the library's copy.
    """
    candidates = [drill_path.parent / name]
    if Path(name).name == name and name in library_features():
        candidates.append(library_features()[name])
    return next((path.resolve() for path in candidates if path.is_file()), None)


def check_drill_file(path: Path, *, tags: str | None = None) -> LoadedDrill:
    """Load a drill file and check everything that can be checked offline; raise DrillFileError listing all problems.

    `tags` is a tag expression given on the command line; it replaces the drill file's own, and must select something.
    """
    loaded = load_drill(path)
    drill = loaded.drill
    problems: list[Problem] = []
    feature_paths: list[Path] = []
    features: list[Feature] = []
    for name in drill.features:
        feature_path = resolve_feature(loaded.path, name)
        if feature_path is None:
            problems.append(Problem(str(path), _feature_line(path, name), f"feature file {name!r} not found next to the drill file, nor a bare name of a family's feature ({', '.join(sorted(library_features()))})"))
            continue
        feature_paths.append(feature_path)
        try:
            feature = parse_feature(feature_path)
        except DrillFileError as exc:
            problems.extend(exc.problems)
            continue
        features.append(feature)
        problems.extend(_check_feature(feature, feature_path, drill))
    if not problems:
        problems.extend(_selection_problems(path, drill, features, tags))
    if problems:
        raise DrillFileError(problems)
    return LoadedDrill(drill=drill, path=loaded.path, sha256=loaded.sha256, feature_paths=tuple(feature_paths))


def parse_feature(feature_path: Path) -> Feature:
    """A feature file, bounded and decoded by the input layer, parsed by pytest-bdd; problems at their lines."""
    file = str(feature_path)
    text = read_text_file(feature_path, "feature file")
    if not text.strip():
        raise DrillFileError([Problem(file, None, "the feature file is empty; it needs a 'Feature:' line and scenarios")])
    try:
        feature = FeatureParser(str(feature_path.parent), feature_path.name).parse()
    except (bdd_exceptions.GherkinParseError, bdd_exceptions.StepError) as exc:
        raise DrillFileError([Problem(file, getattr(exc, "line", None), f"not valid Gherkin: {_gherkin_message(exc)}")]) from None
    except RecursionError:
        raise DrillFileError([Problem(file, None, "not valid Gherkin: nested too deep")]) from None
    except Exception as exc:  # the Gherkin parser's other complaints (a '# language:' it does not know, ...)
        line = _gherkin_line(exc)
        raise DrillFileError([Problem(file, line, f"not valid Gherkin: {type(exc).__name__}: {str(exc)[:200]}")]) from None
    if not feature.scenarios:
        raise DrillFileError([Problem(file, feature.line_number or None, "the feature has no scenarios (a 'Scenario:' line "
                                                                          "with steps); nothing would run")])
    return feature


def _gherkin_message(exc: Exception) -> str:
    """One line: the Gherkin parser's own errors come as 'Unknown parsing error: Parser errors:\n(5:7): problem'."""
    message = getattr(exc, "message", None) or str(exc)
    message = re.sub(r"Unknown parsing error: |Parser errors:|\(\d+:\d+\): ", "", message)
    return " ".join(message.split()).replace(" .", ".")[:300]


def _gherkin_line(exc: Exception) -> int | None:
    location = getattr(exc, "location", None) or {}
    line = location.get("line") if isinstance(location, dict) else None
    return line if isinstance(line, int) and line > 0 else None


def _applies(template: ScenarioTemplate, drill: Drill) -> bool:
    """A scenario over each target of a kind the drill has none of is left out of a run."""
    kinds = {m.group("kind") for step in template.steps if (m := _EACH.fullmatch(step.name))}
    return all(any(target.kind == kind for target in drill.targets.values()) for kind in kinds)


def scenario_tags(template: ScenarioTemplate) -> set[str]:
    tags = set(template.tags) | set(template.feature.tags)
    if template.rule is not None:
        tags |= set(template.rule.tags)
    for examples in template.examples:
        tags |= set(examples.tags)
    return tags


def _selection_problems(path: Path, drill: Drill, features: list[Feature], tags: str | None) -> list[Problem]:
    """A run that would select no scenario is refused now, not after a journal was opened."""
    expression = tags if tags else drill.tags
    templates = [template for feature in features for template in feature.scenarios.values()]
    applicable = [template for template in templates if _applies(template, drill)]
    if not applicable:
        kinds = sorted({target.kind for target in drill.targets.values()})
        return [Problem(str(path), None, f"none of the features' {len(templates)} scenarios is for a kind of target "
                                         f"the drill has ({', '.join(kinds)}); nothing would run")]
    if not expression:
        return []
    if problem := tag_expression_problem(expression):
        return [option_problem("-m", problem)] if tags else []  # the drill file's own was reported at its line
    if any(selects(expression, scenario_tags(template)) for template in applicable):
        return []
    known = sorted({tag for template in applicable for tag in scenario_tags(template)})
    where = option_problem("-m", "") if tags else Problem(str(path), None, "")
    message = (f"the tag expression {expression!r} selects none of the drill's {len(applicable)} scenarios "
               f"(their tags: {', '.join(known) or 'none'}); nothing would run")
    return [Problem(where.file, _tags_line(path) if not tags else None, message)]


def _tags_line(path: Path) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("tags:"):
            return number
    return None


def _feature_line(path: Path, name: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if name in line:
            return number
    return None


def _rendered_steps(template: ScenarioTemplate):
    """Steps as they will run: once per example row for an outline."""
    contexts = [ctx for examples in template.examples for ctx in examples.as_contexts()] or [{}]
    for context in contexts:
        for raw, rendered in zip(template.steps, template.render(context).steps):
            yield raw, rendered


def _check_feature(feature: Feature, feature_path: Path, drill: Drill) -> list[Problem]:
    problems: list[Problem] = []
    library = step_library(tuple(drill.steps))
    file = str(feature_path)
    seen: set[tuple[int, str]] = set()
    for template in feature.scenarios.values():
        for raw, step in _rendered_steps(template):
            key = (raw.line_number, step.name)
            if key in seen:
                continue
            seen.add(key)
            if not any(ctx.type in (None, step.type) and ctx.parser.is_matching(step.name) for ctx in library):
                problems.append(Problem(file, raw.line_number, f"no step implementation for '{step.keyword} {step.name}'"))
            if (each := _EACH.fullmatch(step.name)) and each.group("kind") not in target_kinds():
                problems.append(Problem(file, raw.line_number, f"unknown target kind {each.group('kind')!r}; expected one of: {', '.join(target_kinds())}"))
            if named := _NAMED.fullmatch(step.name):
                name, kind = named.group("name"), named.group("kind")
                target = drill.targets.get(name)
                if target is None:
                    problems.append(Problem(file, raw.line_number, f"the drill file defines no target named {name!r} (it has: {', '.join(drill.targets)})"))
                elif target.kind != kind:
                    problems.append(Problem(file, raw.line_number, f"target {name!r} is a {target.kind}, not a {kind}"))
    return problems

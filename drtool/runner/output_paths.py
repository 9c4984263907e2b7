"""A run's outputs against its inputs and each other, for `drtool run` and `pytest --drill` alike, before anything runs.

The inputs are the drill file, every feature it uses (the bundled ones too) and the files of the step modules it
loads; the outputs are the JUnit and Cucumber files, the report set's directory and the evidence bundle's, each by
the names it will write. The journal directory only ever gets new files named by the fresh run id, so it cannot
overwrite anything and is not compared.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from drtool.core.clobber import Input, Output, clobber_problems
from drtool.core.model import Problem
from drtool.drill.bundled import features_dir
from drtool.drill.file import LoadedDrill
from drtool.drill.step_library import step_modules
from drtool.reports.evidence import bundle_writes
from drtool.reports.report_set import JOURNAL_COPY, REPORT_FILES, REPORT_WRITERS

REPORT_SET = frozenset([*REPORT_FILES, *REPORT_WRITERS, JOURNAL_COPY])


@dataclass(frozen=True)
class RunPaths:
    """The paths a run writes, and the option that names each (they differ between `drtool run` and the plugin)."""

    junit: tuple[str, Path | None]
    cucumber: tuple[str, Path | None]
    report_dir: tuple[str, Path | None]
    evidence: tuple[str, Path | None]

    def outputs(self) -> list[Output]:
        junit, cucumber, report_dir, evidence = (path for _, path in (self.junit, self.cucumber, self.report_dir, self.evidence))
        found = [Output(self.junit[0], junit), Output(self.cucumber[0], cucumber),
                 Output(self.report_dir[0], report_dir, REPORT_SET if report_dir is not None else None)]
        if evidence is not None:
            # The bundle copies the reports in (the journal too, under a name no other output has: its run id's).
            sources = [*((path, None) for path in (junit, cucumber) if path is not None),
                       *([(report_dir, REPORT_SET)] if report_dir is not None else [])]
            found.append(Output(self.evidence[0], evidence, bundle_writes(evidence, sources)))
        return [output for output in found if output.path is not None]


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None  # not importable: the drill file's own check says so
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin not in ("built-in", "frozen") else None


def drill_inputs(drill_path: Path, loaded: LoadedDrill | None) -> list[Input]:
    """What a run reads: the drill file, then (when it loaded) its features and its step modules' files."""
    found = [Input(f"the drill file {drill_path}", drill_path)]
    if loaded is None:
        return found
    bundled = features_dir().resolve()
    for path in loaded.feature_paths:
        kind = "the bundled feature" if path.resolve().is_relative_to(bundled) else "the feature"
        found.append(Input(f"{kind} {path}", path))
    for name in dict.fromkeys([*step_modules(), *loaded.drill.steps]):
        origin = _module_file(name)
        if origin is not None:
            found.append(Input(f"the file of step module {name} ({origin})", origin))
    return found


def run_path_problems(drill_path: Path, loaded: LoadedDrill | None, paths: RunPaths) -> list[Problem]:
    """`option --x: problem` for each output that would overwrite an input, or what another output writes."""
    return clobber_problems(drill_inputs(drill_path, loaded), paths.outputs())

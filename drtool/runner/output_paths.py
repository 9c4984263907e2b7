"""A run's outputs against its inputs and each other, for `drtool run` and `pytest --drill` alike, before anything runs.

The inputs are the drill file, every feature it uses (the bundled ones too) and the files of the step modules it
loads; the outputs are the reports asked for (drtool.reports.outputs) and the evidence bundle, each by the names it
will write. The journal directory only ever gets new files named by the fresh run id, so it cannot
overwrite anything and is not compared.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from drtool.core.clobber import Input, Output, clobber_problems
from drtool.core.model import Problem
from drtool.drill.bundled import features_dir
from drtool.drill.file import LoadedDrill
from drtool.drill.step_library import step_modules
from drtool.reports.evidence import bundle_writes
from drtool.reports.outputs import Front, ReportFiles

EVIDENCE_OPTIONS = {Front.DRTOOL: "--evidence", Front.PYTEST: "--drill-evidence"}


def run_outputs(reports: ReportFiles, evidence: Path | None, front: Front) -> list[Output]:
    """What a run writes, each by the option that names it: the reports, then the evidence bundle."""
    found = reports.written(front)
    if evidence is not None:
        # The bundle copies the reports in (the journal too, under a name no other output has: its run id's).
        found.append(Output(EVIDENCE_OPTIONS[front], evidence, bundle_writes(evidence, reports.sources())))
    return found


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


def run_path_problems(drill_path: Path, loaded: LoadedDrill | None, reports: ReportFiles, evidence: Path | None,
                      front: Front) -> list[Problem]:
    """`option --x: problem` for each output that would overwrite an input, or what another output writes."""
    return clobber_problems(drill_inputs(drill_path, loaded), run_outputs(reports, evidence, front))

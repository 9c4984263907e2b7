"""How reports name a feature file: as CI annotations expect it, relative to the repository it is in.

GitHub annotations (mikepenz, EnricoMi) and GitLab's file links want a path from
the repository's root. A feature outside any repository (drtool's own, installed
from a wheel) keeps its absolute path: there is no root to be relative to.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drtool.core.model import Problem
    from drtool.drill.file import LoadedDrill


def repository_root(path: Path) -> Path | None:
    """The nearest folder above `path` holding `.git` (a folder, or a file in a git worktree)."""
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


@lru_cache(maxsize=256)  # asked once per scenario, of a handful of feature files
def report_path(path: str | Path) -> str:
    path = Path(path).resolve()
    root = repository_root(path)
    return path.relative_to(root).as_posix() if root is not None else path.as_posix()


def output_clobbers(loaded: "LoadedDrill", *, files: dict[str, Path | None], report_dir: tuple[str, Path | None],
                    evidence: tuple[str, Path | None]) -> list["Problem"]:
    """Problems with outputs that would overwrite the drill's inputs or each other (`drtool run`, `pytest --drill`).

    `files` maps each file option to its path; the report directory and the evidence bundle add the files they write.
    """
    from drtool.core.inputs import clobber_problems
    from drtool.reports.evidence import MANIFEST
    from drtool.reports.report_set import JOURNAL_COPY, REPORT_FILES, REPORT_WRITERS

    outputs = [(option, path) for option, path in files.items() if path is not None]
    option, directory = report_dir
    if directory is not None:
        outputs += [(f"{option} ({name})", directory / name) for name in (*REPORT_FILES, *REPORT_WRITERS, JOURNAL_COPY)]
    option, directory = evidence
    if directory is not None:
        outputs.append((f"{option} ({MANIFEST})", directory / MANIFEST))
    inputs = [("the drill file", loaded.path), *(("the feature " + path.name, path) for path in loaded.feature_paths)]
    return clobber_problems(outputs, inputs)

"""How reports name a feature file: as CI annotations expect it, relative to the repository it is in.

GitHub annotations (mikepenz, EnricoMi) and GitLab's file links want a path from
the repository's root. A feature outside any repository (drtool's own, installed
from a wheel) keeps its absolute path: there is no root to be relative to.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


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


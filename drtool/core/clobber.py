"""Outputs never overwrite inputs or each other: every path a command will write, checked before anything runs.

A path is compared resolved (symlinks, `..`, relative to the working directory), and as the same file when both
exist (a hard link). A directory output is compared by the names it writes there, not by what it contains: a
report directory beside the drill file is fine, one whose `summary.md` is a feature the drill uses is not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from drtool.core.inputs import option_problem
from drtool.core.model import Problem

OVERWRITE = "an output may not overwrite an input"


@dataclass(frozen=True)
class Input:
    """A file the command reads: `what` names it in a message ("the drill file drill.yaml")."""

    what: str
    path: Path


@dataclass(frozen=True)
class Output:
    """A file (`names` None) or a directory an option writes, with the names it writes there (relative paths)."""

    option: str
    path: Path | None
    names: frozenset[str] | None = None

    def targets(self) -> dict[Path, str]:
        """Each file this output writes, resolved, and how a message names it."""
        if self.path is None:
            return {}
        base = _resolved(self.path)
        if self.names is None:
            return {base: str(self.path)}
        return {_resolved(base / name): name for name in sorted(self.names)}


def _resolved(path: Path) -> Path:
    try:
        return Path(os.path.abspath(path)).resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop: compare it as written
        return Path(os.path.abspath(path))


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def clobber_problems(inputs: Iterable[Input], outputs: Sequence[Output]) -> list[Problem]:
    """One problem per output that would overwrite an input or a file another output writes."""
    read = [(_resolved(item.path), item) for item in inputs]
    problems: list[Problem] = []
    for index, output in enumerate(outputs):
        targets = output.targets()
        problem = _over_input(output, targets, read) or _over_output(output, targets, outputs[:index])
        if problem:
            problems.append(option_problem(output.option, problem))
    return problems


def _over_input(output: Output, targets: dict[Path, str], read: list[tuple[Path, Input]]) -> str | None:
    for target, name in targets.items():
        for path, item in read:
            if _same(target, path):
                if output.names is None:
                    return f"is {item.what}; {OVERWRITE}"
                return f"would write its {name} over {item.what}; {OVERWRITE}"
    return None


def _over_output(output: Output, targets: dict[Path, str], earlier: Sequence[Output]) -> str | None:
    for other in earlier:
        theirs = other.targets()
        for target, name in targets.items():
            for path, their_name in theirs.items():
                if not _same(target, path):
                    continue
                if output.names is None and other.names is None:
                    return f"is the same file as {other.option}"
                if output.names is None:
                    return f"is the {their_name} that {other.option} writes; one would overwrite the other"
                if other.names is None:
                    return f"would write its {name} over {other.option} ({other.path})"
                return f"would write its {name} where {other.option} writes its {their_name}"
    return None

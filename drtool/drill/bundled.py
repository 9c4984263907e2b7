"""Files that ship with drtool: the standard features and the sandbox drill.

In a wheel they live in drtool/_bundled; in a source checkout (editable
install) they are the repository's own features/ and drills/.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # the drtool package


def _root() -> Path:
    installed = _PACKAGE / "_bundled"
    return installed if installed.is_dir() else _PACKAGE.parent


def features_dir() -> Path:
    return _root() / "features"


def sandbox_drill() -> Path:
    return _root() / "drills" / "sandbox.yaml"

"""The layers import one way, down: the import-linter contracts in pyproject.toml hold, and they would catch a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # Run where `root` is importable first, so the contracts read that tree's drtool.
    return subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, '.'); sys.argv = ['lint-imports', '--no-cache']; "
                               "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def test_the_layer_contracts_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_way_import_breaks_a_contract(tmp_path):
    shutil.copytree(REPO / "drtool", tmp_path / "drtool", ignore=shutil.ignore_patterns("__pycache__", "_bundled"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "drtool" / "core" / "clock.py").open("a") as clock:
        clock.write("\nfrom drtool.runner import plugin  # the core reaching up into the runner\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Layers import one way, down BROKEN" in result.stdout
    assert "drtool.core.clock -> drtool.runner.plugin" in result.stdout

"""Real sandbox drill runs whose reports the tests in this folder read, one run per kind a module needs.

Each is a `drtool run` (or `pytest --drill`) of the bundled drill narrowed to its two
databases, against a freshly reset lab, writing its journal, JUnit XML and Cucumber
JSON under a folder of its own. The tests then read those files, and render other
variants (strict, figures in names) from the journal in-process.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from drtool.core.journal import read_journal
from drtool.core.results import RunResult, summarize
from drtool.sandbox.lab import Lab
from drtool.sandbox.seed import BILLING_DB, ORDERS_DB
from tests.conftest import TIME_SCALE
from tests.helpers import WIDE, drill_file, lab_env

# The sandbox's own RTO for a database, which the slow-restore fault breaches.
SANDBOX_RTO = "30m"


@dataclass
class Run:
    exit_code: int
    output: str
    folder: Path

    @property
    def journal(self) -> Path:
        [path] = (self.folder / "journal").glob("*.jsonl")
        return path

    @property
    def records(self) -> list[dict[str, Any]]:
        return read_journal(self.journal)

    @property
    def result(self) -> RunResult:
        return summarize(self.records)

    @property
    def junit(self) -> Path:
        return self.folder / "junit.xml"

    @property
    def cucumber(self) -> Path:
        return self.folder / "cucumber.json"


def databases_drill(folder: Path, rto: dict[str, str] | None = None) -> Path:
    """The bundled drill narrowed to its two databases, with wide objectives but for the RTOs given by target."""
    path = drill_file(folder, ORDERS_DB, BILLING_DB, **WIDE)
    drill = yaml.safe_load(path.read_text())
    for target, objective in (rto or {}).items():
        drill["targets"][target]["objectives"]["rto"] = objective
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


def drtool_run(lab: Lab, folder: Path, drill: Path, *args: str, env: dict[str, str] | None = None,
               faults: tuple[str, ...] = (), enforce_iam: bool = False) -> Run:
    """`drtool run` against a freshly reset lab, writing every report into `folder`."""
    command = [sys.executable, "-m", "drtool.cli", "run", str(drill), "--junit-xml", str(folder / "junit.xml"),
               "--cucumber-json", str(folder / "cucumber.json"), *args]
    return _run(lab, folder, command, env, faults, enforce_iam)


def pytest_run(lab: Lab, folder: Path, drill: Path, *args: str, env: dict[str, str] | None = None,
               faults: tuple[str, ...] = (), enforce_iam: bool = False) -> Run:
    """`pytest --drill` against a freshly reset lab, journaling into `folder`."""
    command = [sys.executable, "-m", "pytest", "--drill", str(drill), "-p", "no:cacheprovider", "-c", "/dev/null",
               "--rootdir", str(folder), *args]
    return _run(lab, folder, command, env, faults, enforce_iam)


def _run(lab: Lab, folder: Path, command: list[str], env: dict[str, str] | None, faults: tuple[str, ...],
         enforce_iam: bool) -> Run:
    lab.reset(faults=faults, time_scale=TIME_SCALE, enforce_iam=enforce_iam)
    environment = {**lab_env(lab, folder), **(env or {})}
    done = subprocess.run(command, env=environment, cwd=folder, capture_output=True, text=True, timeout=180)
    return Run(done.returncode, done.stdout + done.stderr, folder)

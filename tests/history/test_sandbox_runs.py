"""A sandbox run is not a production run: it drills a lab of its own, so it takes no lock another run could hold,
and it records itself in the sandbox history, never in the drill's production history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from drtool.core.journal import read_journal
from drtool.reports.history.store import LocalHistory, default_sandbox_history_root
from drtool.sandbox.seed import ORDERS_DB
from tests.helpers import WIDE, drill_file, wait_for_journal_event

# Wide objectives: run A is held still for as long as run B takes, and its verdict is not the point.


def start(folder: Path, drill: Path) -> subprocess.Popen:
    """`drtool run DRILL --sandbox`, as a user types it: the lab in the process, nothing of AWS's in the environment."""
    folder.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env["DRTOOL_JOURNAL_DIR"] = str(folder / "journal")
    return subprocess.Popen([sys.executable, "-m", "drtool.cli", "run", str(drill), "--sandbox", "-q",
                             "--junit-xml", str(folder / "junit.xml")],
                            env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def journal(folder: Path) -> list[dict]:
    [path] = (folder / "journal").glob("*.jsonl")
    return read_journal(path)


def test_two_sandbox_runs_side_by_side_both_run_and_leave_production_history_alone(tmp_path: Path) -> None:
    drill = drill_file(tmp_path, ORDERS_DB, **WIDE)
    first = start(tmp_path / "a", drill)
    try:
        lock = wait_for_journal_event(tmp_path / "a", "run-lock-taken", timeout=90)
        # Run A holds its lock, still, for as long as run B takes: no timing decides whether they overlap.
        first.send_signal(signal.SIGSTOP)
        try:
            second = start(tmp_path / "b", drill)
            second_output, _ = second.communicate(timeout=180)
        finally:
            first.send_signal(signal.SIGCONT)
        first_output, _ = first.communicate(timeout=180)
    finally:
        first.kill()

    assert second.returncode == 0, second_output
    assert first.returncode == 0, first_output
    assert "already running" not in first_output + second_output

    production = Path(os.environ["DRTOOL_HISTORY_DIR"])
    assert not production.exists(), f"a sandbox run wrote into the production history: {list(production.rglob('*'))}"
    # Each run's lock was its own, and is gone with it.
    locks = [next(r for r in journal(tmp_path / run) if r["event"] == "run-lock-taken")["location"] for run in "ab"]
    assert locks[0] == lock["location"] and locks[0] != locks[1]
    assert not any(Path(location).exists() for location in locks)
    assert not any(Path(location).is_relative_to(production) for location in locks)

    recorded = LocalHistory(default_sandbox_history_root(), "sandbox").read().records
    run_ids = {journal(tmp_path / run)[0]["run_id"] for run in "ab"}
    assert {record["run_id"] for record in recorded} == run_ids
    assert all(record["exit_code"] == 0 for record in recorded)


def test_drtool_history_shows_sandbox_runs_apart_and_points_to_them(tmp_path: Path) -> None:
    sandbox_runs = default_sandbox_history_root() / "sandbox" / "runs"
    sandbox_runs.mkdir(parents=True)

    def history(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "drtool.cli", "history", *args], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path)

    empty = history("sandbox")
    assert empty.returncode == 2
    assert "runs of `drtool run --sandbox` are kept apart" not in empty.stderr, "no sandbox run is recorded yet"

    done = start(tmp_path / "run", drill_file(tmp_path, ORDERS_DB, **WIDE))
    output, _ = done.communicate(timeout=180)
    assert done.returncode == 0, output

    production = history("sandbox")
    assert production.returncode == 2
    assert "drtool history --sandbox sandbox" in production.stderr, production.stderr
    shown = history("--sandbox", "sandbox", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert journal(tmp_path / "run")[0]["run_id"] in shown.stdout
    both = history("--sandbox", "--history", str(tmp_path), "sandbox")
    assert both.returncode == 2 and "give only one of them" in both.stderr

"""`pytest --drill` invocations that only show things, and runs that select nothing, write no run journal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drtool.cli import app
from tests.helpers import SANDBOX_DRILL


@pytest.mark.parametrize("option", ["--collect-only", "--markers", "--help", "--fixtures"])
def test_pytest_drill_that_only_shows_things_writes_no_journal(tmp_path: Path, option: str):
    journals = tmp_path / "journals"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRTOOL_"))}
    # Nothing may reach AWS: a closed port, no credentials.
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--drill", str(SANDBOX_DRILL), "--drill-journal-dir", str(journals), option,
         "-p", "no:cacheprovider", "-p", "no:xdist", "-c", os.devnull, "--rootdir", str(SANDBOX_DRILL.parent)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not journals.exists() or not list(journals.iterdir())
    if option == "--collect-only":
        assert "orders-db" in done.stdout  # it did collect the drill's scenarios


def test_pytest_drill_with_a_bad_output_path_is_a_usage_error(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--drill", str(SANDBOX_DRILL), "--drill-journal-dir", str(blocker),
         "--drill-junit", str(tmp_path), "-p", "no:cacheprovider", "-p", "no:xdist", "-c", os.devnull],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert f"option --drill-junit: {tmp_path} is a directory; name a file" in done.stderr
    assert f"option --drill-journal-dir: {blocker} is a file, not a directory" in done.stderr
    assert "INTERNALERROR" not in done.stdout + done.stderr


def test_run_with_tags_that_select_nothing_writes_no_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DRTOOL_JOURNAL_DIR", str(tmp_path / "journals"))
    result = CliRunner().invoke(app, ["run", str(SANDBOX_DRILL), "-m", "nosuchtag"])
    assert result.exit_code == 2
    assert "option -m: the tag expression 'nosuchtag' selects none of the drill's 12 scenarios" in result.output
    assert not (tmp_path / "journals").exists()

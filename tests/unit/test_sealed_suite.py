"""The suite is sealed from the user's state: each test has a home of its own, and a test that writes under the
real one fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from drtool.core.journal import default_journal_dir
from drtool.reports.history.store import default_history_root, default_sandbox_history_root
from tests.conftest import REAL_HOME
from tests.helpers import REPO


def test_a_test_and_every_drtool_it_starts_keep_their_state_under_its_own_home(tmp_path: Path) -> None:
    assert Path.home().is_relative_to(tmp_path) and not Path.home().is_relative_to(REAL_HOME.home)
    assert not [name for name in os.environ if name.startswith("DRTOOL_")
                and name not in ("DRTOOL_HISTORY_DIR", "DRTOOL_TESTS_REQUIRE_TOOLS")], "the user's settings are gone"
    # A process that drops every DRTOOL_* setting (as tests of bad environments do) still lands under tmp_path.
    bare = {name: value for name, value in os.environ.items() if not name.startswith("DRTOOL_")}
    shown = subprocess.run(
        [sys.executable, "-c", "from drtool.core.journal import default_journal_dir as j;"
         "from drtool.reports.history import store as s;"
         "print(j(), s.default_history_root(), s.default_sandbox_history_root(), sep='\\n')"],
        env=bare, capture_output=True, text=True, check=True, timeout=60)
    places = [Path(line) for line in shown.stdout.splitlines()]
    assert len(places) == 3 and all(place.is_relative_to(tmp_path) for place in places), places
    assert all(place.is_relative_to(tmp_path) for place in (default_journal_dir(), default_history_root(),
                                                            default_sandbox_history_root()))


@pytest.mark.parametrize("place", [".local/state/drtool/history/sandbox/lock.json", ".aws/credentials", "stray.txt"])
def test_a_test_that_writes_under_the_real_home_fails_naming_what_it_wrote(pytester: pytest.Pytester, tmp_path: Path,
                                                                            place: str) -> None:
    real = tmp_path / "real-home"
    (real / ".local" / "state" / "drtool").mkdir(parents=True)
    pytester.makeconftest("from tests.conftest import *  # noqa: F401,F403\n")
    pytester.makepyfile(test_writes=f"""
        import os
        from pathlib import Path

        def test_keeps_to_its_own_home():
            (Path.home() / ".local" / "state" / "drtool").mkdir(parents=True)
            (Path.home() / ".local" / "state" / "drtool" / "mine.json").write_text("{{}}")

        def test_writes_under_the_real_home():
            written = Path({str(real)!r}) / {place!r}
            written.parent.mkdir(parents=True, exist_ok=True)
            written.write_text("x")
    """)
    # The inner suite's "real home" is `real`: it is the home its session starts in.
    env = {**os.environ, "HOME": str(real), "PYTHONPATH": str(REPO)}
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "DRTOOL_HISTORY_DIR"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-o",
                           "addopts=", "-rA", str(pytester.path / "test_writes.py")],
                          cwd=pytester.path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PASSED test_writes.py::test_keeps_to_its_own_home" in done.stdout
    assert "ERROR at teardown of test_writes_under_the_real_home" in done.stdout
    assert f"wrote under the real home {real}" in done.stdout
    assert f"{real}/{place}" in done.stdout, done.stdout

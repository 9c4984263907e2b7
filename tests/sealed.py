"""The suite is sealed from the user's state: every test gets a home of its own, and a guard proves that nothing
was written under the real one.

drtool keeps its journals, history and run locks under the user's state home (`$XDG_STATE_HOME`, else
`~/.local/state`), and AWS tools read `~/.aws`. A test that reached them would take the user's run locks (and be
refused by a real run's), or leave its records in their `drtool history`. `state_home(tmp_path)` is the environment
that points all of it under `tmp_path`; the guard snapshots the real home's drtool places and fails the test that
changed them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

# Under the real home: what drtool (and the AWS SDK it uses) reads or writes.
WATCHED = (".local/state/drtool", ".config/drtool", ".cache/drtool", ".aws")
# Set in the user's shell, these name the real state too, wherever it is.
WATCHED_ENV = ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
WATCHED_DIR_ENV = ("DRTOOL_HISTORY_DIR", "DRTOOL_JOURNAL_DIR", "DRTOOL_SANDBOX_HISTORY_DIR")

Snapshot = dict[str, tuple[int, int]]


def state_home(folder: Path) -> dict[str, str]:
    """The environment that gives a test (or a drill it starts) its own home under `folder`, laid out as a real
    one: even a process that drops every DRTOOL_* variable keeps its state there."""
    home = folder / "home"
    return {"HOME": str(home), "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache")}


@dataclass(frozen=True)
class RealHome:
    """The real home, as the session found it before any test's home replaced it, and the places watched in it."""

    home: Path
    watched: tuple[Path, ...]

    @classmethod
    def of(cls, home: Path, environ: Mapping[str, str]) -> RealHome:
        places = [home / place for place in WATCHED]
        places += [Path(environ[name]) / "drtool" for name in WATCHED_ENV if environ.get(name)]
        places += [Path(environ[name]) for name in WATCHED_DIR_ENV if environ.get(name)]
        return cls(home, tuple(dict.fromkeys(places)))

    def snapshot(self) -> Snapshot:
        """Each watched file and directory with its mtime and size, and the names at the top of the home (a new
        entry there is something written outside drtool's places). Cheap: the home itself is not walked."""
        found: Snapshot = {}
        try:
            found.update({f"{self.home}/{entry.name} (in the home)": (0, 0) for entry in os.scandir(self.home)})
        except OSError:
            pass
        for root in self.watched:
            for directory, _, files in os.walk(root):
                for path in (directory, *(os.path.join(directory, name) for name in files)):
                    try:
                        stat = os.lstat(path)
                    except OSError:
                        continue  # gone between the listing and the look
                    found[path] = (stat.st_mtime_ns, stat.st_size)
        return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What was created, modified or removed between two snapshots, one line each."""
    return sorted([*(f"created {path}" for path in after.keys() - before.keys()),
                   *(f"removed {path}" for path in before.keys() - after.keys()),
                   *(f"modified {path}" for path in after.keys() & before.keys() if after[path] != before[path])])


class HomeGuard:
    """Compares the real home with how the previous check left it: each test is charged with what changed since
    the one before it ended (its fixtures' setup included)."""

    def __init__(self, real: RealHome):
        self.real = real
        self.last = real.snapshot()

    def check(self) -> list[str]:
        now = self.real.snapshot()
        found, self.last = changes(self.last, now), now
        return found

"""How fast drtool starts, and how long the sandbox demo takes end to end.

Run: python bench/cli_timing.py [--runs N]
Prints medians of N runs of `python -c pass` (the floor) and `drtool --help`
side by side, their ratio, and one timed `drtool run --sandbox` with the
world-time duration it reported. Machines here are shared: read the ratio.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
import time


def timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - start, done


def median_of(cmd: list[str], runs: int) -> float:
    return statistics.median(timed(cmd)[0] for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    floor = median_of([sys.executable, "-c", "pass"], args.runs)
    help_time = median_of([sys.executable, "-m", "drtool.cli", "--help"], args.runs)
    print(f"python -c pass        median {floor * 1000:7.1f} ms over {args.runs} runs")
    print(f"drtool --help         median {help_time * 1000:7.1f} ms over {args.runs} runs  ({help_time / floor:.1f}x the interpreter floor)")

    with tempfile.TemporaryDirectory() as journal_dir:
        # A history of its own: the bench's run is not one of the user's drills.
        wall, done = timed([sys.executable, "-m", "drtool.cli", "run", "--sandbox", "--journal-dir", journal_dir,
                            "--history", str(Path(journal_dir) / "history")])
    world = re.search(r"in (\S+) \(world time, x([\d.]+)\)", done.stdout)
    reported = f"{world.group(1)} world time at x{world.group(2)}" if world else "no summary line"
    print(f"drtool run --sandbox  {wall:7.1f} s wall clock, exit {done.returncode}, drill reported {reported}")


if __name__ == "__main__":
    main()

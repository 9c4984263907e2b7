"""Bad input: the worst answer time and peak memory, per class, measured as a user meets them.

Each input of tests/inputs/corpus.py (one command per drill file: they share the
loader) and a few inputs sized to sit just under the loader's limits run as
`python -m drtool.cli ...` in a fresh process: the time is wall-clock from start
to exit, interpreter start and imports included; the memory is the process's
peak resident set (ru_maxrss from wait4, via a small launcher). The goal is 2 s and 200 MB each.

    python bench/bad_input.py            # every class
    python bench/bad_input.py yaml       # the cases whose id contains "yaml"
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from drtool.core.inputs import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES  # noqa: E402
from tests.inputs.corpus import BASE, CASES, Case  # noqa: E402

GOAL_SECONDS, GOAL_MB = 2.0, 200

LAUNCHER = """
import os, sys, time
devnull = os.open(os.devnull, os.O_WRONLY)
started = time.perf_counter()
pid = os.posix_spawn(sys.executable, [sys.executable, "-m", "drtool.cli", *sys.argv[1:]], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def near_limits() -> list[Case]:
    """Inputs at the loader's edges: the most it reads and parses before it answers."""
    big_list = "features:\n" + "".join(f"  - f{i:06d}.feature\n" for i in range(MAX_NODES - 10))
    width = MAX_FILE_BYTES // (MAX_NODES // 2)
    wide = "targets:\n" + "".join(f"  t{i}: {'x' * width}\n" for i in range(MAX_FILE_BYTES // (width + 12)))
    laughs7 = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdef", "bcdefg"))
    deep = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH - 1)) + "  " * (MAX_DEPTH - 1) + "v: 1\n"
    comment = BASE + "#" * (MAX_FILE_BYTES - len(BASE) - 1) + "\n"
    return [
        Case("limits/items-just-under-the-node-limit", "limits", ("validate", "{drill}"), "", {"drill.yaml": big_list[:MAX_FILE_BYTES]}),
        Case("limits/long-values-at-the-size-limit", "limits", ("validate", "{drill}"), "", {"drill.yaml": wide}),
        Case("limits/seven-level-laughs", "limits", ("validate", "{drill}"), "", {"drill.yaml": laughs7}),
        Case("limits/deepest-accepted-nesting", "limits", ("validate", "{drill}"), "", {"drill.yaml": deep}),
        Case("limits/valid-drill-with-a-256k-comment", "limits", ("validate", "{drill}"), "", {"drill.yaml": comment}),
        Case("limits/50MB-drill-file", "limits", ("validate", "{drill}"), "", {"drill.yaml": "#" * (50 * 1024 * 1024)}),
    ]


def measure(case: Case, busy_port: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory) / "case"
        tmp.mkdir()
        for name, content in case.files.items():
            (tmp / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRTOOL_"))}
        env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                   DRTOOL_JOURNAL_DIR=str(Path(directory) / "journals"), PYTHONPATH=str(REPO))
        argv = [case.render(arg, tmp, busy_port) for arg in case.argv]
        # Linux counts a process's size before exec in its peak RSS, and this process holds every input (50 MB of
        # them): a small launcher starts each case, so the figure is the case's own.
        done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], env=env, capture_output=True, text=True, check=True)
        elapsed, kilobytes, code = done.stdout.split()
        return float(elapsed), int(kilobytes) / 1024, int(code)


def main() -> int:
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    # One command per drill file: validate, plan, permissions and run share the loader and its checks.
    cases = [case for case in CASES if not case.id.endswith(("/plan", "/permissions", "/run"))] + near_limits()
    cases = [case for case in cases if only in case.id]
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    worst: dict[str, tuple[float, str, float, str, int]] = {}
    codes: dict[int, int] = {}
    for case in cases:
        seconds, megabytes, code = measure(case, busy.getsockname()[1])
        codes[code] = codes.get(code, 0) + 1
        slow, slow_id, big, big_id, count = worst.get(case.kind, (0.0, "", 0.0, "", 0))
        if seconds > slow:
            slow, slow_id = seconds, case.id
        if megabytes > big:
            big, big_id = megabytes, case.id
        worst[case.kind] = (slow, slow_id, big, big_id, count + 1)
    busy.close()
    print(f"{'class':<10} {'inputs':>6} {'worst s':>8} {'peak MB':>8}  slowest / largest")
    for kind, (slow, slow_id, big, big_id, count) in worst.items():
        print(f"{kind:<10} {count:>6} {slow:>8.2f} {big:>8.0f}  {slow_id} / {big_id}")
    overall_s = max(v[0] for v in worst.values())
    overall_mb = max(v[2] for v in worst.values())
    print(f"all {len(cases)} inputs: worst {overall_s:.2f} s, peak {overall_mb:.0f} MB (goal {GOAL_SECONDS} s, {GOAL_MB} MB); "
          f"exit codes {dict(sorted(codes.items()))}")
    return 0 if overall_s <= GOAL_SECONDS and overall_mb <= GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())

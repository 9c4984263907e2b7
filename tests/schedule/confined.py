"""Run a scheduler's job as the scheduler would: a read-only root, only the job's declared writable paths, its user.

A job is a shell script with its environment, user, working directory and mounts. It runs in a mount namespace of
its own (`unshare --mount`) under a root that holds the host's /usr and /etc, the test's Python and the checkout,
all read-only, then the job's own mounts; anything else it writes fails as on a read-only root file system.
Requires root (to make the namespace); `available()` says whether this machine can.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import REPO


@dataclass(frozen=True)
class Mount:
    path: str  # inside the job
    source: Path | None = None  # a host directory, or None for an empty tmpfs (an emptyDir, a tmpfs)
    writable: bool = True


@dataclass
class Job:
    scheduler: str
    script: str  # what the scheduler runs, as shell text
    env: dict[str, str]
    uid: int
    gid: int
    workdir: str
    mounts: list[Mount] = field(default_factory=list)


def available() -> str | None:
    """Why a job cannot be confined here, or None."""
    if os.geteuid() != 0:
        return "a mount namespace needs root"
    for tool in ("unshare", "mount", "chroot"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    done = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else f"unshare --mount failed: {done.stderr.strip()}"


def _host_paths() -> list[Path]:
    """Host directories the job reads at their own paths: the interpreter, the environment, the checkout."""
    found = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), REPO.resolve(),
             Path(sysconfig.get_paths()["purelib"]).resolve()}
    return sorted(path for path in found if not any(path != other and path.is_relative_to(other) for other in found))


def _setup_script(root: Path, job: Job) -> str:
    q = shlex.quote
    lines = ["set -e", f"R={q(str(root))}", 'mount -t tmpfs -o mode=755 drtool-job-root "$R"']
    for name in ("usr", "etc"):
        lines += [f'mkdir -p "$R/{name}"', f'mount --rbind /{name} "$R/{name}"', f'mount -o remount,bind,ro "$R/{name}"']
    for name in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/{name}").is_symlink():
            lines.append(f'ln -s {q(os.readlink(f"/{name}"))} "$R/{name}"')
    for name in ("proc", "dev"):
        lines += [f'mkdir -p "$R/{name}"', f'mount --rbind /{name} "$R/{name}"']
    # A mount's parents first, so that a writable home (a tmpfs) holds the interpreter bound read-only beneath it.
    mounts = [*(Mount(str(path), path, writable=False) for path in _host_paths()), *job.mounts]
    for mount in sorted(mounts, key=lambda mount: len(Path(mount.path).parts)):
        target = '"$R"' + q(mount.path)
        lines.append(f"mkdir -p {target}")
        if mount.source is None:
            lines.append(f"mount -t tmpfs -o mode=1777 drtool-job-tmpfs {target}")
        else:
            lines.append(f"mount --bind {q(str(mount.source))} {target}")
            if not mount.writable:
                lines.append(f"mount -o remount,bind,ro {target}")
    lines.append('mount -o remount,ro "$R"')
    environment = " ".join(q(f"{key}={value}") for key, value in job.env.items())
    inner = f"cd {q(job.workdir)} && {job.script}"
    lines.append(f"exec chroot --userspec={job.uid}:{job.gid} --groups={job.gid} \"$R\" "
                 f"/usr/bin/env -i {environment} /bin/sh -ec {q(inner)}")
    return "\n".join(lines)


def run(job: Job, root: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    root.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", _setup_script(root, job)],
                          capture_output=True, text=True, timeout=timeout)


def start(job: Job, root: Path) -> subprocess.Popen:
    root.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", _setup_script(root, job)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def owned_directory(path: Path, uid: int, gid: int) -> Path:
    """A host directory the job's user may write, as a volume the scheduler gives it (fsGroup, the runner's own)."""
    path.mkdir(parents=True, exist_ok=True)
    for item in [path, *path.rglob("*")]:
        os.chown(item, uid, gid, follow_symlinks=False)
    return path


def runner_python(where: Path) -> Path:
    """A writable Python for a CI job's `pip install` (as setup-python's, or a python image's), which finds drtool's
    dependencies already installed, from the test's own environment, but not drtool: the job installs that itself."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True, timeout=240)
    installed = Path(sysconfig.get_paths()["purelib"])
    dependencies = where / "dependencies"
    dependencies.mkdir()
    for entry in installed.iterdir():
        if entry.name.lower().startswith(("drtool", "_drtool", "__editable__")):
            continue
        (dependencies / entry.name).symlink_to(entry)
    purelib = subprocess.run([str(where / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # A path line in a .pth file adds the directory without running the .pth files in it (the editable drtool's).
    (Path(purelib) / "runner-dependencies.pth").write_text(f"{dependencies}\n")
    return where

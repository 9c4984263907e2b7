"""The evidence bundle for auditors: a run's journal, its reports, and a manifest of their SHA-256 digests and sizes.

`build_bundle` copies the journal and the reports into a directory (files
already in it, as when the bundle is the report directory itself, are hashed
where they are; a report directory goes in a folder of its own name, so
same-named reports from different places stay apart) and writes `manifest.json`. `upload_bundle` puts the bundle
in the S3 bucket a drill file names (`evidence: {bucket, prefix, kms_key}`),
encrypted with its KMS key, under `<prefix>drtool-evidence/<drill>/<run id>/`,
through a client whose guard allows writes there and nowhere else; S3 checks
each object's SHA-256 as it receives it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from drtool import __version__
from drtool.core.guard import Guard, OwnRecords
from drtool.core.model import AwsAccess
from drtool.core.operations import calls
from drtool.core.session import SessionFactory
from drtool.core.tagging import EVIDENCE_PREFIX
from drtool.drill.outputs import EvidenceUpload
from drtool.services.s3 import actions

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


# A source of the bundle: a file (names None), or a directory with the names of its files (relative paths).
Source = tuple[Path, frozenset[str] | None]


def _within(path: Path, home: Path) -> bool:
    return path == home or path.is_relative_to(home)


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        return name
    return next(f"{name}-{n}" for n in range(2, len(used) + 3) if f"{name}-{n}" not in used)


def plan_bundle(directory: Path, sources: Sequence[Source]) -> list[tuple[Path, str, bool]]:
    """Where each source goes in the bundle: (source, its place, whether it is there already).

    A source already in the bundle directory stays where it is (a report directory that is the bundle itself has
    place ""). A file goes at the top under its name, a directory in a folder of its own name; a name already taken
    (two junit.xml from different places) gets a folder after its parent (or its name and -2, -3): same-named
    reports from different places never meet, so a bundle never refuses and never overwrites one with another.
    """
    home = directory.resolve()
    resolved = [(source.resolve(), names) for source, names in sources]
    used = {MANIFEST}
    places: dict[int, tuple[Path, str, bool]] = {}
    for index, (source, names) in enumerate(resolved):
        if _within(source, home):
            place = source.relative_to(home).as_posix() if source != home else ""
            used.update([place.split("/")[0]] if place else [name.split("/")[0] for name in names or ()])
            places[index] = (source, place, True)
    for index, (source, names) in enumerate(resolved):
        if index in places:
            continue
        if names is None:
            place = source.name if source.name not in used else f"{_unique(source.parent.name or 'report', used)}/{source.name}"
        else:
            place = _unique(source.name or "reports", used)
        used.add(place.split("/")[0])
        places[index] = (source, place, False)
    return [places[index] for index in range(len(resolved))]


def bundle_writes(directory: Path, sources: Sequence[Source]) -> frozenset[str]:
    """The names a bundle of these sources writes in `directory` (its copies and the manifest), for the output checks."""
    written = {MANIFEST}
    for (_, names), (_, place, there) in zip(sources, plan_bundle(directory, sources)):
        if not there:
            written.update([place] if names is None else [f"{place}/{name}" for name in names])
    return frozenset(written)


def _walk(source: Path, home: Path) -> frozenset[str]:
    """A directory's files, as relative paths; not the manifest, nor a bundle being written inside it."""
    return frozenset(p.relative_to(source).as_posix() for p in source.rglob("*")
                     if p.is_file() and p.name != MANIFEST and (_within(source, home) or not _within(p.resolve(), home)))


def build_bundle(journal: Path, directory: Path, reports: Iterable[Path] = (), *, drill: str, run_id: str) -> dict[str, Any]:
    """Bundle the journal and the reports (files, or directories of them) in `directory`; returns the manifest.

    Every place is settled before the first copy, so nothing is written for a bundle that cannot be made.
    """
    directory.mkdir(parents=True, exist_ok=True)
    home = directory.resolve()
    sources: list[Source] = [(path, _walk(path.resolve(), home) if path.is_dir() else None)
                             for path in [journal, *reports] if path.is_dir() or path.is_file()]
    entries: dict[str, Path] = {}  # name in the bundle -> where it came from
    copies: list[tuple[Path, str]] = []
    for (_, names), (source, place, there) in zip(sources, plan_bundle(directory, sources)):
        files = [(source, place)] if names is None else [
            (source / name, f"{place}/{name}" if place else name) for name in sorted(names)]
        for path, name in files:
            entries[name] = path
            if not there:
                copies.append((path, name))
    for path, name in copies:
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, home / name)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "drill": drill,
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "drtool": __version__,
        "files": [{"path": name, "sha256": file_sha256(home / name), "size": (home / name).stat().st_size}
                  for name in sorted(entries)],
    }
    (home / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def verify_bundle(directory: Path) -> list[str]:
    """What does not match the manifest: a file missing, or of another size or digest. Empty when all hold."""
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    problems = []
    for entry in manifest["files"]:
        path = directory / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: differs from the manifest")
    return problems


def drill_evidence_prefix(upload: EvidenceUpload, drill: str) -> str:
    return f"{upload.prefix}{EVIDENCE_PREFIX}{drill}/"


def evidence_prefix(upload: EvidenceUpload, drill: str, run_id: str) -> str:
    return f"{drill_evidence_prefix(upload, drill)}{run_id}/"


def evidence_places(upload: EvidenceUpload, drill: str, run_id: str) -> tuple[OwnRecords, ...]:
    """The only place an evidence upload may write: this run's keys, SSE-KMS with the drill file's key."""
    return (OwnRecords("evidence", upload.bucket, evidence_prefix(upload, drill, run_id), kms_key=upload.kms_key),)


def evidence_client(upload: EvidenceUpload, drill: str, run_id: str, *, region: str, access: AwsAccess | None = None) -> Any:
    clients = SessionFactory(access)
    region = upload.region or region
    clients.add_client_hook(Guard(run_id=run_id, dr_region=region, own_records=evidence_places(upload, drill, run_id)).attach)
    return clients.client("s3", region)


@calls(actions.put_encrypted_object)
def upload_bundle(s3: Any, upload: EvidenceUpload, directory: Path, manifest: dict[str, Any]) -> str:
    """Put every file of the bundle, then its manifest, under the run's evidence prefix; returns the s3:// location."""
    prefix = evidence_prefix(upload, manifest["drill"], manifest["run_id"])
    for name in [*(entry["path"] for entry in manifest["files"]), MANIFEST]:
        body = (directory / name).read_bytes()
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        actions.put_encrypted_object(s3, upload.bucket, f"{prefix}{name}", body, upload.kms_key, digest)
    return f"s3://{upload.bucket}/{prefix}"

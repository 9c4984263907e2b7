"""The evidence bundle for auditors: a run's journal, its reports, and a manifest of their SHA-256 digests and sizes.

`build_bundle` copies the journal and the reports into a directory (files
already in it, as when the bundle is the report directory itself, are hashed
where they are) and writes `manifest.json`. `upload_bundle` puts the bundle
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
from typing import Any, Iterable

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


def _files(sources: Iterable[Path]) -> list[tuple[Path, str]]:
    """Each file, and its name in the bundle: a directory's files keep their paths within it."""
    found: list[tuple[Path, str]] = []
    for source in sources:
        if source.is_dir():
            found += [(p.resolve(), p.relative_to(source).as_posix()) for p in sorted(source.rglob("*"))
                      if p.is_file() and p.name != MANIFEST]
        elif source.is_file():
            found.append((source.resolve(), source.name))
    return found


def _bundle_names(home: Path, sources: list[Path]) -> dict[str, Path]:
    """Name in the bundle -> the file it copies. Reports from different places that share names (`--junit-xml
    out/junit.xml` beside a report directory's own junit.xml) are kept apart: the later one in a folder of its own."""
    entries: dict[str, Path] = {}
    for source in sources:
        files = _files([source])
        inside = [(path, path.relative_to(home).as_posix()) for path, _ in files if path.is_relative_to(home)]
        entries.update((name, path) for path, name in inside)  # already in the bundle: hashed where it is
        outside = [(path, name) for path, name in files if not path.is_relative_to(home)]
        label = (source.name if source.is_dir() else source.parent.name) or "reports"  # out/rep: rep/; out/junit.xml: out/
        folder, number = "", 1
        while any(entries.get(folder + name, path) != path for path, name in outside):
            number += 1
            folder = f"{label}/" if number == 2 else f"{label}-{number}/"
        entries.update((folder + name, path) for path, name in outside)
    return entries


def build_bundle(journal: Path, directory: Path, reports: Iterable[Path] = (), *, drill: str, run_id: str) -> dict[str, Any]:
    """Bundle the journal and the reports (files, or directories of them) in `directory`; returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    home = directory.resolve()
    entries = _bundle_names(home, [journal, *reports])  # planned whole before anything is copied
    for name, source in entries.items():
        if not source.is_relative_to(home):
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, home / name)
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

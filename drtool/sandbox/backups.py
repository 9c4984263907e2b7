"""The production account's own backups, kept going while the lab runs.

RDS takes an automated snapshot of each database in its daily backup window,
and a nightly copy job (AWS Backup, or the team's own) copies the newest
snapshot of some databases into the DR region an hour later. Without this,
a long-running lab's snapshots would only age and every drill would breach
its RPO, which is not the world a drill is meant to rehearse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.exceptions import RDSClientError
from moto.rds.models import rds_backends


log = logging.getLogger(__name__)

BACKUP_INTERVAL = timedelta(days=1)
# How long after the backup window the nightly copy job copies into the DR region.
DR_COPY_LAG = timedelta(hours=1)
RETENTION = timedelta(days=7)


def automated_snapshot_name(instance_id: str, taken: datetime) -> str:
    return f"rds:{instance_id}-{taken:%Y-%m-%d-%H-%M}"


def dr_copy_name(instance_id: str, taken: datetime) -> str:
    return f"{instance_id}-dr-copy-{taken:%Y-%m-%d-%H-%M}"


@dataclass
class NightlyBackups:
    """A job that never finishes: each backup window, snapshot the databases; an hour later, copy some to DR.

    Which databases, regions and key are the caller's (the seed's) to say: the world knows no seeded names.
    """

    instances: tuple[str, ...]
    copied_to_dr: tuple[str, ...]
    primary_region: str
    dr_region: str
    dr_kms_key_arn: str
    next_backup: datetime
    pending_copies: list[tuple[datetime, str, datetime]] = field(default_factory=list)  # (due, instance, taken)

    @property
    def due(self) -> datetime:
        return min([self.next_backup, *(copy[0] for copy in self.pending_copies)])

    def advance(self, now: datetime) -> bool:
        while self.next_backup <= now:
            self._take_backups(self.next_backup)
            self.next_backup += BACKUP_INTERVAL
        due = [copy for copy in self.pending_copies if copy[0] <= now]
        self.pending_copies = [copy for copy in self.pending_copies if copy[0] > now]
        for _, instance_id, taken in due:
            self._copy_to_dr(instance_id, taken)
        return False

    def _take_backups(self, taken: datetime) -> None:
        backend = rds_backends[DEFAULT_ACCOUNT_ID][self.primary_region]
        for instance_id in self.instances:
            if instance_id not in backend.databases:
                continue
            name = automated_snapshot_name(instance_id, taken)
            snapshot = backend.create_auto_snapshot(instance_id, name)
            snapshot.created = snapshot.original_snapshot_create_time = taken
            snapshot.percent_progress = 100
            if instance_id in self.copied_to_dr:
                self.pending_copies.append((taken + DR_COPY_LAG, instance_id, taken))
        for snapshot in list(backend.database_snapshots.values()):
            if snapshot.snapshot_type == "automated" and snapshot.created < taken - RETENTION:
                backend.database_snapshots.pop(snapshot.db_snapshot_identifier, None)

    def _copy_to_dr(self, instance_id: str, taken: datetime) -> None:
        source = rds_backends[DEFAULT_ACCOUNT_ID][self.primary_region].database_snapshots.get(
            automated_snapshot_name(instance_id, taken))
        if source is None:
            return
        try:
            # Through the patched backend, so the copy takes world time and faults (a denied copy, a disabled key) apply.
            rds_backends[DEFAULT_ACCOUNT_ID][self.dr_region].copy_db_snapshot(
                source.arn, dr_copy_name(instance_id, taken), kms_key_id=self.dr_kms_key_arn, copy_tags=True
            )
        except RDSClientError as exc:
            # A failed copy job leaves the DR region without the newest point, as it would in AWS.
            log.info("sandbox nightly copy of %s failed: %s", instance_id, exc)

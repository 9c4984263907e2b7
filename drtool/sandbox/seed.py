"""The production world a lab starts with: two regions, KMS keys per data class, RDS, S3 and a secret.

Names are module constants so drill files can match them. Ids that AWS generates
(key ids, security group id, snapshot names with dates) are in the `SeededWorld`
returned by `seed()` (kept as `Lab.seeded`), and can be looked up by name with
the helper functions at the bottom while a lab runs in this process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends
from moto.secretsmanager.models import secretsmanager_backends

from drtool.core.tagging import NAME_PREFIX
from drtool.sandbox.backups import BACKUP_INTERVAL, NightlyBackups
from drtool.sandbox.kms_model import DR_KEY_DISABLED, find_key
from drtool.sandbox.rds_model import NO_DR_SNAPSHOT
from drtool.sandbox.requests import ProductionNames
from drtool.sandbox.s3_model import STATUS_ATTRIBUTE
from drtool.sandbox.world import WorldSettings

if TYPE_CHECKING:
    from drtool.sandbox.rds_model import RdsModel
    from drtool.sandbox.s3_model import ReplicationModel
    from drtool.sandbox.world import World

ACCOUNT_ID = DEFAULT_ACCOUNT_ID
PRIMARY_REGION = WorldSettings.primary_region
DR_REGION = WorldSettings.dr_region
REGIONS = (PRIMARY_REGION, DR_REGION)

DATA_CLASS_COMPONENTS = {"rds": "databases", "s3": "object-storage", "secrets": "secrets", "logs": "logging"}
DATA_CLASSES = tuple(DATA_CLASS_COMPONENTS)
PRODUCTION_TAGS = [{"Key": "Environment", "Value": "production"}, {"Key": "Team", "Value": "orders"}]

ORDERS_DB = "orders-db"
BILLING_DB = "billing-db"
DB_INSTANCES = (ORDERS_DB, BILLING_DB)
# Only orders-db has a copy in the DR region; billing-db must be copied across by the drill.
DR_COPIED_INSTANCES = (ORDERS_DB,)
AUTOMATED_BACKUP_DAYS = 3
# The newest backup is this old when a lab starts, whatever the time of day, so seeded drills are repeatable.
LATEST_BACKUP_AGE = timedelta(hours=6)
DR_COPY_LAG = timedelta(hours=1)

PRIMARY_SUBNET_GROUP = "prod-db-subnets"
PRIMARY_SECURITY_GROUP_NAME = "prod-db-sg"
DR_SUBNET_GROUP = "dr-restore-subnets"
DR_SECURITY_GROUP_NAME = "dr-restore-sg"

SOURCE_BUCKET = "orders-data-eu-west-1"
REPLICA_BUCKET = "orders-data-dr-eu-central-1"
REPLICATION_RULE_ID = "orders-data-to-dr"
REPLICATION_ROLE_NAME = "s3-replication-orders-data"

SECRET_NAME = "prod/orders/db-credentials"


def latest_backup_before(now: datetime) -> datetime:
    return (now - LATEST_BACKUP_AGE).replace(second=0, microsecond=0)


def key_alias(data_class: str) -> str:
    return f"alias/dr-{data_class}"


@dataclass
class SeededWorld:
    """Generated ids of the seeded world."""

    key_arns: dict[tuple[str, str], str] = field(default_factory=dict)  # (region, data class) -> key ARN
    security_group_ids: dict[str, str] = field(default_factory=dict)  # region -> restore security group id
    subnet_ids: dict[str, list[str]] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (region, instance) -> ids, newest first
    secret_arn: str = ""
    # World time the seeded history is anchored to (seeding itself takes world time at high scales).
    seeded_at: datetime | None = None

    def key_arn(self, data_class: str, region: str = DR_REGION) -> str:
        return self.key_arns[(region, data_class)]

    def latest_snapshot(self, instance: str, region: str = PRIMARY_REGION) -> str | None:
        found = self.snapshots.get((region, instance))
        return found[0] if found else None


def nightly_backups(seeded: SeededWorld, next_backup: datetime) -> NightlyBackups:
    """The production account's own backup schedule: both databases daily, orders-db copied to DR an hour later."""
    return NightlyBackups(
        instances=DB_INSTANCES, copied_to_dr=DR_COPIED_INSTANCES, primary_region=PRIMARY_REGION, dr_region=DR_REGION,
        dr_kms_key_arn=seeded.key_arn("rds", DR_REGION), next_backup=next_backup,
    )


def start_production(world: "World", seeded: SeededWorld) -> None:
    """Keep the seeded production going: its nightly backups, and its application writing exports."""
    rds: RdsModel = world.model("rds")  # type: ignore[assignment]
    s3: ReplicationModel = world.model("s3")  # type: ignore[assignment]
    assert seeded.seeded_at is not None
    rds.schedule(nightly_backups(seeded, latest_backup_before(seeded.seeded_at) + BACKUP_INTERVAL))
    s3.write_application_exports([SOURCE_BUCKET])


def seed(clients: "SeedClients", world: "World") -> SeededWorld:
    """Build the production world on a freshly reset moto, through `clients` pointed at it."""
    now = world.now()
    seeded = SeededWorld(seeded_at=now)
    for region in REGIONS:
        _seed_keys(clients, region, seeded)
    _seed_network(clients, PRIMARY_REGION, PRIMARY_SUBNET_GROUP, PRIMARY_SECURITY_GROUP_NAME, "10.40.0.0/16", seeded)
    _seed_network(clients, DR_REGION, DR_SUBNET_GROUP, DR_SECURITY_GROUP_NAME, "10.42.0.0/16", seeded)
    _seed_databases(clients, seeded, now)
    if not world.has_fault(NO_DR_SNAPSHOT):
        _seed_dr_snapshot_copies(clients, seeded, now)
    _seed_buckets(clients, seeded, now)
    _seed_secret(clients, seeded)
    if world.has_fault(DR_KEY_DISABLED):
        # By key id: moto's disable_key fails when given an ARN.
        key_id = seeded.key_arn("rds", DR_REGION).split("/")[-1]
        clients.get("kms", DR_REGION).disable_key(KeyId=key_id)
    return seeded


class SeedClients:
    """Clients for seeding, kept across resets: making boto3 clients costs more than the seeding calls."""

    def __init__(self, endpoint: str):
        self._session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        self._endpoint = endpoint
        self._cache: dict[tuple[str, str], object] = {}

    def get(self, service: str, region: str):
        if (service, region) not in self._cache:
            self._cache[(service, region)] = self._session.client(
                service, region_name=region, endpoint_url=self._endpoint
            )
        return self._cache[(service, region)]


def _seed_keys(clients: SeedClients, region: str, seeded: SeededWorld) -> None:
    kms = clients.get("kms", region)
    for data_class, component in DATA_CLASS_COMPONENTS.items():
        key = kms.create_key(
            Description=f"DR {data_class} data key ({region})",
            Tags=[
                {"TagKey": "DataClass", "TagValue": data_class},
                {"TagKey": "Component", "TagValue": component},
                {"TagKey": "Environment", "TagValue": "production"},
            ],
        )["KeyMetadata"]
        kms.create_alias(AliasName=key_alias(data_class), TargetKeyId=key["KeyId"])
        kms.enable_key_rotation(KeyId=key["KeyId"])
        seeded.key_arns[(region, data_class)] = key["Arn"]


def _seed_network(clients: SeedClients, region: str, subnet_group: str, sg_name: str, cidr: str,
                  seeded: SeededWorld) -> None:
    ec2 = clients.get("ec2", region)
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    prefix = cidr.rsplit(".", 2)[0]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"{prefix}.{index}.0/24", AvailabilityZone=f"{region}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for index, zone in enumerate("abc", start=1)
    ]
    group_id = ec2.create_security_group(
        GroupName=sg_name, Description=f"RDS access for {subnet_group}", VpcId=vpc_id
    )["GroupId"]
    clients.get("rds", region).create_db_subnet_group(
        DBSubnetGroupName=subnet_group,
        DBSubnetGroupDescription=f"RDS subnets in {region}",
        SubnetIds=subnet_ids,
        Tags=PRODUCTION_TAGS,
    )
    seeded.security_group_ids[region] = group_id
    seeded.subnet_ids[region] = subnet_ids


def _seed_databases(clients: SeedClients, seeded: SeededWorld, now: datetime) -> None:
    rds = clients.get("rds", PRIMARY_REGION)
    backend = rds_backends[ACCOUNT_ID][PRIMARY_REGION]
    engines = {ORDERS_DB: ("postgres", "16.4", 5432), BILLING_DB: ("mysql", "8.0.39", 3306)}
    latest_backup = latest_backup_before(now)
    for instance_id, (engine, version, port) in engines.items():
        rds.create_db_instance(
            DBInstanceIdentifier=instance_id,
            DBInstanceClass="db.r6g.large",
            Engine=engine,
            EngineVersion=version,
            Port=port,
            AllocatedStorage=200,
            MasterUsername="app_admin",
            MasterUserPassword="not-a-real-password-1",
            DBSubnetGroupName=PRIMARY_SUBNET_GROUP,
            VpcSecurityGroupIds=[seeded.security_group_ids[PRIMARY_REGION]],
            StorageEncrypted=True,
            KmsKeyId=seeded.key_arn("rds", PRIMARY_REGION),
            BackupRetentionPeriod=7,
            MultiAZ=True,
            CopyTagsToSnapshot=True,
            Tags=[*PRODUCTION_TAGS, {"Key": "Service", "Value": instance_id.removesuffix("-db")}],
        )
        instance = backend.databases[instance_id]
        instance.created = instance.instance_create_time = now - timedelta(days=412)
        # moto snapshots the new instance at once; replace that with a realistic backup history.
        for snapshot in backend.describe_db_snapshots(instance_id, snapshot_type="automated"):
            backend.database_snapshots.pop(snapshot.db_snapshot_identifier)
        backend.events.clear()
        names = []
        for days_ago in range(AUTOMATED_BACKUP_DAYS):
            taken = latest_backup - timedelta(days=days_ago)
            name = f"rds:{instance_id}-{taken:%Y-%m-%d-%H-%M}"
            snapshot = backend.create_auto_snapshot(instance_id, name)
            snapshot.created = snapshot.original_snapshot_create_time = taken
            names.append(name)
        manual = f"{instance_id}-pre-migration-{now - timedelta(days=6):%Y-%m-%d}"
        rds.create_db_snapshot(DBInstanceIdentifier=instance_id, DBSnapshotIdentifier=manual)
        manual_snapshot = backend.database_snapshots[manual]
        manual_snapshot.created = manual_snapshot.original_snapshot_create_time = now - timedelta(days=6, hours=2)
        names.append(manual)
        for name in names:
            backend.database_snapshots[name].percent_progress = 100
        seeded.snapshots[(PRIMARY_REGION, instance_id)] = names
    for event in backend.events:
        event.date = now - timedelta(days=412)


def _seed_dr_snapshot_copies(clients: SeedClients, seeded: SeededWorld, now: datetime) -> None:
    """The copies a nightly AWS Backup copy job made into the DR region, an hour after the backup."""
    source_backend = rds_backends[ACCOUNT_ID][PRIMARY_REGION]
    dr_backend = rds_backends[ACCOUNT_ID][DR_REGION]
    rds = clients.get("rds", DR_REGION)
    for instance_id in DR_COPIED_INSTANCES:
        source = source_backend.database_snapshots[seeded.latest_snapshot(instance_id)]
        copied_at = source.original_snapshot_create_time + DR_COPY_LAG
        target = f"{instance_id}-dr-copy-{source.original_snapshot_create_time:%Y-%m-%d-%H-%M}"
        rds.copy_db_snapshot(
            SourceDBSnapshotIdentifier=source.arn,
            TargetDBSnapshotIdentifier=target,
            KmsKeyId=seeded.key_arn("rds", DR_REGION),
            CopyTags=True,
            SourceRegion=PRIMARY_REGION,
        )
        copy = dr_backend.database_snapshots[target]
        copy.created = copied_at
        copy.percent_progress = 100
        copy.source_db_snapshot_identifier = source.arn
        copy.source_region = PRIMARY_REGION
        seeded.snapshots[(DR_REGION, instance_id)] = [target]
    dr_backend.events.clear()


def _seed_buckets(clients: SeedClients, seeded: SeededWorld, now: datetime) -> None:
    role_arn = clients.get("iam", PRIMARY_REGION).create_role(
        RoleName=REPLICATION_ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]}
        ),
    )["Role"]["Arn"]
    for bucket, region in ((SOURCE_BUCKET, PRIMARY_REGION), (REPLICA_BUCKET, DR_REGION)):
        s3 = clients.get("s3", region)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": seeded.key_arn("s3", region)},
                "BucketKeyEnabled": True,
            }]},
        )
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": PRODUCTION_TAGS})
    clients.get("s3", PRIMARY_REGION).put_bucket_replication(
        Bucket=SOURCE_BUCKET,
        ReplicationConfiguration={"Role": role_arn, "Rules": [{
            "ID": REPLICATION_RULE_ID,
            "Priority": 1,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
            "Destination": {
                "Bucket": f"arn:aws:s3:::{REPLICA_BUCKET}",
                "EncryptionConfiguration": {"ReplicaKmsKeyID": seeded.key_arn("s3", DR_REGION)},
                "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
            },
        }]},
    )
    _seed_replicated_objects(clients, seeded, now)


def _seed_replicated_objects(clients: SeedClients, seeded: SeededWorld, now: datetime) -> None:
    """Objects written before the lab began, long since replicated."""
    backend = s3_backends[ACCOUNT_ID]["aws"]
    source, replica = clients.get("s3", PRIMARY_REGION), clients.get("s3", DR_REGION)
    for days_ago in (3, 2, 1):
        name = f"exports/{now - timedelta(days=days_ago):%Y%m%dT000000}.json"
        body = json.dumps({"orders": 1000 + days_ago}).encode()
        source.put_object(Bucket=SOURCE_BUCKET, Key=name, Body=body)
        replica.put_object(Bucket=REPLICA_BUCKET, Key=name, Body=body)
        setattr(backend.get_object(SOURCE_BUCKET, name), STATUS_ATTRIBUTE, "COMPLETED")
        setattr(backend.get_object(REPLICA_BUCKET, name), STATUS_ATTRIBUTE, "REPLICA")


def _seed_secret(clients: SeedClients, seeded: SeededWorld) -> None:
    seeded.secret_arn = clients.get("secretsmanager", PRIMARY_REGION).create_secret(
        Name=SECRET_NAME,
        Description="Application credentials for orders-db",
        KmsKeyId=seeded.key_arn("secrets", PRIMARY_REGION),
        SecretString=json.dumps({"username": "orders_app", "password": "not-a-real-password-2",
                                 "host": f"{ORDERS_DB}.{PRIMARY_REGION}.rds.amazonaws.com", "port": 5432}),
        AddReplicaRegions=[{"Region": DR_REGION, "KmsKeyId": seeded.key_arn("secrets", DR_REGION)}],
        Tags=PRODUCTION_TAGS,
    )["ARN"]
    # moto ignores a replica's KmsKeyId and reports the AWS-managed key; record the one AWS would use.
    secret = secretsmanager_backends[ACCOUNT_ID][PRIMARY_REGION].secrets[seeded.secret_arn]
    for replica in secret.replicas:
        replica.config["KmsKeyId"] = seeded.key_arn("secrets", replica.region)


# --- look-ups by name, for code running in the lab's process -------------------------------------


def kms_key_arn(data_class: str, region: str) -> str:
    key = find_key(key_alias(data_class), region)
    if key is None:
        raise LookupError(f"no {key_alias(data_class)} key in {region}; is a lab running?")
    return key.arn


def security_group_id(region: str = DR_REGION, name: str = DR_SECURITY_GROUP_NAME) -> str:
    for group in ec2_backends[ACCOUNT_ID][region].describe_security_groups(groupnames=[name]):
        return group.id
    raise LookupError(f"no security group {name} in {region}; is a lab running?")


def snapshot_ids(instance: str, region: str) -> list[str]:
    """Snapshots of `instance` in `region`, newest first."""
    snapshots = [
        snapshot for snapshot in rds_backends[ACCOUNT_ID][region].database_snapshots.values()
        if snapshot.db_instance_identifier == instance
    ]
    return [s.db_snapshot_identifier for s in sorted(snapshots, key=lambda s: s.created, reverse=True)]


def production_names() -> ProductionNames:
    """Names, ids and ARNs of every resource in the world that is not drill-named (see `drtool.sandbox.requests`)."""
    from moto.iam.models import iam_backends
    from moto.kms.models import kms_backends

    names: set[str] = set()
    for region in REGIONS:
        rds = rds_backends[ACCOUNT_ID][region]
        for resources in (rds.databases, rds.database_snapshots, rds.clusters, rds.cluster_snapshots):
            for identifier, resource in resources.items():
                names.update((identifier, resource.arn))
        names.update(rds.subnet_groups)
        for key in kms_backends[ACCOUNT_ID][region].keys.values():
            names.update((key.id, key.arn, *key.aliases))
        for secret in secretsmanager_backends[ACCOUNT_ID][region].secrets.values():
            names.update((secret.name, secret.arn))
        for groups in ec2_backends[ACCOUNT_ID][region].groups.values():
            for group in groups.values():
                names.update((group.id, group.name))
    for role in iam_backends[ACCOUNT_ID]["aws"].roles.values():
        names.update((role.name, role.arn))
    names = {name for name in names if not name.lower().startswith(NAME_PREFIX)}
    return ProductionNames(frozenset(names), frozenset(s3_backends[ACCOUNT_ID]["aws"].buckets))

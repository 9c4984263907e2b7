"""The production world a lab starts with: two regions, KMS keys per data class, RDS, S3 and a secret.

Names are module constants so drill files can match them. Ids that AWS generates
(key ids, security group id, snapshot names with dates) are in the `SeededWorld`
returned by `seed()` (kept as `Lab.seeded`), and can be looked up by name with
the helper functions at the bottom while a lab runs in this process.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import unix_time
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends
from moto.s3.models import FakeKey, s3_backends
from moto.s3.utils import compute_checksum
from moto.secretsmanager.models import secretsmanager_backends

from drtool.core.tagging import CANARY_PREFIX, NAME_PREFIX
from drtool.sandbox.backups import BACKUP_INTERVAL, NightlyBackups
from drtool.sandbox.kms_model import (
    DR_KEY_DISABLED,
    DR_KEY_POLICY_GRANTS_DENIED_ROLE,
    DR_REPLICA_MISSING_APP_GRANT,
    ROTATION_OFF,
    catch_up_rotations,
    find_key,
    own_replica,
)
from drtool.sandbox.rds_model import NO_DR_SNAPSHOT
from drtool.sandbox.requests import ProductionNames
from drtool.sandbox.s3_model import (
    REPLICA_CORRUPTED_OBJECT,
    REPLICA_MISSING_OBJECTS,
    REPLICA_VERSIONING_SUSPENDED,
    REPLICATION_FAILED_FOR_KEY,
    REPLICATION_RULE_DISABLED,
    AppWrite,
    PastOperation,
    ReplicationRoute,
)
from drtool.sandbox.secrets_model import (
    SECRET_REPLICA_OUT_OF_SYNC,
    SECRET_ROTATION_OFF,
    keep_replica_keys,
    set_replica_status,
)
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

# S3: a versioned, SSE-KMS source bucket replicating (one rule, the whole bucket) into a DR-region replica bucket.
SOURCE_BUCKET = "orders-data-eu-west-1"
REPLICA_BUCKET = "orders-data-dr-eu-central-1"
REPLICATION_RULE_ID = "orders-data-to-dr"
REPLICATION_ROLE_NAME = "s3-replication-orders-data"
REPLICATION_ROLE = REPLICATION_ROLE_NAME  # the IAM role the rule names (arn:aws:iam::<account>:role/<this>)
# The replica key: the DR region's S3 data key (the source bucket's default key is the primary region's one).
S3_DR_KEY_ALIAS = "alias/dr-s3"
# A second production data key, primary region only: the archive's objects are encrypted with it.
ARCHIVE_KEY_ALIAS = "alias/orders-archive"
EXPORTS_PREFIX = "exports/"  # hourly order exports, under the bucket's default key, with SHA-256 checksums
ARCHIVE_PREFIX = "archive/"  # six-hourly archives under ARCHIVE_KEY_ALIAS, STANDARD_IA
CANARY = CANARY_PREFIX  # where S3 drills write their canaries; the rule covers it
SEEDED_EXPORT_HOURS = 8 * 24
SEEDED_ARCHIVE_COUNT = 60
ARCHIVE_INTERVAL = timedelta(hours=6)
# CloudWatch already holds this much of the replication metrics' past when a lab starts.
METRICS_HISTORY = timedelta(hours=24)
# Under replica-missing-objects: how many replicated objects the replica lacks, and how many objects predate the rule.
MISSING_REPLICA_COUNT = 3
PRE_RULE_COUNT = 2

SECRET_NAME = "prod/orders/db-credentials"
SECRET_DR_KEY_ALIAS = "alias/dr-secrets"  # the replica's key in the DR region (the primary's: the same alias there)
SECRET_ROTATION_DAYS = 30  # RotationRules.AutomaticallyAfterDays
SECRET_ROTATION_LAMBDA_ARN = f"arn:aws:lambda:{PRIMARY_REGION}:{ACCOUNT_ID}:function:orders-db-credentials-rotation"
SECRET_LAST_ROTATED_AGO = timedelta(days=12)  # the last rotation, before the lab's start (world time)
# Under secret-replica-out-of-sync, the DR replica's status and message.
SECRET_REPLICA_FAILED_STATUS = "Failed"
SECRET_REPLICA_FAILED_MESSAGE = (f"Replication failed: the latest version of {SECRET_NAME} could not be replicated "
                                 f"to {DR_REGION}.")

# KMS: every data-class key is a multi-region key, primary in PRIMARY_REGION and its replica in DR_REGION, under the
# same alias (key_alias) in both; automatic rotation (shared by the replica) every KEY_ROTATION_PERIOD_DAYS.
MULTI_REGION_DATA_CLASSES = DATA_CLASSES
KEY_ROTATION_PERIOD_DAYS = 180
KEYS_CREATED_AGO = timedelta(days=412)  # so the last automatic rotation was 52 days before the lab's start
# The data classes whose DR key the KMS faults change (dr-key-policy-grants-denied-role, dr-replica-missing-app-grant,
# rotation-off).
KMS_FAULT_DATA_CLASS = "secrets"

# The lab's administrator user when IAM is enforced (drtool.sandbox.lab makes it); the roles trust it.
ADMIN_USER = "drtool-lab-admin"
# Who may use the DR keys (their key policies name these roles) and who must never decrypt production data.
APP_ROLE = "orders-app"  # the application: Encrypt, Decrypt, GenerateDataKey*; reads the secret and its replica
DR_OPERATOR_ROLE = "dr-operator"  # runs recovery: uses and describes the keys, reads the secret
DENIED_ROLE = "analytics-readonly"  # broad read-only IAM policy (kms:Decrypt and GetSecretValue on *): only the key
                                    # policies keep it out of production data
ROLE_NAMES = (APP_ROLE, DR_OPERATOR_ROLE, DENIED_ROLE)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


APP_ROLE_ARN = role_arn(APP_ROLE)
DR_OPERATOR_ROLE_ARN = role_arn(DR_OPERATOR_ROLE)
DENIED_ROLE_ARN = role_arn(DENIED_ROLE)
ACCOUNT_ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
ADMIN_USER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER}"
# Who may assume the roles: the account, and the lab's admin user (IAM enforced). moto judges trust only when IAM is
# enforced, so the lab's default `testing` identity (arn:aws:sts::<account>:user/moto, no valid principal) can too.
ROLE_TRUSTED_PRINCIPALS = (ACCOUNT_ROOT_ARN, ADMIN_USER_ARN)

# The key-policy statements the seeded keys carry, by Sid.
KEY_ADMIN_SID = "KeyAdministration"
APP_USE_SID = "ApplicationUse"
DR_OPERATOR_SID = "DrOperatorUse"
REPLICATION_USE_SID = "S3ReplicationUse"
DENIED_ROLE_GRANT_SID = "AnalyticsDecrypt"  # only under dr-key-policy-grants-denied-role
KEY_ADMIN_ACTIONS = (
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:ReplicateKey", "kms:RotateKeyOnDemand",
)
KEY_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
DR_OPERATOR_ACTIONS = (*KEY_USE_ACTIONS, "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListKeyRotations",
                       "kms:ListResourceTags", "kms:ListAliases")


def key_policy(data_class: str, *, app_grant: bool = True, denied_role_decrypt: bool = False) -> dict:
    """A data-class key's policy. The account may administer the key (IAM decides who, among its principals), but
    not use it: only the roles named here may encrypt and decrypt, so an IAM policy alone never opens the data."""
    statements = [
        {"Sid": KEY_ADMIN_SID, "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT_ARN},
         "Action": list(KEY_ADMIN_ACTIONS), "Resource": "*"},
    ]
    if app_grant:
        statements.append({"Sid": APP_USE_SID, "Effect": "Allow", "Principal": {"AWS": APP_ROLE_ARN},
                           "Action": list(KEY_USE_ACTIONS), "Resource": "*"})
    statements.append({"Sid": DR_OPERATOR_SID, "Effect": "Allow", "Principal": {"AWS": DR_OPERATOR_ROLE_ARN},
                       "Action": list(DR_OPERATOR_ACTIONS), "Resource": "*"})
    if data_class == "s3":
        statements.append({"Sid": REPLICATION_USE_SID, "Effect": "Allow",
                           "Principal": {"AWS": role_arn(REPLICATION_ROLE_NAME)},
                           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"})
    if denied_role_decrypt:
        statements.append({"Sid": DENIED_ROLE_GRANT_SID, "Effect": "Allow", "Principal": {"AWS": DENIED_ROLE_ARN},
                           "Action": "kms:Decrypt", "Resource": "*"})
    return {"Version": "2012-10-17", "Id": f"dr-{data_class}-key-policy", "Statement": statements}


def latest_backup_before(now: datetime) -> datetime:
    return (now - LATEST_BACKUP_AGE).replace(second=0, microsecond=0)


def key_alias(data_class: str) -> str:
    return f"alias/dr-{data_class}"


@dataclass
class SeededWorld:
    """Generated ids of the seeded world."""

    key_arns: dict[tuple[str, str], str] = field(default_factory=dict)  # (region, data class) -> key ARN
    archive_key_arn: str = ""  # ARCHIVE_KEY_ALIAS, in the primary region
    replication_role_arn: str = ""
    # What a fault did to the seeded S3 objects, by key: replicas missing or corrupted, objects older than the rule.
    missing_replicas: list[str] = field(default_factory=list)
    pre_rule_objects: list[str] = field(default_factory=list)
    corrupted_replicas: list[str] = field(default_factory=list)
    security_group_ids: dict[str, str] = field(default_factory=dict)  # region -> restore security group id
    subnet_ids: dict[str, list[str]] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (region, instance) -> ids, newest first
    secret_arn: str = ""
    secret_replica_arn: str = ""  # the secret's replica in the DR region
    role_arns: dict[str, str] = field(default_factory=dict)  # APP_ROLE, DR_OPERATOR_ROLE, DENIED_ROLE -> ARN
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
    s3.write_application_objects([AppWrite(SOURCE_BUCKET, EXPORTS_PREFIX),
                                  AppWrite(SOURCE_BUCKET, ARCHIVE_PREFIX, seeded.archive_key_arn)])


def seed(clients: "SeedClients", world: "World") -> SeededWorld:
    """Build the production world on a freshly reset moto, through `clients` pointed at it."""
    now = world.now()
    seeded = SeededWorld(seeded_at=now)
    _seed_roles(clients, seeded)
    _seed_keys(clients, world, seeded, now)
    _seed_network(clients, PRIMARY_REGION, PRIMARY_SUBNET_GROUP, PRIMARY_SECURITY_GROUP_NAME, "10.40.0.0/16", seeded)
    _seed_network(clients, DR_REGION, DR_SUBNET_GROUP, DR_SECURITY_GROUP_NAME, "10.42.0.0/16", seeded)
    _seed_databases(clients, seeded, now)
    if not world.has_fault(NO_DR_SNAPSHOT):
        _seed_dr_snapshot_copies(clients, seeded, now)
    _seed_buckets(clients, world, seeded, now)
    _seed_secret(clients, world, seeded, now)
    if world.has_fault(DR_KEY_DISABLED):
        for data_class in DR_KEY_DISABLED_CLASSES:
            # By key id: moto's disable_key fails when given an ARN.
            key_id = seeded.key_arn(data_class, DR_REGION).split("/")[-1]
            clients.get("kms", DR_REGION).disable_key(KeyId=key_id)
    return seeded


# The DR keys dr-key-disabled disables: RDS restores and copies, and S3 replicas, need them.
DR_KEY_DISABLED_CLASSES = ("rds", "s3")


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


def _seed_roles(clients: SeedClients, seeded: SeededWorld) -> None:
    iam = clients.get("iam", PRIMARY_REGION)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(ROLE_TRUSTED_PRINCIPALS)}, "Action": "sts:AssumeRole"}]}
    # Any key and secret: each key's policy says which of them the role may use, and so which secrets it may read.
    # (moto's IAM check, when a test enforces it, sees KMS and Secrets Manager calls as made on "*".)
    key_arns = secret_arns = "*"
    identity = {
        APP_ROLE: [
            {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": key_arns},
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
             "Resource": secret_arns},
        ],
        DR_OPERATOR_ROLE: [
            {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                           "kms:Describe*", "kms:Get*", "kms:List*"], "Resource": key_arns},
            {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                                           "secretsmanager:ListSecrets"], "Resource": "*"},
        ],
        # Read-only on everything, decryption included: the key policies are what keep it from production data.
        DENIED_ROLE: [
            {"Effect": "Allow", "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:Decrypt",
                                           "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                                           "secretsmanager:ListSecrets", "s3:Get*", "s3:List*", "rds:Describe*"],
             "Resource": "*"},
        ],
    }
    for name in ROLE_NAMES:
        seeded.role_arns[name] = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=PRODUCTION_TAGS)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-access", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": identity[name]}))


def _seed_keys(clients: SeedClients, world: "World", seeded: SeededWorld, now: datetime) -> None:
    primary_kms, dr_kms = clients.get("kms", PRIMARY_REGION), clients.get("kms", DR_REGION)
    created = now - KEYS_CREATED_AGO
    for data_class, component in DATA_CLASS_COMPONENTS.items():
        tags = [
            {"TagKey": "DataClass", "TagValue": data_class},
            {"TagKey": "Component", "TagValue": component},
            {"TagKey": "Environment", "TagValue": "production"},
        ]
        policy = key_policy(data_class)
        multi_region = data_class in MULTI_REGION_DATA_CLASSES
        primary = primary_kms.create_key(Description=f"DR {data_class} data key ({PRIMARY_REGION})", Tags=tags,
                                         Policy=json.dumps(policy), MultiRegion=multi_region)["KeyMetadata"]
        primary_kms.create_alias(AliasName=key_alias(data_class), TargetKeyId=primary["KeyId"])
        primary_key = find_key(primary["Arn"], PRIMARY_REGION)
        assert primary_key is not None
        primary_key.creation_date = unix_time(created)
        # Rotating every period since it was created: catching up records those automatic rotations.
        primary_key.key_rotation_status = True
        primary_key.rotation_period_in_days = KEY_ROTATION_PERIOD_DAYS
        primary_key.rotation_anchor = created
        catch_up_rotations(primary_key, now)
        if multi_region:
            dr = primary_kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion=DR_REGION)["ReplicaKeyMetadata"]
            replica_key = find_key(dr["Arn"], DR_REGION)
            assert replica_key is not None
            own_replica(primary_key, replica_key, unix_time(created))
            dr_kms.update_key_description(KeyId=dr["KeyId"], Description=f"DR {data_class} data key ({DR_REGION})")
            dr_kms.tag_resource(KeyId=dr["KeyId"], Tags=tags)
        else:
            dr = dr_kms.create_key(Description=f"DR {data_class} data key ({DR_REGION})", Tags=tags,
                                   Policy=json.dumps(policy))["KeyMetadata"]
            dr_kms.enable_key_rotation(KeyId=dr["KeyId"])
        dr_kms.create_alias(AliasName=key_alias(data_class), TargetKeyId=dr["KeyId"])
        if data_class == KMS_FAULT_DATA_CLASS:
            policy = key_policy(data_class, app_grant=not world.has_fault(DR_REPLICA_MISSING_APP_GRANT),
                                denied_role_decrypt=world.has_fault(DR_KEY_POLICY_GRANTS_DENIED_ROLE))
            if world.has_fault(ROTATION_OFF):
                primary_kms.disable_key_rotation(KeyId=primary["KeyId"])
        dr_kms.put_key_policy(KeyId=dr["KeyId"], PolicyName="default", Policy=json.dumps(policy))
        seeded.key_arns[(PRIMARY_REGION, data_class)] = primary["Arn"]
        seeded.key_arns[(DR_REGION, data_class)] = dr["Arn"]
    key = primary_kms.create_key(
        Description="Orders archive data key",
        Tags=[{"TagKey": "DataClass", "TagValue": "s3"}, {"TagKey": "Component", "TagValue": "archive"},
              {"TagKey": "Environment", "TagValue": "production"}],
    )["KeyMetadata"]
    primary_kms.create_alias(AliasName=ARCHIVE_KEY_ALIAS, TargetKeyId=key["KeyId"])
    primary_kms.enable_key_rotation(KeyId=key["KeyId"])
    seeded.archive_key_arn = key["Arn"]


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


def _seed_buckets(clients: SeedClients, world: "World", seeded: SeededWorld, now: datetime) -> None:
    iam = clients.get("iam", PRIMARY_REGION)
    seeded.replication_role_arn = role_arn = iam.create_role(
        RoleName=REPLICATION_ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ]}
        ),
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName=REPLICATION_ROLE_NAME, PolicyName="replicate-orders-data", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
             "Resource": f"arn:aws:s3:::{SOURCE_BUCKET}"},
            {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                           "s3:GetObjectVersionTagging"],
             "Resource": f"arn:aws:s3:::{SOURCE_BUCKET}/*"},
            {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
             "Resource": f"arn:aws:s3:::{REPLICA_BUCKET}/*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [
                seeded.key_arn("s3", PRIMARY_REGION), seeded.archive_key_arn]},
            {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
             "Resource": seeded.key_arn("s3", DR_REGION)},
        ]}))
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
    objects = _seeded_objects(seeded, now)
    if world.has_fault(REPLICA_MISSING_OBJECTS):
        # Objects written before replication was configured: S3 never replicates them, and they carry no status.
        oldest = objects[0][1]
        for index in range(PRE_RULE_COUNT):
            name = f"{EXPORTS_PREFIX}legacy/{oldest - timedelta(days=30 + index):%Y%m%d}.json"
            _put_seeded(name, oldest - timedelta(days=30 + index), _body(random.Random(index), 1000 + index), None)
            seeded.pre_rule_objects.append(name)
    source = clients.get("s3", PRIMARY_REGION)
    source.put_bucket_replication(Bucket=SOURCE_BUCKET, ReplicationConfiguration=_replication_configuration(
        role_arn, seeded.key_arn("s3", DR_REGION), "Enabled"))
    if world.has_fault(REPLICATION_FAILED_FOR_KEY):
        # A key policy that shuts out the replication role: S3 cannot read the archive's objects to replicate them.
        clients.get("kms", PRIMARY_REGION).put_key_policy(
            KeyId=seeded.archive_key_arn.split("/")[-1], PolicyName="default", Policy=json.dumps(
                {"Version": "2012-10-17", "Statement": [
                    {"Sid": "Enable IAM policies", "Effect": "Allow",
                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "kms:*", "Resource": "*"},
                    {"Sid": "Archive readers only", "Effect": "Deny", "Principal": {"AWS": role_arn},
                     "Action": ["kms:Decrypt", "kms:ReEncrypt*"], "Resource": "*"},
                ]}))
    _seed_replicated_objects(world, objects, now)
    _seed_s3_faults(clients, world, seeded, role_arn, objects)


def _replication_configuration(role_arn: str, replica_key_arn: str, status: str) -> dict:
    return {"Role": role_arn, "Rules": [{
        "ID": REPLICATION_RULE_ID,
        "Priority": 1,
        "Status": status,
        "Filter": {"Prefix": ""},  # the whole bucket: production data and the drills' canaries alike
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
        "Destination": {
            "Bucket": f"arn:aws:s3:::{REPLICA_BUCKET}",
            "EncryptionConfiguration": {"ReplicaKmsKeyID": replica_key_arn},
            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
            "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
        },
    }]}


def _body(rng: random.Random, orders: int) -> bytes:
    lines = [json.dumps({"order": orders * 1000 + line, "amount_cents": rng.randrange(100, 100_000)})
             for line in range(rng.randrange(4, 120))]
    return ("\n".join(lines) + "\n").encode()


# (key, written at, body, KMS key ARN or None for the bucket default, storage class, with a SHA-256 checksum)
SeededObject = tuple[str, datetime, bytes, "str | None", str, bool]


def _seeded_objects(seeded: SeededWorld, now: datetime) -> list[SeededObject]:
    """The production objects written before the lab began, oldest first: hourly exports, six-hourly archives."""
    bodies = iter(_seeded_bodies())
    hour = now.replace(minute=0, second=0, microsecond=0)
    found: list[SeededObject] = []
    for hours_ago in range(SEEDED_EXPORT_HOURS, 0, -1):
        written = hour - timedelta(hours=hours_ago)
        found.append((f"{EXPORTS_PREFIX}{written:%Y%m%dT%H%M%S}.json", written, next(bodies), None, "STANDARD", True))
    for index in range(SEEDED_ARCHIVE_COUNT, 0, -1):
        written = hour - index * ARCHIVE_INTERVAL + timedelta(minutes=30)
        found.append((f"{ARCHIVE_PREFIX}{written:%Y/%m/%d/%H%M}.json.gz", written, next(bodies),
                      seeded.archive_key_arn, "STANDARD_IA", False))
    return sorted(found, key=lambda seeded_object: seeded_object[1])


@lru_cache(maxsize=1)
def _seeded_bodies() -> tuple[bytes, ...]:
    """The seeded objects' contents: the same in every lab, and made once per process (a reset seeds them again)."""
    rng = random.Random(20261127)
    return tuple(_body(rng, index) for index in range(SEEDED_EXPORT_HOURS + SEEDED_ARCHIVE_COUNT))


def _put_seeded(name: str, written: datetime, body: bytes, kms_key_arn: str | None, storage: str = "STANDARD",
                checksum: bool = False) -> FakeKey:
    """Write an object into the source bucket as the application did at `written` (straight into moto: fast)."""
    backend = s3_backends[ACCOUNT_ID]["aws"]
    encryption = {"encryption": "aws:kms", "kms_key_id": kms_key_arn} if kms_key_arn else {}
    key = backend.put_object(SOURCE_BUCKET, name, body, storage=storage, disable_notification=True,
                             checksum_value=compute_checksum(body, "SHA256").decode() if checksum else None,
                             **encryption)
    if checksum:
        key.checksum_algorithm = "SHA256"
    key.set_metadata({"Content-Type": "application/json", "x-amz-meta-exported-by": "orders-exporter"})
    key.last_modified = written
    return key


def _seed_replicated_objects(world: "World", objects: list[SeededObject], now: datetime) -> None:
    """Objects written before the lab began, replicated (or not) as the bucket's configuration says, with the
    replication metrics CloudWatch would hold for them."""
    model: ReplicationModel = world.model("s3")  # type: ignore[assignment]
    settings = world.settings
    rng = random.Random(settings.random_seed + 1)
    history: dict[tuple[str, str, str], tuple[ReplicationRoute, list[PastOperation]]] = {}
    for name, written, body, kms_key_arn, storage, checksum in objects:
        key = _put_seeded(name, written, body, kms_key_arn, storage, checksum)
        lag = timedelta(seconds=rng.uniform(settings.replication_lag_min_seconds, settings.replication_lag_max_seconds))
        for route, operation in model.replicate_past(SOURCE_BUCKET, key, lag):
            history.setdefault(route.ident, (route, []))[1].append(operation)
    for route, operations in history.values():
        model.record_history(route, operations, now - METRICS_HISTORY)


def _seed_s3_faults(clients: SeedClients, world: "World", seeded: SeededWorld, role_arn: str,
                    objects: list[SeededObject]) -> None:
    """Faults that are states of the seeded bucket pair, as they stand when the lab starts."""
    backend = s3_backends[ACCOUNT_ID]["aws"]
    exports = [name for name, *_ in objects if name.startswith(EXPORTS_PREFIX)]
    if world.has_fault(REPLICA_MISSING_OBJECTS):
        # Replicated once (COMPLETED on the source), then lost from the replica: every version deleted.
        for name in [exports[len(exports) * (index + 1) // (MISSING_REPLICA_COUNT + 2) + 1] for index in range(MISSING_REPLICA_COUNT)]:
            for version in list(backend.buckets[REPLICA_BUCKET].keys.getlist(name, [])):
                backend.delete_object(REPLICA_BUCKET, name, version_id=version.version_id)
            seeded.missing_replicas.append(name)
    if world.has_fault(REPLICA_CORRUPTED_OBJECT):
        # Same size and metadata, one byte changed: only the ETag and the checksum tell.
        name = exports[len(exports) // 2]
        replica = backend.get_object(REPLICA_BUCKET, name)
        body = bytearray(replica.value)
        body[len(body) // 2] ^= 0x01
        last_modified = replica.last_modified
        replica.value = bytes(body)
        replica._etag = None
        replica.checksum_value = compute_checksum(bytes(body), "SHA256").decode()
        replica.last_modified = last_modified
        seeded.corrupted_replicas.append(name)
    if world.has_fault(REPLICA_VERSIONING_SUSPENDED):
        clients.get("s3", DR_REGION).put_bucket_versioning(
            Bucket=REPLICA_BUCKET, VersioningConfiguration={"Status": "Suspended"})
    if world.has_fault(REPLICATION_RULE_DISABLED):
        clients.get("s3", PRIMARY_REGION).put_bucket_replication(
            Bucket=SOURCE_BUCKET,
            ReplicationConfiguration=_replication_configuration(role_arn, seeded.key_arn("s3", DR_REGION), "Disabled"))


def _seed_secret(clients: SeedClients, world: "World", seeded: SeededWorld, now: datetime) -> None:
    replica_regions = [{"Region": DR_REGION, "KmsKeyId": seeded.key_arn("secrets", DR_REGION)}]
    seeded.secret_arn = clients.get("secretsmanager", PRIMARY_REGION).create_secret(
        Name=SECRET_NAME,
        Description="Application credentials for orders-db",
        KmsKeyId=seeded.key_arn("secrets", PRIMARY_REGION),
        SecretString=json.dumps({"username": "orders_app", "password": "not-a-real-password-2",
                                 "host": f"{ORDERS_DB}.{PRIMARY_REGION}.rds.amazonaws.com", "port": 5432}),
        AddReplicaRegions=replica_regions,
        Tags=PRODUCTION_TAGS,
    )["ARN"]
    secret = secretsmanager_backends[ACCOUNT_ID][PRIMARY_REGION].secrets[seeded.secret_arn]
    # Seeding runs on plain moto, which forgets a replica's key: record it as the lab does for any client.
    keep_replica_keys(secret, secret.replicas, replica_regions)
    [replica] = secret.replicas
    seeded.secret_replica_arn = replica.arn
    # Rotated by its Lambda every SECRET_ROTATION_DAYS, last SECRET_LAST_ROTATED_AGO (moto would invoke a Lambda).
    last_rotated = int(unix_time(now - SECRET_LAST_ROTATED_AGO))
    secret.created_date = int(unix_time(now - KEYS_CREATED_AGO))
    secret.rotation_requested = True
    secret.rotation_lambda_arn = SECRET_ROTATION_LAMBDA_ARN
    secret.auto_rotate_after_days = SECRET_ROTATION_DAYS
    secret.rotation_enabled = not world.has_fault(SECRET_ROTATION_OFF)
    secret.last_rotation_date = secret.last_changed_date = last_rotated
    secret.next_rotation_date = last_rotated + SECRET_ROTATION_DAYS * 86400 if secret.rotation_enabled else None
    for version in secret.versions.values():
        version["createdate"] = last_rotated
    if world.has_fault(SECRET_REPLICA_OUT_OF_SYNC):
        set_replica_status(replica, SECRET_REPLICA_FAILED_STATUS, SECRET_REPLICA_FAILED_MESSAGE)


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


def production_names(*, drill_named: bool = False) -> ProductionNames:
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
    if not drill_named:
        names = {name for name in names if not name.lower().startswith(NAME_PREFIX)}
    return ProductionNames(frozenset(names), frozenset(s3_backends[ACCOUNT_ID]["aws"].buckets))

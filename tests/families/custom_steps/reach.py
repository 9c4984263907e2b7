"""A team's step module that tries to change production through every client it could build (issue 16, part 3).

Each attempt is caught and noted (`reach <path> <what>: refused|sent`), so one scenario proves every path; a
second scenario lets a refusal through, as a careless step would.
"""

from __future__ import annotations

from typing import Any, Callable

import boto3
import botocore.session
from pytest_bdd import then

from drtool.core.guard import GuardRefused
from drtool.core.operations import calls
from drtool.core.run import TargetRun

PRIMARY = "eu-west-1"
BUCKET = "orders-data-eu-west-1"
INSTANCE = "arn:aws:rds:eu-west-1:123456789012:db:orders-db"
ROLE = "arn:aws:iam::123456789012:role/dr-operator"
EARLY = boto3.client("s3", region_name=PRIMARY)  # made at import, before the run started


def _put(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="exports/not-from-production", Body=b"x")


def _tag(rds: Any) -> None:
    rds.add_tags_to_resource(ResourceName=INSTANCE, Tags=[{"Key": "touched", "Value": "yes"}])


def paths(target: TargetRun) -> dict[str, Callable[[], None]]:
    session = target.run.aws.session
    role = target.as_role(ROLE).session
    raw = botocore.session.get_session()
    return {
        "session.client s3": lambda: _put(session.client("s3", region_name=PRIMARY)),
        "session.client rds": lambda: _tag(session.client("rds", region_name=PRIMARY)),
        "session.resource s3": lambda: session.resource("s3", region_name=PRIMARY).Object(BUCKET, "exports/r").put(Body=b"x"),
        "as_role.session.client s3": lambda: _put(role.client("s3", region_name=PRIMARY)),
        "as_role.session.client rds": lambda: _tag(role.client("rds", region_name=PRIMARY)),
        "boto3.client s3": lambda: _put(boto3.client("s3", region_name=PRIMARY)),
        "boto3.client rds": lambda: _tag(boto3.client("rds", region_name=PRIMARY)),
        "boto3.resource s3": lambda: boto3.resource("s3", region_name=PRIMARY).Bucket(BUCKET).put_object(Key="exports/b", Body=b"x"),
        "boto3.Session.client s3": lambda: _put(boto3.Session().client("s3", region_name=PRIMARY)),
        "boto3.Session.client rds": lambda: _tag(boto3.Session().client("rds", region_name=PRIMARY)),
        "botocore create_client s3": lambda: _put(raw.create_client("s3", region_name=PRIMARY)),
        "botocore create_client rds": lambda: _tag(raw.create_client("rds", region_name=PRIMARY)),
        "client made before the run s3": lambda: _put(EARLY),
    }


@then("every way a step could change production is tried")
@calls()
def every_way(target: TargetRun) -> None:
    for name, attempt in paths(target).items():
        try:
            attempt()
        except GuardRefused:
            target.note(f"reach {name}: refused")
        except Exception as exc:  # noqa: BLE001 - anything else is noted for the test to show
            target.note(f"reach {name}: failed {type(exc).__name__}: {exc}")
        else:
            target.note(f"reach {name}: sent")


@then("a plain boto3 client writes to a production bucket")
@calls()
def plain_write(target: TargetRun) -> None:
    _put(boto3.client("s3", region_name=PRIMARY))

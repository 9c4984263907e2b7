"""Names and tags that mark a resource as made by a drtool drill run.

Everything a drill creates carries the fixed name prefix and these tags; the
guard and `drtool cleanup` rely on both, and cleanup never touches a resource
that lacks the `created-by=drtool` tag.
"""

from __future__ import annotations

from datetime import datetime

NAME_PREFIX = "drtool-"
CREATED_BY_KEY = "created-by"
CREATED_BY_VALUE = "drtool"
RUN_ID_KEY = "drtool:run-id"
DRILL_KEY = "drtool:drill"
TARGET_KEY = "drtool:target"
CREATED_AT_KEY = "drtool:created-at"

RDS_IDENTIFIER_MAX = 63


def resource_name(run_id: str, target: str, suffix: str = "") -> str:
    """`drtool-<run id>-<target>[-suffix]`, valid as an RDS identifier."""
    name = f"{NAME_PREFIX}{run_id}-{target}" + (f"-{suffix}" if suffix else "")
    name = name.lower()[:RDS_IDENTIFIER_MAX].rstrip("-")
    while "--" in name:
        name = name.replace("--", "-")
    return name


def is_drill_name(name: str) -> bool:
    return name.lower().startswith(NAME_PREFIX)


def run_id_from_name(name: str) -> str | None:
    if not is_drill_name(name):
        return None
    return name[len(NAME_PREFIX) :].split("-", 1)[0] or None


def drill_tags(run_id: str, drill: str, target: str, created_at: datetime) -> list[dict[str, str]]:
    return [
        {"Key": CREATED_BY_KEY, "Value": CREATED_BY_VALUE},
        {"Key": RUN_ID_KEY, "Value": run_id},
        {"Key": DRILL_KEY, "Value": drill},
        {"Key": TARGET_KEY, "Value": target},
        {"Key": CREATED_AT_KEY, "Value": created_at.isoformat(timespec="seconds")},
    ]


def tags_to_dict(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tag_list or []}


def is_drill_tagged(tags: dict[str, str]) -> bool:
    return tags.get(CREATED_BY_KEY) == CREATED_BY_VALUE

# S3 drills write canary objects only under this key prefix (of the drill's buckets).
CANARY_PREFIX = "drtool-canary/"
# Evidence bundles go only under this key prefix (after the prefix the drill file gives): <drill>/<run id>/<file>.
EVIDENCE_PREFIX = "drtool-evidence/"
# KMS grants a drill creates are named with this prefix (KMS grants cannot carry tags).
GRANT_NAME_PREFIX = NAME_PREFIX

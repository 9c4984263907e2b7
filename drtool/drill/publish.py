"""Where a drill's results go after the run, as a drill file's `publish:` block (and `drtool run`'s options) say.

```yaml
publish:
  cloudwatch: {namespace: drtool, region: eu-west-1}      # RTOSeconds, RPOSeconds, ..., Passed per target
  pushgateway: {url: http://pushgateway.monitoring:9091}  # the same figures, job "drtool", grouped by drill
  sns: {topic_arn: arn:aws:sns:eu-west-1:123456789012:dr-drills, when: failure}
```

Each sink is optional. `drtool permissions` grants PutMetricData (in that
namespace only) and sns:Publish (on that topic only) when, and only when, the
drill file configures them. `when`, not `on`: YAML reads a bare `on` as a boolean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from drtool.core.inputs import option_problem
from drtool.core.model import Problem, Region, Strict, known_regions

# CloudWatch's own rule: these characters, at most 255, not starting with ':' and not only spaces; AWS/ is AWS's.
_NAMESPACE = re.compile(r"^[0-9A-Za-z.\-_/#: ]{1,255}$")
SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$")
DEFAULT_NAMESPACE = "drtool"
DEFAULT_JOB = "drtool"


def _namespace(value: str) -> str:
    if not _NAMESPACE.match(value) or value.startswith(":") or not value.strip():
        raise ValueError(f"{value[:60]!r} is not a CloudWatch namespace: 1 to 255 of A-Z a-z 0-9 . - _ / # : and "
                         "space, not starting with ':'")
    if value.upper().startswith("AWS/"):
        raise ValueError(f"{value[:60]!r}: namespaces starting with AWS/ are AWS's own; choose another, e.g. drtool")
    return value


def _pushgateway_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value[:80]!r} is not a Pushgateway URL: give http(s)://HOST[:PORT][/PATH]")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value[:80]!r}: a Pushgateway URL takes no query, fragment or credentials")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise ValueError(f"{value[:80]!r}: the port is not a number from 1 to 65535") from None
    return value.rstrip("/")


def _topic_arn(value: str) -> str:
    match = SNS_TOPIC_ARN.match(value)
    if not match:
        raise ValueError(f"{value[:120]!r} is not an SNS topic ARN (arn:aws:sns:REGION:123456789012:TOPIC)")
    if match.group("region") not in known_regions():
        raise ValueError(f"{value[:120]!r} names an unknown AWS region {match.group('region')!r}")
    return value


Namespace = Annotated[str, AfterValidator(_namespace)]
PushgatewayUrl = Annotated[str, Field(max_length=2048), AfterValidator(_pushgateway_url)]
TopicArn = Annotated[str, AfterValidator(_topic_arn)]


class CloudWatchPublishing(Strict):
    """Per-target figures as CloudWatch metrics: RTOSeconds, RPOSeconds, ReplicationLagSeconds, ..., Passed (1/0)."""

    namespace: Namespace = Field(default=DEFAULT_NAMESPACE, description="The metrics' namespace (not AWS/...).")
    region: Region | None = Field(default=None, description="Where to publish them; default the drill's primary_region.")


class PushgatewayPublishing(Strict):
    """The same figures pushed to a Prometheus Pushgateway, replacing the drill's group on every run."""

    url: PushgatewayUrl = Field(description="The Pushgateway's base URL, e.g. http://pushgateway:9091.")
    job: str = Field(default=DEFAULT_JOB, pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$", description="The job label.")


class SnsPublishing(Strict):
    """A plain-text summary (failed targets and their verdicts) sent to an SNS topic."""

    topic_arn: TopicArn
    when: Literal["failure", "always"] = Field(
        default="failure", description="failure: only when the drill did not meet every objective; always: every run.")

    @property
    def region(self) -> str:
        return self.topic_arn.split(":")[3]


class Publishing(Strict):
    cloudwatch: CloudWatchPublishing | None = None
    pushgateway: PushgatewayPublishing | None = None
    sns: SnsPublishing | None = None

    @property
    def configured(self) -> bool:
        return any((self.cloudwatch, self.pushgateway, self.sns))


@dataclass(frozen=True)
class PublishOptions:
    """`drtool run`'s (and the pytest plugin's) publishing options: each replaces or adds its sink's main setting."""

    cloudwatch_namespace: str | None = None
    pushgateway_url: str | None = None
    sns_topic: str | None = None
    off: bool = False  # publish nothing, whatever the drill file says (a trial run of a production drill)

    def problems(self, names: tuple[str, str, str]) -> list[Problem]:
        """`option --x: problem` for each value the drill file would refuse; `names` are the options' names."""
        problems = []
        for value, check, option in zip((self.cloudwatch_namespace, self.pushgateway_url, self.sns_topic),
                                        (_namespace, _pushgateway_url, _topic_arn), names):
            if value is None:
                continue
            try:
                check(value)
            except ValueError as exc:
                problems.append(option_problem(option, str(exc)))
        return problems

    def applied_to(self, publishing: Publishing) -> Publishing:
        """The drill file's settings with these options applied (already checked by `problems`)."""
        if self.off:
            return Publishing()
        update: dict[str, Strict] = {}
        if self.cloudwatch_namespace is not None:
            base = publishing.cloudwatch or CloudWatchPublishing()
            update["cloudwatch"] = base.model_copy(update={"namespace": _namespace(self.cloudwatch_namespace)})
        if self.pushgateway_url is not None:
            url = _pushgateway_url(self.pushgateway_url)
            update["pushgateway"] = (publishing.pushgateway.model_copy(update={"url": url}) if publishing.pushgateway
                                     else PushgatewayPublishing(url=url))
        if self.sns_topic is not None:
            topic = _topic_arn(self.sns_topic)
            update["sns"] = publishing.sns.model_copy(update={"topic_arn": topic}) if publishing.sns else SnsPublishing(topic_arn=topic)
        return publishing.model_copy(update=update)

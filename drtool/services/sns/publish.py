"""Publishing a message to an SNS topic: it creates or changes no resource, so the guard lets it pass."""

from __future__ import annotations

from typing import Any

from drtool.core.operations import operation

__all__ = ["publish_message"]


@operation("sns", "Publish", iam=("sns:Publish",))
def publish_message(sns: Any, topic_arn: str, subject: str, message: str, *, group: str = "",
                    deduplication_id: str = "") -> str:
    """Send a message with a subject (e-mail subscribers see it) to a topic; returns SNS's message id.

    A FIFO topic (`.fifo`) requires a message group, and a deduplication id unless content-based deduplication is on.
    """
    params: dict[str, Any] = {"TopicArn": topic_arn, "Subject": subject, "Message": message}
    if topic_arn.endswith(".fifo"):
        params.update(MessageGroupId=group or "drtool", MessageDeduplicationId=deduplication_id or "drtool")
    return sns.publish(**params)["MessageId"]

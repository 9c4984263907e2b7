"""Reading whole buckets: listings streamed in key order.

A listing is read page by page on a thread of its own, a few pages ahead of
its reader, so two buckets listed side by side overlap their round trips and
memory stays bounded by those pages whatever the bucket's size.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator

from drtool.core.operations import operation

PAGE_SIZE = 1000  # S3's maximum per ListObjectsV2 page
PAGES_AHEAD = 4

_END = object()


@operation("s3", "ListObjectsV2", iam=("s3:ListBucket",))
def list_objects(s3: Any, bucket: str, prefix: str = "") -> Iterator[dict[str, Any]]:
    """The bucket's current objects under `prefix`, in key order (S3 lists in UTF-8 binary order)."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    for page in pages:
        yield from page.get("Contents", ())


def read_ahead(objects: Iterator[dict[str, Any]], pages: int = PAGES_AHEAD) -> Iterator[dict[str, Any]]:
    """Iterate `objects` on a thread of its own, at most `pages` pages ahead; its errors reach the reader."""
    buffer: queue.Queue = queue.Queue(maxsize=pages)
    stop = threading.Event()

    def produce() -> None:
        batch: list[dict[str, Any]] = []
        try:
            for item in objects:
                batch.append(item)
                if len(batch) == PAGE_SIZE:
                    if not _put(buffer, batch, stop):
                        return
                    batch = []
            if batch:
                _put(buffer, batch, stop)
            _put(buffer, _END, stop)
        except BaseException as exc:  # handed to the reader, which raises it where it reads
            _put(buffer, exc, stop)

    thread = threading.Thread(target=produce, name="drtool-s3-listing", daemon=True)
    thread.start()
    try:
        while True:
            batch = buffer.get()
            if batch is _END:
                return
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()  # a reader that stops early releases the producer


def _put(buffer: queue.Queue, item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            buffer.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False

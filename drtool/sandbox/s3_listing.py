"""S3 listings that cost a page, not the bucket, as in AWS.

moto sorts every key of a bucket for every ListObjectsV2 page, so listing a
bucket of 100,000 objects takes 100 pages of 100,000-key sorts: minutes, for
what AWS answers in seconds. Here a listing sorts the keys once, when its
first page is asked for, and its later pages read on from that order. Each
page looks its keys up again, so an object deleted mid-listing is not
returned; one written mid-listing may be missed, which S3 allows too.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import threading
from collections import OrderedDict
from typing import Any, Callable

from moto.s3.models import FakeDeleteMarker, S3Backend

from drtool.sandbox.patches import Patch, wrap_method

LISTINGS_KEPT = 256  # listings in progress remembered at once; an older one restarts in moto's own way


class ListingIndex:
    def __init__(self) -> None:
        self._listings: OrderedDict[str, tuple[str, list[str], int]] = OrderedDict()  # token -> (bucket, names, next)
        self._lock = threading.Lock()
        self._serial = itertools.count()

    def patches(self) -> list[Patch]:
        return [wrap_method(S3Backend, "list_objects_v2", self._list_objects_v2)]

    def _list_objects_v2(self, original: Callable[..., Any]) -> Callable[..., Any]:
        index = self

        def list_objects_v2(backend: S3Backend, bucket: Any, prefix: str | None, delimiter: str | None,
                            continuation_token: str | None, start_after: str | None, max_keys: int) -> Any:
            if delimiter or max_keys <= 0:
                return original(backend, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
            if continuation_token is None:
                names = sorted(name for name in bucket.keys.keys() if name.startswith(prefix or ""))
                start = bisect.bisect_right(names, start_after) if start_after else 0
            else:
                with index._lock:
                    found = index._listings.pop(continuation_token, None)
                if found is None or found[0] != bucket.name:  # not one of ours, or forgotten: moto's way
                    return original(backend, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
                _, names, start = found
            page: list[Any] = []
            position = start
            while position < len(names) and len(page) < max_keys:
                key = bucket.keys.get(names[position])
                position += 1
                if key is not None and not isinstance(key, FakeDeleteMarker):
                    page.append(key)
            if position >= len(names):
                return page, False, None
            token = hashlib.md5(f"{bucket.name}/{names[position - 1]}/{next(index._serial)}".encode()).hexdigest()
            with index._lock:
                index._listings[token] = (bucket.name, names, position)
                while len(index._listings) > LISTINGS_KEPT:
                    index._listings.popitem(last=False)
            return page, True, token

        return list_objects_v2

"""The lab lists a bucket a page at a time, as AWS does, with S3's listing semantics intact."""

from __future__ import annotations

from drtool.sandbox.seed import PRIMARY_REGION

KEYS = sorted(f"{folder}/{n:04}.json" for folder in ("a", "b", "c") for n in range(90))


def _bucket(aws):
    s3 = aws("s3", PRIMARY_REGION)
    s3.create_bucket(Bucket="listing-test", CreateBucketConfiguration={"LocationConstraint": PRIMARY_REGION})
    for key in reversed(KEYS):  # written out of order: the listing's order is S3's, not the writer's
        s3.put_object(Bucket="listing-test", Key=key, Body=b"x")
    return s3


def _listed(s3, **params):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="listing-test", PaginationConfig={"PageSize": 40}, **params)
    return [[o["Key"] for o in page.get("Contents", [])] for page in pages]


def test_pages_follow_key_order_with_prefix_and_start_after(lab, aws):
    s3 = _bucket(aws)
    pages = _listed(s3)
    assert [key for page in pages for key in page] == KEYS and all(len(page) == 40 for page in pages[:-1])
    assert [key for page in _listed(s3, Prefix="b/") for key in page] == [k for k in KEYS if k.startswith("b/")]
    assert [key for page in _listed(s3, StartAfter="b/0088.json") for key in page] == KEYS[KEYS.index("b/0088.json") + 1:]
    delimited = s3.list_objects_v2(Bucket="listing-test", Delimiter="/")
    assert [p["Prefix"] for p in delimited["CommonPrefixes"]] == ["a/", "b/", "c/"]


def test_an_object_deleted_mid_listing_is_not_listed(lab, aws):
    s3 = _bucket(aws)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="listing-test", PaginationConfig={"PageSize": 40})
    seen = []
    for number, page in enumerate(pages):
        seen += [o["Key"] for o in page["Contents"]]
        if number == 0:
            s3.delete_object(Bucket="listing-test", Key="c/0001.json")  # versioning off: gone for good
    assert "c/0001.json" not in seen and seen == [k for k in KEYS if k != "c/0001.json"]

"""Streaming listings: read ahead on a thread, in order, bounded, and an error reaches the reader."""

from __future__ import annotations

import threading

import pytest

from drtool.families.s3_replication.audit import _merge
from drtool.services.s3 import listing


def test_read_ahead_yields_everything_in_order_and_stays_a_few_pages_ahead(monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 10)
    produced = []

    def objects():
        for n in range(1000):
            produced.append(n)
            yield {"Key": f"k{n:04}"}

    reader = listing.read_ahead(objects(), pages=2)
    first = [next(reader) for _ in range(5)]
    # Wait until the producer blocks on a full buffer: then it holds at most 2 pages, the one being filled and those read.
    for _ in range(500):
        if len(produced) >= 30:
            break
        threading.Event().wait(0.01)
    assert len(produced) <= 10 * (2 + 2), "memory is bounded by the pages read ahead"
    assert [o["Key"] for o in first + list(reader)] == [f"k{n:04}" for n in range(1000)]


def test_an_error_while_listing_reaches_the_reader():
    def objects():
        yield {"Key": "a"}
        raise RuntimeError("AccessDenied while listing")

    reader = listing.read_ahead(objects())
    with pytest.raises(RuntimeError, match="AccessDenied while listing"):
        list(reader)


def test_merge_pairs_keys_from_two_sorted_listings():
    source = iter([{"Key": k} for k in ("a", "b", "d", "e")])
    replica = iter([{"Key": k} for k in ("b", "c", "e", "f")])
    pairs = [(s and s["Key"], r and r["Key"]) for s, r in _merge(source, replica)]
    assert pairs == [("a", None), ("b", "b"), (None, "c"), ("d", None), ("e", "e"), (None, "f")]

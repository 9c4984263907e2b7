"""What a run may delete: what it created, proven by AWS's answer or by the resource's own tags.

A name prefix proves nothing (anyone can name a resource `drtool-...`), so the guard's delete rules
ask this ledger first (filled when a create call returned), and otherwise read the tags back from AWS.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from drtool.core.tagging import CREATED_BY_KEY, CREATED_BY_VALUE, RUN_ID_KEY, run_id_from_name


class Ownership:
    """The resources this run's create calls are confirmed to have created: (service, region, identifier)."""

    def __init__(self) -> None:
        self._owned: set[tuple[str, str, str]] = set()

    def confirm(self, service: str, region: str, identifier: str) -> None:
        self._owned.add((service, region, identifier.lower()))

    def owns(self, service: str, region: str | None, identifier: str) -> bool:
        """With region None: in any region (an S3 canary and its replica share a key)."""
        if region is None:
            return any(s == service and i == identifier.lower() for s, _, i in self._owned)
        return (service, region, identifier.lower()) in self._owned


def tag_map(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t.get("Key", ""): t.get("Value", "") for t in tags or ()}


def tags_prove(tags: Mapping[str, str], run_id: str | None, identifier: str, named_run: str | None = None) -> str | None:
    """None when the tags prove drtool made this resource for `run_id`, or (run_id None: cleanup) for the run its name names.

    `named_run` is the run id the identifier names; by default read from a `drtool-<run id>-...` name.
    """
    if tags.get(CREATED_BY_KEY) != CREATED_BY_VALUE:
        return f"{identifier!r} is not tagged {CREATED_BY_KEY}={CREATED_BY_VALUE}"
    tagged_run = tags.get(RUN_ID_KEY, "")
    if not tagged_run:
        return f"{identifier!r} carries no {RUN_ID_KEY} tag"
    if run_id is not None and tagged_run != run_id:
        return f"{identifier!r} belongs to run {tagged_run!r}, not this run ({run_id!r})"
    named = named_run if named_run is not None else run_id_from_name(identifier)
    if named is None or named.lower() != tagged_run.lower():
        return f"{identifier!r} is tagged for run {tagged_run!r}, which its name does not name"
    return None

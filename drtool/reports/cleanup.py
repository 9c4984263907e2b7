"""What `drtool cleanup` shows: the leftovers it found, and what run journals say about them."""

from __future__ import annotations

from rich.table import Table

from drtool.core.clock import format_duration


def print_leftovers(console, leftovers, title: str) -> None:
    if not leftovers:
        return
    table = Table(title=title, title_justify="left")
    for column in ("kind", "identifier", "region", "age", "run id", "status"):
        table.add_column(column, overflow="fold")
    for leftover in leftovers:
        age = format_duration(leftover.age) if leftover.age is not None else "unknown"
        table.add_row(leftover.kind, leftover.label, leftover.region, age, leftover.run_id or "unknown", leftover.status)
    console.print(table)


def print_journal_mentions(console, mentions, narrowed: bool) -> None:
    for mention in mentions:
        resource = mention.resource
        what = f"journal of run {resource.run_id}: {resource.kind} {resource.identifier} in {resource.region} was created and never deleted"
        if mention.found is not None:
            state = "found, listed above" if mention.found.tagged else "found but untagged, not touched"
        elif not mention.region_searched:
            state = "in a region not searched"
        else:
            state = "not selected (gone, or younger than --older-than)" if narrowed else "no longer in AWS"
        console.print(f"{what}: {state}")

"""Targets side by side: a fleet takes about the time of its slowest target, each target's scenarios in order."""

from __future__ import annotations

import signal
from itertools import combinations
from pathlib import Path

import pytest
import yaml

from drtool.sandbox.seed import BILLING_DB, ORDERS_DB
from drtool.sandbox.world import WorldSettings
from tests.helpers import (
    WIDE,
    drill_file,
    drill_resources,
    finish_drill,
    production_untouched,
    run_drill,
    start_drill,
    wait_for_journal_event,
)

FLEET = ("orders-a", "orders-b", "orders-c", "orders-d")


def fleet_drill(tmp_path: Path, names: tuple[str, ...] = FLEET, **concurrency: int) -> Path:
    """Databases that each restore orders-db's newest DR snapshot, as a fleet of one engine would."""
    path = drill_file(tmp_path, ORDERS_DB, **WIDE)
    drill = yaml.safe_load(path.read_text())
    template = drill["targets"].pop(ORDERS_DB)
    drill["targets"] = {name: template for name in names}
    if concurrency:
        drill["concurrency"] = concurrency
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


def spans(journal: list[dict]) -> dict[str, tuple[float, float]]:
    """Each target's scenarios, from the first one's start to the last one's end, in world seconds."""
    found: dict[str, list[float]] = {}
    for record in journal:
        if record["event"] in ("test-started", "test-finished") and record.get("target"):
            found.setdefault(record["target"], []).append(record["mono"])
    return {target: (min(times), max(times)) for target, times in found.items()}


def run_time(journal: list[dict]) -> float:
    moments = {r["event"]: r["mono"] for r in journal if r["event"] in ("run-started", "run-finished")}
    return moments["run-finished"] - moments["run-started"]


def test_a_fleet_restores_side_by_side_in_about_the_time_of_one(lab, tmp_path):
    with production_untouched(lab):
        outcome = run_drill(lab, tmp_path, drill=fleet_drill(tmp_path))

    assert outcome.exit_code == 0, outcome.output
    restore = WorldSettings().restore_seconds
    for name in FLEET:
        rto = outcome.measurements()[(name, "RTO")]
        assert rto["measured_s"] >= restore * 0.95 and rto["source"].startswith("aws-event"), rto
    intervals = spans(outcome.journal)
    for a, b in combinations(FLEET, 2):  # every pair of restores overlaps
        assert intervals[a][0] < intervals[b][1] and intervals[b][0] < intervals[a][1], (a, b, intervals)
    # One after another, the run would take the sum of the four; side by side, less than twice the longest.
    longest = max(end - start for start, end in intervals.values())
    assert run_time(outcome.journal) < 2 * longest, (run_time(outcome.journal), intervals)
    assert drill_resources(lab) == []


def test_max_parallel_one_drills_the_targets_one_after_another(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, "--max-parallel", "1", drill=fleet_drill(tmp_path, FLEET[:2], max_parallel=4))

    assert outcome.exit_code == 0, outcome.output
    (first_start, first_end), (second_start, _) = sorted(spans(outcome.journal).values())
    assert first_end <= second_start, "the option overrides the drill file's concurrency"


def test_max_parallel_bounds_the_targets_in_flight(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, drill=fleet_drill(tmp_path, FLEET[:3], max_parallel=2))

    assert outcome.exit_code == 0, outcome.output
    intervals = spans(outcome.journal)
    for name, (start, end) in intervals.items():
        in_flight = sum(1 for other_start, other_end in intervals.values() if other_start <= start < other_end)
        assert in_flight <= 2, (name, intervals)
    assert max(sum(1 for s, e in intervals.values() if s <= start < e) for start, _ in intervals.values()) == 2


def test_other_families_run_while_the_databases_restore_and_each_target_keeps_its_order(lab, tmp_path):
    outcome = run_drill(lab, tmp_path, drill=drill_file(tmp_path, **WIDE))

    assert outcome.exit_code == 0, outcome.output
    intervals = spans(outcome.journal)
    restore_start, restore_end = intervals[ORDERS_DB]
    others = [name for name in intervals if not name.endswith("-db")]
    assert any(restore_start < intervals[name][0] < restore_end for name in others), intervals
    # Within a target, its scenarios run in the order of its features, one at a time.
    features = [Path(feature).name for feature in yaml.safe_load((tmp_path / "drill.yaml").read_text())["features"]]
    started = [r for r in outcome.journal if r["event"] == "test-started"]
    for target in intervals:
        places = [(features.index(Path(r["file"]).name), r["line"]) for r in started if r["target"] == target]
        assert places == sorted(places), (target, places)
        finished = [r["test"] for r in outcome.journal if r["event"] == "test-finished" and r.get("target") == target]
        assert finished == [r["test"] for r in started if r["target"] == target], target


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_with_several_restores_in_flight_tears_each_down(lab, tmp_path, sig):
    with production_untouched(lab):
        proc = start_drill(lab, tmp_path, drill=fleet_drill(tmp_path, FLEET[:3]))
        for name in FLEET[:3]:
            wait_for_journal_event(tmp_path, "resource-created", kind="rds-instance", target=name)
        proc.send_signal(sig)
        outcome = finish_drill(proc, tmp_path)

    assert outcome.exit_code == 130, outcome.output
    deleted = {r["target"] for r in outcome.journal if r["event"] == "resource-deleted" and r["kind"] == "rds-instance"}
    assert deleted == set(FLEET[:3])
    assert drill_resources(lab) == []


@pytest.mark.parametrize("value", ["0", "201", "many"])
def test_a_bad_max_parallel_is_refused_before_any_aws_call(lab, tmp_path, value):
    outcome = run_drill(lab, tmp_path, "--max-parallel", value, drill=fleet_drill(tmp_path, FLEET[:2]))

    assert outcome.exit_code == 2, outcome.output
    assert "option --max-parallel: must be a whole number from 1 to 200" in outcome.output
    assert "Traceback" not in outcome.output and outcome.journal == []


def test_a_bad_concurrency_block_names_its_line(lab, tmp_path):
    path = fleet_drill(tmp_path, FLEET[:2], max_parallel=0)
    line = next(number for number, text in enumerate(path.read_text().splitlines(), 1) if "max_parallel" in text)

    outcome = run_drill(lab, tmp_path, drill=path)

    assert outcome.exit_code == 2, outcome.output
    assert f"{path}:{line}: concurrency.max_parallel:" in outcome.output
    assert outcome.journal == []


def test_snapshot_copies_into_the_dr_region_stay_within_the_limit_in_progress(lab, tmp_path):
    """billing-db has nothing in the DR region: each of its targets copies a snapshot across before restoring."""
    path = drill_file(tmp_path, BILLING_DB, **WIDE)
    drill = yaml.safe_load(path.read_text())
    template = drill["targets"].pop(BILLING_DB)
    drill["targets"] = {name: template for name in ("billing-a", "billing-b", "billing-c")}
    drill["concurrency"] = {"rds_snapshot_copies": 1}
    path.write_text(yaml.safe_dump(drill, sort_keys=False))

    outcome = run_drill(lab, tmp_path, drill=path, timeout=240)

    assert outcome.exit_code == 0, outcome.output
    copies = {}
    for record in outcome.journal:
        if record["event"] == "resource-creating" and record["kind"] == "rds-snapshot":
            copies[record["target"]] = [record["mono"], None]
        elif record["event"] == "snapshot-copied":
            copies[record["target"]][1] = record["mono"]
    assert len(copies) == 3 and all(end is not None for _, end in copies.values()), copies
    for (a_start, a_end), (b_start, b_end) in combinations(sorted(copies.values()), 2):
        assert a_end <= b_start, "one copy in progress at a time"
    waited = [r for r in outcome.journal if r["event"] == "progress" and "snapshot copies into" in r["message"]]
    assert len(waited) == 2, "the second and third copies waited for the first"
    assert drill_resources(lab) == []

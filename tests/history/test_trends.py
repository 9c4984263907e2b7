"""Trends and regressions: sparklines, the median baseline, the margin and window, and `drtool history`'s output."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from drtool.cli import app
from drtool.reports.history.store import LocalHistory
from drtool.reports.history.trends import sparkline, trends

from tests.history.synthetic import DRILL, FIRST_RUN, Figure, monthly_records, synthetic_run

# Twelve minutes, give or take, for six months; then twenty: still well inside a 30-minute RTO.
STEADY_THEN_SLOWER = [12, 12.5, 11.5, 12, 13, 12, 20]


def _series(records, target="orders-db", figure="RTO", **options):
    return next(s for s in trends(records, **options) if (s.target, s.figure) == (target, figure))


def test_a_sparkline_spans_the_lowest_to_the_highest_value_and_marks_runs_without_one():
    assert sparkline([60, 120, None, 480]) == "▁▂·█"
    assert sparkline([30, 30, 30]) == "▅▅▅"
    assert sparkline([None, None]) == "··"
    assert sparkline([]) == ""


def test_a_figure_that_grew_past_the_margin_is_a_regression_while_it_still_meets_its_objective(tmp_path):
    records = monthly_records(tmp_path, STEADY_THEN_SLOWER)
    rto = _series(records)
    assert [p.measured_s / 60 for p in rto.points] == STEADY_THEN_SLOWER
    assert rto.latest.met is True and not rto.breached
    assert rto.baseline_s == 12 * 60 and rto.baseline_runs == 6
    assert rto.regression and rto.growth == pytest.approx(20 / 12 - 1)
    # The other figures held steady.
    assert [s.figure for s in trends(records) if s.regression] == ["RTO"]
    assert not _series(records, "orders-data", "lag p95").regression


def test_the_margin_and_the_window_decide_what_counts(tmp_path):
    records = monthly_records(tmp_path, STEADY_THEN_SLOWER)
    assert not _series(records, margin=0.7).regression  # +67% is inside a 70% margin
    assert _series(records, margin=0.6).regression
    # Three slow months long ago, then a fast spell: only the window's runs make the baseline.
    records = monthly_records(tmp_path, [40, 40, 40, 12, 12, 12, 16])
    assert _series(records, window=3).baseline_s == 12 * 60 and _series(records, window=3).regression
    assert _series(records, window=6).baseline_s == 26 * 60 and not _series(records, window=6).regression


def test_too_few_earlier_runs_or_no_latest_figure_make_no_verdict(tmp_path):
    assert not _series(monthly_records(tmp_path / "young", [12, 12, 30])).regression  # a median of two is no trend
    unmeasured = _series(monthly_records(tmp_path / "errored", [12, 12, 12, 12, None]))
    assert unmeasured.latest.measured_s is None and unmeasured.baseline_s == 12 * 60
    assert unmeasured.growth is None and not unmeasured.regression


def _history(tmp_path, minutes) -> None:
    store = LocalHistory(tmp_path / "history", DRILL)
    for record in monthly_records(tmp_path / "journals", minutes):
        store.append(record)


def test_drtool_history_shows_a_table_with_sparklines_and_flags_the_regression(tmp_path, monkeypatch):
    monkeypatch.setenv("DRTOOL_HISTORY_DIR", str(tmp_path / "history"))
    monkeypatch.setenv("COLUMNS", "220")
    _history(tmp_path, STEADY_THEN_SLOWER)

    shown = CliRunner().invoke(app, ["history", DRILL])
    assert shown.exit_code == 0, shown.output
    rto_line = next(line for line in shown.output.splitlines() if " RTO " in line)
    assert "orders-db" in rto_line and "▁▂▁▁▂▁█" in rto_line
    assert "20m" in rto_line and "30m" in rto_line and "REGRESSION +67%" in rto_line
    lag_line = next(line for line in shown.output.splitlines() if "lag p95" in line)
    assert "▅▅▅▅▅▅▅" in lag_line and "ok (+0%)" in lag_line
    assert "1 regression: orders-db RTO 20m against a median of 12m (+67%)" in shown.output
    assert "00000006" in shown.output  # the runs listing names each run

    failing = CliRunner().invoke(app, ["history", DRILL, "--fail-on-regression"])
    assert failing.exit_code == 1
    relaxed = CliRunner().invoke(app, ["history", DRILL, "--fail-on-regression", "--margin", "70%"])
    assert relaxed.exit_code == 0 and "REGRESSION" not in relaxed.output
    lag_only = CliRunner().invoke(app, ["history", DRILL, "--fail-on-regression", "--figure", "lag p95"])
    assert lag_only.exit_code == 0 and " RTO " not in lag_only.output and "lag p95" in lag_only.output


def test_drtool_history_as_json(tmp_path, monkeypatch):
    monkeypatch.setenv("DRTOOL_HISTORY_DIR", str(tmp_path / "history"))
    _history(tmp_path, STEADY_THEN_SLOWER)

    shown = CliRunner().invoke(app, ["history", DRILL, "--format", "json", "--last", "3"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert [run["run_id"] for run in document["runs"]] == ["00000004", "00000005", "00000006"]
    assert document["regressions"] == [{"target": "orders-db", "figure": "RTO", "latest_s": 1200.0, "baseline_s": 720.0,
                                        "growth": pytest.approx(2 / 3)}]
    rto = next(s for s in document["series"] if s["figure"] == "RTO")
    assert [v["measured_s"] for v in rto["values"]] == [780.0, 720.0, 1200.0]
    assert rto["objective_s"] == 1800.0 and rto["sparkline"] == "▂▁█" and rto["regression"] and not rto["breached"]


def test_drtool_history_lists_recorded_drills_and_refuses_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("DRTOOL_HISTORY_DIR", str(tmp_path / "history"))
    _history(tmp_path, [12, 13])
    assert CliRunner().invoke(app, ["history"]).output.split() == [DRILL]
    unknown = CliRunner().invoke(app, ["history", "weekly"])
    assert unknown.exit_code == 2 and "no runs of drill 'weekly' are recorded" in unknown.output
    bad = CliRunner().invoke(app, ["history", DRILL, "--margin", "lots", "--window", "0", "--format", "xml"])
    assert bad.exit_code == 2
    assert "option --margin: 'lots' is not a margin" in bad.output
    assert "option --window: 0 is not a number of runs" in bad.output and "option --format: 'xml'" in bad.output


def test_the_report_charts_the_recorded_history_of_each_target_figure(tmp_path):
    from drtool.reports import html
    from drtool.reports.history.record import past_result

    records = monthly_records(tmp_path, [12, 14, 19])
    past = [past_result(record) for record in records[:-1]]
    assert [run.run_id for run in past] == ["00000000", "00000001"]
    assert past[1].tests and past[1].tests[next(iter(past[1].tests))].measurements
    _, latest = synthetic_run(tmp_path, "00000002", FIRST_RUN + timedelta(days=60),
                              [Figure("orders-db", "RTO", 19 * 60, 30 * 60)])
    page = html.render(latest, past)
    assert "3 runs, oldest first" in page
    assert "<figcaption>orders-db: RTO</figcaption>" in page
    assert "run 00000001" in page and "14m" in page

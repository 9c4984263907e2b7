"""A self-contained HTML report of a run: summary, each scenario's timeline against its budget, the evidence, trends.

Everything is inline (CSS and SVG): the file opens the same from a CI artefact, an e-mail or an auditor's
archive, with nothing fetched. Rendered from the results alone, so `drtool report` on the journal writes the
same bytes as the run did.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from drtool.core.clock import format_duration
from drtool.core.results import PASSED, RunResult, TestResult
from drtool.reports.figures import figure_columns, label, measured_text, measurement, tests_by_kind
from drtool.reports.svg import Bar, Limit, Point, Row, timeline, trend
from drtool.reports.terminal import totals_line

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0 auto;padding:24px;max-width:1040px;background:#fff}
h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:32px}
h3{font-size:16px;margin:24px 0 6px}h4{font-size:14px;margin:12px 0 4px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num,td.when{text-align:right;white-space:nowrap}td.when{text-align:left}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff}
.b-passed{background:#1a7f37}.b-failed{background:#cf222e}.b-error{background:#9a6700}.b-interrupted{background:#8250df}
.b-skipped,.b-running{background:#6e7781}
.alert{border-left:4px solid #cf222e;background:#ffebe9;padding:6px 10px;margin:6px 0}
.muted{color:#656d76}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.facts dt{color:#656d76}dl.facts dd{margin:0}ul.notes{margin:4px 0;padding-left:20px}ul.notes li{margin:2px 0}
section.scenario{border:1px solid #d0d7de;border-radius:6px;padding:4px 14px 10px;margin:16px 0}
.breach{color:#cf222e;font-weight:600}.met{color:#1a7f37}.trends{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:6px}figcaption{font-weight:600;margin-bottom:2px}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}svg text.axis{fill:#656d76;font-size:11px}
svg .grid{stroke:#eaeef2}svg .bar{rx:2}svg .limit{stroke:#cf222e;stroke-dasharray:4 3;stroke-width:1.5}
svg text.limit-label{fill:#cf222e;font-size:11px}svg .mark{fill:#0969da}
svg .passed{fill:#2da44e}svg .failed{fill:#cf222e}svg .error,svg .running{fill:#bf8700}svg .interrupted{fill:#8250df}
svg .skipped{fill:#8c959f}svg .budget{fill:#dafbe1;stroke:#2da44e;stroke-dasharray:3 2}svg .timed{fill:#0969da}
svg .teardown{fill:#8c959f}svg .line{fill:none;stroke:#0969da;stroke-width:2}
"""


def _badge(status: str) -> str:
    return f'<span class="badge b-{escape(status)}">{escape(label(status))}</span>'


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def _anchor(index: int) -> str:
    return f"scenario-{index}"


def _summary(result: RunResult, anchors: dict[str, str]) -> list[str]:
    clock = f"world time, the sandbox's clock ran x{result.time_scale:g}" if result.time_scale != 1 else "real time"
    out = ['<h2 id="summary">Summary</h2>', '<dl class="facts">',
           f"<dt>drill file</dt><dd>{escape(result.drill_file)}</dd>",
           f"<dt>started</dt><dd>{_when(result.started_at)}</dd>",
           f"<dt>finished</dt><dd>{_when(result.finished_at)}</dd>",
           f"<dt>took</dt><dd>{format_duration(result.duration_s)} ({escape(clock)})</dd>",
           f"<dt>result</dt><dd>{escape(totals_line(result))} Exit code {int(result.exit_code())}.</dd>",
           f"<dt>AWS calls</dt><dd>{result.api_calls.get('attempts', 0)} ({result.api_calls.get('throttled', 0)} throttled)</dd>",
           "</dl>"]
    if result.budget_exceeded:
        out.append(f'<div class="alert"><b>Budget exceeded:</b> {escape(result.budget_exceeded)}</div>')
    if result.leftovers:
        out.append(f'<div class="alert"><b>Left behind:</b> {escape(", ".join(result.leftovers))}; remove with '
                   f"<code>drtool cleanup --run-id {escape(result.run_id)}</code></div>")
    out += [f'<div class="alert"><b>Run error:</b> {escape(error)}</div>' for error in result.run_errors]
    out += [f'<div class="alert"><b>Guard refused</b> {escape(f"{r.service}.{r.operation} in {r.region}")}: {escape(r.reason)}</div>'
            for r in result.guard_refusals]
    out += [f'<div class="alert"><b>Journal:</b> {escape(warning)}</div>' for warning in result.warnings]
    for kind, tests in tests_by_kind(result).items():
        figures = figure_columns(result, tests)
        out.append(f"<h3>{escape(kind or 'scenarios')}</h3><table><tr><th>target</th><th>scenario</th><th>result</th>"
                   + "".join(f"<th>{escape(figure)}</th>" for figure in figures) + "<th>took</th></tr>")
        for test in tests:
            cells = "".join(f'<td class="num{" breach" if not (measurement(test, f) or {}).get("met", True) else ""}">'
                            f"{escape(measured_text(test, f))}</td>" for f in figures)
            out.append(f"<tr><td>{escape(test.target or '-')}</td><td><a href=\"#{anchors[test.test_id]}\">{escape(test.scenario)}</a></td>"
                       f"<td>{_badge(test.status)}</td>{cells}<td class=\"num\">{format_duration(test.duration_s)}</td></tr>")
        out.append("</table>")
    return out


def _run_timeline(result: RunResult) -> list[str]:
    tests = [t for t in result.tests.values() if t.started_mono is not None]
    if not tests:
        return []
    origin = min(t.started_mono for t in tests)
    rows = [Row(f"{t.target or '-'}: {t.scenario}",
                [Bar(t.started_mono - origin, _end(t) - origin, t.status, f"{label(t.status)} in {format_duration(_end(t) - t.started_mono)}")],
                format_duration(_end(t) - t.started_mono)) for t in tests]
    return ['<h2 id="run-timeline">Where the time went</h2>',
            '<p class="muted">Each scenario of the run on one clock, from the first scenario\'s start.</p>', timeline(rows, css="timeline run")]


def _end(test: TestResult) -> float:
    """When the scenario ended, or the last moment the journal knows of it (a killed run)."""
    if test.finished_mono is not None:
        return test.finished_mono
    known = [test.started_mono or 0.0, *(s.started_mono + (s.duration_s or 0.0) for s in test.steps),
             *(e.mono for e in test.timeline), *(i.stopped_mono or i.started_mono for i in test.intervals)]
    return max(known)


def _scenario_timeline(test: TestResult) -> str:
    start, end = test.started_mono or 0.0, _end(test)
    rows: list[Row] = []
    for step in test.steps:
        stop = step.started_mono + step.duration_s if step.duration_s is not None else end
        rows.append(Row(f"{step.keyword} {step.name}", [Bar(step.started_mono - start, stop - start, step.status,
                                                             f"{step.status}: {format_duration(stop - step.started_mono)}")],
                        format_duration(stop - step.started_mono)))
    limits = []
    for interval in test.intervals:
        stop = interval.stopped_mono if interval.stopped_mono is not None else end
        begin, took = interval.started_mono - start, stop - interval.started_mono
        bars = []
        if interval.objective_s:
            budget_end = begin + interval.objective_s
            bars.append(Bar(begin, budget_end, "budget", f"{interval.label} budget: {format_duration(interval.objective_s)}"))
            limits.append(Limit(budget_end, f"{interval.label} budget {format_duration(interval.objective_s)}"))
        timed = "teardown" if interval.label == "teardown" else "timed"
        bars.append(Bar(begin, begin + took, timed, f"{interval.label}: {format_duration(took)}"))
        if interval.objective_s and took > interval.objective_s:
            bars.append(Bar(begin + interval.objective_s, begin + took, "failed", f"over budget by {format_duration(took - interval.objective_s)}"))
        name = interval.label if interval.label == "teardown" else f"{interval.label} (timed)"
        rows.append(Row(name, bars, format_duration(took)))
    if test.timeline:
        rows.append(Row("events", marks=[(entry.mono - start, entry.text) for entry in test.timeline]))
    if not rows:
        return '<p class="muted">No step ran.</p>'
    return timeline(rows, limits)


def _figures_table(test: TestResult) -> list[str]:
    if not test.measurements:
        return []
    out = ["<h4>Measured against objective</h4><table><tr><th>figure</th><th>measured</th><th>objective</th><th>verdict</th><th>source</th></tr>"]
    for m in test.measurements:
        objective = m.get("objective_s")
        met = m.get("met", True)
        verdict = "met" if met else (f"BREACHED by {format_duration(m['measured_s'] - objective)}" if objective is not None else "BREACHED")
        out.append(f"<tr><td>{escape(m['name'])}</td><td class=\"num\">{format_duration(m['measured_s'])}</td>"
                   f"<td class=\"num\">{format_duration(objective) if objective is not None else '-'}</td>"
                   f"<td class=\"{'met' if met else 'breach'}\">{escape(verdict)}</td><td>{escape(str(m.get('source', '')))}</td></tr>")
    out.append("</table>")
    return out


def _evidence(result: RunResult, test: TestResult) -> list[str]:
    out = []
    if test.notes:
        out.append("<h4>Evidence</h4><ul class=\"notes\">" + "".join(f"<li>{escape(n)}</li>" for n in test.notes) + "</ul>")
    if test.timeline:
        start = test.started_mono or 0.0
        out.append("<h4>Events</h4><table><tr><th>when</th><th>after</th><th>what</th></tr>" + "".join(
            f"<tr><td class=\"when\">{_when(e.at)}</td><td class=\"num\">{format_duration(e.mono - start)}</td><td>{escape(e.text)}</td></tr>"
            for e in test.timeline) + "</table>")
    made = [r for r in result.resources.values() if r.scope == test.test_id]
    if made:
        out.append("<h4>Resources the drill created</h4><table><tr><th>kind</th><th>identifier</th><th>region</th>"
                   "<th>created</th><th>deleted</th></tr>")
        for r in made:
            gone = _when(r.deleted_at) if r.deleted_at else f'<span class="breach">left behind{": " + escape(r.delete_error) if r.delete_error else ""}</span>'
            out.append(f"<tr><td>{escape(r.kind)}</td><td>{escape(r.identifier)}</td><td>{escape(r.region)}</td>"
                       f"<td>{_when(r.created_at or r.requested_at)}</td><td>{gone}</td></tr>")
        out.append("</table>")
    return out


def _scenario(result: RunResult, test: TestResult, anchor: str) -> list[str]:
    out = [f'<section class="scenario" id="{anchor}">',
           f"<h3>{_badge(test.status)} {escape(test.target or '-')}: {escape(test.scenario)}</h3>",
           f'<p class="muted">{escape(test.feature)}{" · " if test.feature else ""}took {format_duration(test.duration_s)}'
           f"{' · ' + escape(test.kind) if test.kind else ''}</p>"]
    if test.status != PASSED and test.message:
        out.append(f'<div class="alert">{escape(test.message)}</div>')
    out += ["<h4>Timeline</h4>", _scenario_timeline(test), *_figures_table(test), *_evidence(result, test), "</section>"]
    return out


def _trends(result: RunResult, history: list[RunResult] | None) -> list[str]:
    out = ['<h2 id="trends">Trends</h2>']
    past = [run for run in (history or []) if run.run_id != result.run_id]
    if not past:
        out.append('<p class="muted">No history was given for this report, so there is no trend yet: '
                   "each figure of this run is one point.</p>")
        return out
    runs = sorted(past, key=lambda run: run.started_at.timestamp() if run.started_at else 0.0) + [result]
    series: dict[tuple[str, str], list[tuple[RunResult, dict]]] = {}
    for run in runs:
        latest: dict[tuple[str, str], dict] = {}
        for test in run.tests.values():
            for m in test.measurements:
                latest[(test.target or m.get("target", ""), m["name"])] = m
        for key, m in latest.items():
            series.setdefault(key, []).append((run, m))
    out.append(f'<p class="muted">{len(runs)} runs, oldest first; the dashed line is the latest objective.</p><div class="trends">')
    for (target, figure), found in sorted(series.items()):
        points = [Point(run.started_at.strftime("%Y-%m-%d") if run.started_at else run.run_id, m["measured_s"], m.get("met", True),
                        f"run {run.run_id} {_when(run.started_at)}: {format_duration(m['measured_s'])}"
                        f" ({'met' if m.get('met', True) else 'BREACHED'})") for run, m in found]
        out.append(f"<figure><figcaption>{escape(target)}: {escape(figure)}</figcaption>"
                   f"{trend(points, found[-1][1].get('objective_s'))}</figure>")
    out.append("</div>")
    return out


def render(result: RunResult, history: list[RunResult] | None = None) -> str:
    """The report as one HTML document. `history`: earlier runs of the drill, for the trend charts."""
    anchors = {test.test_id: _anchor(index) for index, test in enumerate(result.tests.values(), 1)}
    met = result.exit_code() == 0
    verdict = f'<span class="badge b-{"passed" if met else "failed"}">{"MET" if met else "NOT MET"}</span>'
    body = [f"<h1>Drill {escape(result.drill)} {verdict}</h1>",
            f'<p class="muted">run {escape(result.run_id)}, rendered from its journal by drtool</p>',
            *_summary(result, anchors), *_run_timeline(result), '<h2 id="scenarios">Scenarios</h2>']
    for test in result.tests.values():
        body += _scenario(result, test, anchors[test.test_id])
    body += _trends(result, history)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>drtool: {escape(result.drill)} run {escape(result.run_id)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")

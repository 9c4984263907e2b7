"""The `drtool` command line. Each command is a thin front over the package.

Heavy imports (boto3, moto, pytest) happen inside commands, so `drtool --help`
starts fast.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

EXIT_INVALID = 2

app = typer.Typer(
    name="drtool",
    help="Executable disaster-recovery drills for AWS: restore in the DR region, time it, judge it, tear it down.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The embedded AWS lab: run drills with no AWS account.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


def _print_version(value: bool) -> None:
    if value:
        from drtool import __version__

        typer.echo(f"drtool {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Executable disaster-recovery drills for AWS: restore in the DR region, time it, judge it, tear it down."""


# Where output is not a terminal (a CI log), tables are this wide unless COLUMNS says otherwise, not rich's 80.
LOG_WIDTH = 160


def _console(stderr: bool = False):
    from rich.console import Console

    # Bind the real stream now: pytest swaps sys.stdout while a drill runs, and live progress must still show.
    console = Console(file=sys.stderr if stderr else sys.stdout, highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = LOG_WIDTH
    return console


def _output_problems(quiet: bool, verbose: bool, output_format: str) -> list:
    from drtool.core.inputs import option_problem

    problems = []
    if quiet and verbose:
        problems.append(option_problem("-q", "and -v ask for less and more at once; give one"))
    if output_format not in ("text", "json"):
        problems.append(option_problem("--format", f"{output_format!r} is not one of text, json"))
    return problems


def _verbosity(quiet: bool, verbose: bool):
    from drtool.reports.figures import Verbosity

    return Verbosity.QUIET if quiet else Verbosity.VERBOSE if verbose else Verbosity.NORMAL


MAX_PROBLEMS_SHOWN = 50
JUNIT_STRICT_HELP = "Make the JUnit XML valid against Jenkins' junit-10.xsd (for the xUnit plugin): no testcase properties, file or line."
JUNIT_NAMES_HELP = "End each JUnit testcase name with its figures, for reporters that show a passing test's name alone (dorny, mikepenz, GitLab); names then change from run to run."


def _fail_invalid(message: str) -> None:
    # Plain text, never wrapped: editors and CI jump to file:line.
    typer.echo(message, err=True)
    raise typer.Exit(EXIT_INVALID)


def _problem_lines(problems) -> str:
    shown = [str(problem) for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        shown.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return "\n".join(shown)


def _fail_problems(what: str, problems) -> None:
    """Exit 2 listing every problem, `file:line: problem` or `option --x: problem`, one a line."""
    count = len(problems)
    _fail_invalid(f"{what}: {count} problem{'s' if count != 1 else ''}; nothing was run\n{_problem_lines(problems)}")


def _checked(path: Optional[Path], problems: list, *, tags: Optional[str] = None):
    """The checked drill file, or None with its problems added to `problems` (after the options' own)."""
    from drtool.core.model import DrillFileError
    from drtool.drill.validate import check_drill_file

    if path is None:
        return None
    try:
        return check_drill_file(path, tags=tags)
    except DrillFileError as exc:
        problems.extend(exc.problems)
        return None


def _check(path: Path, problems: Optional[list] = None, *, tags: Optional[str] = None):
    """The checked drill file; exit 2 listing its problems and any found before (the options')."""
    problems = list(problems or [])
    loaded = _checked(path, problems, tags=tags)
    if problems:
        _fail_problems(str(path), problems)
    return loaded


def _tag_problems(tags: Optional[str]) -> list:
    from drtool.core.inputs import option_problem
    from drtool.drill.tags import tag_expression_problem

    problem = tag_expression_problem(tags) if tags else None
    return [option_problem("-m", problem)] if problem else []


def _journal_dir_problems(journal_dir: Optional[Path]) -> list:
    from drtool.core.inputs import option_problem, output_dir_problems
    from drtool.core.journal import JOURNAL_DIR_ENV, default_journal_dir

    if journal_dir is not None:
        return output_dir_problems(journal_dir, "--journal-dir")
    # The default: the environment's, or the XDG state directory; a bad one is still an input problem.
    return [option_problem("--journal-dir", f"(not given; the default from {JOURNAL_DIR_ENV} or XDG_STATE_HOME) "
                                            f"{problem.message}")
            for problem in output_dir_problems(default_journal_dir(), "--journal-dir")]


@app.command()
def validate(drill_files: list[Path] = typer.Argument(..., metavar="DRILL_FILE...", help="Drill files to check.")) -> None:
    """Check drill files and the features they name, without calling AWS. Exit 2 on any problem."""
    from drtool.core.model import DrillFileError
    from drtool.drill.validate import check_drill_file

    problems = []
    for path in drill_files:
        try:
            loaded = check_drill_file(path)
        except DrillFileError as exc:
            problems.extend(exc.problems)
            continue
        typer.echo(f"{path}: valid ({len(loaded.drill.targets)} targets, {len(loaded.feature_paths)} features)")
    if problems:
        _fail_invalid(_problem_lines(problems))


@app.command()
def schema() -> None:
    """Print the JSON Schema of drill files (for editors and CI checks)."""
    from drtool.drill.file import drill_json_schema

    typer.echo(json.dumps(drill_json_schema(), indent=2))


@app.command()
def run(
    drill_file: Optional[Path] = typer.Argument(None, help="Drill file to run; with --sandbox it defaults to the bundled sandbox drill."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Run against the embedded AWS lab instead of AWS."),
    fault: list[str] = typer.Option([], "--fault", metavar="NAME", help="Inject a sandbox fault (repeatable); see `drtool sandbox faults`."),
    time_scale: Optional[float] = typer.Option(None, "--time-scale", metavar="N", help="Sandbox world time runs this many times faster than real time (default 120)."),
    junit_xml: Optional[Path] = typer.Option(None, "--junit-xml", metavar="PATH", help="Write JUnit XML here."),
    junit_strict: bool = typer.Option(False, "--junit-strict", help=JUNIT_STRICT_HELP),
    junit_figures_in_names: bool = typer.Option(False, "--junit-figures-in-names", help=JUNIT_NAMES_HELP),
    cucumber_json: Optional[Path] = typer.Option(None, "--cucumber-json", metavar="PATH", help="Write Cucumber JSON here."),
    journal_dir: Optional[Path] = typer.Option(None, "--journal-dir", metavar="DIR", help="Where to write the run journal."),
    tags: Optional[str] = typer.Option(None, "-m", "--tags", metavar="EXPR", help="Select scenarios by tag expression (overrides the drill file)."),
    max_parallel: Optional[str] = typer.Option(None, "--max-parallel", metavar="N", help="Drill at most N targets at once (default: the drill file's concurrency.max_parallel, else 10); 1 drills them one after another."),
    # Publishing after the run (the drill file's `publish:`); each option replaces or adds its sink's main setting.
    cloudwatch_namespace: Optional[str] = typer.Option(None, "--cloudwatch-namespace", metavar="NS", help="Publish the figures to CloudWatch under NS."),
    pushgateway: Optional[str] = typer.Option(None, "--pushgateway", metavar="URL", help="Push the figures to this Prometheus Pushgateway."),
    sns_topic: Optional[str] = typer.Option(None, "--sns-topic", metavar="ARN", help="Send a summary to this SNS topic if the drill fails."),
    no_publish: bool = typer.Option(False, "--no-publish", help="Publish nothing, whatever the drill file says."),
    # Output: how much to show, in which format, and the report set.
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Show only the summary tables and what did not pass."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show every note, as it is made and in the summary."),
    output_format: str = typer.Option("text", "--format", metavar="text|json", help="json: print the run as one JSON document on stdout (progress goes to stderr)."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", metavar="DIR", help="Write report.html, summary.json, summary.md and a copy of the journal here."),
    # The run's history record, run lock and evidence bundle (drtool.runner.records).
    history: Optional[str] = typer.Option(None, "--history", metavar="DIR|s3://BUCKET/PREFIX/", help="History store for the run's record and its run lock (default: the drill file's, else ~/.local/state/drtool/history; with --sandbox, a directory, default ~/.local/state/drtool/sandbox-history, and the lock is the run's own)."),
    no_history: bool = typer.Option(False, "--no-history", help="Do not record this run in the history (the run lock is still taken)."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", metavar="DIR", help="Write the evidence bundle here: the journal, the reports and manifest.json with their SHA-256."),
) -> None:
    """Run a drill: restore, time and judge each target, then tear down.

    Exit 0 met, 1 failed or breached, 2 invalid input, 3 could not run, 130 interrupted (after teardown).
    """
    from drtool.core.inputs import option_problem, time_scale_problems
    from drtool.reports.outputs import Front

    if drill_file is None and not sandbox:
        _fail_invalid("drtool run: give a drill file, or --sandbox to run the bundled sandbox drill")
    # Every input is checked before anything runs: a bad --junit-xml found after the drill would hide its result.
    problems = []
    if fault and not sandbox:
        problems.append(option_problem("--fault", "needs --sandbox: faults are injected into the lab"))
    problems += _fault_problems(fault) if sandbox and fault else []  # the fault registry imports moto
    problems += time_scale_problems(time_scale, sandbox=sandbox)
    reports = _report_files(junit_xml, cucumber_json, report_dir, junit_strict, junit_figures_in_names)
    problems += reports.problems(Front.DRTOOL)
    problems += _journal_dir_problems(journal_dir)
    problems += _tag_problems(tags)
    from drtool.runner.options import parse_max_parallel

    parallel, parallel_problems = parse_max_parallel(max_parallel, "--max-parallel")
    problems += parallel_problems
    from drtool.drill.publish import PublishOptions

    publish = PublishOptions(cloudwatch_namespace, pushgateway, sns_topic, no_publish)
    problems += publish.problems(("--cloudwatch-namespace", "--pushgateway", "--sns-topic"))
    problems += _output_problems(quiet, verbose, output_format)
    problems += _run_output_problems(history, evidence, sandbox=sandbox)
    if drill_file is None:
        from drtool.drill.bundled import sandbox_drill

        drill_file = sandbox_drill()
    loaded = _checked(drill_file, problems, tags=tags if not _tag_problems(tags) else None)
    from drtool.runner.output_paths import run_path_problems

    problems += run_path_problems(drill_file, loaded, reports, evidence, Front.DRTOOL)
    if problems:
        _fail_problems(str(drill_file), problems)
    from drtool.core.journal import default_journal_dir, new_run_id
    from drtool.runner.options import RunOptions, RunOutputs
    from drtool.runner.run import run_drill

    # A sandbox run drills a private lab: it neither takes a production run's lock nor writes in its history.
    outputs = RunOutputs(history=history, record_history=not no_history, evidence=evidence, sandbox=sandbox)
    options = RunOptions(loaded, new_run_id(), journal_dir or default_journal_dir(), reports, publish, outputs, tags,
                         max_parallel=parallel)
    lab = None
    if sandbox:
        lab = _start_lab(time_scale if time_scale is not None else 120.0, fault)
    try:
        json_out = output_format == "json"  # stdout is the document; people read progress on stderr
        code = run_drill(options, console=_console(stderr=json_out), verbosity=_verbosity(quiet, verbose),
                         json_to=sys.stdout if json_out else None)
    finally:
        if lab is not None:
            lab.stop()
    raise typer.Exit(int(code))


@app.command()
def report(
    journal: Path = typer.Argument(..., help="A run journal (.jsonl), e.g. from ~/.local/state/drtool/runs."),
    junit_xml: Optional[Path] = typer.Option(None, "--junit-xml", help="Write JUnit XML here."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Show only the summary tables and what did not pass."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show every note."),
    output_format: str = typer.Option("text", "--format", metavar="text|json", help="json: print the run as one JSON document."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", metavar="DIR", help="Write report.html, summary.json, summary.md and a copy of the journal here."),
    junit_strict: bool = typer.Option(False, "--junit-strict", help=JUNIT_STRICT_HELP),
    junit_figures_in_names: bool = typer.Option(False, "--junit-figures-in-names", help=JUNIT_NAMES_HELP),
    cucumber_json: Optional[Path] = typer.Option(None, "--cucumber-json", metavar="PATH", help="Write Cucumber JSON here."),
) -> None:
    """Render a run's summary (and JUnit XML, Cucumber JSON, the report set) again from its journal, even one a killed
    run left. Exits as the run did.
    """
    from drtool.core.clobber import Input, clobber_problems
    from drtool.core.model import DrillFileError
    from drtool.reports import document
    from drtool.reports.damaged import summarize_journal
    from drtool.reports.outputs import Front, Rendering
    from drtool.reports.terminal import print_summary

    reports = _report_files(junit_xml, cucumber_json, report_dir, junit_strict, junit_figures_in_names)
    problems = [*reports.problems(Front.DRTOOL), *_output_problems(quiet, verbose, output_format)]
    # The report set's own journal copy is the journal only when it is already there: the set then leaves it.
    problems += clobber_problems([Input(f"the journal {journal}", journal)], reports.written(Front.DRTOOL, journal))
    if problems:
        _fail_problems("drtool report", problems)
    try:
        result, damage = summarize_journal(journal)
    except DrillFileError as exc:
        _fail_invalid(_problem_lines(exc.problems))
    if output_format == "json":
        typer.echo(document.render(result), nl=False)
    else:
        print_summary(_console(), result, str(journal), _verbosity(quiet, verbose))
    reports.write(Rendering(result, journal))
    if damage:
        # What could be read is shown above; the exit code cannot vouch for a journal with lines missing.
        _fail_invalid(f"{journal}: the journal is damaged; the report above leaves out {len(damage)} record"
                      f"{'s' if len(damage) != 1 else ''}\n{_problem_lines(damage)}")
    raise typer.Exit(int(result.exit_code()))


def _report_files(junit_xml: Optional[Path], cucumber_json: Optional[Path], report_dir: Optional[Path],
                  junit_strict: bool, junit_figures_in_names: bool):
    """The reports `drtool run` and `drtool report` are asked for, by the registry's outputs."""
    from drtool.reports.junit import JUnitOptions
    from drtool.reports.outputs import CUCUMBER, JUNIT, REPORT_DIR, ReportFiles

    return ReportFiles({JUNIT.key: junit_xml, CUCUMBER.key: cucumber_json, REPORT_DIR.key: report_dir},
                       JUnitOptions(junit_strict, junit_figures_in_names))


def _run_output_problems(history: Optional[str], evidence: Optional[Path], *, sandbox: bool = False) -> list:
    from drtool.core.inputs import output_dir_problems
    from drtool.reports.history.store import history_location_problems

    return [*history_location_problems(history, sandbox=sandbox), *output_dir_problems(evidence, "--evidence")]


@app.command()
def history(
    drill: Optional[str] = typer.Argument(None, metavar="[DRILL_NAME | DRILL_FILE]", help="The drill, by name or by its drill file (which may name an S3 history store); none lists the drills recorded."),
    location: Optional[str] = typer.Option(None, "--history", metavar="DIR|s3://BUCKET/PREFIX/", help="The history store (default: the drill file's, else ~/.local/state/drtool/history)."),
    sandbox: bool = typer.Option(False, "--sandbox", help="The runs of `drtool run --sandbox`, kept apart from production's (~/.local/state/drtool/sandbox-history)."),
    output_format: str = typer.Option("table", "--format", help="table or json."),
    last: int = typer.Option(20, "--last", metavar="N", help="Show the last N runs."),
    window: int = typer.Option(6, "--window", metavar="N", help="A figure is judged against the median of its last N earlier runs."),
    margin: str = typer.Option("25%", "--margin", help="Growth over that median that counts as a regression, e.g. 25% or 0.25."),
    fail_on_regression: bool = typer.Option(False, "--fail-on-regression", help="Exit 1 if any figure regressed."),
    figure: list[str] = typer.Option([], "--figure", metavar="NAME", help="Only this figure, e.g. RTO or 'lag p95' (repeatable; default all)."),
) -> None:
    """Show each target's RTO, RPO, lag and other figures over the drill's recorded runs, and flag regressions.

    A figure regresses when its latest value grew more than --margin over the median of its last --window earlier
    runs (at least 3), even while it meets its objective. Exit 0 (1 for a regression with --fail-on-regression),
    2 invalid input or no runs recorded, 3 the history store could not be read.
    """
    from drtool.commands.history import option_problems, parse_margin, recorded_drills, show_history
    from drtool.core.model import NAME_PATTERN, Problem
    from drtool.core.inputs import option_problem
    from drtool.reports.history.store import (
        LocalHistory,
        default_history_root,
        default_sandbox_history_root,
        history_location_problems,
        open_history,
    )

    problems = [*option_problems(output_format, last, window, margin), *history_location_problems(location)]
    if sandbox and location is not None:
        problems.append(option_problem("--sandbox", "reads the sandbox history, and --history names another store: give only one of them"))
    loaded = None
    if drill is not None and (Path(drill).suffix in (".yaml", ".yml") or Path(drill).is_file()):
        loaded = _checked(Path(drill), problems)
    elif drill is not None and not re.match(NAME_PATTERN, drill):
        problems.append(Problem(drill[:80], None, "is neither a drill file nor a drill name (lowercase letters, digits and hyphens)"))
    if problems:
        _fail_problems("drtool history", problems)
    if sandbox:
        local_root = default_sandbox_history_root()
    else:
        local_root = Path(location) if location and not location.startswith("s3://") else default_history_root()
    if drill is None:
        if location and location.startswith("s3://"):
            _fail_invalid("drtool history: name the drill whose history to read from S3")
        names = recorded_drills(local_root)
        typer.echo("\n".join(names) if names else f"no drill runs are recorded in {local_root}")
        raise typer.Exit(0 if names else EXIT_INVALID)
    name = loaded.drill.drill if loaded else drill
    if sandbox:  # never the drill file's `history:`: that is its production runs'
        store = LocalHistory(local_root, name)
    else:
        store = open_history(name, location, configured=loaded.drill.history if loaded else None,
                             region=loaded.drill.primary_region if loaded else None, access=loaded.drill.aws if loaded else None)
    # Someone who ran the demo and looks for it here is told where sandbox runs went.
    hint = "" if sandbox or location else _sandbox_history_hint(name, default_sandbox_history_root())
    stored = _read_history(store, name, hint)
    raise typer.Exit(show_history(_console(), stored, store.location, name, output_format=output_format, last=last,
                                  window=window, margin=parse_margin(margin), fail_on_regression=fail_on_regression,
                                  figures=figure))


def _sandbox_history_hint(name: str, sandbox_root: Path) -> str:
    from drtool.commands.history import recorded_drills

    if name not in recorded_drills(sandbox_root):
        return ""
    return f"; runs of `drtool run --sandbox` are kept apart: drtool history --sandbox {name}"


def _read_history(store, name: str, hint: str = ""):
    """The drill's records; exit 2 when none are recorded, 3 when the store cannot be read."""
    from drtool.core.errors import describe_error
    from drtool.runner.records import RECORD_ERRORS

    try:
        stored = store.read()
    except RECORD_ERRORS as exc:
        typer.echo(f"drtool history: cannot read {store.location}: {describe_error(exc)}", err=True)
        raise typer.Exit(EXIT_COULD_NOT_REACH_AWS)
    if not stored.records and not stored.problems:
        _fail_invalid(f"drtool history: no runs of drill {name!r} are recorded in {store.location}{hint}")
    return stored


@app.command()
def evidence(
    journal: Path = typer.Argument(..., help="A run journal (.jsonl)."),
    directory: Path = typer.Argument(..., metavar="DIR", help="Where to write the bundle."),
    reports: list[Path] = typer.Option([], "--reports", metavar="PATH", help="A report file, or a directory of them, to include (repeatable)."),
    upload: bool = typer.Option(False, "--upload", help="Also upload the bundle to the bucket the drill file names (evidence:), with SSE-KMS."),
    drill_file: Optional[Path] = typer.Option(None, "--drill", metavar="DRILL_FILE", help="The drill file for --upload (default: the one the journal names)."),
) -> None:
    """Bundle a run's journal and reports with manifest.json (each file's SHA-256 and size), for auditors.

    Exit 0 written (and uploaded), 2 invalid input, 3 the upload failed.
    """
    from drtool.core.inputs import option_problem, output_dir_problems
    from drtool.core.journal import read_journal_checked
    from drtool.core.model import DrillFileError, Problem
    from drtool.reports.evidence import build_bundle

    problems = [*output_dir_problems(directory, "DIR"),
                *[option_problem("--reports", f"{path}: no such file or directory") for path in reports if not path.exists()]]
    try:
        records, damage = read_journal_checked(journal)
    except DrillFileError as exc:
        problems += exc.problems
        records, damage = [], []
    loaded = None
    if upload and records:
        loaded = _checked(drill_file or Path(records[0].get("drill_file", "")), problems)
        if loaded is not None and loaded.drill.evidence is None:
            problems.append(Problem(str(loaded.path), None, "names no evidence bucket (evidence: {bucket, kms_key})"))
    from drtool.core.clobber import Input, Output, clobber_problems
    from drtool.reports.evidence import bundle_writes

    given = [path for path in reports if path.exists()]
    sources = [(path, frozenset() if path.is_dir() else None) for path in [journal, *given]]
    problems += clobber_problems([Input(f"the journal {journal}", journal), *(Input(f"the report {p}", p) for p in given)],
                                 [Output("DIR", directory, bundle_writes(directory, sources))])
    if problems:
        _fail_problems("drtool evidence", problems)
    first = records[0]
    manifest = build_bundle(journal, directory, reports, drill=first.get("drill", ""), run_id=first["run_id"])
    typer.echo(f"{directory}: {len(manifest['files'])} files and manifest.json")
    if damage:
        typer.echo(f"note: the journal has {len(damage)} damaged line(s); it is bundled as it is", err=True)
    if loaded is not None:
        raise typer.Exit(_upload_evidence(loaded, directory, manifest))


def _upload_evidence(loaded, directory: Path, manifest: dict) -> int:
    from drtool.core.errors import describe_error
    from drtool.reports.evidence import evidence_client, upload_bundle
    from drtool.runner.records import RECORD_ERRORS

    drill = loaded.drill
    try:
        s3 = evidence_client(drill.evidence, manifest["drill"], manifest["run_id"], region=drill.primary_region, access=drill.aws)
        typer.echo(f"uploaded to {upload_bundle(s3, drill.evidence, directory, manifest)}")
    except RECORD_ERRORS as exc:
        typer.echo(f"drtool evidence: the upload failed: {describe_error(exc)}", err=True)
        return EXIT_COULD_NOT_REACH_AWS
    return 0


def _fault_problems(faults: list[str]) -> list:
    from drtool.core.inputs import option_problem
    from drtool.sandbox.faults import validate_faults

    try:
        validate_faults(faults)
    except ValueError as exc:
        return [option_problem("--fault", str(exc))]
    return []


def _start_lab(time_scale: float, faults: list[str]):
    from drtool.sandbox.lab import Lab

    lab = Lab(time_scale=time_scale, faults=faults).start()
    # The drill's clients find the lab through the standard AWS environment variables.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        os.environ.pop(name, None)
    os.environ.update(lab.environment())
    return lab


@sandbox_app.command("serve")
def sandbox_serve(
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (0 picks a free one)."),
    fault: list[str] = typer.Option([], "--fault", help="Inject a fault (repeatable)."),
    time_scale: float = typer.Option(60.0, "--time-scale", help="World time runs this many times faster than real time."),
) -> None:
    """Start the lab and keep it running, printing the environment that points clients at it."""
    from drtool.core.inputs import port_problems, time_scale_problems

    problems = [*port_problems(port), *time_scale_problems(time_scale), *(_fault_problems(fault) if fault else [])]
    if problems:
        _fail_problems("drtool sandbox serve", problems)
    from drtool.sandbox.lab import Lab  # moto: seconds to import, so only once the input is known good

    # Handled, not left to Python's default: a shell starts a background job with SIGINT ignored, and a container
    # is stopped with SIGTERM; either way the lab stops cleanly and the command exits 0.
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    lab = Lab(time_scale=time_scale, faults=fault, port=port).start()
    try:
        typer.echo(f"drtool sandbox listening on {lab.endpoint} (world time x{time_scale:g}; faults: {', '.join(fault) or 'none'})")
        typer.echo("Point the AWS CLI, drtool or your own scripts at it with:")
        for name, value in lab.environment().items():
            typer.echo(f"export {name}={value}")
        typer.echo("Press Ctrl-C to stop.", err=True)
        sys.stdout.flush()
        while not stopping.wait(1.0):
            pass
    finally:
        lab.stop()


@sandbox_app.command("faults")
def sandbox_faults() -> None:
    """List the faults the lab can inject."""
    from drtool.sandbox.faults import registered_faults

    faults = registered_faults()
    width = max(len(name) for name in faults)
    for name, item in faults.items():
        typer.echo(f"{name.ljust(width)}  {item.description}")


# --- drtool cleanup ----------------------------------------------------------------------------------

EXIT_CLEANUP_FAILED = 1
EXIT_COULD_NOT_REACH_AWS = 3


@app.command()
def cleanup(
    drill_file: Optional[Path] = typer.Argument(None, help="Drill file whose primary and DR regions to search."),
    region: list[str] = typer.Option([], "--region", help="Region to search (repeatable); replaces the drill file's regions."),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="Only resources older than this, e.g. 2h or 1d."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Only resources of this drill run."),
    yes: bool = typer.Option(False, "--yes", help="Delete without asking."),
    journal_dir: Optional[Path] = typer.Option(None, "--journal-dir", help="Run journals to read (and where to record this cleanup)."),
    force: bool = typer.Option(False, "--force", help="Also delete the resources of runs that still hold their run lock."),
) -> None:
    """Remove what drill runs left behind, killed runs included. Only resources tagged created-by=drtool are deleted.

    A run that holds its drill's run lock from a live process (the drill file's history store, or the local one
    of each drill whose journal has no end) is still running: its resources are listed and left, unless --force.

    Exit 0 nothing left, 1 something is left (a deletion failed, or deletion was declined), 2 invalid input,
    3 could not reach AWS.
    """
    from drtool.core.inputs import output_dir_problems, run_id_problems

    problems = [*run_id_problems(run_id), *_cleanup_duration_problems(older_than),
                *(output_dir_problems(journal_dir, "--journal-dir") if journal_dir is not None else _journal_dir_problems(None)),
                *_cleanup_region_problems(region)]
    loaded = _checked(drill_file, problems)
    if problems:
        _fail_problems("drtool cleanup", problems)
    regions = _cleanup_regions(loaded, region)
    min_age = _cleanup_duration(older_than)
    from drtool.commands.cleanup import find_leftovers, journal_mentions, read_journals
    from drtool.core.clock import clock_from_environment
    from drtool.core.journal import default_journal_dir
    from drtool.core.session import SessionFactory
    from drtool.reports.cleanup import print_journal_mentions, print_leftovers

    clients = SessionFactory(loaded.drill.aws if loaded else None)
    # Cleanup deletes through the same guard as a drill: only drill-named resources in the searched regions.
    from drtool.core.guard import Guard
    from drtool.core.journal import new_run_id

    clients.add_client_hook(Guard(run_id=new_run_id(), dr_region=regions[-1], regions=regions, lookup=clients.client, any_run=True).attach)
    clock = clock_from_environment()
    console = _console()
    # A drill file's targets name where else to look: S3 canaries live in the targets' own buckets.
    targets = list(loaded.drill.targets.values()) if loaded else []
    found = _cleanup_call(lambda: find_leftovers(clients, regions, now=clock.now(), older_than=min_age, run_id=run_id,
                                                 targets=targets))
    ours = [leftover for leftover in found if leftover.tagged]
    journals = journal_dir or default_journal_dir()
    records, damaged = read_journals(journals)
    for warning in damaged:  # a damaged journal is reported and skipped; AWS's tags still decide what goes
        typer.echo(f"drtool cleanup: warning: {warning}", err=True)
    # Run locks are dated in real time, whatever clock a sandbox's world keeps.
    ours = _held_back_from_live_runs(console, ours, loaded, records, datetime.now(timezone.utc), force)
    print_leftovers(console, ours, "Drill leftovers")
    print_leftovers(console, [leftover for leftover in found if not leftover.tagged], "Drill-named but untagged: not touched")
    print_journal_mentions(console, journal_mentions(journals, found, regions, run_id, records), narrowed=min_age is not None)
    if not ours:
        console.print(f"Nothing to clean up in {', '.join(regions)}.")
        raise typer.Exit(0)
    if not yes and not sys.stdin.isatty():
        console.print(f"Nothing deleted: no terminal to confirm on. Run again with --yes to delete these {len(ours)} resources.")
        raise typer.Exit(EXIT_CLEANUP_FAILED)
    if not yes and not typer.confirm(f"Delete these {len(ours)} resources?", default=False):
        console.print("Nothing deleted.")
        raise typer.Exit(EXIT_CLEANUP_FAILED)
    raise typer.Exit(_remove_and_report(console, clients, clock, ours, journals))


def _held_back_from_live_runs(console, leftovers: list, loaded, records: list, now, force: bool) -> list:
    """The leftovers cleanup may delete: a live run's only with --force (it is still using them)."""
    from drtool.commands.cleanup import live_runs, unfinished_drills
    from drtool.reports.cleanup import print_leftovers

    drills = [(name, None, None, None) for name in unfinished_drills(records)]
    if loaded is not None:
        drill = loaded.drill
        drills.insert(0, (drill.drill, drill.history, drill.primary_region, drill.aws))
    live = {run.run_id: run for run in live_runs(drills, now)}
    held = [leftover for leftover in leftovers if leftover.run_id in live]
    if not held:
        return leftovers
    for run in live.values():
        verb = "deleting its resources anyway (--force)" if force else "its resources are left alone; --force deletes them"
        console.print(f"Run {run.run_id} is still running: {run.holder} holds {run.lock}; {verb}.")
    if force:
        return leftovers
    print_leftovers(console, held, "Resources of live runs: not touched")
    return [leftover for leftover in leftovers if leftover.run_id not in live]


def _cleanup_region_problems(regions: list[str]) -> list:
    from drtool.core.inputs import option_problem
    from drtool.core.model import known_regions

    unknown = [name for name in regions if name not in known_regions()]
    return [option_problem("--region", f"unknown AWS region {', '.join(repr(name[:40]) for name in unknown)}")] if unknown else []


def _cleanup_duration_problems(text: Optional[str]) -> list:
    from drtool.core.clock import parse_duration
    from drtool.core.inputs import option_problem

    if text is None:
        return []
    try:
        parse_duration(text)
    except ValueError as exc:
        return [option_problem("--older-than", str(exc))]
    return []


def _cleanup_regions(loaded, regions: list[str]) -> list[str]:
    if regions:
        return list(dict.fromkeys(regions))
    if loaded is None:
        _fail_invalid("drtool cleanup: give a drill file or at least one --region to search")
    return [loaded.drill.primary_region, loaded.drill.dr_region]


def _cleanup_duration(text: Optional[str]):
    from drtool.core.clock import parse_duration

    return None if text is None else parse_duration(text)  # checked by _cleanup_duration_problems


def _cleanup_call(call):
    """Run an AWS call; credentials, permissions and endpoint trouble exit 3 with one readable line."""
    from drtool.core.errors import describe_error, is_infrastructure_error

    try:
        return call()
    except Exception as exc:
        if not is_infrastructure_error(exc):
            raise
        typer.echo(f"drtool cleanup: could not reach AWS: {describe_error(exc)}", err=True)
        raise typer.Exit(EXIT_COULD_NOT_REACH_AWS)


def _remove_and_report(console, clients, clock, leftovers, journal_dir: Path) -> int:
    from drtool.commands.cleanup import ALREADY_GONE, FAILED, remove_leftovers
    from drtool.core.events import CleanupFinished, CleanupStarted
    from drtool.core.journal import Journal, new_run_id

    run_id = new_run_id()
    # The cleanup keeps a journal too: its deletions settle what earlier runs' journals left open.
    journal = Journal(journal_dir / f"{clock.now().strftime('%Y%m%dT%H%M%SZ')}-{run_id}.jsonl", run_id, clock)
    try:
        journal.emit(CleanupStarted(resources=[leftover.label for leftover in leftovers]))
        results = _cleanup_call(lambda: remove_leftovers(clients, leftovers, clock, journal))
        journal.emit(CleanupFinished(failures=[r.leftover.label for r in results if r.outcome == FAILED]))
    finally:
        journal.close()
    for result in results:
        where = f"{result.leftover.kind} {result.leftover.label} in {result.leftover.region}"
        if result.outcome == FAILED:
            console.print(f"FAILED to delete {where}: {result.error}")
        else:
            console.print(f"{'already gone' if result.outcome == ALREADY_GONE else 'deleted'}: {where}")
    failures = [result for result in results if result.outcome == FAILED]
    if not failures:
        return 0
    return EXIT_COULD_NOT_REACH_AWS if all(result.infrastructure for result in failures) else EXIT_CLEANUP_FAILED


@app.command()
def plan(drill_file: Path = typer.Argument(..., help="Drill file to plan.")) -> None:
    """Print what a drill would do: each step's AWS calls (read or MUTATING), what it creates, rough cost. No AWS call."""
    from drtool.commands.plan import build_plan

    loaded = _check(drill_file)
    typer.echo(_derived(drill_file, lambda: build_plan(loaded).render()))


@app.command()
def permissions(
    drill_file: Path = typer.Argument(..., help="Drill file whose IAM policy to print."),
    account_id: str = typer.Option("*", "--account-id", help="AWS account id for the resource ARNs."),
    caller: bool = typer.Option(False, "--caller", help="Print instead what the identity that starts the drill needs to assume the drill file's aws.role_arn."),
) -> None:
    """Print the least-privilege IAM policy (JSON) the drill needs, derived from the operations it can reach."""
    from drtool.commands.permissions import caller_policy, drill_policy, render
    from drtool.commands.plan import build_plan
    from drtool.core.inputs import account_id_problems

    loaded = _check(drill_file, account_id_problems(account_id))
    if caller:
        policy = caller_policy(_derived(drill_file, lambda: build_plan(loaded)))
        if policy is None:
            _fail_invalid(f"{drill_file}: names no aws.role_arn: the identity that starts the drill is its identity, "
                          "and needs the policy `drtool permissions` prints")
        typer.echo(render(policy))
        return
    typer.echo(render(_derived(drill_file, lambda: drill_policy(loaded, account_id))))
    if loaded.drill.aws.role_arn:
        typer.echo(f"drtool: this is the policy of {loaded.drill.aws.role_arn}; the identity that starts the drill "
                   "needs sts:AssumeRole on it (drtool permissions --caller), and the role's trust policy must name "
                   "that identity", err=True)


def _derived(path: Path, derive):
    """A plan or policy; a step with undeclared calls (a drill's own, say) or an unscoped action is bad input."""
    from drtool.commands.permissions import UnscopedAction
    from drtool.core.operations import UndeclaredCall

    try:
        return derive()
    except (UndeclaredCall, UnscopedAction) as exc:
        _fail_invalid(f"{path}: cannot derive the drill's AWS calls: {exc}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

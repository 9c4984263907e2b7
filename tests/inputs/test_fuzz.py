"""Fuzzing the input layer: random bytes, random YAML, and mutations of valid drill files and features.

Through `validate`, `plan`, `permissions` and `run`, every outcome is exit 0 or 2: never a traceback, never a
connection to the local listener that stands in for AWS, never a journal, and each within the 2 s deadline.
(Peak memory is measured by bench/bad_input.py, not asserted here.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import botocore.endpoint
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from drtool.cli import app
from drtool.core.model import DrillFileError
from drtool.drill.validate import check_drill_file
from tests.inputs.corpus import BASE, FEATURE
from tests.inputs.test_corpus import Listener

COMMANDS = ("validate", "plan", "permissions", "run")
FUZZ = settings(max_examples=int(os.environ.get("DRTOOL_FUZZ_EXAMPLES", "40")), deadline=2000, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def listener():
    running = Listener()
    yield running
    running.close()


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, listener: Listener, tmp_path: Path) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "fuzz")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fuzz")
    monkeypatch.setenv("DRTOOL_JOURNAL_DIR", str(tmp_path / "journals"))
    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", lambda *a, **k: pytest.fail("an AWS request was made"))
    return tmp_path


def answer(command: str, drill: bytes, feature: bytes | None, listener: Listener, journals: Path) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "drill.yaml"
        path.write_bytes(drill)
        if feature is not None:
            (Path(directory) / "one.feature").write_bytes(feature)
        if command == "run":
            try:
                check_drill_file(path)
            except DrillFileError:
                pass
            else:
                return  # a valid drill would run: its answer is the drill's, not the input layer's
        before = listener.connections
        result = CliRunner().invoke(app, [command, str(path)])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.output.strip(), "exit 2 without a message"
    assert listener.connections == before
    assert not journals.exists() or not any(journals.iterdir())


# --- strategies --------------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.sampled_from(["30m", "0s", "eu-west-1", "rds-instance", "s3-replication", "alias/x", "-1"]))
values = st.recursive(scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(
    st.text(max_size=12) | st.sampled_from(["drill", "targets", "kind", "objectives", "rto", "features"]), children, max_size=4),
    max_leaves=20)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@st.composite
def mutated(draw, text: str) -> bytes:
    """A valid text with one to three edits: a line dropped, doubled, swapped or re-indented, or bytes changed."""
    lines = _lines(text)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "double", "swap", "indent", "dedent", "replace", "insert"]))
        if edit == "drop" and len(lines) > 1:
            del lines[index]
        elif edit == "double":
            lines.insert(index, lines[index])
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif edit == "indent":
            lines[index] = "  " + lines[index]
        elif edit == "dedent":
            lines[index] = lines[index].lstrip()
        elif edit in ("replace", "insert"):
            line = lines[index]
            at = draw(st.integers(0, max(len(line) - 1, 0)))
            new = draw(st.text(min_size=1, max_size=6) | st.sampled_from(["&a", "*a", "!!int", "{", "[", "? ", ": ", "#", "\t", "--"]))
            lines[index] = line[:at] + new + line[at + (1 if edit == "replace" else 0):]
    return "".join(lines).encode("utf-8", "surrogatepass")


WITH_FEATURE = BASE.replace("  - rds_restore.feature\n  - s3_replication.feature\n", "  - one.feature\n")


@FUZZ
@given(command=st.sampled_from(COMMANDS), data=st.binary(max_size=2000))
def test_random_bytes(isolated, listener, command, data):
    answer(command, data, None, listener, isolated / "journals")


@FUZZ
@given(command=st.sampled_from(COMMANDS), value=values)
def test_random_yaml(isolated, listener, command, value):
    answer(command, yaml.safe_dump(value).encode(), None, listener, isolated / "journals")


@FUZZ
@given(command=st.sampled_from(COMMANDS), drill=mutated(BASE))
def test_mutated_drill_files(isolated, listener, command, drill):
    answer(command, drill, None, listener, isolated / "journals")


@FUZZ
@given(command=st.sampled_from(COMMANDS), feature=mutated(FEATURE) | st.binary(max_size=500))
def test_mutated_features(isolated, listener, command, feature):
    answer(command, WITH_FEATURE.encode(), feature, listener, isolated / "journals")

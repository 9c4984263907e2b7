"""Every bad input in the corpus gets its exact answer: exit 2, the message, no traceback, no AWS call, no journal."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Iterator

import botocore.endpoint
import pytest
from typer.testing import CliRunner

from drtool.cli import app
from tests.inputs.corpus import CASES, Case


class Listener:
    """A local TCP port standing in for AWS: it counts the connections anything opens to it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()


@pytest.fixture
def busy_port() -> Iterator[int]:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    yield taken.getsockname()[1]
    taken.close()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listener: Listener) -> Path:
    """AWS is the listener, journals go to tmp, and nothing may start a lab or send a request."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{listener.port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "corpus")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "corpus")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("DRTOOL_JOURNAL_DIR", str(tmp_path / "journals"))
    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", lambda *a, **k: pytest.fail("an AWS request was made"))

    def no_lab(self):
        raise AssertionError("a lab was started for an invalid input")

    monkeypatch.setattr("drtool.sandbox.lab.Lab.start", no_lab)
    case_dir = tmp_path / "case"
    case_dir.mkdir()
    return case_dir


def write_files(case: Case, directory: Path) -> None:
    for name, content in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def answered(expect: str, output: str) -> bool:
    """The expected line is in the output; one ending in '...' starts a line (a list that grows, such as the faults)."""
    if expect.endswith("..."):
        return any(line.startswith(expect[:-3]) for line in output.splitlines())
    return expect in output.splitlines()


def test_the_corpus_is_large_and_named_uniquely():
    assert len(CASES) >= 120
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_its_answer(case: Case, isolated: Path, listener: Listener, busy_port: int):
    write_files(case, isolated)
    before = listener.connections
    argv = [case.render(arg, isolated, busy_port) for arg in case.argv]
    result = CliRunner().invoke(app, argv, catch_exceptions=True)
    output = result.output
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, output
    assert answered(case.render(case.expect, isolated, busy_port), output), output
    assert listener.connections == before, "something connected to the stand-in for AWS"
    journals = isolated.parent / "journals"
    assert not journals.exists() or not any(journals.iterdir()), "a journal was written"

"""Pushing to a real Prometheus Pushgateway (Debian's prometheus-pushgateway), started on loopback, read back from its
/metrics with prometheus_client's parser, as Prometheus would scrape it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.request
from typing import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drtool.commands.publish import publish_run
from drtool.drill.publish import Publishing, PushgatewayPublishing
from drtool.drill.validate import check_drill_file
from tests.helpers import SANDBOX_DRILL, installed_tool, wait_for
from tests.publish.runs import finished_run

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def pushgateway(tmp_path) -> Iterator[str]:
    # Upstream's release names its binary plain `pushgateway`; Debian's is the one scripts/test installs.
    binary = shutil.which("pushgateway") or installed_tool("prometheus-pushgateway", package="prometheus-pushgateway")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "pushgateway.log").open("w")
    process = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: process.poll() is None and _ready(url), bool, timeout=30, what=f"the Pushgateway on {url}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _scraped(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) if family.name.startswith("drtool_")
            for sample in family.samples}


def _push(url: str, result) -> list:
    drill = check_drill_file(SANDBOX_DRILL).drill
    return publish_run(result, drill, Publishing(pushgateway=PushgatewayPublishing(url=url)), clients=None)


def test_the_figures_are_scraped_from_the_pushgateway_grouped_by_job_and_drill(pushgateway, tmp_path):
    [delivery] = _push(pushgateway, finished_run(tmp_path, breach=True))
    assert delivery.error == "" and delivery.destination == f"{pushgateway}/metrics/job/drtool/drill/monthly", delivery

    scraped = _scraped(pushgateway)
    group = (("drill", "monthly"), ("instance", ""), ("job", "drtool"))
    assert scraped[("drtool_rto_seconds", tuple(sorted((*group, ("target", "orders-db")))))] == 2524.0
    assert scraped[("drtool_replication_lag_seconds", tuple(sorted((*group, ("target", "orders-data")))))] == 43.5
    assert scraped[("drtool_drill_passed", group)] == 0.0
    assert scraped[("drtool_target_passed", tuple(sorted((*group, ("target", "orders-data")))))] == 1.0
    assert delivery.detail == f"{len(scraped)} samples"


def test_each_run_replaces_its_drills_group_and_leaves_other_drills_alone(pushgateway, tmp_path):
    _push(pushgateway, finished_run(tmp_path, breach=True))
    _push(pushgateway, finished_run(tmp_path, drill="weekly"))
    _push(pushgateway, finished_run(tmp_path))  # monthly again, now met

    passed = {labels: value for (name, labels), value in _scraped(pushgateway).items() if name == "drtool_drill_passed"}
    assert passed == {(("drill", "monthly"), ("instance", ""), ("job", "drtool")): 1.0,
                      (("drill", "weekly"), ("instance", ""), ("job", "drtool")): 1.0}


def test_a_pushgateway_that_is_not_there_is_a_warning(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    [delivery] = _push(url, finished_run(tmp_path))
    assert delivery.error.startswith("cannot reach it:") and "refused" in delivery.error.lower(), delivery

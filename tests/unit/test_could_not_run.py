"""No credentials, or no endpoint: every scenario is an error (exit 3), never a failure, and nothing is created."""

from __future__ import annotations

import os
import subprocess
import sys

from junitparser import JUnitXml

from tests.helpers import SANDBOX_DRILL


def run(tmp_path, **aws_env: str) -> tuple[subprocess.CompletedProcess, list]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRTOOL_"))}
    env.update(
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true",
        DRTOOL_JOURNAL_DIR=str(tmp_path / "journal"), COLUMNS="200", **aws_env,
    )
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "drtool.cli", "run", str(SANDBOX_DRILL), "--junit-xml", str(junit)],
                          env=env, capture_output=True, text=True, timeout=120)
    return done, [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]


def test_missing_credentials_is_exit_3_with_errors(tmp_path):
    done, cases = run(tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    # Two databases restored, four S3 scenarios for one bucket pair, five for each of four keys, two for one secret.
    assert len(cases) == 28 and all(case.result[0]._tag == "error" for case in cases)
    assert all("Unable to locate credentials" in case.result[0].message for case in cases)


def test_unreachable_endpoint_is_exit_3_with_errors(tmp_path):
    # Two attempts, set the standard way, keep the test quick; drtool's default retries ten times.
    done, cases = run(tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="2")
    assert done.returncode == 3, done.stdout + done.stderr
    assert all(case.result[0]._tag == "error" and "Could not connect" in case.result[0].message for case in cases)
    assert "cannot use AWS from here" in done.stdout


def test_preflight_is_a_setup_error_for_pytest_too_even_for_a_named_target(tmp_path):
    """pytest's own JUnit file also shows could-not-run as <error>: preflight runs in fixture setup."""
    feature = tmp_path / "named.feature"
    feature.write_text(
        "Feature: one named database\n"
        "  Scenario: Restore billing\n"
        '    Given the rds-instance target "billing-db"\n'
        "    When the newest recoverable point of the database is found in the DR region\n"
    )
    drill = tmp_path / "named.yaml"
    drill.write_text(SANDBOX_DRILL.read_text().replace("../features/rds_restore.feature", str(feature))
                     .replace("  - ../features/s3_replication.feature\n", "")
                     .replace("  - ../features/secrets_dr.feature\n", "")
                     .replace("  - ../features/kms_dr_access.feature\n", ""))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRTOOL_"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true",
               DRTOOL_JOURNAL_DIR=str(tmp_path / "journal"))
    native = tmp_path / "native.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "--drill", str(drill), "--junit-xml", str(native), "-p", "no:cacheprovider"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    [case] = [case for suite in JUnitXml.fromfile(str(native)) for case in suite]
    assert case.result[0]._tag == "error" and "Unable to locate credentials" in case.result[0].message

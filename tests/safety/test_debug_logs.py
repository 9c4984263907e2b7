"""Issue 16 part 8: secrets stay out of botocore's and urllib3's debug logs, in whatever pytest writes.

`pytest --drill ... --log-level=DEBUG --junitxml x.xml -o junit_logging=all` puts every captured log record in
pytest's own JUnit file: the secret's value (GetSecretValue's response body) and the credentials the lab's STS
issued for each assumed role (AssumeRole's response body, the signing headers) must not be among them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from drtool.sandbox.lab import Lab
from tests.families.test_secrets_family import SEEDED_PASSWORD
from tests.helpers import drill_file, finish_drill, start_drill

SECRET_NAMES = ("SecretAccessKey", "SessionToken", "X-Amz-Security-Token", "SecretString")
# A named value that is not the redaction mark: XML, JSON or a dict repr (quotes maybe escaped), or a header line.
UNREDACTED = re.compile(
    rf"(?i)(?:<(?:{'|'.join(SECRET_NAMES)})>(?!&lt;redacted|<redacted)"
    rf"|\\*[\"'](?:{'|'.join(SECRET_NAMES)})\\*[\"']\s*:\s*b?\\*[\"'](?!<redacted>|&lt;redacted&gt;)"
    rf"|x-amz-security-token:(?!<redacted>|&lt;redacted&gt;))")


def test_debug_logs_in_pytests_junit_hold_no_secret_and_no_issued_credentials(lab: Lab, tmp_path: Path) -> None:
    drill = drill_file(tmp_path, "orders-db-credentials", "dr-secrets-key")
    native = tmp_path / "x.xml"
    command = (sys.executable, "-m", "pytest", "--drill", str(drill), "-p", "no:cacheprovider", "-q",
               "--log-level=DEBUG", "--junitxml", str(native), "-o", "junit_logging=all")
    outcome = finish_drill(start_drill(lab, tmp_path, command=command), tmp_path, timeout=240)

    # Logging at DEBUG slows the calls the world clock times: a round trip may breach; the drill still ran.
    assert outcome.exit_code in (0, 1), outcome.output[-3000:]
    written = native.read_text()
    assert "botocore.parsers" in written and "AssumeRole" in written, "the debug log was captured"
    assert SEEDED_PASSWORD not in written
    assert UNREDACTED.findall(written) == []
    assert "<redacted>" in written or "&lt;redacted&gt;" in written
    assert SEEDED_PASSWORD not in outcome.output and UNREDACTED.findall(outcome.output) == []

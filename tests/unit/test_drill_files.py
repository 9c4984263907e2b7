"""Bad drill files get one readable message per problem, with file and line, exit 2, and no AWS call."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import botocore.endpoint
import pytest
from typer.testing import CliRunner

from drtool.cli import app
from drtool.core.model import DrillFileError
from drtool.core.registry import families
from drtool.drill.file import drill_json_schema
from drtool.drill.validate import check_drill_file

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
drill: test-drill
primary_region: eu-west-1
dr_region: eu-central-1
features:
  - {feature}
targets:
  orders-db:
    kind: rds-instance
    source_instance: orders-db
    dr_kms_key: alias/dr-rds
    restore:
      instance_class: db.t3.medium
      subnet_group: dr-restore-subnets
    objectives:
      rto: 30m
      rpo: 24h
"""

# Every registered family's bundled features, as the message lists them.
BUNDLED_FEATURES = ", ".join(sorted(feature for family in families() for feature in family.features))


def write(tmp_path: Path, text: str, name: str = "drill.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def drill(tmp_path: Path, **replace: str) -> Path:
    text = GOOD.format(feature=REPO / "features" / "rds_restore.feature")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return write(tmp_path, text)


@pytest.fixture
def no_aws_calls(monkeypatch):
    """Fails the test if anything tries to send a request to AWS."""
    sent = []
    monkeypatch.setattr(botocore.endpoint.Endpoint, "make_request", lambda self, *a, **k: sent.append(a) or pytest.fail("AWS was called"))
    return sent


def problems(path: Path) -> list[str]:
    with pytest.raises(DrillFileError) as caught:
        check_drill_file(path)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_drill_files_are_valid():
    for path in (REPO / "drills").glob("*.yaml"):
        assert check_drill_file(path).drill.targets


def test_unknown_key_is_named_with_its_line(tmp_path):
    path = drill(tmp_path, **{"      rto: 30m\n": "      rto: 30m\n      rtoo: 1h\n"})
    assert problems(path) == [f"{path}:16: unknown key 'targets.orders-db.objectives.rtoo'"]


def test_every_problem_is_reported_at_once(tmp_path):
    path = drill(tmp_path, **{"rto: 30m": "rto: soon", "dr_region: eu-central-1": "dr_region: eu-middle-9", "instance_class: db.t3.medium": "instance_class: [db.t3.medium]"})
    found = problems(path)
    assert any(":3: dr_region: unknown AWS region 'eu-middle-9'" in p for p in found)
    assert any(":12: targets.orders-db.restore.instance_class: Input should be a valid string" in p for p in found)
    assert any(":15: targets.orders-db.objectives.rto: 'soon' is not a duration" in p for p in found)


def test_durations_need_units(tmp_path):
    assert any("needs a unit" in p for p in problems(drill(tmp_path, **{"rpo: 24h": "rpo: 24"})))


def test_unknown_target_kind(tmp_path):
    assert any("unknown target kind 'rds-cluster'" in p for p in problems(drill(tmp_path, **{"kind: rds-instance": "kind: rds-cluster"})))


def test_invalid_yaml_has_a_line(tmp_path):
    path = write(tmp_path, "drill: x\ntargets: [unclosed\n")
    assert problems(path)[0].startswith(f"{path}:")


def test_feature_naming_an_undefined_target(tmp_path):
    feature = write(tmp_path, """\
        Feature: one database
          Scenario: restore the payments database
            Given the rds-instance target "payments-db"
            When the newest recoverable point of the database is found in the DR region
        """, "one.feature")
    found = problems(drill(tmp_path, **{str(REPO / "features" / "rds_restore.feature"): str(feature)}))
    assert found == [f"{feature}:3: the drill file defines no target named 'payments-db' (it has: orders-db)"]


def test_feature_step_without_implementation(tmp_path):
    feature = write(tmp_path, """\
        Feature: wishful
          Scenario: restore by magic
            Given each rds-instance target of the drill
            When the database is restored by magic
        """, "wish.feature")
    found = problems(drill(tmp_path, **{str(REPO / "features" / "rds_restore.feature"): str(feature)}))
    assert found == [f"{feature}:4: no step implementation for 'When the database is restored by magic'"]


def test_missing_feature_file(tmp_path):
    found = problems(drill(tmp_path, **{str(REPO / "features" / "rds_restore.feature"): "nowhere.feature"}))
    assert found == [f"{tmp_path / 'drill.yaml'}:5: feature file 'nowhere.feature' not found next to the drill file, "
                     f"nor a bare name of a family's feature ({BUNDLED_FEATURES})"]


def test_a_bare_name_finds_a_familys_feature_but_a_path_is_never_replaced_by_it(tmp_path):
    bare = drill(tmp_path, **{str(REPO / "features" / "rds_restore.feature"): "rds_restore.feature"})
    assert check_drill_file(bare).feature_paths == ((REPO / "features" / "rds_restore.feature").resolve(),)
    typo = drill(tmp_path, **{str(REPO / "features" / "rds_restore.feature"): "typo-dir/rds_restore.feature"})
    assert problems(typo) == [f"{tmp_path / 'drill.yaml'}:5: feature file 'typo-dir/rds_restore.feature' not found next to the "
                              f"drill file, nor a bare name of a family's feature ({BUNDLED_FEATURES})"]


@pytest.mark.parametrize("command", [["validate"], ["run"]])
def test_cli_exits_2_naming_file_and_line_without_calling_aws(tmp_path, command, no_aws_calls):
    path = drill(tmp_path, **{"drill: test-drill": "drill: test-drill\nsurprise: true"})
    result = CliRunner().invoke(app, command + [str(path)])
    assert result.exit_code == 2
    assert f"{path}:2: unknown key 'surprise'" in result.output
    assert no_aws_calls == []


def test_published_schema_is_current():
    published = json.loads((REPO / "docs" / "drill.schema.json").read_text())
    assert published == drill_json_schema()


def test_report_refuses_a_file_that_is_not_a_journal(tmp_path):
    junk = write(tmp_path, '{"event": "something-else"}\n', "junk.jsonl")
    result = CliRunner().invoke(app, ["report", str(junk)])
    assert result.exit_code == 2 and "not a drtool run journal" in result.output

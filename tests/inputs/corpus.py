"""Bad inputs, by class, and the exact answer each gets: the drill-file rules, as examples.

Every case exits 2 with its message, prints no traceback, calls no AWS API and
writes no journal (tests/inputs/test_corpus.py). `bench/bad_input.py` times
them and measures their memory.

A case is a command line and the files it needs. In the command line and in
the expected message, `{drill}`, `{feature}`, `{tmp}` and `{journal}` stand for
the files the case writes, `{busy_port}` for a port that is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from drtool.core.registry import families

REPO = Path(__file__).resolve().parents[2]

# A valid drill of both drtool families; each drill-file case changes one thing in it.
BASE = """\
drill: corpus
primary_region: eu-west-1
dr_region: eu-central-1
features:
  - rds_restore.feature
  - s3_replication.feature
budget: 2h
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
  orders-data:
    kind: s3-replication
    source_bucket: orders-data-eu-west-1
    replica_bucket: orders-data-dr-eu-central-1
    replica_kms_key: alias/dr-s3
    objectives:
      max_lag: 5m
      max_pending: 100
      max_unreplicated_age: 1h
"""

FEATURE = """\
@rds
Feature: one database
  Scenario: restore it
    Given each rds-instance target of the drill
    When the newest recoverable point of the database is found in the DR region
"""

DRILL_COMMANDS = ("validate", "plan", "permissions", "run")


# The registered families, as the messages list them.
KINDS = ", ".join(sorted(family.kind for family in families()))
FEATURES = ", ".join(sorted(name for family in families() for name in family.features))

@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # the class of bad input
    argv: tuple[str, ...]  # the drtool command line
    expect: str  # a line the answer holds, exactly
    files: dict[str, str | bytes] = field(default_factory=dict)  # name -> content, written to the case's directory

    def render(self, text: str, tmp: Path, busy_port: int = 0) -> str:
        return (text.replace("{drill}", str(tmp / "drill.yaml")).replace("{feature}", str(tmp / "one.feature"))
                .replace("{journal}", str(tmp / "run.jsonl")).replace("{tmp}", str(tmp))
                .replace("{busy_port}", str(busy_port)))


CASES: list[Case] = []


def drill(id: str, kind: str, expect: str, *, edit: dict[str, str] | None = None, text: str | bytes | None = None,
          commands: tuple[str, ...] = DRILL_COMMANDS, feature: str | bytes | None = None) -> None:
    """A bad drill file, answered the same by every command that reads one."""
    content: str | bytes = BASE if text is None else text
    for old, new in (edit or {}).items():
        assert isinstance(content, str) and old in content, (id, old)
        content = content.replace(old, new, 1)
    files: dict[str, str | bytes] = {"drill.yaml": content}
    if feature is not None:
        files["one.feature"] = feature
    for command in commands:
        CASES.append(Case(f"{kind}/{id}/{command}", kind, (command, "{drill}"), expect, files))


def feature(id: str, text: str | bytes, expect: str) -> None:
    """A bad feature, named by an otherwise valid drill file."""
    drill(id, "feature", expect, edit={"  - rds_restore.feature\n  - s3_replication.feature\n": "  - one.feature\n"},
          feature=text, commands=("validate", "run"))


def command(id: str, kind: str, argv: tuple[str, ...], expect: str, files: dict[str, str | bytes] | None = None) -> None:
    CASES.append(Case(f"{kind}/{id}", kind, argv, expect, {"drill.yaml": BASE, **(files or {})}))


# --- YAML: syntax, structure and the loader's limits ----------------------------------------------

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))

drill("not-yaml", "yaml", "{drill}:3: not valid YAML: could not find expected ':'", text="drill: x\nprimary_region\n: : :\n")
drill("unclosed-list", "yaml", "{drill}:3: not valid YAML: expected ',' or ']', but got '<stream end>'", text="drill: x\ntargets: [unclosed\n")
drill("tab-indent", "yaml", "{drill}:2: not valid YAML: found character '\\t' that cannot start any token", text="drill: x\n\tprimary_region: eu-west-1\n")
drill("empty", "yaml", "{drill}: the file is empty", text="")
drill("only-comments", "yaml", "{drill}: the file is empty", text="# nothing here\n")
drill("a-list", "yaml", "{drill}:1: a drill file is a mapping of keys (drill, primary_region, ...)", text="- drill: x\n")
drill("a-scalar", "yaml", "{drill}:1: a drill file is a mapping of keys (drill, primary_region, ...)", text="just words\n")
drill("two-documents", "yaml", "{drill}:2: not valid YAML: but found another document", text="drill: x\n---\ndrill: y\n")
drill("duplicate-key", "yaml", "{drill}:8: duplicate key 'drill' (first at line 1)", edit={"targets:\n": "drill: again\ntargets:\n"})
drill("duplicate-target", "yaml", "{drill}:19: duplicate key 'orders-db' (first at line 9)", edit={"  orders-data:\n": "  orders-db:\n"})
drill("python-object-tag", "yaml", "{drill}:1: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed; a drill file holds only plain strings, numbers, booleans, lists and mappings",
      text="drill: !!python/object/apply:os.system [echo hi]\n")
drill("custom-tag", "yaml", "{drill}:1: the tag '!vault' is not allowed; a drill file holds only plain strings, numbers, booleans, lists and mappings", edit={"drill: corpus": "drill: !vault corpus"})
drill("int-tag-on-words", "yaml", "{drill}:11: the value 'abc' cannot be read as an integer: invalid literal for int() with base 10: 'abc'", edit={"source_instance: orders-db": "source_instance: !!int abc"})
drill("binary-tag", "yaml", "{drill}:1: the tag 'tag:yaml.org,2002:binary' is not allowed; a drill file holds only plain strings, numbers, booleans, lists and mappings", edit={"drill: corpus": "drill: !!binary aGk="})
drill("set-tag", "yaml", "{drill}:4: the tag 'tag:yaml.org,2002:set' is not allowed; a drill file holds only plain strings, numbers, booleans, lists and mappings", edit={"features:\n": "features: !!set\n"})
drill("bad-date", "yaml", "{drill}:1: the value '2024-13-45' cannot be read as a date: month must be in 1..12", edit={"drill: corpus": "drill: 2024-13-45"})
drill("complex-key", "yaml", "{drill}:1: a key must be a plain name, not a list or a mapping (a complex '? ' key)", text="? [a, b]\n: c\n" + BASE)
drill("mapping-key", "yaml", "{drill}:8: a key must be a plain name, not a list or a mapping (a complex '? ' key)", edit={"targets:\n": "{a: 1}: x\ntargets:\n"})
drill("integer-key", "yaml", "{drill}:8: the key '1' reads as an integer, not a name; quote it if you mean it", edit={"targets:\n": "1: x\ntargets:\n"})
drill("boolean-key", "yaml", "{drill}:9: the key 'on' reads as a boolean, not a name; quote it if you mean it", edit={"  orders-db:\n": "  on:\n"})
drill("null-key", "yaml", "{drill}:8: the key '~' reads as null, not a name; quote it if you mean it", edit={"targets:\n": "~: x\ntargets:\n"})
drill("recursive-alias", "yaml", "{drill}:8: an alias refers to a node that contains it (a recursive alias)", edit={"targets:\n": "loop: &loop [*loop]\ntargets:\n"})
drill("undefined-alias", "yaml", "{drill}:8: not valid YAML: found undefined alias 'nowhere'", edit={"targets:\n": "x: *nowhere\ntargets:\n"})
drill("billion-laughs", "yaml", "{drill}:5: holds more than 20,000 values, aliases expanded; a drill file needs far fewer (is this an alias bomb?)", text=LAUGHS)
drill("too-many-values", "yaml", "{drill}:1: holds more than 20,000 values, aliases expanded; a drill file needs far fewer (is this an alias bomb?)", text="".join(f"k{i}: v\n" for i in range(20000)))
drill("deep-flow", "yaml", "{drill}:1: nested more than 32 levels deep", text="drill: " + "[" * 5000 + "]" * 5000 + "\n")
drill("deep-block", "yaml", "{drill}:32: nested more than 32 levels deep", text="".join("  " * i + f"k{i}:\n" for i in range(200)))
drill("huge-file", "yaml", "{drill}: the drill file is 52,428,800 bytes; the limit is 262,144", text="#" * (50 * 1024 * 1024))
drill("just-over-limit", "yaml", "{drill}: the drill file is 262,145 bytes; the limit is 262,144", text=BASE + "#" * (262145 - len(BASE) - 1) + "\n")
drill("not-utf8", "yaml", "{drill}:2: the drill file is not UTF-8 text (byte 0xff)", text=b"drill: x\nprimary_region: \xff\n")
drill("latin1", "yaml", "{drill}:1: the drill file is not UTF-8 text (byte 0xe9)", text="drill: caf\u00e9\n".encode("latin-1"))
drill("utf16", "yaml", "{drill}:1: the drill file is not UTF-8 text (byte 0xff)", text=BASE.encode("utf-16"))
drill("nul-byte", "yaml", "{drill}:11: the drill file holds a control character (U+0000), which no drill file or feature needs", edit={"source_instance: orders-db": "source_instance: orders\x00db"})
drill("escape-char", "yaml", "{drill}:1: the drill file holds a control character (U+001B), which no drill file or feature needs", edit={"drill: corpus": "drill: \x1b[31mcorpus"})
drill("random-bytes", "yaml", "{drill}:1: the drill file is not UTF-8 text (byte 0xff)", text=bytes(range(256))[::-1] * 3)
drill("merge-of-a-list", "yaml", "{drill}:11: not valid YAML: expected a mapping or list of mappings for merging, but found scalar",
      edit={"    kind: rds-instance\n": "    kind: rds-instance\n    <<: plain\n"})
drill("long-key", "yaml", "{drill}:8: a key of 300 characters; no key is that long", edit={"targets:\n": "k" * 300 + ": x\ntargets:\n"})
command("directory", "yaml", ("validate", "{tmp}"), "{tmp}: is a directory, not a drill file")
command("missing-file", "yaml", ("validate", "{tmp}/nowhere.yaml"), "{tmp}/nowhere.yaml: cannot read the drill file: No such file or directory")
command("device", "yaml", ("validate", "/dev/zero"), "/dev/zero: is not a regular file (a device, pipe or socket), so not a drill file")
command("plan-a-directory", "yaml", ("plan", "{tmp}"), "{tmp}: is a directory, not a drill file")

# --- the schema: keys and types ------------------------------------------------------------------

drill("unknown-key", "schema", "{drill}:19: unknown key 'targets.orders-db.objectives.rtoo'", edit={"      rpo: 24h\n": "      rpo: 24h\n      rtoo: 1h\n"})
drill("unknown-top-key", "schema", "{drill}:2: unknown key 'surprise'", edit={"drill: corpus\n": "drill: corpus\nsurprise: true\n"})
drill("missing-drill", "schema", "{drill}:1: missing required key 'drill'", edit={"drill: corpus\n": ""})
drill("missing-targets", "schema", "{drill}:1: missing required key 'targets'", text=BASE.split("targets:")[0])
drill("empty-targets", "schema", "{drill}:8: targets: Dictionary should have at least 1 item after validation, not 0", text=BASE.split("targets:")[0] + "targets: {}\n")
drill("empty-features", "schema", "{drill}:4: features: List should have at least 1 item after validation, not 0", edit={"features:\n  - rds_restore.feature\n  - s3_replication.feature\n": "features: []\n"})
drill("features-a-string", "schema", "{drill}:4: features: Input should be a valid list", edit={"features:\n  - rds_restore.feature\n  - s3_replication.feature\n": "features: rds_restore.feature\n"})
drill("unknown-region", "schema", "{drill}:3: dr_region: unknown AWS region 'eu-middle-9'", edit={"dr_region: eu-central-1": "dr_region: eu-middle-9"})
drill("region-a-number", "schema", "{drill}:2: primary_region: Input should be a valid string", edit={"primary_region: eu-west-1": "primary_region: 42"})
drill("upper-case-name", "schema", "{drill}:1: drill: String should match pattern '^[a-z][a-z0-9-]{0,40}$'", edit={"drill: corpus": "drill: Corpus"})
drill("name-too-long", "schema", "{drill}:1: drill: String should match pattern '^[a-z][a-z0-9-]{0,40}$'", edit={"drill: corpus": "drill: " + "a" * 42})
drill("target-name-with-underscore", "schema", "{drill}:9: targets.orders_db.[key]: String should match pattern '^[a-z][a-z0-9-]{0,40}$'", edit={"  orders-db:\n": "  orders_db:\n"})
drill("unknown-kind", "schema", "{drill}:9: targets.orders-db: unknown target kind 'rds-cluster'; expected one of: " + KINDS, edit={"kind: rds-instance": "kind: rds-cluster"})
drill("no-kind", "schema", "{drill}:9: targets.orders-db: needs a 'kind', one of: " + KINDS, edit={"    kind: rds-instance\n": ""})
drill("target-a-list", "schema", "{drill}:9: targets.orders-db: Input should be a valid dictionary or object to extract fields from", text=BASE.split("  orders-db:")[0] + "  orders-db: [a, b]\n")
drill("instance-class-a-list", "schema", "{drill}:14: targets.orders-db.restore.instance_class: Input should be a valid string", edit={"instance_class: db.t3.medium": "instance_class: [db.t3.medium]"})
drill("role-arn-not-a-role", "schema", "{drill}:8: aws.role_arn: Value error, 'arn:aws:iam::123:user/me' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)".replace("Value error, ", ""), edit={"budget: 2h\n": "aws:\n  role_arn: arn:aws:iam::123:user/me\nbudget: 2h\n"})
drill("step-module-missing", "schema", "{drill}:8: steps.0: cannot import step module 'no_such_steps_module': ModuleNotFoundError: No module named 'no_such_steps_module'", edit={"budget: 2h\n": "budget: 2h\nsteps: [no_such_steps_module]\n"})
drill("step-module-without-steps", "schema", "{drill}:8: steps.0: step module 'json' defines no pytest-bdd steps", edit={"budget: 2h\n": "budget: 2h\nsteps: [json]\n"})
drill("canary-count-zero", "schema", "{drill}:25: targets.orders-data.canary.count: Input should be greater than or equal to 1", edit={"    replica_kms_key: alias/dr-s3\n": "    replica_kms_key: alias/dr-s3\n    canary:\n      count: 0\n"})
drill("same-bucket-twice", "schema", "{drill}:19: targets.orders-data: the source and the replica bucket are the same bucket", edit={"replica_bucket: orders-data-dr-eu-central-1": "replica_bucket: orders-data-eu-west-1"})
drill("bucket-an-arn", "schema", "{drill}:21: targets.orders-data.source_bucket: 'arn:aws:s3:::orders' is not a bucket name (give the name, not an ARN or a path)", edit={"source_bucket: orders-data-eu-west-1": "source_bucket: arn:aws:s3:::orders"})
drill("huge-integer", "schema", "{drill}:26: the value '9999999999999999999999999999999999999999' cannot be read as an integer: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit",
      edit={"max_pending: 100": "max_pending: " + "9" * 5000})

# --- durations -----------------------------------------------------------------------------------

for id, value, message in [
    ("true", "true", "true is not a duration; write it like 30m, 1h30m, 24h or 90s"),
    ("false", "false", "false is not a duration; write it like 30m, 1h30m, 24h or 90s"),
    ("zero", "0s", "must be longer than zero"),
    ("zero-minutes", "0m", "must be longer than zero"),
    ("no-unit", "30", "30 needs a unit; write it like 30m, 1h30m, 24h or 90s"),
    ("float-no-unit", "1.5", "1.5 needs a unit; write it like 30m, 1h30m, 24h or 90s"),
    ("negative", "-5m", "'-5m' is not a duration; write it like 30m, 1h30m, 24h or 90s"),
    ("words", "soon", "'soon' is not a duration; write it like 30m, 1h30m, 24h or 90s"),
    ("overflow", "9999999999d", "'9999999999d' is far too long a duration"),
    ("digits", "9" * 400 + "s", f"'{'9' * 40}' is far too long a duration"),
    ("two-years", "800d", "'800d' is longer than 3660 days; no drill waits that long".replace("'800d' is longer than 3660 days; no drill waits that long", "is longer than 366 days; no drill objective or budget is that long")),
    ("a-list", "[30m]", "a list is not a duration; write it like 30m, 1h30m, 24h or 90s"),
    ("null", "null", "None is not a duration; write it like 30m, 1h30m, 24h or 90s".replace("None is not a duration; write it like 30m, 1h30m, 24h or 90s", "a NoneType is not a duration; write it like 30m, 1h30m, 24h or 90s")),
    ("infinity", ".inf", "inf needs a unit; write it like 30m, 1h30m, 24h or 90s"),
    ("iso-8601", "PT30M", "'PT30M' is not a duration; write it like 30m, 1h30m, 24h or 90s"),
]:
    drill(f"rto-{id}", "durations", f"{{drill}}:17: targets.orders-db.objectives.rto: {message}", edit={"rto: 30m": f"rto: {value}"})
drill("budget-zero", "durations", "{drill}:7: budget: must be longer than zero", edit={"budget: 2h": "budget: 0s"})
drill("budget-below-rto", "durations", "{drill}:7: budget 20m is shorter than target 'orders-db''s 30m objective; the drill would be stopped before it could meet it", edit={"budget: 2h": "budget: 20m"})
drill("budget-below-max-lag", "durations", "{drill}:7: budget 2m is shorter than target 'orders-data''s 5m objective; the drill would be stopped before it could meet it", edit={"budget: 2h": "budget: 2m", "rto: 30m": "rto: 1m"})
drill("max-lag-zero", "durations", "{drill}:25: targets.orders-data.objectives.max_lag: must be longer than zero", edit={"max_lag: 5m": "max_lag: 0s"})
drill("metrics-window-overflow", "durations", "{drill}:24: targets.orders-data.metrics_window: '99999999999d' is far too long a duration", edit={"    replica_kms_key: alias/dr-s3\n": "    replica_kms_key: alias/dr-s3\n    metrics_window: 99999999999d\n"})

# --- KMS keys, ARNs and regions ------------------------------------------------------------------

ARN = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
for id, value in [("truncated-arn", "arn:aws:kms:eu-central-1:123456789012"), ("arn-short-account", ARN.replace("123456789012", "1234")),
                  ("arn-bad-key-id", ARN[:-4]), ("arn-wrong-service", ARN.replace(":kms:", ":s3:")),
                  ("arn-of-a-role", "arn:aws:iam::123456789012:role/dr")]:
    drill(f"rds-key-{id}", "kms", f"{{drill}}:12: targets.orders-db.dr_kms_key: {value!r} is not a KMS key ARN (arn:aws:kms:REGION:123456789012:key/KEY-ID or ...:alias/NAME)",
          edit={"dr_kms_key: alias/dr-rds": f"dr_kms_key: {value}"})
for id, value in [("key-with-spaces", "my key"), ("alias-without-prefix", "dr-rds"), ("empty-alias", "alias/"), ("uppercase-key-id", "1234ABCD-12AB-34CD-56EF-1234567890AB")]:
    drill(f"rds-{id}", "kms", f"{{drill}}:12: targets.orders-db.dr_kms_key: {value!r} is not a KMS key: give a key id (1234abcd-..., mrk-...), alias/NAME, or an ARN",
          edit={"dr_kms_key: alias/dr-rds": f"dr_kms_key: '{value}'"})
drill("rds-key-in-primary-region", "kms", "{drill}:12: targets.orders-db.dr_kms_key: the key is in eu-west-1, but the restore runs in dr_region eu-central-1; KMS keys are regional, so give a key in the DR region".replace("targets.orders-db.dr_kms_key: ", ""),
      edit={"dr_kms_key: alias/dr-rds": f"dr_kms_key: {ARN.replace('eu-central-1', 'eu-west-1')}"})
drill("s3-key-in-another-region", "kms", "{drill}:23: the key is in us-east-1, but the replica bucket is in dr_region eu-central-1; KMS keys are regional, so give a key in the DR region",
      edit={"replica_kms_key: alias/dr-s3": f"replica_kms_key: {ARN.replace('eu-central-1', 'us-east-1')}"})
drill("s3-key-malformed", "kms", "{drill}:23: targets.orders-data.replica_kms_key: 'arn:aws:kms:eu-central-1:123456789012:alias' is not a KMS key ARN (arn:aws:kms:REGION:123456789012:key/KEY-ID or ...:alias/NAME)",
      edit={"replica_kms_key: alias/dr-s3": "replica_kms_key: arn:aws:kms:eu-central-1:123456789012:alias"})
drill("same-regions", "kms", "{drill}:3: dr_region must differ from primary_region (both are eu-west-1)", edit={"dr_region: eu-central-1": "dr_region: eu-west-1"})

# --- names that collide once they become resource names -------------------------------------------

TWIN = BASE.split("  orders-data:")[0].split("targets:\n")[1]
drill("double-dash", "names", "{drill}:19: targets 'orders-db' and 'orders--db' would both name their rds-instance drtool-<run>-orders-db; rename one (names are lowercased, '--' becomes '-', and cut at 63 characters)",
      text=BASE.split("  orders-data:")[0] + TWIN.replace("orders-db:", "orders--db:", 1))
drill("trailing-dash", "names", "{drill}:19: targets 'orders-db' and 'orders-db-' would both name their rds-instance drtool-<run>-orders-db; rename one (names are lowercased, '--' becomes '-', and cut at 63 characters)",
      text=BASE.split("  orders-data:")[0] + TWIN.replace("orders-db:", "orders-db-:", 1))


# --- features ------------------------------------------------------------------------------------

drill("typo-dir", "feature", "{drill}:5: feature file 'typo-dir/rds_restore.feature' not found next to the drill file, nor a bare name of a family's feature (" + FEATURES + ")",
      edit={"  - rds_restore.feature\n": "  - typo-dir/rds_restore.feature\n"}, commands=("validate", "run"))
drill("missing-feature", "feature", "{drill}:5: feature file 'nowhere.feature' not found next to the drill file, nor a bare name of a family's feature (" + FEATURES + ")",
      edit={"  - rds_restore.feature\n": "  - nowhere.feature\n"}, commands=("validate", "run"))
drill("feature-a-directory", "feature", "{drill}:5: feature file '.' not found next to the drill file, nor a bare name of a family's feature (" + FEATURES + ")",
      edit={"  - rds_restore.feature\n": "  - .\n"}, commands=("validate",))
feature("empty", "", "{feature}: the feature file is empty; it needs a 'Feature:' line and scenarios")
feature("blank", "\n\n   \n", "{feature}: the feature file is empty; it needs a 'Feature:' line and scenarios")
feature("not-utf8", b"Feature: caf\xe9\n", "{feature}:1: the feature file is not UTF-8 text (byte 0xe9)")
feature("nul-byte", "Feature: x\n  Scenario: y\x00\n", "{feature}:2: the feature file holds a control character (U+0000), which no drill file or feature needs")
feature("no-scenarios", "Feature: nothing to do\n  Just a description.\n", "{feature}:1: the feature has no scenarios (a 'Scenario:' line with steps); nothing would run")
feature("scenario-typo", "Feature: typo\n  Scenariooo: restore\n    Given each rds-instance target of the drill\n",
        "{feature}:1: the feature has no scenarios (a 'Scenario:' line with steps); nothing would run")
feature("no-feature-line", "Scenario: orphan\n  Given each rds-instance target of the drill\n", "{feature}:1: not valid Gherkin: Misplaced or incorrect 'Scenario' keyword. Ensure it's correctly placed. There might be a missing Feature section.")
feature("and-first", "Feature: x\n  Scenario: y\n    And each rds-instance target of the drill\n", "{feature}:3: not valid Gherkin: First step in a scenario or background must start with 'Given', 'When' or 'Then', but got And.")
feature("two-features", "Feature: a\nFeature: b\n", "{feature}:1: the feature has no scenarios (a 'Scenario:' line with steps); nothing would run")
feature("bad-table", "Feature: x\n  Scenario: y\n    Given each rds-instance target of the drill\n      | a | b |\n      | c |\n",
        "{feature}:5: not valid Gherkin: inconsistent cell count within the table")
feature("unknown-language", "# language: xx\nFeature: x\n", "{feature}:1: not valid Gherkin: Language not supported: xx")
feature("unclosed-docstring", 'Feature: x\n  Scenario: y\n    Given each rds-instance target of the drill\n      """\n      never closed\n',
        "{feature}:6: not valid Gherkin: unexpected end of file, expected: #DocStringSeparator, #Other")
feature("unknown-step", "Feature: x\n  Scenario: y\n    Given each rds-instance target of the drill\n    When the database is restored by magic\n",
        "{feature}:4: no step implementation for 'When the database is restored by magic'")
feature("unknown-kind-step", "Feature: x\n  Scenario: y\n    Given each rds-cluster target of the drill\n",
        "{feature}:3: unknown target kind 'rds-cluster'; expected one of: " + KINDS)
feature("undefined-target", 'Feature: x\n  Scenario: y\n    Given the rds-instance target "payments-db"\n',
        "{feature}:3: the drill file defines no target named 'payments-db' (it has: orders-db, orders-data)")
feature("wrong-kind-target", 'Feature: x\n  Scenario: y\n    Given the s3-replication target "orders-db"\n',
        "{feature}:3: target 'orders-db' is a rds-instance, not a s3-replication")
feature("huge", "Feature: x\n" + "# filler\n" * 40000, "{feature}: the feature file is 360,011 bytes; the limit is 262,144")
drill("no-scenario-for-the-targets", "feature", "{drill}: none of the features' 4 scenarios is for a kind of target the drill has (rds-instance); nothing would run",
      edit={"  - rds_restore.feature\n": ""}, text=BASE.split("  orders-data:")[0], commands=("validate", "run"))

# --- tag expressions -------------------------------------------------------------------------------

for id, expression, message in [
    ("dangling-and", "rds and", "tag expression 'rds and' does not parse: at column 8: expected not OR left parenthesis OR identifier; got end of input"),
    ("unbalanced", "(rds", "tag expression '(rds' does not parse: at column 5: expected right parenthesis; got end of input"),
    ("extra-paren", "rds)", "tag expression 'rds)' does not parse: at column 4: expected end of input; got right parenthesis"),
    ("bare-not", "not", "tag expression 'not' does not parse: at column 4: expected not OR left parenthesis OR identifier; got end of input"),
    ("punctuation", "rds && s3", "tag expression 'rds && s3' does not parse: at column 5: unexpected character \"&\""),
]:
    drill(f"drill-{id}", "tags", f"{{drill}}:8: {message}", edit={"targets:\n": f"tags: '{expression}'\ntargets:\n"})
    command(f"option-{id}", "tags", ("run", "{drill}", "-m", expression), f"option -m: {message}")
drill("empty-expression", "tags", "{drill}:8: the tag expression is empty; remove it to run every scenario", edit={"targets:\n": "tags: ''\ntargets:\n"})
drill("selects-nothing", "tags", "{drill}:8: the tag expression 'nosuchtag' selects none of the drill's 5 scenarios (their tags: audit, canary, configuration, metrics, rds, replication, restore, s3); nothing would run",
      edit={"targets:\n": "tags: nosuchtag\ntargets:\n"}, commands=("validate", "run"))
command("run-m-nosuchtag", "tags", ("run", "{drill}", "-m", "nosuchtag"), "option -m: the tag expression 'nosuchtag' selects none of the drill's 5 scenarios (their tags: audit, canary, configuration, metrics, rds, replication, restore, s3); nothing would run")
command("run-m-kind-without-targets", "tags", ("run", "{drill}", "-m", "rds and s3"), "option -m: the tag expression 'rds and s3' selects none of the drill's 5 scenarios (their tags: audit, canary, configuration, metrics, rds, replication, restore, s3); nothing would run")

# --- command-line options --------------------------------------------------------------------------

for id, value in [("zero", "0"), ("negative", "-5"), ("nan", "nan"), ("inf", "inf")]:
    command(f"time-scale-{id}", "options", ("run", "--sandbox", "--time-scale", value, "{drill}"), f"option --time-scale: {float(value)!r} is not a speed-up; give a positive number, e.g. 120")
    command(f"serve-time-scale-{id}", "options", ("sandbox", "serve", "--time-scale", value), f"option --time-scale: {float(value)!r} is not a speed-up; give a positive number, e.g. 120")
command("time-scale-huge", "options", ("run", "--sandbox", "--time-scale", "1e12", "{drill}"), "option --time-scale: 1e+12 is too fast for the lab's processes to keep up; at most 100000")
command("time-scale-without-sandbox", "options", ("run", "{drill}", "--time-scale", "10"), "option --time-scale: only the sandbox's world clock can run faster; add --sandbox, or drop it")
command("fault-without-sandbox", "options", ("run", "{drill}", "--fault", "slow-restore"), "option --fault: needs --sandbox: faults are injected into the lab")
command("unknown-fault", "options", ("run", "--sandbox", "{drill}", "--fault", "no-such-fault"), "option --fault: unknown fault(s) no-such-fault; valid faults: ...")
command("junit-a-directory", "options", ("run", "{drill}", "--junit-xml", "{tmp}"), "option --junit-xml: {tmp} is a directory; name a file")
command("junit-under-a-file", "options", ("run", "{drill}", "--junit-xml", "{drill}/out.xml"), "option --junit-xml: {drill}/out.xml: {drill} is a file, so nothing can be made under it")
command("junit-empty", "options", ("run", "{drill}", "--junit-xml", ""), "option --junit-xml: '.' names no file")
command("cucumber-a-directory", "options", ("run", "{drill}", "--cucumber-json", "{tmp}"), "option --cucumber-json: {tmp} is a directory; name a file")
command("journal-dir-a-file", "options", ("run", "{drill}", "--journal-dir", "{drill}"), "option --journal-dir: {drill} is a file, not a directory")
command("journal-dir-under-a-file", "options", ("run", "{drill}", "--journal-dir", "{drill}/runs"), "option --journal-dir: {drill}/runs: {drill} is a file, so nothing can be made under it")
command("report-junit-a-directory", "options", ("report", "{journal}", "--junit-xml", "{tmp}"), "option --junit-xml: {tmp} is a directory; name a file",
        {"run.jsonl": (REPO / "tests" / "inputs" / "sample_journal.jsonl").read_text()})
command("report-cucumber-a-directory", "options", ("report", "{journal}", "--cucumber-json", "{tmp}"), "option --cucumber-json: {tmp} is a directory; name a file",
        {"run.jsonl": (REPO / "tests" / "inputs" / "sample_journal.jsonl").read_text()})
command("no-drill-no-sandbox", "options", ("run",), "drtool run: give a drill file, or --sandbox to run the bundled sandbox drill")
command("options-and-drill-together", "options", ("run", "{drill}", "--time-scale", "10"), "{drill}:17: targets.orders-db.objectives.rto: must be longer than zero",
        {"drill.yaml": BASE.replace("rto: 30m", "rto: 0s")})
for id, value in [("shell", "x; rm -rf /"), ("upper-case", "ABCDEF12"), ("too-long", "a" * 40), ("empty", ""), ("path", "../etc")]:
    command(f"cleanup-run-id-{id}", "options", ("cleanup", "--region", "eu-west-1", "--run-id", value),
            f"option --run-id: {value[:40]!r} is not a drill run id (lowercase letters and digits, like 3f9a2c1b)")
for id, value in [("overflow", "99999999999d"), ("words", "yesterday"), ("negative", "-1d")]:
    command(f"cleanup-older-than-{id}", "options", ("cleanup", "--region", "eu-west-1", "--older-than", value),
            "option --older-than: " + ("'99999999999d' is far too long a duration" if id == "overflow" else f"{value!r} is not a duration; write it like 30m, 1h30m, 24h or 90s"))
command("cleanup-unknown-region", "options", ("cleanup", "--region", "mars-north-1"), "option --region: unknown AWS region 'mars-north-1'")
command("cleanup-journal-dir-a-file", "options", ("cleanup", "--region", "eu-west-1", "--journal-dir", "{drill}"), "option --journal-dir: {drill} is a file, not a directory")
command("cleanup-bad-drill", "options", ("cleanup", "{drill}"), "{drill}:3: dr_region must differ from primary_region (both are eu-west-1)",
        {"drill.yaml": BASE.replace("dr_region: eu-central-1", "dr_region: eu-west-1")})
for id, value in [("words", "not-an-account"), ("eleven-digits", "12345678901"), ("arn", "arn:aws:iam::123456789012:root"), ("empty", "")]:
    command(f"account-id-{id}", "options", ("permissions", "{drill}", "--account-id", value), f"option --account-id: {value!r} is not an AWS account id (12 digits, or * for any account)")
for id, value in [("negative", "-1"), ("too-big", "70000"), ("huge", "99999999999")]:
    command(f"serve-port-{id}", "options", ("sandbox", "serve", "--port", value), f"option --port: {value} is not a TCP port (0 to 65535; 0 picks a free one)")
command("serve-port-busy", "options", ("sandbox", "serve", "--port", "{busy_port}"), "option --port: cannot listen on 127.0.0.1:{busy_port}: Address already in use")
command("serve-unknown-fault", "options", ("sandbox", "serve", "--fault", "nope"), "option --fault: unknown fault(s) nope; valid faults: ...")

# --- outputs: never over an input, nor over each other (compared resolved) -----------------------------

SAMPLE_JOURNAL = (REPO / "tests" / "inputs" / "sample_journal.jsonl").read_text()
OVERWRITE = "an output may not overwrite an input"
command("junit-is-the-drill-file", "outputs", ("run", "{drill}", "--junit-xml", "{drill}"),
        f"option --junit-xml: is the drill file {{drill}}; {OVERWRITE}")
command("junit-is-the-drill-file-by-dotdot", "outputs", ("run", "{drill}", "--junit-xml", "{tmp}/sub/../drill.yaml"),
        f"option --junit-xml: is the drill file {{drill}}; {OVERWRITE}", {"sub/.keep": ""})
command("junit-is-a-bundled-feature", "outputs", ("run", "{drill}", "--junit-xml", str(REPO / "features" / "rds_restore.feature")),
        f"option --junit-xml: is the bundled feature {REPO / 'features' / 'rds_restore.feature'}; {OVERWRITE}")
command("cucumber-is-a-feature", "outputs", ("run", "{drill}", "--cucumber-json", "{feature}"),
        f"option --cucumber-json: is the feature {{feature}}; {OVERWRITE}",
        {"drill.yaml": BASE.replace("  - rds_restore.feature\n", "  - one.feature\n"), "one.feature": FEATURE})
command("junit-is-a-step-module", "outputs", ("run", "{drill}", "--junit-xml", str(REPO / "drtool" / "drill" / "target_steps.py")),
        f"option --junit-xml: is the file of step module drtool.drill.target_steps ({REPO / 'drtool' / 'drill' / 'target_steps.py'}); {OVERWRITE}")
command("cucumber-same-as-junit", "outputs", ("run", "{drill}", "--junit-xml", "{tmp}/out.xml", "--cucumber-json", "{tmp}/x/../out.xml"),
        "option --cucumber-json: is the same file as --junit-xml")
command("report-dir-over-junit", "outputs", ("run", "{drill}", "--junit-xml", "{tmp}/rep/junit.xml", "--report-dir", "{tmp}/rep"),
        "option --report-dir: would write its junit.xml over --junit-xml ({tmp}/rep/junit.xml)")
command("junit-is-the-evidence-manifest", "outputs", ("run", "{drill}", "--junit-xml", "{tmp}/ev/manifest.json", "--evidence", "{tmp}/ev"),
        "option --evidence: would write its manifest.json over --junit-xml ({tmp}/ev/manifest.json)")
command("evidence-copy-over-the-drill-file", "outputs", ("run", "{drill}", "--junit-xml", "{tmp}/../out/drill.yaml", "--evidence", "{tmp}"),
        f"option --evidence: would write its drill.yaml over the drill file {{drill}}; {OVERWRITE}")
command("report-junit-is-the-journal", "outputs", ("report", "{journal}", "--junit-xml", "{journal}"),
        f"option --junit-xml: is the journal {{journal}}; {OVERWRITE}", {"run.jsonl": SAMPLE_JOURNAL})
command("report-cucumber-same-as-junit", "outputs", ("report", "{journal}", "--junit-xml", "{tmp}/a.xml", "--cucumber-json", "{tmp}/a.xml"),
        "option --cucumber-json: is the same file as --junit-xml", {"run.jsonl": SAMPLE_JOURNAL})
command("evidence-report-is-the-manifest", "outputs", ("evidence", "{journal}", "{tmp}/ev", "--reports", "{tmp}/ev/manifest.json"),
        f"option DIR: would write its manifest.json over the report {{tmp}}/ev/manifest.json; {OVERWRITE}",
        {"run.jsonl": SAMPLE_JOURNAL, "ev/manifest.json": "{}"})

# --- history and evidence: never in production data the drill reads, nor under drtool-canary/ -----------

HISTORY = "history:\n  s3: s3://{bucket}/{prefix}\n"
EVIDENCE = "evidence:\n  bucket: {bucket}\n  prefix: '{prefix}'\n  kms_key: alias/dr-evidence\n"
AUDITED_PREFIX = "    objectives:\n      max_lag: 5m"
READS = "is in what target 'orders-data' reads as production data"
for id, block, where in [
        ("history-in-the-source-bucket", HISTORY.format(bucket="orders-data-eu-west-1", prefix="dr/"), "the history (s3://orders-data-eu-west-1/dr/corpus/)"),
        ("history-in-the-replica-bucket", HISTORY.format(bucket="orders-data-dr-eu-central-1", prefix=""), "the history (s3://orders-data-dr-eu-central-1/corpus/)"),
        ("evidence-in-the-source-bucket", EVIDENCE.format(bucket="orders-data-eu-west-1", prefix=""), "the evidence (s3://orders-data-eu-west-1/drtool-evidence/)"),
        ("evidence-in-the-replica-bucket", EVIDENCE.format(bucket="orders-data-dr-eu-central-1", prefix="audits/"), "the evidence (s3://orders-data-dr-eu-central-1/audits/drtool-evidence/)")]:
    side = "source" if "source" in id else "replica"
    drill(id, "stores", f"{{drill}}:28: {where} {READS} (its {side} bucket, audited whole); give a bucket or prefix the drill does not read",
          text=BASE + block, commands=("validate", "run"))
drill("history-under-the-audited-prefix", "stores",
      f"{{drill}}:30: the history (s3://orders-data-eu-west-1/exports/dr/corpus/) {READS} (its source bucket, under 'exports/' (audit.prefix)); give a bucket or prefix the drill does not read",
      text=BASE.replace(AUDITED_PREFIX, "    audit:\n      prefix: exports/\n" + AUDITED_PREFIX) + HISTORY.format(bucket="orders-data-eu-west-1", prefix="exports/dr/"),
      commands=("validate", "run"))
drill("evidence-above-the-audited-prefix", "stores",
      f"{{drill}}:30: the evidence (s3://orders-data-eu-west-1/drtool-evidence/) {READS} (its source bucket, under 'drtool-evidence/corpus/' (audit.prefix)); give a bucket or prefix the drill does not read",
      text=BASE.replace(AUDITED_PREFIX, "    audit:\n      prefix: drtool-evidence/corpus/\n" + AUDITED_PREFIX) + EVIDENCE.format(bucket="orders-data-eu-west-1", prefix=""),
      commands=("validate", "run"))
drill("history-under-drtool-canary", "stores",
      "{drill}:28: the history (s3://dr-audit/drtool-canary/corpus/) is under drtool-canary/, where drills and drtool cleanup delete; give another prefix",
      text=BASE + HISTORY.format(bucket="dr-audit", prefix="drtool-canary/"), commands=("validate", "run"))
drill("evidence-under-drtool-canary", "stores",
      "{drill}:28: the evidence (s3://dr-audit/drtool-canary/x/drtool-evidence/) is under drtool-canary/, where drills and drtool cleanup delete; give another prefix",
      text=BASE + EVIDENCE.format(bucket="dr-audit", prefix="drtool-canary/x/"), commands=("validate", "run"))

# --- publish: where the results go after the run -------------------------------------------------------

def publish(id: str, block: str, expect: str) -> None:
    drill(id, "publish", expect, edit={"targets:\n": block + "targets:\n"})


publish("namespace-of-aws", "publish:\n  cloudwatch:\n    namespace: AWS/Mine\n", "{drill}:10: publish.cloudwatch.namespace: 'AWS/Mine': namespaces starting with AWS/ are AWS's own; choose another, e.g. drtool")
publish("namespace-characters", "publish:\n  cloudwatch:\n    namespace: 'drtool$metrics'\n", "{drill}:10: publish.cloudwatch.namespace: 'drtool$metrics' is not a CloudWatch namespace: 1 to 255 of A-Z a-z 0-9 . - _ / # : and space, not starting with ':'")
publish("misspelt-key", "publish:\n  cloudwatch:\n    namespce: drtool\n", "{drill}:10: unknown key 'publish.cloudwatch.namespce'")
publish("pushgateway-not-http", "publish:\n  pushgateway:\n    url: ftp://gateway:9091\n", "{drill}:10: publish.pushgateway.url: 'ftp://gateway:9091' is not a Pushgateway URL: give http(s)://HOST[:PORT][/PATH]")
publish("pushgateway-port", "publish:\n  pushgateway:\n    url: http://gateway:99999\n", "{drill}:10: publish.pushgateway.url: 'http://gateway:99999': the port is not a number from 1 to 65535")
publish("topic-of-another-service", "publish:\n  sns:\n    topic_arn: arn:aws:sqs:eu-west-1:123456789012:drills\n", "{drill}:10: publish.sns.topic_arn: 'arn:aws:sqs:eu-west-1:123456789012:drills' is not an SNS topic ARN (arn:aws:sns:REGION:123456789012:TOPIC)")
publish("topic-region", "publish:\n  sns:\n    topic_arn: arn:aws:sns:eu-middle-9:123456789012:drills\n", "{drill}:10: publish.sns.topic_arn: 'arn:aws:sns:eu-middle-9:123456789012:drills' names an unknown AWS region 'eu-middle-9'")
publish("sns-when", "publish:\n  sns:\n    topic_arn: arn:aws:sns:eu-west-1:123456789012:drills\n    when: sometimes\n", "{drill}:11: publish.sns.when: Input should be 'failure' or 'always'")
publish("sns-on", "publish:\n  sns:\n    topic_arn: arn:aws:sns:eu-west-1:123456789012:drills\n    on: failure\n", "{drill}:11: the key 'on' reads as a boolean, not a name; quote it if you mean it")
command("run-pushgateway", "publish", ("run", "{drill}", "--pushgateway", "gateway:9091"), "option --pushgateway: 'gateway:9091' is not a Pushgateway URL: give http(s)://HOST[:PORT][/PATH]")
command("run-sns-topic", "publish", ("run", "{drill}", "--sns-topic", "drills"), "option --sns-topic: 'drills' is not an SNS topic ARN (arn:aws:sns:REGION:123456789012:TOPIC)")
command("run-namespace", "publish", ("run", "{drill}", "--cloudwatch-namespace", "AWS/X"), "option --cloudwatch-namespace: 'AWS/X': namespaces starting with AWS/ are AWS's own; choose another, e.g. drtool")

# --- journals given to `drtool report` --------------------------------------------------------------

SAMPLE = (REPO / "tests" / "inputs" / "sample_journal.jsonl").read_text()
SAMPLE_LINES = SAMPLE.splitlines(keepends=True)


def journal(id: str, content: str | bytes, expect: str) -> None:
    command(id, "journal", ("report", "{journal}"), expect, {"run.jsonl": content})


journal("random-bytes", bytes(range(256)) * 4, "{journal}: not a drtool run journal (its first record must be run-started)")
journal("empty", "", "{journal}: not a drtool run journal (its first record must be run-started)")
journal("json-list", "[1, 2, 3]\n", "{journal}:1: a JSON list, not a journal record (an object)")
journal("other-event-first", '{"event": "something-else", "at": "2026-01-01T00:00:00+00:00"}\n', "{journal}: not a drtool run journal (its first record must be run-started)")
journal("no-timestamp", SAMPLE_LINES[0].replace('"at": ', '"at_": '), "{journal}:1: the run-started record has no timestamp ('at')")
journal("bad-timestamp", SAMPLE_LINES[0].replace('"at": "2026', '"at": "yesterday 2026'), "{journal}:1: the run-started record's timestamp 'yesterday 2026-11-28T04:35:51.159742+00:' is not an ISO 8601 time")
journal("missing-fields", '{"seq": 1, "event": "run-started", "run_id": "x", "at": "2026-01-01T00:00:00+00:00", "mono": 1}\n',
        "{journal}:1: journal record 1 (run-started): RunStarted.__init__() missing 2 required keyword-only arguments: 'drill' and 'drill_file'")
journal("garbage-line-in-the-middle", "".join(SAMPLE_LINES[:5]) + "}}} not json\n" + "".join(SAMPLE_LINES[5:]), "{journal}:6: not a JSON record: JSONDecodeError")
journal("binary-line-in-the-middle", "".join(SAMPLE_LINES[:5]).encode() + b"\xff\xfe\n" + "".join(SAMPLE_LINES[5:]).encode(), "{journal}:6: not a JSON record: UnicodeDecodeError")
journal("record-a-number", "".join(SAMPLE_LINES[:5]) + "42\n" + "".join(SAMPLE_LINES[5:]), "{journal}:6: a JSON int, not a journal record (an object)")
journal("wrong-field-type", SAMPLE_LINES[0] + SAMPLE_LINES[1].replace('"test": "sandbox.yaml', '"test": {"no": "sandbox.yaml').replace('[orders-data]",', '[orders-data]"},', 1) + "".join(SAMPLE_LINES[2:]),
        "{journal}:2: the test-started record does not add up: TypeError: unhashable type: 'dict'")
journal("seq-a-string", "".join(SAMPLE_LINES[:3]) + SAMPLE_LINES[3].replace('"seq": 4', '"seq": "four"') + "".join(SAMPLE_LINES[4:]), "{journal}:4: the record's 'seq' is not a number")
command("report-a-directory", "journal", ("report", "{tmp}"), "{tmp}: is not a regular file, so not a run journal")
command("report-missing", "journal", ("report", "{tmp}/none.jsonl"), "{tmp}/none.jsonl: cannot read the journal: No such file or directory")

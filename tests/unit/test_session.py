"""The session factory honours the standard AWS configuration and a drill's role."""

from __future__ import annotations

import pytest

from drtool.core.model import AwsAccess
from drtool.core.session import SessionFactory


def test_per_service_endpoint_variables_are_honoured(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:4599")
    factory = SessionFactory()
    assert factory.client("rds", "eu-west-1").meta.endpoint_url == "http://127.0.0.1:4599"
    assert factory.client("kms", "eu-west-1").meta.endpoint_url == "http://127.0.0.1:4566"


def test_clients_retry_throttling_and_are_cached(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    factory = SessionFactory()
    client = factory.client("rds", "eu-central-1")
    assert client is factory.client("rds", "eu-central-1")
    assert client.meta.config.retries["mode"] == "adaptive" and client.meta.config.retries["total_max_attempts"] == 10


def test_retry_settings_from_the_environment_win(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    retries = SessionFactory().client("rds", "eu-west-1").meta.config.retries
    assert retries == {"total_max_attempts": 3, "mode": "standard"}


def test_hooks_cannot_be_added_after_clients_exist(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    factory = SessionFactory()
    factory.client("sts", "eu-west-1")
    with pytest.raises(RuntimeError):
        factory.add_client_hook(lambda client, service, region: None)


def test_the_drill_role_is_assumed(lab, monkeypatch):
    for name, value in lab.environment().items():
        monkeypatch.setenv(name, value)
    role = "arn:aws:iam::123456789012:role/drtool-drill"
    factory = SessionFactory(AwsAccess(role_arn=role, session_name="monthly-drill"))
    identity = factory.client("sts", "eu-west-1").get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/drtool-drill/monthly-drill"


def test_a_role_shares_the_hooks_so_none_can_be_added_after_it_is_made(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    factory = SessionFactory()
    role = factory.as_role("arn:aws:iam::123456789012:role/dr-app", session_name="dr-app-check")
    assert role.access.session_name == "dr-app-check" and role is not factory.as_role("arn:aws:iam::123456789012:role/dr-app")
    with pytest.raises(RuntimeError):
        factory.add_client_hook(lambda client, service, region: None)


def test_timestamps_read_without_dateutil_equal_botocores():
    import botocore.parsers

    from drtool.core.session import parse_timestamp

    for text in ("2026-11-28T02:50:05.000Z", "2026-11-28T02:50:05Z", "2026-11-28T02:50:05+01:00", "Sat, 28 Nov 2026 02:50:05 GMT", "1764298205"):
        assert parse_timestamp(text) == botocore.parsers.DEFAULT_TIMESTAMP_PARSER(text), text
        assert parse_timestamp(text).tzinfo is not None

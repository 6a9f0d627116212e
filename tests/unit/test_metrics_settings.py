"""METRICS_TOKEN and METRICS_ALLOW parsing, and the system log window's filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lifeboat.api.domain.metrics.settings import MetricsSettings
from lifeboat.api.domain.syslogs.window import LogQuery, LogWindow
from lifeboat.core.errors import ConfigurationError
from lifeboat.core.logs import forget_secret, scrub
from lifeboat.wire.messages import ShippedLogLine


def test_protected_by_default() -> None:
    settings = MetricsSettings.from_env({})
    assert settings.token is None and settings.allow == ()
    assert not settings.allows_address("127.0.0.1")


def test_allow_list_matches_networks_and_single_addresses() -> None:
    settings = MetricsSettings.from_env({"METRICS_ALLOW": " 10.0.0.0/8, 192.168.1.7 ,::1"})
    assert settings.allow == ("10.0.0.0/8", "192.168.1.7/32", "::1/128")
    assert settings.allows_address("10.20.30.40")
    assert settings.allows_address("192.168.1.7")
    assert settings.allows_address("::1")
    assert not settings.allows_address("192.168.1.8")
    assert not settings.allows_address("not-an-address")
    assert not settings.allows_address(None)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="METRICS_ALLOW"):
        MetricsSettings.from_env({"METRICS_ALLOW": "10.0.0.0/33"})
    with pytest.raises(ConfigurationError, match="at least 16"):
        MetricsSettings.from_env({"METRICS_TOKEN": "short"})


def test_the_token_is_a_registered_secret() -> None:
    token = "metrics-token-abcdef-123456"
    assert MetricsSettings.from_env({"METRICS_TOKEN": token}).token == token
    try:
        assert scrub(f"Authorization: Bearer {token}") == "Authorization: Bearer ***"
    finally:
        forget_secret(token)


def _line(service: str, level: str, message: str) -> ShippedLogLine:
    return ShippedLogLine(
        time=datetime.now(UTC),
        level=level,
        service=service,
        instance="i",
        logger="x",
        message=message,
    )


def test_window_is_bounded_and_filters_newest_first() -> None:
    window = LogWindow(capacity=4)
    for index, (service, level) in enumerate(
        [
            ("api", "info"),
            ("executor", "warning"),
            ("scheduler", "error"),
            ("api", "debug"),
            ("executor", "critical"),
        ]
    ):
        window.add(_line(service, level, f"Line {index}"))
    everything = window.query(LogQuery())
    assert [w.seq for w in everything] == [5, 4, 3, 2]  # the first line fell out
    assert [w.line.message for w in window.query(LogQuery(level="error"))] == ["Line 4", "Line 2"]
    assert [w.seq for w in window.query(LogQuery(service="executor"))] == [5, 2]
    assert [w.seq for w in window.query(LogQuery(text="line 3"))] == [4]
    assert [w.seq for w in window.query(LogQuery(after=3))] == [5, 4]
    assert [w.seq for w in window.query(LogQuery(limit=1))] == [5]
    window.add_raw(b"not json")  # ignored, not raised
    assert len(window.query(LogQuery(limit=100))) == 4

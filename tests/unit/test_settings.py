from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import LogFormat, Settings, get_settings


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/2")
    monkeypatch.setenv("ALLOWED_PRIVATE_HOSTS", "127.0.0.1, 10.0.0.0/8")
    monkeypatch.setenv("LOG_FORMAT", "console")
    monkeypatch.setenv("ELASTICSEARCH_PASSWORD", "s3cret")
    s = get_settings()
    assert s.redis_url == "redis://cache.internal:6380/2"
    assert s.allowed_private_hosts == ["127.0.0.1", "10.0.0.0/8"]
    assert s.log_format is LogFormat.CONSOLE
    assert "s3cret" not in repr(s)  # secrets never print


@pytest.mark.parametrize(
    "bad", [{"index_prefix": "Headlines"}, {"index_prefix": "a b"}, {"bulk_max_docs": "many"}]
)
def test_bad_values_fail_at_start_up(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)

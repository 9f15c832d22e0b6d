"""Session fixtures: the real Redis and Elasticsearch that `make test` started, and isolation.

`make test` (deploy/local/test-servers.sh) exports NEWSFLOW_TEST_REDIS_URL and
NEWSFLOW_TEST_ELASTICSEARCH_URL. Each test gets its own Redis key prefix and index prefix
and removes them afterwards, so tests pass in any order and never share data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.settings import Settings, get_settings

_KEEP_ENV = {"NEWSFLOW_TEST_REDIS_URL", "NEWSFLOW_TEST_ELASTICSEARCH_URL"}
_SETTINGS_ENV = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's settings, and the settings cache starts empty."""
    for name in list(os.environ):
        if name.upper() in _SETTINGS_ENV and name not in _KEEP_ENV:
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`, which starts the servers")
    return value


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _require_env("NEWSFLOW_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def elasticsearch_url() -> str:
    return _require_env("NEWSFLOW_TEST_ELASTICSEARCH_URL")


@pytest.fixture
def unique_name() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_settings(redis_url: str, unique_name: str) -> Any:
    """Build Settings aimed at the test servers under this test's own prefixes."""

    def _make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "elasticsearch_url": os.environ.get("NEWSFLOW_TEST_ELASTICSEARCH_URL", ""),
            "redis_prefix": unique_name,
            "index_prefix": f"{unique_name}-headlines",
            "allowed_private_hosts": ["127.0.0.1", "localhost"],
            # Services refuse a public crawl without a contact (shared/preflight.py); tests fetch
            # only loopback, but some start workers with the default (public) sources file.
            "contact_url": "mailto:tests@newsflow.test",
            "log_format": "console",
        }
        values.update(overrides)
        return Settings(**values)

    return _make


@pytest.fixture
def redis_client(make_settings: Any) -> Iterator[Any]:
    """A client on the test Redis; every key under this test's prefix is deleted afterwards."""
    from shared.clients import make_redis

    settings = make_settings()
    client = make_redis(settings)
    yield client
    for key in client.scan_iter(f"{settings.redis_prefix}:*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def es_client(make_settings: Any, elasticsearch_url: str) -> Iterator[Any]:
    """A client on the test Elasticsearch; this test's indices and templates go afterwards."""
    from shared.clients import make_elasticsearch

    settings = make_settings()
    client = make_elasticsearch(settings)
    yield client
    prefix = settings.index_prefix
    client.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
    client.options(ignore_status=404).cluster.delete_component_template(name=f"{prefix}*")
    client.close()


@pytest.fixture(scope="session")
def fixture_site() -> Iterator[Any]:
    """The fixture news site on 127.0.0.1 (tests/fixture_site.py), shared by the session."""
    from tests.fixture_site import serve_site

    with serve_site() as site:
        yield site

"""Freshness stamps end to end: a document carries when its URL was discovered, fetched and
indexed, and the indexer stores the pipeline lag between discovery and indexing.

Real worker and indexer processes on the fixture site, real Redis and Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.document import document_id
from shared.messages import ProcessUrl, TaskName
from shared.settings import Settings
from tests.service_processes import pipeline_processes
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

ARTICLE_PATH = "/news/2025/10/15/syria-president-moscow-visit.html"


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(host_rate_per_second=20.0, bulk_flush_seconds=0.3, log_format="json")


@pytest.fixture
def services(settings: Settings, es_client: Any, redis_client: Any) -> Iterator[None]:
    with pipeline_processes(settings, crawler=False):
        yield


def _stored(es: Any, settings: Settings, doc_id: str) -> dict[str, Any] | None:
    es.indices.refresh(index=f"{settings.index_prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    hits = (
        es.options(ignore_status=404)
        .search(index=settings.index_prefix, query={"ids": {"values": [doc_id]}})
        .get("hits", {})
        .get("hits", [])
    )
    return hits[0]["_source"] if hits else None


def test_document_carries_discovery_fetch_and_index_times_and_the_pipeline_lag(
    services: None, settings: Settings, es_client: Any, fixture_site: Any
) -> None:
    url = fixture_site.url(ARTICLE_PATH)
    # discovered a while ago (e.g. the URL waited in the queue): the lag must include the wait
    discovered = datetime.now(UTC) - timedelta(seconds=30)
    message = ProcessUrl(url=url, source_id="fixture", discovered_at=discovered)
    create_app("test-sender", settings).send_task(
        TaskName.PROCESS_URL, kwargs=message.model_dump(mode="json")
    )

    doc_id = document_id(url)
    wait_for(lambda: _stored(es_client, settings, doc_id) is not None, timeout=60, what="the document")
    stored = _stored(es_client, settings, doc_id)
    assert stored is not None
    discovered_at = datetime.fromisoformat(stored["discovered_at"])
    fetched_at = datetime.fromisoformat(stored["fetched_at"])
    indexed_at = datetime.fromisoformat(stored["indexed_at"])
    assert discovered_at == discovered
    assert discovered_at < fetched_at <= indexed_at
    expected_lag = (indexed_at - discovered_at).total_seconds()
    assert stored["pipeline_lag_seconds"] == pytest.approx(expected_lag, abs=0.01)
    assert stored["pipeline_lag_seconds"] >= 30

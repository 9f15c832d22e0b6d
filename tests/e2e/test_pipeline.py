"""The whole pipeline end to end: real Celery services, real Redis and Elasticsearch, and the
fixture news site on 127.0.0.1. A source is named by its home page only; the crawler must
discover the feed and sitemaps, and every article must come out searchable exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shared.keys import Keys
from shared.outcomes import read_counters
from shared.queues import queue_depths
from shared.search import SearchRequest, search
from shared.settings import Settings
from tests.integration.crawler_support import write_sources
from tests.service_processes import pipeline_processes
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(make_settings: Any, tmp_path: Path, fixture_site: Any) -> Settings:
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "fixture", "name": "Fixture Times", "home_url": fixture_site.url("/")}],
    )
    return make_settings(
        sources_file=sources,
        poll_tick_seconds=1.0,
        host_rate_per_second=20.0,
        fetch_read_timeout=2.0,
        fetch_total_timeout=5.0,
        bulk_flush_seconds=0.5,
        log_format="json",
    )


@pytest.fixture
def pipeline(settings: Settings, es_client: Any, redis_client: Any) -> Iterator[None]:
    with pipeline_processes(settings):
        yield


def _indexed(es: Any, settings: Settings) -> list[dict[str, Any]]:
    es.indices.refresh(index=f"{settings.index_prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    result = es.options(ignore_status=404).search(
        index=settings.index_prefix, size=100, query={"match_all": {}}
    )
    return [h["_source"] for h in result.get("hits", {}).get("hits", [])]


def test_fixture_site_becomes_searchable_exactly_once(
    pipeline: None, settings: Settings, es_client: Any, redis_client: Any, fixture_site: Any
) -> None:
    expected = {a.canonical_url: a for a in fixture_site.articles}
    wait_for(
        lambda: {d["canonical_url"] for d in _indexed(es_client, settings)} >= set(expected),
        timeout=120,
        interval=1,
        what=f"all {len(expected)} fixture articles indexed",
    )
    # Drained: nothing left in any queue, and nothing more arrives afterwards.
    wait_for(
        lambda: not any(queue_depths(redis_client, Keys(settings.redis_prefix)).values()),
        timeout=60,
        what="empty queues",
    )
    docs = _indexed(es_client, settings)

    by_url: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_url.setdefault(doc["canonical_url"], []).append(doc)
    for url, article in expected.items():
        copies = by_url.get(url, [])
        assert len(copies) == 1, f"{url} indexed {len(copies)} times"
        doc = copies[0]
        assert doc["title"] == article.title
        assert datetime.fromisoformat(doc["published_at"]) == datetime.fromisoformat(article.published_at)
        assert doc["published_at_source"] == "page"
        assert doc["url"] == url
        assert doc["source"] == "fixture"
        # Every indexed article has a language from its text (ISO 639-1) and a topic.
        assert isinstance(doc["language"], str) and len(doc["language"]) == 2, doc["language"]
        assert doc["topics"] and doc["tagger"] == "newsflow-static-e5"
    # Front and section pages are listings, not articles.
    listing_urls = {
        fixture_site.url(p) for p in ("/", "/news/", "/politics/", "/economy/", "/world/", "/society/")
    }
    assert not listing_urls & {d["url"] for d in docs}
    assert len(docs) == len(expected), sorted(set(by_url) - set(expected))

    seed = next(a for a in fixture_site.articles if "al-Sharaa" in a.title)
    _, hits = search(es_client, settings.index_prefix, SearchRequest(text="Novak oil fields"))
    assert hits and hits[0].url == seed.canonical_url
    seed_doc = by_url[seed.canonical_url][0]
    assert {"SY", "RU"} <= set(seed_doc["places"])
    assert seed_doc["topics"], "the seed article gets at least one topic"

    counters = read_counters(redis_client, Keys(settings.redis_prefix))
    assert counters.get("index:created") == len(expected)
    assert counters.get("extract:extracted") == len(expected)

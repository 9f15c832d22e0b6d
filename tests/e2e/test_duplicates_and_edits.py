"""Worker and indexer as real Celery processes on the fixture site: a syndicated copy is
recorded but points to its original, and an edited article replaces its stored copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.document import document_id
from shared.keys import Keys
from shared.messages import ProcessUrl, TaskName
from shared.outcomes import read_counters
from shared.search import SearchRequest, search
from shared.settings import Settings
from tests.service_processes import pipeline_processes
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "site" / "main"
SEED_PATH = "/news/2025/10/15/syria-president-moscow-visit.html"


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(host_rate_per_second=20.0, bulk_flush_seconds=0.3, log_format="json")


@pytest.fixture
def services(settings: Settings, es_client: Any, redis_client: Any) -> Iterator[None]:
    with pipeline_processes(settings, crawler=False):
        yield


def _process(settings: Settings, url: str) -> None:
    message = ProcessUrl(url=url, source_id="fixture", discovered_at=datetime.now(UTC))
    create_app("test-sender", settings).send_task(
        TaskName.PROCESS_URL, kwargs=message.model_dump(mode="json")
    )


def _docs(es: Any, settings: Settings) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=f"{settings.index_prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    hits = (
        es.options(ignore_status=404)
        .search(index=settings.index_prefix, size=50)
        .get("hits", {})
        .get("hits", [])
    )
    return {h["_id"]: h["_source"] for h in hits}


def _seed_html(base: str) -> str:
    return (SITE / SEED_PATH.lstrip("/")).read_text("utf-8").replace("{{BASE}}", base)


def test_syndicated_copy_points_to_original_and_collapses(
    services: None, settings: Settings, es_client: Any, redis_client: Any, fixture_site: Any
) -> None:
    seed_url = fixture_site.url(SEED_PATH)
    copy_path = "/en/news/wire-syria-leader-kremlin-talks-48800"
    copy_url = fixture_site.url(copy_path)
    # A wire copy: another URL, its own canonical, a dateline added and a sign-off line.
    html = _seed_html(fixture_site.base_url).replace(seed_url, copy_url)
    html = html.replace("<p>Syrian President", "<p>MOSCOW (Wire) — Syrian President", 1)
    html = html.replace("</article>", "<p>Distributed by the Central Asia Wire service.</p></article>", 1)

    _process(settings, seed_url)
    wait_for(lambda: document_id(seed_url) in _docs(es_client, settings), timeout=60, what="the original")
    with fixture_site.override(copy_path, 200, html.encode(), {"Content-Type": "text/html; charset=utf-8"}):
        _process(settings, copy_url)
        docs = wait_for(
            lambda: (d := _docs(es_client, settings)) and document_id(copy_url) in d and d,
            timeout=60,
            what="the copy",
        )
    copy = docs[document_id(copy_url)]
    assert copy["duplicate_of"] == document_id(seed_url)
    assert docs[document_id(seed_url)]["duplicate_of"] is None

    collapsed = search(es_client, settings.index_prefix, SearchRequest(text="Novak oil fields"))[1]
    every_copy = search(
        es_client, settings.index_prefix, SearchRequest(text="Novak oil fields", collapse_duplicates=False)
    )[1]
    assert [h.url for h in collapsed] == [seed_url]
    assert sorted(h.url for h in every_copy) == sorted([seed_url, copy_url])


def test_edited_article_is_reindexed_with_next_version(
    services: None, settings: Settings, es_client: Any, redis_client: Any, fixture_site: Any
) -> None:
    seed_url = fixture_site.url(SEED_PATH)
    doc_id = document_id(seed_url)
    _process(settings, seed_url)
    wait_for(lambda: doc_id in _docs(es_client, settings), timeout=60, what="first version")

    correction = (
        "Correction: an earlier version of this story misstated the date of the next committee meeting."
    )
    edited = _seed_html(fixture_site.base_url).replace("</article>", f"<p>{correction}</p></article>", 1)
    with fixture_site.override(SEED_PATH, 200, edited.encode(), {"Content-Type": "text/html; charset=utf-8"}):
        _process(settings, seed_url)
        wait_for(
            lambda: read_counters(redis_client, Keys(settings.redis_prefix)).get("index:updated"),
            timeout=60,
            what="the update",
        )
    doc = _docs(es_client, settings)[doc_id]
    assert doc["version"] == 2
    assert correction in doc["text"]
    assert doc["changed_at"]
    assert doc["duplicate_of"] is None  # its own earlier text is not an 'original' of it
    assert len(_docs(es_client, settings)) == 1

"""Recrawl for edits, end to end: crawler (beat + worker), worker and indexer as real
processes on the fixture site. An article is indexed; the site then corrects it; with short
recrawl ages the crawler's own seen-set offers the URL again and version 2 reaches the index
with no manual step; unchanged articles' recrawls are conditional GETs answered 304."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.document import document_id
from shared.keys import Keys
from shared.outcomes import read_counters
from shared.settings import Settings
from tests.integration.crawler_support import write_sources
from tests.service_processes import pipeline_processes
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "site" / "main"
SEED_PATH = "/news/2025/10/15/syria-president-moscow-visit.html"
CORRECTION = "Correction: an earlier version of this story misstated the date of the committee meeting."


@pytest.fixture
def settings(make_settings: Any, tmp_path: Path, fixture_site: Any) -> Settings:
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "fixture", "home_url": fixture_site.url("/"), "feeds": ["/rss.xml"]}],
    )
    return make_settings(
        sources_file=sources,
        poll_tick_seconds=1.0,
        poll_min_seconds=3600.0,  # one poll round: only the recrawl can bring the edit
        host_rate_per_second=20.0,
        recrawl_ages_seconds=[8.0, 25.0],
        recrawl_max_age_days=0.0,  # the fixture articles are from 2025
        bulk_flush_seconds=0.3,
        log_format="json",
    )


@pytest.fixture
def pipeline(settings: Settings, es_client: Any, redis_client: Any) -> Iterator[None]:
    with pipeline_processes(settings):
        yield


def _doc(es: Any, settings: Settings, doc_id: str) -> dict[str, Any] | None:
    es.indices.refresh(index=f"{settings.index_prefix}-*", allow_no_indices=True, ignore_unavailable=True)
    hits = (
        es.options(ignore_status=404)
        .search(index=settings.index_prefix, size=1, query={"ids": {"values": [doc_id]}})
        .get("hits", {})
        .get("hits", [])
    )
    return hits[0]["_source"] if hits else None


def test_an_edited_article_reaches_the_index_as_version_two_through_the_crawler(
    pipeline: None, settings: Settings, es_client: Any, redis_client: Any, fixture_site: Any
) -> None:
    url = fixture_site.url(SEED_PATH)
    doc_id = document_id(url)
    first = wait_for(lambda: _doc(es_client, settings, doc_id), timeout=120, interval=0.5, what="version 1")
    assert first["version"] == 1
    html = (SITE / SEED_PATH.lstrip("/")).read_text("utf-8").replace("{{BASE}}", fixture_site.base_url)
    edited = html.replace("</article>", f"<p>{CORRECTION}</p></article>", 1)
    assert edited != html
    with fixture_site.override(SEED_PATH, 200, edited.encode(), {"Content-Type": "text/html; charset=utf-8"}):
        second = wait_for(
            lambda: (d := _doc(es_client, settings, doc_id)) and d["version"] >= 2 and d,
            timeout=120,
            interval=0.5,
            what="version 2 from a recrawl",
        )
    assert CORRECTION in second["text"]
    assert second["version"] == 2
    counters = read_counters(redis_client, Keys(settings.redis_prefix))
    assert counters.get("enqueue:recrawl", 0) >= 1  # offered again by the crawler, not by hand
    # The other articles' recrawls (due about when the seed's was) are conditional GETs
    # that the site answers with 304.
    paths = {a.path for a in fixture_site.articles}

    def answered_304() -> bool:
        entries = fixture_site.access_log.entries()
        return any(e.path in paths and "if-none-match" in e.headers and e.status == 304 for e in entries)

    assert wait_for(answered_304, timeout=60, interval=0.5, what="a recrawl answered 304")
    assert wait_for(
        lambda: read_counters(redis_client, Keys(settings.redis_prefix)).get("extract:unchanged:unchanged"),
        timeout=60,
        what="a recrawl found unchanged",
    )

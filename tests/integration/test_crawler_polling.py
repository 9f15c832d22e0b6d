"""Re-polls, backpressure and scheduling, in-process against real Redis and the fixture site."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.crawler.crawl import claim_due, due_sources, start_round
from services.crawler.schedule import PollBounds
from shared.keys import Keys
from shared.sources import Source
from tests.integration.crawler_support import InProcessCrawler, queued_urls

pytestmark = pytest.mark.integration


@pytest.fixture
def crawler(make_settings: Any, redis_client: Any) -> Iterator[InProcessCrawler]:
    c = InProcessCrawler(make_settings(host_rate_per_second=50.0, extract_queue_max=20), redis_client)
    yield c
    c.close()


def test_second_poll_of_unchanged_feed_is_conditional_and_enqueues_nothing(
    fixture_site: Any, crawler: InProcessCrawler, redis_client: Any
) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"), feeds=("/rss.xml",))
    feed = source.feeds[0]
    first = crawler.listing(source, feed, "feed")
    assert first.outcome == "enqueued" and len(first.new_urls) == 8
    second = crawler.listing(source, feed, "feed")
    assert second.outcome == "unchanged" and second.new_urls == []
    last = [e for e in fixture_site.access_log.entries() if e.path == "/rss.xml"][-1]
    assert last.status == 304 and "if-none-match" in last.headers
    assert "if-modified-since" in last.headers
    assert sorted(queued_urls(redis_client, crawler.keys)) == sorted(a.url for a in fixture_site.articles)


def test_unchanged_body_without_validators_is_caught_by_its_hash(
    fixture_site: Any, crawler: InProcessCrawler, redis_client: Any
) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"), feeds=("/rss.xml",))
    body = crawler.client.get(fixture_site.url("/rss.xml")).content  # no validators served
    with fixture_site.override("/rss.xml", 200, body, {"Content-Type": "application/rss+xml"}):
        assert len(crawler.listing(source, source.feeds[0], "feed").new_urls) == 8
        again = crawler.listing(source, source.feeds[0], "feed")
    assert again.outcome == "unchanged"
    assert len(queued_urls(redis_client, crawler.keys)) == 8


def test_backpressure_stops_enqueueing_and_loses_nothing(
    fixture_site: Any, crawler: InProcessCrawler, redis_client: Any
) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"), feeds=("/rss.xml",))
    queue = crawler.keys.extract_queue()
    redis_client.rpush(queue, *["{}"] * 21)  # deeper than extract_queue_max=20
    before = len(fixture_site.access_log)
    result = crawler.listing(source, source.feeds[0], "feed")
    assert result.outcome == "backpressure" and result.new_urls == []
    assert len(fixture_site.access_log) == before  # not even fetched
    redis_client.delete(queue)  # the worker drains the queue
    resumed = crawler.listing(source, source.feeds[0], "feed")
    assert len(resumed.new_urls) == 8
    assert sorted(queued_urls(redis_client, crawler.keys)) == sorted(a.url for a in fixture_site.articles)


def test_sitemap_index_children_still_fan_out_when_index_unchanged(
    fixture_site: Any, crawler: InProcessCrawler
) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"), sitemaps=("/sitemap.xml",))
    first = crawler.listing(source, source.sitemaps[0], "sitemap")
    second = crawler.listing(source, source.sitemaps[0], "sitemap")
    assert second.outcome == "unchanged"
    assert second.children == first.children and len(first.children) == 2


def test_adaptive_schedule_and_due_claims(redis_client: Any, unique_name: str) -> None:
    keys = Keys(unique_name)
    bounds = PollBounds(60.0, 3600.0)
    busy = Source(id="busy", home_url="https://wire.example/")
    quiet = Source(id="quiet", home_url="https://blog.example/")
    sources = {"busy": busy, "quiet": quiet}
    now = 1_000_000.0
    assert sorted(due_sources(redis_client, keys, sources, now)) == ["busy", "quiet"]
    assert claim_due(redis_client, keys, "busy", now, 60.0)
    assert not claim_due(redis_client, keys, "busy", now, 60.0)  # a second sender loses
    intervals = {"busy": [], "quiet": []}
    for _ in range(12):
        redis_client.hincrby(keys.source_state("busy"), "round_new", 10)
        intervals["busy"].append(start_round(redis_client, keys, busy, bounds, now))
        intervals["quiet"].append(start_round(redis_client, keys, quiet, bounds, now))
    assert intervals["busy"][-1] == 60.0 and intervals["quiet"][-1] == 3600.0
    assert intervals["quiet"] == sorted(intervals["quiet"])
    assert due_sources(redis_client, keys, sources, now + 61) == ["busy"]

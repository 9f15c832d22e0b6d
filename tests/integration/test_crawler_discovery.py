"""Discovery and section crawling against the fixture site, with a real crawler worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.keys import Keys
from shared.messages import Queue, TaskName
from tests.integration.crawler_support import (
    CRAWLER_APP,
    crawler_settings,
    queued_urls,
    wait_settled,
    write_sources,
)
from tests.service_processes import celery_worker, settings_env

pytestmark = pytest.mark.integration


def test_discovery_from_home_page_finds_feed_and_sitemap(
    fixture_site: Any, make_settings: Any, redis_client: Any, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "dala", "home_url": fixture_site.url("/")}])
    settings = crawler_settings(make_settings, sources)
    keys = Keys(settings.redis_prefix)
    start = len(fixture_site.access_log)
    with celery_worker(CRAWLER_APP, [Queue.CRAWL], settings_env(settings), name="crawler"):
        create_app("test-sender", settings).send_task(TaskName.POLL_SOURCE, kwargs={"source_id": "dala"})
        assert wait_settled(redis_client, keys, timeout=30)
        urls = sorted(queued_urls(redis_client, keys))
    assert urls == sorted(a.url for a in fixture_site.articles)
    fetched = {e.path.split("?")[0] for e in fixture_site.access_log.entries()[start:] if e.server == "main"}
    assert {
        "/",
        "/robots.txt",
        "/rss.xml",
        "/sitemap.xml",
        "/sitemap-news.xml",
        "/sitemap-pages.xml",
    } <= fetched


def test_site_without_feed_or_sitemap_is_crawled_through_sections(
    fixture_site: Any, make_settings: Any, redis_client: Any, tmp_path: Path
) -> None:
    sources = write_sources(
        tmp_path / "sources.yaml", [{"id": "plain", "home_url": fixture_site.plain_url("/")}]
    )
    settings = crawler_settings(make_settings, sources)
    keys = Keys(settings.redis_prefix)
    with celery_worker(CRAWLER_APP, [Queue.CRAWL], settings_env(settings), name="crawler"):
        create_app("test-sender", settings).send_task(TaskName.POLL_SOURCE, kwargs={"source_id": "plain"})
        assert wait_settled(redis_client, keys, timeout=30)
        urls = sorted(queued_urls(redis_client, keys))
    assert urls == sorted(a.url for a in fixture_site.plain_articles)

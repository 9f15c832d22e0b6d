"""The hostile section: every bad input gets its reason code, and the good articles arrive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.errors import PipelineError, Reason
from shared.messages import Queue, TaskName
from shared.outcomes import read_counters
from tests.fixture_site import HOSTILE
from tests.integration.crawler_support import (
    CRAWLER_APP,
    InProcessCrawler,
    crawler_settings,
    queued_urls,
    wait_settled,
    write_sources,
)
from tests.service_processes import celery_worker, settings_env

pytestmark = pytest.mark.integration

# What the worker's fetch of each enqueued hostile URL must report.
EXPECTED_FETCH_REASONS = {
    "redirect_loop": Reason.REDIRECT_LOOP,
    "too_many_redirects": Reason.TOO_MANY_REDIRECTS,
    "slow": Reason.TIMEOUT,
    "huge": Reason.OVERSIZED,
    "gzip_bomb": Reason.OVERSIZED,
    "server_error": Reason.HTTP_5XX,
    "gone": Reason.HTTP_4XX,
    "not_html": Reason.NOT_HTML,
    "disallowed": Reason.DISALLOWED_BY_ROBOTS,
    "private_address": Reason.PRIVATE_ADDRESS,
    "metadata_address": Reason.PRIVATE_ADDRESS,
    "rate_limited": Reason.RATE_LIMITED,  # last: its Retry-After pushes the host back
}


def test_hostile_source(fixture_site: Any, make_settings: Any, redis_client: Any, tmp_path: Path) -> None:
    source = {
        "id": "hostile",
        "home_url": fixture_site.url("/hostile/"),
        "feeds": [HOSTILE["xxe_feed"], HOSTILE["broken_feed"], "/rss.xml"],
        "sitemaps": [HOSTILE["huge_sitemap"]],
        "sections": ["/hostile/"],
    }
    settings = crawler_settings(
        make_settings, write_sources(tmp_path / "s.yaml", [source]), max_body_bytes=2_000_000
    )
    env = settings_env(settings)
    crawler = InProcessCrawler(settings, redis_client)
    with celery_worker(CRAWLER_APP, [Queue.CRAWL], env, name="hostile") as proc:
        create_app("test-sender", settings).send_task(TaskName.POLL_SOURCE, kwargs={"source_id": "hostile"})
        assert wait_settled(redis_client, crawler.keys, timeout=40)
        urls = sorted(queued_urls(redis_client, crawler.keys))
        assert proc.poll() is None  # nothing crashed the worker
    counters = read_counters(redis_client, crawler.keys)
    assert counters.get("crawl:failed:xml_attack") == 1
    assert counters.get("crawl:failed:bad_feed") == 1
    assert counters.get("crawl:failed:oversized") == 1  # the 200,000-entry sitemap
    assert counters.get("crawl:crawled", 0) >= 2  # /rss.xml and the section page

    # All real articles still arrive (from the good feed), each once.
    articles = {a.url for a in fixture_site.articles}
    assert articles <= set(urls) and len(urls) == len(set(urls))
    # The hostile links were enqueued like articles; the script link was not.
    hostile_urls = {
        name: (path if path.startswith("http") else fixture_site.url(path))
        for name, path in HOSTILE.items()
        if name in EXPECTED_FETCH_REASONS
    }
    assert set(hostile_urls.values()) <= set(urls)
    assert not any(u.startswith("javascript") for u in urls)

    # What the worker's fetch reports for each of them (the worker records these outcomes).
    reasons: dict[str, Reason] = {}
    for name, url in hostile_urls.items():
        try:
            crawler.fetch(url)
        except PipelineError as exc:
            reasons[name] = exc.reason
    for url in articles:  # fetched after the hostile ones (and after the 429 push-back)
        assert crawler.fetch(url).status == 200
    crawler.close()
    assert reasons == EXPECTED_FETCH_REASONS

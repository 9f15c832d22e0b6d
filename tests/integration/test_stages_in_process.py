"""Each service's tasks run in-process through the runner, on real Redis, HTTP and broker:
the same stage declarations the Celery shells register, with no worker process."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.worker.tasks import PROCESS_URL
from shared import index_stream
from shared.celery_app import create_app
from shared.deps import Deps
from shared.messages import ProcessUrl, Queue, TaskName
from shared.outcomes import read_counters
from shared.runner import Verdict, execute
from tests.integration.crawler_support import (
    InProcessCrawler,
    crawler_settings,
    queued_urls,
    take_message,
    write_sources,
)

pytestmark = pytest.mark.integration


def test_crawler_poll_source_to_article_urls_through_the_runner(
    fixture_site: Any, make_settings: Any, redis_client: Any, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "dala", "home_url": fixture_site.url("/")}])
    settings = crawler_settings(make_settings, sources, host_rate_per_second=20.0)
    crawler = InProcessCrawler(settings, redis_client)
    try:
        crawler.deps.dispatcher.send(TaskName.POLL_DUE, {})
        verdicts = crawler.run(Queue.CRAWL)
        assert verdicts and set(verdicts) == {Verdict.DONE}
        assert sorted(queued_urls(redis_client, crawler.keys)) == sorted(a.url for a in fixture_site.articles)
        counters = read_counters(redis_client, crawler.keys)
        assert counters.get("crawl:crawled", 0) >= 2
        assert not any(":dead_letter:" in name for name in counters)
        assert crawler.deps.dead_letters.count() == 0
    finally:
        crawler.close()


def test_worker_process_url_through_the_runner(
    fixture_site: Any, make_settings: Any, redis_client: Any
) -> None:
    settings = make_settings(host_rate_per_second=50.0, log_format="json")
    deps = Deps.build(settings, create_app("test-worker", settings))
    try:
        article = fixture_site.articles[0]
        message = ProcessUrl(url=article.url, source_id="fixture", discovered_at=datetime.now(UTC))
        deps.dispatcher.send(TaskName.PROCESS_URL, message.model_dump(mode="json"))
        pump = deps.pump()
        for _ in range(20):  # robots.txt takes the first host slot: one wait, via the delay queue
            taken = take_message(redis_client, deps.keys, Queue.EXTRACT)
            if taken is None:
                pump.pump_once()
                continue
            assert execute(PROCESS_URL, deps, taken["kwargs"], delivery_id=taken["id"]) is Verdict.DONE
            if read_counters(redis_client, deps.keys).get("extract:extracted"):
                break
        ((_, fields),) = redis_client.xrange(deps.keys.index_stream)  # the index hop is a stream
        indexed = json.loads(fields[index_stream.FIELD])
        assert indexed["document"]["url"] == article.url and indexed["attempt"] == 0
    finally:
        deps.close()

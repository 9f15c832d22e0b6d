"""A burst of articles from one host through real worker processes: every URL books its own
slot, so each waits about once, none is dropped, and the host sees the configured rate."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.deadletters import DeadLetters
from shared.keys import Keys
from shared.messages import ProcessUrl, Queue, TaskName
from shared.outcomes import read_counters
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

RATE = 4.0  # requests per second to the fixture host


def test_burst_for_one_host_is_spaced_and_complete(
    make_settings: Any, redis_client: Any, fixture_site: Any
) -> None:
    # Two waits per URL at most: first-come-first-served polling would need up to one per URL
    # queued ahead of it, so the tail of this burst would be dead-lettered.
    settings = make_settings(host_rate_per_second=RATE, extract_retry_max_waits=2, log_format="json")
    keys = Keys(settings.redis_prefix)
    urls = [a.url for a in fixture_site.articles]
    started = time.time()
    with celery_worker("services.worker.tasks", [Queue.EXTRACT], settings_env(settings), concurrency=2):
        sender = create_app("test-sender", settings)
        for url in urls:
            msg = ProcessUrl(url=url, source_id="fixture", discovered_at=datetime.now(UTC))
            sender.send_task(TaskName.PROCESS_URL, kwargs=msg.model_dump(mode="json"))
        wait_for(
            lambda: read_counters(redis_client, keys).get("extract:extracted", 0) == len(urls),
            timeout=60,
            what="every article extracted",
        )
    assert DeadLetters(redis_client, keys).list() == []
    paths = {a.path for a in fixture_site.articles}
    times = sorted(e.time for e in fixture_site.access_log.entries(since=started) if e.path in paths)
    assert len(times) == len(urls)
    # Slots are booked 1/RATE apart; a booked retry that runs a little late can land nearer
    # the next one, but never adds requests: the average holds, and no one-second window sees
    # more than RATE plus the two processes that could run late together.
    assert (times[-1] - times[0]) >= (len(times) - 1) / RATE * 0.9, times
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= RATE + 2, times

"""Strict per-host politeness, read from the fixture site's own access log.

Two worker processes of four children each fetch a burst of article URLs for one host at 1, 5
and 20 requests per second. Whatever order the bookings run in, and however late, the host
never sees more than ``rate + 1`` requests in any one-second window, nor two requests closer
than half the interval. A second test sends URLs that redirect to another, busy host: each
booking is spent only on its own host, so every URL arrives and both hosts keep their rate.
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.deadletters import DeadLetters
from shared.keys import Keys
from shared.messages import ProcessUrl, Queue, TaskName
from shared.outcomes import read_counters
from tests.service_processes import celery_workers, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

PROCESSES = 2
CHILDREN = 4
SITE_CLOCK_ALLOWANCE = 0.05  # seconds between a grant and its request reaching the site


def window_stats(times: list[float]) -> tuple[int, float]:
    """(most requests in any half-open one-second window, smallest gap between two)."""
    times = sorted(times)
    busiest = max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)
    gap = min((b - a for a, b in itertools.pairwise(times)), default=float("inf"))
    return busiest, gap


def _send(settings: Any, urls: list[str]) -> None:
    sender = create_app("test-sender", settings)
    for url in urls:
        msg = ProcessUrl(url=url, source_id="fixture", discovered_at=datetime.now(UTC))
        sender.send_task(TaskName.PROCESS_URL, kwargs=msg.model_dump(mode="json"))


def _finished(redis_client: Any, keys: Keys) -> int:
    counters = read_counters(redis_client, keys)
    ends = ("extracted", "skipped", "dead_letter", "unchanged")  # not retry or wait
    return sum(v for k, v in counters.items() if k.startswith("extract:") and k.split(":")[1] in ends)


def _report(label: str, rate: float, times: list[float]) -> tuple[int, float]:
    busiest, gap = window_stats(times)
    sys.stderr.write(
        f"\npoliteness {label} rate={rate:g}/s requests={len(times)} "
        f"max_per_1s_window={busiest} min_gap_ms={gap * 1000:.1f}\n"
    )
    return busiest, gap


@pytest.mark.parametrize(("rate", "count"), [(1.0, 10), (5.0, 30), (20.0, 80)])
def test_one_host_never_sees_more_than_rate_plus_one_per_second(
    make_settings: Any, redis_client: Any, fixture_site: Any, rate: float, count: int
) -> None:
    settings = make_settings(host_rate_per_second=rate, extract_retry_max_waits=400, log_format="json")
    keys = Keys(settings.redis_prefix)
    tag = settings.redis_prefix
    articles = fixture_site.articles
    urls = [f"{articles[i % len(articles)].url}?burst={tag}-{i}" for i in range(count)]
    started = time.time()
    env = settings_env(settings)
    with celery_workers("services.worker.tasks", [Queue.EXTRACT], env, count=PROCESSES, concurrency=CHILDREN):
        _send(settings, urls)
        wait_for(
            lambda: _finished(redis_client, keys) >= count,
            timeout=60 + 3 * count / rate,
            what="every URL given an outcome",
        )
    assert DeadLetters(redis_client, keys).list() == []
    ours = [e for e in fixture_site.access_log.entries(since=started, server="main")]
    assert sum(1 for e in ours if f"burst={tag}-" in e.path) >= count
    busiest, gap = _report("one-host", rate, [e.time for e in ours])
    assert busiest <= rate + 1
    # The gap is measured on the site's clock: the delay between the grant and the request
    # reaching the site (eight children sharing two loaded cores) shortens it by up to a few
    # tens of ms, so it is asserted with that allowance where it is meaningful (at 20/s half
    # the interval is 25 ms, the size of that delay); test_ratelimit.py checks the exact
    # bound on the grants' own clock.
    if rate <= 5:
        assert gap >= 0.5 / rate - SITE_CLOCK_ALLOWANCE


def test_cross_host_redirect_spends_each_booking_on_its_own_host(
    make_settings: Any, redis_client: Any, fixture_site: Any
) -> None:
    rate = 5.0
    settings = make_settings(host_rate_per_second=rate, extract_retry_max_waits=400, log_format="json")
    keys = Keys(settings.redis_prefix)
    tag = settings.redis_prefix
    target = fixture_site.plain_articles[0]
    hop = f"/moved/{tag}.html"
    # Half the URLs ask the main host and are sent on to the plain host; the other half ask
    # the plain host directly, so it is busy whenever a redirect reaches it.
    redirecting = [f"{fixture_site.url(hop)}?burst={tag}-{i}" for i in range(12)]
    direct = [f"{target.url}?burst={tag}-d{i}" for i in range(12)]
    started = time.time()
    env = settings_env(settings)
    with (
        fixture_site.override(hop, 302, headers={"Location": target.url + f"?via={tag}"}),
        celery_workers("services.worker.tasks", [Queue.EXTRACT], env, count=PROCESSES, concurrency=CHILDREN),
    ):
        _send(settings, [u for pair in zip(redirecting, direct, strict=True) for u in pair])
        wait_for(
            lambda: _finished(redis_client, keys) >= len(redirecting) + len(direct),
            timeout=90,
            what="every URL given an outcome",
        )
    assert DeadLetters(redis_client, keys).list() == []
    main = [e.time for e in fixture_site.access_log.entries(since=started, server="main")]
    plain = fixture_site.access_log.entries(since=started, server="plain")
    assert sum(1 for e in plain if f"via={tag}" in e.path) >= len(redirecting)
    for label, times in (("redirect-source", main), ("redirect-target", [e.time for e in plain])):
        busiest, gap = _report(label, rate, times)
        assert busiest <= rate + 1
        assert gap >= 0.5 / rate - SITE_CLOCK_ALLOWANCE

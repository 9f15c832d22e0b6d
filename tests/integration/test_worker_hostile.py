"""The worker as a real Celery process against the fixture site's hostile pages: each gets
its reason code, retries end in a dead letter, and a real article still comes through."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.deadletters import DeadLetters
from shared.keys import Keys
from shared.messages import ProcessUrl, Queue, TaskName
from shared.outcomes import read_counters
from tests.fixture_site import HOSTILE, RETRY_AFTER_SECONDS
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

EXPECTED_SKIPS = {
    "gone": "http_4xx",
    "not_html": "not_html",
    "huge": "oversized",
    "gzip_bomb": "oversized",
    "disallowed": "disallowed_by_robots",
    "private_address": "private_address",
    "metadata_address": "private_address",
    "redirect_loop": "redirect_loop",
    "too_many_redirects": "too_many_redirects",
}
EXPECTED_DEAD = {"server_error": "http_5xx", "slow": "timeout"}


def _settings(make_settings: Any) -> Any:
    return make_settings(
        host_rate_per_second=50.0,
        fetch_read_timeout=1.0,
        fetch_total_timeout=3.0,
        extract_retry_max_attempts=1,
        # Host-slot waits: a burst for one host through the delay pump's 0.2 s poll bunches
        # booked slots, and a booking that lands too close to a request already made is
        # refused and booked again (strict politeness), so allow a few.
        extract_retry_max_waits=10,
        log_format="json",
    )


def _send(settings: Any, site: Any, names: list[str]) -> None:
    sender = create_app("test-sender", settings)
    for name in names:
        path = HOSTILE[name]
        url = path if path.startswith("http") else site.url(path)
        msg = ProcessUrl(url=url, source_id="hostile", discovered_at=datetime.now(UTC))
        sender.send_task(TaskName.PROCESS_URL, kwargs=msg.model_dump(mode="json"))


def test_hostile_pages_get_reason_codes_and_the_article_still_arrives(
    make_settings: Any, redis_client: Any, fixture_site: Any
) -> None:
    settings = _settings(make_settings)
    keys = Keys(settings.redis_prefix)
    article = fixture_site.articles[0]
    with celery_worker("services.worker.tasks", [Queue.EXTRACT], settings_env(settings), concurrency=2):
        _send(settings, fixture_site, [*EXPECTED_SKIPS, *EXPECTED_DEAD])
        ok = ProcessUrl(url=article.url, source_id="fixture", discovered_at=datetime.now(UTC))
        create_app("test-sender", settings).send_task(TaskName.PROCESS_URL, kwargs=ok.model_dump(mode="json"))
        wait_for(
            lambda: DeadLetters(redis_client, keys).count() >= len(EXPECTED_DEAD),
            timeout=90,
            interval=0.5,
            what="dead letters for the retryable failures",
        )
    counters = read_counters(redis_client, keys)
    for name, reason in EXPECTED_SKIPS.items():
        assert counters.get(f"extract:skipped:{reason}", 0) >= 1, (name, sorted(counters.items()))
    skipped = sum(v for k, v in counters.items() if k.startswith("extract:skipped:"))
    assert skipped == len(EXPECTED_SKIPS), counters
    for reason in EXPECTED_DEAD.values():
        assert counters.get(f"extract:retry:{reason}", 0) >= 1, (reason, counters)
    dead = DeadLetters(redis_client, keys).list()
    assert sorted(d["kwargs"]["url"].rsplit("/", 1)[-1] for d in dead) == sorted(
        HOSTILE[n].rsplit("/", 1)[-1] for n in EXPECTED_DEAD
    )
    assert {d["reason"] for d in dead} == {"retries_exhausted"}
    assert counters.get("extract:extracted") == 1
    # Nothing ever went near the private or metadata addresses: they were refused, not fetched.
    assert all("10.255.255.1" not in e.path and "169.254" not in e.path for e in fixture_site.access_log)


def test_a_host_that_keeps_answering_429_is_waited_for_then_dead_lettered(
    make_settings: Any, redis_client: Any, fixture_site: Any
) -> None:
    # The site's 429 is a failed attempt (it is not our own slot): two retries, then a dead letter.
    settings = _settings(make_settings).model_copy(update={"extract_retry_max_attempts": 2})
    keys = Keys(settings.redis_prefix)
    start = fixture_site.access_log.entries()[-1].time if len(fixture_site.access_log) else 0.0
    with celery_worker("services.worker.tasks", [Queue.EXTRACT], settings_env(settings)):
        _send(settings, fixture_site, ["rate_limited"])
        dead = wait_for(lambda: DeadLetters(redis_client, keys).list(), timeout=60, what="a dead letter")
    assert dead[0]["reason"] == "retries_exhausted" and dead[0]["attempts"] == 3
    assert read_counters(redis_client, keys).get("extract:retry:rate_limited") == 2
    hits = [e.time for e in fixture_site.access_log.entries(since=start) if e.path == HOSTILE["rate_limited"]]
    # Each retry honoured Retry-After: the site saw its requests at least that far apart.
    assert len(hits) >= 2
    assert all(b - a >= RETRY_AFTER_SECONDS * 0.9 for a, b in itertools.pairwise(hits))

"""Celery task shells of the crawler. The work lives in crawl.py, listings.py, schedule.py.

beat --(poll_tick_seconds)--> crawler.poll_due --> crawler.poll_source(source_id)
    --> crawler.fetch_listing(source_id, url, kind)  one fetch each, child sitemaps fan out
    --> worker.process_url(ProcessUrl)             each new article URL, exactly once
"""

from __future__ import annotations

import random
import time
from functools import lru_cache
from typing import Any

import redis
import structlog
from celery import Task

from services.crawler.crawl import (
    MAX_SITEMAP_DEPTH,
    CrawlOptions,
    claim_due,
    crawl_listing,
    due_sources,
    entry_points,
    extract_queue_depth,
    record_listing,
    start_round,
)
from services.crawler.listings import ListingKind
from services.crawler.schedule import PollBounds
from shared.celery_app import create_app
from shared.clients import make_redis
from shared.deadletter import dead_letter
from shared.errors import PermanentError, Reason, RetryableError
from shared.fetch import FetchOptions, FetchResult, make_http_client
from shared.keys import Keys
from shared.logging import truncate
from shared.messages import PollSource, Queue, TaskName
from shared.outcomes import record_outcome
from shared.polite_fetch import Booking, get_robots, polite_fetch
from shared.ratelimit import set_host_interval
from shared.retry import retry_countdown
from shared.robots import Robots
from shared.settings import get_settings
from shared.sources import Source, SourcesError, load_sources, source_hosts

log = structlog.get_logger(__name__)

STAGE = "crawl"
RATE_LIMIT_RETRIES = 100  # waiting for a host slot is not a failure; bounded all the same

settings = get_settings()
app = create_app("crawler", settings)
app.conf.beat_schedule = {
    "poll-due": {"task": TaskName.POLL_DUE, "schedule": settings.poll_tick_seconds},
}


@lru_cache(maxsize=1)
def _clients() -> tuple[Any, Any, FetchOptions, Keys]:
    """Built once per (forked) process, lazily, never at import in the parent."""
    options = FetchOptions.from_settings(settings)
    return make_redis(settings), make_http_client(options), options, Keys(settings.redis_prefix)


def _sources() -> dict[str, Source]:
    return load_sources(settings.sources_file)


def _source(source_id: str) -> Source | None:
    try:
        source = _sources().get(source_id)
    except SourcesError as exc:
        log.error("sources_invalid", path=str(settings.sources_file), error=truncate(exc))
        return None
    if source is None:
        log.warning("unknown_source", source_id=source_id)  # removed from the file since
    return source


def _bounds(source: Source) -> PollBounds:
    return PollBounds(
        source.min_poll_seconds or settings.poll_min_seconds,
        source.max_poll_seconds or settings.poll_max_seconds,
    )


def _options() -> CrawlOptions:
    return CrawlOptions(
        seen_ttl_seconds=settings.seen_ttl_days * 86400,
        extract_queue_max=settings.extract_queue_max,
        max_listing_entries=settings.max_listing_entries,
    )


@app.task(name=TaskName.POLL_DUE)
def poll_due() -> int:
    r, _, _, keys = _clients()
    try:
        sources = _sources()
    except SourcesError as exc:
        log.error("sources_invalid", path=str(settings.sources_file), error=truncate(exc))
        return 0
    now = time.time()
    sent = 0
    for source_id in due_sources(r, keys, sources, now):
        # Hold the source for one minimum interval; poll_source then sets the real due time.
        if claim_due(r, keys, source_id, now, _bounds(sources[source_id]).min_seconds):
            app.send_task(TaskName.POLL_SOURCE, kwargs=PollSource(source_id=source_id).model_dump())
            sent += 1
    return sent


@app.task(name=TaskName.POLL_SOURCE)
def poll_source(source_id: str) -> int:
    r, _, _, keys = _clients()
    structlog.contextvars.bind_contextvars(source_id=source_id)
    source = _source(source_id)
    if source is None:
        return 0
    now = time.time()
    if extract_queue_depth(r, keys) > settings.extract_queue_max:
        # Backpressure: no round now (and no slow-down for it); look again next tick.
        r.zadd(keys.sources_due, {source_id: now + settings.poll_tick_seconds})
        record_outcome(
            r,
            keys,
            "poll_deferred",
            stage=STAGE,
            outcome="deferred",
            reason=Reason.BACKPRESSURE,
            source_id=source_id,
        )
        return 0
    interval = start_round(r, keys, source, _bounds(source), now)
    if source.rate_per_second:
        # The source's own rate becomes its hosts' limit for every process, the worker's
        # article fetches included, until a while after the source stops being polled.
        ttl = max(86400.0, 2 * _bounds(source).max_seconds)
        for host in source_hosts(source):
            set_host_interval(r, keys, host, source.rate_per_second, ttl)
    points = entry_points(source)
    for url, kind in points:
        _send_listing(source_id, url, kind, 0)
    log.info("poll_started", listings=len(points), next_poll_seconds=round(interval, 1))
    return len(points)


def _send_listing(source_id: str, url: str, kind: ListingKind, depth: int) -> None:
    fetch_listing.apply_async(
        kwargs={"source_id": source_id, "url": url, "kind": str(kind), "depth": depth},
        queue=Queue.CRAWL,
    )


@app.task(name=TaskName.FETCH_LISTING, bind=True, max_retries=None)
def fetch_listing(
    self: Task, source_id: str, url: str, kind: str, depth: int = 0, slot_reserved: bool = False
) -> str:
    r, client, options, keys = _clients()
    structlog.contextvars.bind_contextvars(source_id=source_id, url=url, kind=kind)
    source = _source(source_id)
    if source is None:
        return "unknown_source"
    rate = source.rate_per_second or settings.host_rate_per_second
    booking = Booking(held=slot_reserved)  # this try's first request uses the slot booked for it

    def fetcher(target: str, **kw: Any) -> FetchResult:
        return polite_fetch(
            client,
            r,
            keys,
            target,
            options,
            robots_ttl=settings.robots_ttl_seconds,
            default_rate=rate,
            booking=booking,
            **kw,
        )

    def robots_for(target: str) -> Robots:
        return get_robots(
            client,
            r,
            keys,
            target,
            options,
            robots_ttl=settings.robots_ttl_seconds,
            default_rate=rate,
            booking=booking,
        )

    try:
        result = crawl_listing(
            r=r,
            keys=keys,
            fetcher=fetcher,
            robots_for=robots_for,
            sender=app,
            source=source,
            url=url,
            kind=ListingKind(kind),
            options=_options(),
            depth=depth,
        )
    except RetryableError as exc:
        return _retry(self, exc, url)
    except redis.RedisError as exc:  # our own store is down: back off like any outage
        return _retry(self, RetryableError(Reason.CONNECTION_ERROR, f"redis: {exc}"), url)
    except PermanentError as exc:
        record_outcome(
            r,
            keys,
            "listing_failed",
            stage=STAGE,
            outcome="failed",
            reason=exc.reason,
            url=url,
            kind=kind,
            error=exc.detail[:300],
        )
        return str(exc.reason)
    except Exception as exc:  # a bug or an input we did not foresee: never kill the worker
        log.exception("listing_crashed", url=url)
        record_outcome(
            r,
            keys,
            "listing_failed",
            stage=STAGE,
            outcome="failed",
            reason=Reason.INTERNAL_ERROR,
            url=url,
            kind=kind,
            error=truncate(exc),
        )
        dead_letter(
            r,
            keys,
            task=TaskName.FETCH_LISTING,
            reason=Reason.INTERNAL_ERROR,
            error=exc,
            attempts=1,
            kwargs={"source_id": source_id, "url": url, "kind": kind, "depth": depth},
        )
        return str(Reason.INTERNAL_ERROR)
    for child, child_kind in result.children:
        if depth < MAX_SITEMAP_DEPTH:
            _send_listing(source_id, child, child_kind, depth + 1)
    record_listing(r, keys, result, url, kind)
    return result.outcome


def _retry(task: Task, exc: RetryableError, url: str) -> str:
    r, _, _, keys = _clients()
    retries = task.request.retries
    own_limit = exc.reason is Reason.RATE_LIMITED
    budget = RATE_LIMIT_RETRIES if own_limit else settings.task_max_retries
    if retries >= budget:
        record_outcome(
            r,
            keys,
            "listing_failed",
            stage=STAGE,
            outcome="failed",
            reason=exc.reason,
            url=url,
            error=exc.detail[:300],
            attempts=retries + 1,
        )
        return str(Reason.RETRIES_EXHAUSTED)
    countdown = retry_countdown(exc, retries, random.random())
    log.info("listing_retry", reason=str(exc.reason), countdown=round(countdown, 2), attempt=retries)
    kwargs = {**(task.request.kwargs or {}), "slot_reserved": exc.slot_reserved}
    raise task.retry(exc=exc, countdown=countdown, max_retries=None, kwargs=kwargs)


__all__ = ["app", "fetch_listing", "poll_due", "poll_source"]

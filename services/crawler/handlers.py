"""The crawler's stage handlers: ``(deps, message) -> Outcome | None``, no Celery here.

Each is a thin step over the pure crawl code (crawl.py, listings.py, schedule.py) with this
process's clients from ``Deps``; failures are raised as typed intents (``shared.errors``)
and ``shared.runner`` turns them into delays, skips and dead letters.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import structlog

from services.crawler.crawl import (
    MAX_SITEMAP_DEPTH,
    CrawlOptions,
    ListingResult,
    claim_due_sources,
    crawl_listing,
    entry_points,
    extract_queue_depth,
    record_listing,
    reoffer_due,
    start_round,
    sync_due,
)
from services.crawler.listings import ListingKind
from services.crawler.schedule import PollBounds
from shared.deps import Deps
from shared.errors import DeadLetter, Reason
from shared.fetch import FetchResult
from shared.logging import truncate
from shared.messages import FetchListing, PollDue, PollSource, Queue, TaskName
from shared.polite_fetch import PendingBooking, get_robots, polite_fetch
from shared.ratelimit import Booking, set_host_interval
from shared.robots import Robots
from shared.runner import Outcome
from shared.seen import SeenPolicy
from shared.settings import Settings
from shared.sources import Source, SourcesCache, SourcesError, source_hosts

log = structlog.get_logger(__name__)


def poll_due(deps: Deps, message: PollDue) -> None:
    s = deps.settings
    cache = _cache(deps)
    sources = _sources(deps)
    now = time.time()
    if sources and _synced.get(cache.path) != cache.generation:  # new or removed sources
        sync_due(deps.redis, deps.keys, sources, now)
        _synced[cache.path] = cache.generation
    # Only the due ones, from the sorted set (cost follows the number due, not of sources);
    # each is held for one minimum interval, poll_source then sets the real due time.
    due = [
        sid
        for sid in claim_due_sources(deps.redis, deps.keys, now, s.poll_min_seconds, s.poll_due_max)
        if sid in sources
    ]
    if due:
        try:
            messages = [PollSource(source_id=sid).model_dump() for sid in due]
            deps.dispatcher.send_many(TaskName.POLL_SOURCE, messages)
        except Exception:  # not sent: release the claims, so the retried tick claims them again
            deps.redis.zadd(deps.keys.sources_due, dict.fromkeys(due, now))
            raise
    # Lost, failed-for-now and recrawl-due URLs from the seen-set.
    reoffer_due(deps.redis, deps.keys, deps.dispatcher, now, s.reoffer_max_per_tick, crawl_options(s))


def poll_source(deps: Deps, message: PollSource) -> Outcome | None:
    source = _source(deps, message.source_id)
    if source is None:
        return None
    now = time.time()
    # No round now (and no slow-down for it) while the next stages are full, or while the
    # crawl queue itself is deep (a sitemap flood): look again next tick.
    if backpressured(deps) or crawl_queue_depth(deps) > deps.settings.crawl_queue_max:
        deps.redis.zadd(deps.keys.sources_due, {source.id: now + deps.settings.poll_tick_seconds})
        return Outcome("poll_deferred", "deferred", Reason.BACKPRESSURE, {"source_id": source.id})
    bounds = _bounds(deps, source)
    interval = start_round(deps.redis, deps.keys, source, bounds, now)
    if source.rate_per_second:
        # The source's own rate becomes its hosts' limit for every process, the worker's
        # article fetches included, until a while after the source stops being polled.
        ttl = max(86400.0, 2 * bounds.max_seconds)
        for host in source_hosts(source):
            set_host_interval(deps.redis, deps.keys, host, source.rate_per_second, ttl)
    points = entry_points(source)
    _send_listings(deps, source.id, points, depth=0)
    log.info("poll_started", listings=len(points), next_poll_seconds=round(interval, 1))
    return None


def fetch_listing(deps: Deps, message: FetchListing) -> Outcome | None:
    source = _source(deps, message.source_id)
    if source is None:
        return None
    if backpressured(deps, index_only=True):  # crawl_listing checks the extract queue itself
        return Outcome("listing_skipped", "backpressure", Reason.BACKPRESSURE, {"url": message.url})
    try:
        kind = ListingKind(message.kind)
    except ValueError as exc:
        raise DeadLetter(Reason.BAD_MESSAGE, f"unknown listing kind {message.kind!r}") from exc
    # The slot booked for this try, if any: spent once, by the first request to its host.
    booking = PendingBooking(Booking.from_message(message.booking))
    result = crawl(deps, source, message.url, kind, message.depth, booking)
    if message.depth < MAX_SITEMAP_DEPTH:
        _send_listings(deps, source.id, result.children, depth=message.depth + 1)
    record_listing(deps.redis, deps.keys, result, message.url, message.kind)
    return None


def crawl(
    deps: Deps,
    source: Source,
    url: str,
    kind: ListingKind,
    depth: int,
    booking: PendingBooking | Booking | None,
    options: CrawlOptions | None = None,
) -> ListingResult:
    """One crawl step for ``url`` with this process's clients (tests call it directly,
    with their own ``options``)."""
    settings = deps.settings
    rate = source.rate_per_second or settings.host_rate_per_second
    if not isinstance(booking, PendingBooking):  # one for the whole step: spent once
        booking = PendingBooking(booking)
    return crawl_listing(
        r=deps.redis,
        keys=deps.keys,
        fetcher=lambda target, **kw: fetch(deps, target, rate, booking, **kw),
        robots_for=lambda target: robots(deps, target, rate, booking),
        sender=deps.dispatcher,
        source=source,
        url=url,
        kind=kind,
        options=options or crawl_options(settings),
        depth=depth,
    )


def crawl_options(settings: Settings) -> CrawlOptions:
    return CrawlOptions(
        seen_ttl_seconds=settings.seen_ttl_days * 86400,
        extract_queue_max=settings.extract_queue_max,
        max_listing_entries=settings.max_listing_entries,
        seen=SeenPolicy.from_settings(settings),
        max_body_bytes=settings.max_body_bytes,
        max_article_age_days=settings.max_article_age_days,
        sitemap_children_max=settings.sitemap_children_max,
        sitemap_recheck_seconds=settings.sitemap_recheck_seconds,
    )


def fetch(
    deps: Deps, url: str, rate: float, booking: PendingBooking | Booking | None, **kw: Any
) -> FetchResult:
    s = deps.settings
    return polite_fetch(
        deps.http, deps.redis, deps.keys, url, deps.fetch_options,
        robots_ttl=s.robots_ttl_seconds, default_rate=rate, booking=booking, **kw,
    )  # fmt: skip


def robots(deps: Deps, url: str, rate: float, booking: PendingBooking | Booking | None) -> Robots:
    s = deps.settings
    return get_robots(
        deps.http, deps.redis, deps.keys, url, deps.fetch_options,
        robots_ttl=s.robots_ttl_seconds, default_rate=rate, booking=booking,
    )  # fmt: skip


def backpressured(deps: Deps, *, index_only: bool = False) -> bool:
    """The next stages are full: the extract queue, or the documents waiting to be indexed
    (so an Elasticsearch outage reaches back here instead of filling Redis)."""
    s = deps.settings
    if not index_only and extract_queue_depth(deps.dispatcher) > s.extract_queue_max:
        return True
    return deps.dispatcher.backlog(TaskName.INDEX_DOCUMENT) > s.index_backlog_max


def crawl_queue_depth(deps: Deps) -> int:
    """Messages waiting on the crawl queue (listings and polls)."""
    return int(deps.redis.llen(deps.keys.queue(Queue.CRAWL)))


def _send_listings(deps: Deps, source_id: str, points: list[tuple[str, ListingKind]], depth: int) -> None:
    messages = [
        FetchListing(source_id=source_id, url=url, kind=str(kind), depth=depth).model_dump()
        for url, kind in points
    ]
    deps.dispatcher.send_many(TaskName.FETCH_LISTING, messages)


# Sources parsed once per process and file version (SourcesCache), and the generation of
# each file this process last wrote to the due set.
_caches: dict[Path, SourcesCache] = {}
_synced: dict[Path, int] = {}


def _cache(deps: Deps) -> SourcesCache:
    path = deps.settings.sources_file
    if path not in _caches:
        _caches[path] = SourcesCache(path)
    return _caches[path]


def _sources(deps: Deps) -> dict[str, Source]:
    try:
        return _cache(deps).get()
    except SourcesError as exc:
        log.error("sources_invalid", path=str(deps.settings.sources_file), error=truncate(exc))
        return {}


def _source(deps: Deps, source_id: str) -> Source | None:
    source = _sources(deps).get(source_id)
    if source is None:
        log.warning("unknown_source", source_id=source_id)  # removed from the file since
    return source


def _bounds(deps: Deps, source: Source) -> PollBounds:
    return PollBounds(
        source.min_poll_seconds or deps.settings.poll_min_seconds,
        source.max_poll_seconds or deps.settings.poll_max_seconds,
    )

"""The crawler's stage handlers: ``(deps, message) -> Outcome | None``, no Celery here.

Each is a thin step over the pure crawl code (crawl.py, listings.py, schedule.py) with this
process's clients from ``Deps``; failures are raised as typed intents (``shared.errors``)
and ``shared.runner`` turns them into delays, skips and dead letters.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from services.crawler.crawl import (
    MAX_SITEMAP_DEPTH,
    CrawlOptions,
    ListingResult,
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
from shared.deps import Deps
from shared.errors import DeadLetter, Reason
from shared.fetch import FetchResult
from shared.logging import truncate
from shared.messages import FetchListing, PollDue, PollSource, TaskName
from shared.polite_fetch import Booking, get_robots, polite_fetch
from shared.ratelimit import set_host_interval
from shared.robots import Robots
from shared.runner import Outcome
from shared.sources import Source, SourcesError, load_sources, source_hosts

log = structlog.get_logger(__name__)


def poll_due(deps: Deps, message: PollDue) -> None:
    sources = _sources(deps)
    now = time.time()
    # Hold each due source for one minimum interval; poll_source then sets the real due time.
    due = [
        sid
        for sid in due_sources(deps.redis, deps.keys, sources, now)
        if claim_due(deps.redis, deps.keys, sid, now, _bounds(deps, sources[sid]).min_seconds)
    ]
    deps.dispatcher.send_many(TaskName.POLL_SOURCE, [PollSource(source_id=s).model_dump() for s in due])


def poll_source(deps: Deps, message: PollSource) -> Outcome | None:
    source = _source(deps, message.source_id)
    if source is None:
        return None
    now = time.time()
    if backpressured(deps):  # no round now (and no slow-down for it); look again next tick
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
    result = crawl(deps, source, message.url, kind, message.depth, Booking(_booked_host(message)))
    if message.depth < MAX_SITEMAP_DEPTH:
        _send_listings(deps, source.id, result.children, depth=message.depth + 1)
    record_listing(deps.redis, deps.keys, result, message.url, message.kind)
    return None


def crawl(
    deps: Deps, source: Source, url: str, kind: ListingKind, depth: int, booking: Booking
) -> ListingResult:
    """One crawl step for ``url`` with this process's clients (tests call it directly)."""
    settings = deps.settings
    rate = source.rate_per_second or settings.host_rate_per_second
    return crawl_listing(
        r=deps.redis,
        keys=deps.keys,
        fetcher=lambda target, **kw: fetch(deps, target, rate, booking, **kw),
        robots_for=lambda target: robots(deps, target, rate, booking),
        sender=deps.dispatcher,
        source=source,
        url=url,
        kind=kind,
        options=CrawlOptions(
            seen_ttl_seconds=settings.seen_ttl_days * 86400,
            extract_queue_max=settings.extract_queue_max,
            max_listing_entries=settings.max_listing_entries,
        ),
        depth=depth,
    )


def fetch(deps: Deps, url: str, rate: float, booking: Booking, **kw: Any) -> FetchResult:
    s = deps.settings
    return polite_fetch(
        deps.http, deps.redis, deps.keys, url, deps.fetch_options,
        robots_ttl=s.robots_ttl_seconds, default_rate=rate, booking=booking, **kw,
    )  # fmt: skip


def robots(deps: Deps, url: str, rate: float, booking: Booking) -> Robots:
    s = deps.settings
    return get_robots(
        deps.http, deps.redis, deps.keys, url, deps.fetch_options,
        robots_ttl=s.robots_ttl_seconds, default_rate=rate, booking=booking,
    )  # fmt: skip


def backpressured(deps: Deps, *, index_only: bool = False) -> bool:
    """The next stages are full: the extract queue, or the documents waiting to be indexed
    (so an Elasticsearch outage reaches back here instead of filling Redis)."""
    s = deps.settings
    if not index_only and extract_queue_depth(deps.redis, deps.keys) > s.extract_queue_max:
        return True
    return deps.dispatcher.backlog(TaskName.INDEX_DOCUMENT) > s.index_backlog_max


def _send_listings(deps: Deps, source_id: str, points: list[tuple[str, ListingKind]], depth: int) -> None:
    messages = [
        FetchListing(source_id=source_id, url=url, kind=str(kind), depth=depth).model_dump()
        for url, kind in points
    ]
    deps.dispatcher.send_many(TaskName.FETCH_LISTING, messages)


def _booked_host(message: FetchListing) -> str | None:
    return message.booking.host if message.booking else None


def _sources(deps: Deps) -> dict[str, Source]:
    try:
        return load_sources(deps.settings.sources_file)
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

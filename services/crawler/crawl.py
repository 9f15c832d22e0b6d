"""One crawl step: fetch a listing (feed, sitemap, section or home page), find new articles.

Free of Celery: clients and a ``sender`` (anything with ``send_task``) are passed in, and
the function returns what happened; ``tasks.py`` turns that into retries and outcomes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
import structlog

from services.crawler.listings import (
    Link,
    ListingKind,
    discover_feeds,
    discover_sections,
    discover_sitemaps_lines,
    parse_listing,
)
from services.crawler.schedule import PollBounds, next_interval
from shared.dispatch import Sender
from shared.errors import Reason
from shared.fetch import FEED_ACCEPT, HTML_TYPES, XML_TYPES, FetchResult
from shared.keys import Keys
from shared.messages import ProcessUrl, TaskName
from shared.outcomes import record_outcome
from shared.robots import Robots
from shared.seen import forget, mark_new_many, url_key_hash
from shared.sources import Source
from shared.urls import url_origin

log = structlog.get_logger(__name__)

# fetcher(url, *, etag, last_modified, accept, content_types) -> FetchResult
Fetcher = Callable[..., FetchResult]

LISTING_STATE_TTL = 7 * 24 * 3600
STAGE = "crawl"
MAX_SITEMAP_DEPTH = 2


@dataclass(frozen=True)
class CrawlOptions:
    seen_ttl_seconds: float
    extract_queue_max: int
    max_listing_entries: int


@dataclass
class ListingResult:
    outcome: str  # "enqueued" | "unchanged" | "backpressure"
    new_urls: list[str] = field(default_factory=list)
    duplicates: int = 0
    children: list[tuple[str, ListingKind]] = field(default_factory=list)
    truncated: bool = False
    reason: Reason | None = None


def extract_queue_depth(r: redis.Redis, keys: Keys) -> int:
    return int(r.llen(keys.extract_queue()))


def record_listing(
    r: redis.Redis,
    keys: Keys,
    result: ListingResult,
    url: str,
    kind: str,
) -> None:
    """One outcome event (and counter) for the listing, one per newly enqueued URL."""
    if result.reason is Reason.TOO_MANY_ENTRIES:
        record_outcome(
            r,
            keys,
            "listing_truncated",
            stage=STAGE,
            outcome="truncated",
            reason=Reason.TOO_MANY_ENTRIES,
            url=url,
            kind=kind,
        )
    if result.outcome == "enqueued":
        record_outcome(
            r,
            keys,
            "listing_crawled",
            stage=STAGE,
            outcome="crawled",
            url=url,
            kind=kind,
            new=len(result.new_urls),
            duplicates=result.duplicates,
            children=len(result.children),
        )
        for new_url in result.new_urls:
            record_outcome(r, keys, "url_enqueued", stage="enqueue", outcome="enqueued", url=new_url)
    else:  # unchanged is the normal quiet case, backpressure a warning
        reason = None if result.reason is Reason.UNCHANGED else result.reason
        record_outcome(
            r,
            keys,
            "listing_skipped",
            stage=STAGE,
            outcome=result.outcome,
            reason=reason,
            url=url,
            kind=kind,
        )


def _content_hash(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=16).hexdigest()


def _fetch_kwargs(kind: ListingKind) -> dict[str, Any]:
    if kind in (ListingKind.FEED, ListingKind.SITEMAP):
        return {"accept": FEED_ACCEPT, "content_types": (*XML_TYPES, *HTML_TYPES)}
    return {"accept": "text/html,application/xhtml+xml", "content_types": HTML_TYPES}


def crawl_listing(
    *,
    r: redis.Redis,
    keys: Keys,
    fetcher: Fetcher,
    robots_for: Callable[[str], Robots],
    sender: Sender,
    source: Source,
    url: str,
    kind: ListingKind,
    options: CrawlOptions,
    depth: int = 0,
) -> ListingResult:
    """Fetch ``url`` conditionally; enqueue each new article once; return child listings."""
    if extract_queue_depth(r, keys) > options.extract_queue_max:
        # Stop before fetching: the listing's validators stay as they were, so the next
        # poll after the queue drains reads it in full and nothing is lost.
        return ListingResult("backpressure", reason=Reason.BACKPRESSURE)
    state_key = keys.listing(url_key_hash(url))
    state: dict[str, str] = r.hgetall(state_key)
    # Conditional GET. An unchanged home page or sitemap index still fans out to the feeds
    # and child sitemaps remembered with its validators: those change more often.
    result = fetcher(
        url,
        etag=state.get("etag") or None,
        last_modified=state.get("last_modified") or None,
        **_fetch_kwargs(kind),
    )
    if result.not_modified:
        r.expire(state_key, LISTING_STATE_TTL)
        return ListingResult("unchanged", children=_children(state), reason=Reason.UNCHANGED)
    digest = _content_hash(result.content)
    if digest == state.get("hash"):
        _save_state(r, state_key, result, digest, _children(state))
        return ListingResult("unchanged", children=_children(state), reason=Reason.UNCHANGED)

    children: list[tuple[str, ListingKind]] = []
    if kind is ListingKind.HOME:
        children = discover(robots_for(url).sitemaps, source, result)
        kind = ListingKind.SECTION
    listing = parse_listing(kind, result.content, result.final_url, options.max_listing_entries)
    if kind is ListingKind.SITEMAP and depth < MAX_SITEMAP_DEPTH:
        children += [(u, ListingKind.SITEMAP) for u in listing.children]

    out = ListingResult("enqueued", children=children, truncated=listing.truncated)
    if listing.truncated:
        out.reason = Reason.TOO_MANY_ENTRIES
    fresh = mark_new_many(r, keys, [link.url for link in listing.links], options.seen_ttl_seconds)
    new_links = [link for link, is_new in zip(listing.links, fresh, strict=True) if is_new]
    out.duplicates = len(listing.links) - len(new_links)
    try:  # one pipelined round trip for all of them
        sender.send_many(TaskName.PROCESS_URL, [process_url_message(source, link) for link in new_links])
    except Exception:
        # Not sent: release the URLs, so a later poll claims them again instead of losing them.
        for unsent in new_links:
            forget(r, keys, unsent.url)
        raise
    out.new_urls = [link.url for link in new_links]
    if out.new_urls:
        r.hincrby(keys.source_state(source.id), "round_new", len(out.new_urls))
    _save_state(r, state_key, result, digest, children)
    return out


def _children(state: dict[str, str]) -> list[tuple[str, ListingKind]]:
    try:
        return [(u, ListingKind(k)) for u, k in json.loads(state.get("children") or "[]")]
    except (ValueError, TypeError):
        return []


def _save_state(
    r: redis.Redis,
    state_key: str,
    result: FetchResult,
    digest: str,
    children: list[tuple[str, ListingKind]],
) -> None:
    mapping: dict[str | bytes, str] = {
        "hash": digest,
        "etag": result.etag or "",
        "last_modified": result.last_modified or "",
        "children": json.dumps([[u, str(k)] for u, k in children]),
    }
    pipe = r.pipeline()
    pipe.hset(state_key, mapping=mapping)
    pipe.expire(state_key, LISTING_STATE_TTL)
    pipe.execute()


def process_url_message(source: Source, link: Link) -> dict[str, Any]:
    message = ProcessUrl(
        url=link.url,
        source_id=source.id,
        discovered_at=datetime.now(UTC),
        feed_published_at=link.published_at,
        feed_title=link.title[:1000] if link.title else None,
    )
    return message.model_dump(mode="json")


def discover(
    robots_sitemaps: tuple[str, ...], source: Source, home: FetchResult
) -> list[tuple[str, ListingKind]]:
    """Feeds from the home page (<link rel="alternate">), sitemaps from robots.txt; a site
    with neither is crawled through the section pages its home page links to."""
    found = [(u, ListingKind.FEED) for u in discover_feeds(home.content, home.final_url)]
    origin = url_origin(source.home_url)
    found += [(u, ListingKind.SITEMAP) for u in discover_sitemaps_lines(robots_sitemaps, origin)]
    if not found:
        found = [(u, ListingKind.SECTION) for u in discover_sections(home.content, home.final_url)]
    return found


def entry_points(source: Source) -> list[tuple[str, ListingKind]]:
    """What one poll round of ``source`` fetches."""
    if source.needs_discovery:
        return [(source.home_url, ListingKind.HOME)]
    return (
        [(u, ListingKind.FEED) for u in source.feeds]
        + [(u, ListingKind.SITEMAP) for u in source.sitemaps]
        + [(u, ListingKind.SECTION) for u in source.sections]
    )


def start_round(r: redis.Redis, keys: Keys, source: Source, bounds: PollBounds, now: float) -> float:
    """Close the previous round (adapt the interval to its yield) and schedule the next."""
    key = keys.source_state(source.id)
    pipe = r.pipeline()
    pipe.hget(key, "interval")
    pipe.hget(key, "round_new")
    pipe.hset(key, "round_new", 0)
    interval_raw, new_raw, _ = pipe.execute()
    interval = next_interval(float(interval_raw) if interval_raw else None, int(new_raw or 0), bounds)
    pipe = r.pipeline()
    pipe.hset(key, mapping={"interval": interval, "last_poll": now})
    pipe.zadd(keys.sources_due, {source.id: now + interval})
    pipe.execute()
    return interval


def due_sources(r: redis.Redis, keys: Keys, sources: dict[str, Source], now: float) -> list[str]:
    """Sources whose next poll time has come, or which were never polled."""
    scores = dict(r.zrange(keys.sources_due, 0, -1, withscores=True))
    return [sid for sid in sources if sid not in scores or scores[sid] <= now]


def claim_due(r: redis.Redis, keys: Keys, source_id: str, now: float, hold: float) -> bool:
    """Push the source's due time ``hold`` seconds ahead, atomically, so a second beat or a
    slow round never sends the same poll twice."""
    return bool(r.eval(_CLAIM, 1, keys.sources_due, source_id, now, now + hold))


_CLAIM = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

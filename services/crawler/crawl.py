"""One crawl step: fetch a listing (feed, sitemap, section or home page), find new articles.

Free of Celery: clients and a ``sender`` (anything with ``send_task``) are passed in, and
the function returns what happened; ``tasks.py`` turns that into retries and outcomes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
import structlog

from services.crawler.listings import (
    GZIP_MAGIC,
    GZIP_TYPES,
    Link,
    ListingKind,
    discover_feeds,
    discover_sections,
    discover_sitemaps_lines,
    gunzip_capped,
    parse_listing,
    too_old,
)
from services.crawler.schedule import PollBounds, next_interval
from shared.dispatch import Sender
from shared.errors import Reason
from shared.fetch import FEED_ACCEPT, HTML_TYPES, XML_TYPES, FetchResult
from shared.keys import Keys
from shared.messages import ProcessUrl, TaskName
from shared.outcomes import record_outcome
from shared.robots import Robots
from shared.seen import SeenPolicy, claim_new_many, forget, take_due, url_key_hash
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
    seen: SeenPolicy | None = None  # None: the defaults with seen_ttl_seconds
    max_body_bytes: int = 5_000_000  # also the cap on a gzip sitemap's decompressed size
    max_article_age_days: float = 0.0  # live crawl: older dated links are skipped (0: off)
    sitemap_children_max: int = 50  # child sitemaps sent per index fetch, newest first
    sitemap_recheck_seconds: float = 86400.0  # a child without <lastmod> is re-read this often


def _policy(options: CrawlOptions) -> SeenPolicy:
    return options.seen or SeenPolicy(ttl_seconds=options.seen_ttl_seconds)


@dataclass
class ListingResult:
    outcome: str  # "enqueued" | "unchanged" | "backpressure"
    new_urls: list[str] = field(default_factory=list)
    duplicates: int = 0
    too_old: int = 0  # dated before MAX_ARTICLE_AGE_DAYS (live crawl only)
    children: list[tuple[str, ListingKind]] = field(default_factory=list)
    truncated: bool = False
    reason: Reason | None = None


def extract_queue_depth(sender: Sender) -> int:
    """Article URLs waiting for a worker (in the broker's Redis, which may be another one)."""
    return sender.backlog(TaskName.PROCESS_URL)


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
            too_old=result.too_old,
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
    if kind is ListingKind.SITEMAP:  # .xml.gz sitemaps arrive as gzip files
        return {"accept": FEED_ACCEPT, "content_types": (*XML_TYPES, *HTML_TYPES, *GZIP_TYPES)}
    if kind is ListingKind.FEED:
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
    if extract_queue_depth(sender) > options.extract_queue_max:
        # Stop before fetching: the listing's validators stay as they were, so the next
        # poll after the queue drains reads it in full and nothing is lost.
        return ListingResult("backpressure", reason=Reason.BACKPRESSURE)
    state_key = keys.listing(url_key_hash(url))
    state: dict[str, str] = r.hgetall(state_key)
    now = time.time()
    # Conditional GET. An unchanged home page or sitemap index still fans out to the feeds
    # it found and to those of its child sitemaps that are due (see _due_children).
    result = fetcher(
        url,
        etag=state.get("etag") or None,
        last_modified=state.get("last_modified") or None,
        **_fetch_kwargs(kind),
    )
    if result.not_modified:
        _touch_state(r, state_key, state, now)
        children = _fan_out(r, keys, kind, _children(state), source, now, options)
        return ListingResult("unchanged", children=children, reason=Reason.UNCHANGED)
    digest = _content_hash(result.content)
    if digest == state.get("hash"):
        stored = _children(state)
        _save_state(r, state_key, result, digest, stored, state, now)
        children = _fan_out(r, keys, kind, stored, source, now, options)
        return ListingResult("unchanged", children=children, reason=Reason.UNCHANGED)

    content = result.content
    if kind is ListingKind.SITEMAP and content[:2] == GZIP_MAGIC:
        content = gunzip_capped(content, options.max_body_bytes)
    found: list[tuple[str, ListingKind, str]] = []
    if kind is ListingKind.HOME:
        found = [(u, k, "") for u, k in discover(robots_for(url).sitemaps, source, result)]
        kind = ListingKind.SECTION
    listing = parse_listing(kind, content, result.final_url, options.max_listing_entries)
    if kind is ListingKind.SITEMAP and depth < MAX_SITEMAP_DEPTH:
        found += [(u, ListingKind.SITEMAP, listing.lastmods.get(u, "")) for u in listing.children]
    children = _fan_out(r, keys, kind, found, source, now, options)

    out = ListingResult("enqueued", children=children, truncated=listing.truncated)
    if listing.truncated:
        out.reason = Reason.TOO_MANY_ENTRIES
    links = listing.links
    if options.max_article_age_days > 0 and not source.backfill:
        today = datetime.now(UTC)
        links = [link for link in links if not too_old(link, today, options.max_article_age_days)]
        out.too_old = len(listing.links) - len(links)
    fresh = claim_new_many(r, keys, source.id, [link.url for link in links], now, _policy(options))
    new_links = [link for link, is_new in zip(links, fresh, strict=True) if is_new]
    out.duplicates = len(links) - len(new_links)
    try:  # one pipelined round trip for all of them
        sender.send_many(TaskName.PROCESS_URL, [process_url_message(source, link) for link in new_links])
    except Exception:
        # Not sent: release the URLs, so a later poll claims them again instead of losing them.
        for unsent in new_links:
            forget(r, keys, unsent.url, source.id)
        raise
    out.new_urls = [link.url for link in new_links]
    if out.new_urls:
        r.hincrby(keys.source_state(source.id), "round_new", len(out.new_urls))
    _save_state(r, state_key, result, digest, found, state, now)
    return out


def _fan_out(
    r: redis.Redis,
    keys: Keys,
    kind: ListingKind,
    found: list[tuple[str, ListingKind, str]],
    source: Source,
    now: float,
    options: CrawlOptions,
) -> list[tuple[str, ListingKind]]:
    """What a listing sends on. Feeds and sitemaps a home page names: all of them. Child
    sitemaps of an index: only those due (see _due_children), at most
    ``sitemap_children_max``, newest first, so a flood of archive sitemaps never crowds
    out the crawl queue; in live mode children last modified before the article horizon
    are archives and skipped (a source with ``backfill: true`` reads them)."""
    if kind is not ListingKind.SITEMAP:
        return [(u, k) for u, k, _ in found]
    horizon = options.max_article_age_days * 86400 if options.max_article_age_days > 0 else 0.0
    candidates = []
    for u, k, lastmod in found:
        moved = _lastmod_ts(lastmod)
        if horizon and not source.backfill and moved is not None and now - moved > horizon:
            continue
        candidates.append((u, k, lastmod, moved))
    due = _due_children(r, keys, candidates, now, options.sitemap_recheck_seconds)
    due.sort(key=lambda c: -(c[3] or 0.0))  # newest first; undated last
    chosen = due[: max(0, options.sitemap_children_max)]
    if chosen:
        pipe = r.pipeline(transaction=False)
        for u, _, lastmod, _ in chosen:
            if lastmod:  # becomes the child's known lastmod once it was read (_save_state)
                pipe.hset(keys.listing(url_key_hash(u)), "pending_lastmod", lastmod)
                pipe.expire(keys.listing(url_key_hash(u)), LISTING_STATE_TTL)
        pipe.execute()
    return [(u, k) for u, k, _, _ in chosen]


def _due_children(
    r: redis.Redis,
    keys: Keys,
    candidates: list[tuple[str, ListingKind, str, float | None]],
    now: float,
    recheck_seconds: float,
) -> list[tuple[str, ListingKind, str, float | None]]:
    """Child sitemaps worth fetching: never read yet; or their <lastmod> moved since the
    last read; or, with no <lastmod>, not read for ``recheck_seconds``."""
    if not candidates:
        return []
    pipe = r.pipeline(transaction=False)
    for u, *_ in candidates:
        pipe.hmget(keys.listing(url_key_hash(u)), "lastmod", "fetched_at")
    states = pipe.execute()
    due = []
    for candidate, (known, fetched_at) in zip(candidates, states, strict=True):
        _, _, lastmod, _ = candidate
        if not fetched_at:
            due.append(candidate)
        elif lastmod:
            if lastmod != known:
                due.append(candidate)
        elif now - float(fetched_at) >= recheck_seconds:
            due.append(candidate)
    return due


def _lastmod_ts(value: str) -> float | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _touch_state(r: redis.Redis, state_key: str, state: dict[str, str], now: float) -> None:
    """A 304: the listing was read (for its lastmod bookkeeping), validators unchanged."""
    mapping: dict[str | bytes, str] = {"fetched_at": repr(now)}
    if state.get("pending_lastmod"):
        mapping["lastmod"] = state["pending_lastmod"]
    pipe = r.pipeline()
    pipe.hset(state_key, mapping=mapping)
    pipe.expire(state_key, LISTING_STATE_TTL)
    pipe.execute()


def _children(state: dict[str, str]) -> list[tuple[str, ListingKind, str]]:
    try:
        rows = json.loads(state.get("children") or "[]")
        return [(row[0], ListingKind(row[1]), row[2] if len(row) > 2 else "") for row in rows]
    except (ValueError, TypeError, IndexError):
        return []


def _save_state(
    r: redis.Redis,
    state_key: str,
    result: FetchResult,
    digest: str,
    children: list[tuple[str, ListingKind, str]],
    state: dict[str, str],
    now: float,
) -> None:
    mapping: dict[str | bytes, str] = {
        "hash": digest,
        "etag": result.etag or "",
        "last_modified": result.last_modified or "",
        "children": json.dumps([[u, str(k), lastmod] for u, k, lastmod in children]),
        "fetched_at": repr(now),
    }
    if state.get("pending_lastmod"):
        mapping["lastmod"] = state["pending_lastmod"]
    pipe = r.pipeline()
    pipe.hset(state_key, mapping=mapping)
    pipe.expire(state_key, LISTING_STATE_TTL)
    pipe.execute()


def reoffer_due(
    r: redis.Redis, keys: Keys, sender: Sender, now: float, limit: int, options: CrawlOptions
) -> int:
    """Send again the URLs the seen-set says are due (lost, failed for now, recrawl), unless
    the extract queue is over its bound. Returns how many were sent."""
    if extract_queue_depth(sender) > options.extract_queue_max:
        return 0
    due = take_due(r, keys, now, limit, _policy(options))
    messages = [
        ProcessUrl(
            url=item.url,
            source_id=item.source_id,
            discovered_at=datetime.now(UTC),
            etag=item.etag,
            last_modified=item.last_modified,
        ).model_dump(mode="json")
        for item in due
    ]
    sender.send_many(TaskName.PROCESS_URL, messages)
    for item in due:
        record_outcome(
            r,
            keys,
            "url_reoffered",
            stage="enqueue",
            outcome=item.kind,
            url=item.url,
            source_id=item.source_id,
        )
    return len(due)


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


def sync_due(r: redis.Redis, keys: Keys, source_ids: Iterable[str], now: float) -> tuple[int, int]:
    """Make the due set match the sources file: new sources are due now (``ZADD NX``, an
    existing due time is kept), sources no longer in the file leave. Called when a process
    (re)loads the file, not every tick. Returns (added, removed)."""
    ids = set(source_ids)
    present = set(r.zrange(keys.sources_due, 0, -1))
    added, gone = ids - present, present - ids
    pipe = r.pipeline(transaction=False)
    batch = sorted(added)
    for start in range(0, len(batch), _SYNC_CHUNK):
        pipe.zadd(keys.sources_due, dict.fromkeys(batch[start : start + _SYNC_CHUNK], now), nx=True)
    gone_list = sorted(gone)
    for start in range(0, len(gone_list), _SYNC_CHUNK):
        pipe.zrem(keys.sources_due, *gone_list[start : start + _SYNC_CHUNK])
    pipe.execute()
    return len(added), len(gone)


def claim_due_sources(r: redis.Redis, keys: Keys, now: float, hold: float, limit: int) -> list[str]:
    """Take up to ``limit`` sources whose due time has come, earliest first, and push each one
    ``hold`` seconds ahead in the same atomic step, so a second beat or a slow round never
    sends the same poll twice. Costs O(log n + due): idle ticks are one cheap call however
    many sources there are (``poll_source`` then sets the real next due time)."""
    return [str(sid) for sid in r.eval(_CLAIM_DUE, 1, keys.sources_due, now, now + hold, max(1, limit))]


_SYNC_CHUNK = 1000

_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""

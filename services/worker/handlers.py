"""The worker's stage handler: fetch a page politely, build the article, send it on.

``(deps, message) -> Outcome``, no Celery here. Every URL ends in one outcome: ``extracted``
(handed to the indexer), or an intent raised for ``shared.runner``: skipped with a reason
(not an article, robots, 4xx, ...), delayed (our host slot, timeouts, 5xx, the site's 429),
or dead-lettered (bad message, retries exhausted, unexpected error).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from services.worker.article import DuplicateQuery, build_article
from services.worker.build import Page
from services.worker.duplicates import register_and_find_original
from services.worker.extract import ExtractOptions
from services.worker.similarity import NEAR_DUPLICATE_MAX_DISTANCE
from shared.deps import Deps
from shared.errors import PermanentError, Reason, RetryableError
from shared.fetch import FetchResult
from shared.messages import IndexDocument, ProcessUrl, TaskName
from shared.polite_fetch import ensure_indexable, polite_fetch
from shared.ratelimit import Booking
from shared.retry import RetryPolicy
from shared.runner import Outcome
from shared.seen import SeenPolicy, http_status, mark_new, settle
from shared.urls import normalize_url


def process_url(deps: Deps, message: ProcessUrl) -> Outcome:
    s = deps.settings
    url = normalize_url(message.url)
    if url is None:
        raise PermanentError(Reason.BAD_URL, message.url[:300])
    seen_ttl = int(s.seen_ttl_days * 86400)

    def find_original(query: DuplicateQuery) -> str | None:
        return register_and_find_original(
            deps.redis,
            deps.keys,
            doc_id=query.doc_id,
            text_hash=query.text_hash,
            simhash=query.simhash,
            bands=query.bands,
            max_distance=NEAR_DUPLICATE_MAX_DISTANCE,
            ttl_seconds=seen_ttl,
            window_seconds=s.near_duplicate_window_days * 86400,
        )

    try:
        fetched = polite_fetch(
            deps.http,
            deps.redis,
            deps.keys,
            url,
            deps.fetch_options,
            robots_ttl=s.robots_ttl_seconds,
            default_rate=s.host_rate_per_second,
            booking=Booking.from_message(message.booking),
            etag=message.etag,  # a recrawl: conditional GET
            last_modified=message.last_modified,
        )
        if fetched.not_modified:  # a recrawl found the page as it was: nothing to do
            _settle(deps, message, "unchanged", Reason.UNCHANGED, fetched=fetched)
            return Outcome("article_unchanged", "unchanged", Reason.UNCHANGED)
        ensure_indexable(fetched, deps.fetch_options)  # meta robots / X-Robots-Tag noindex: skipped
        return _extract(deps, message, url, fetched, seen_ttl, find_original)
    except PermanentError as exc:
        _settle(deps, message, "skipped", exc.reason, exc.detail)
        raise
    except RetryableError:
        if message.attempt >= RetryPolicy.for_stage(s, "extract").max_attempts:  # the runner gives up
            _settle(deps, message, "dead_letter", Reason.RETRIES_EXHAUSTED)  # failed for now: later
        raise


def _extract(
    deps: Deps, message: ProcessUrl, url: str, fetched: FetchResult, seen_ttl: int, find_original: Any
) -> Outcome:
    s = deps.settings
    page = Page(url, message.source_id, datetime.now(UTC), message.feed_published_at, message.feed_title)
    options = ExtractOptions(min_text_chars=s.min_text_chars, max_html_chars=s.max_body_bytes)
    doc = build_article(page, fetched.content, fetched.charset, options, find_original, normalize_url)
    if doc.canonical_url != url:  # tell the crawler's seen-set about the canonical address too
        mark_new(deps.redis, deps.keys, doc.canonical_url, seen_ttl)
    document = IndexDocument(document=doc.model_dump(mode="json")).model_dump(mode="json")
    deps.dispatcher.send(TaskName.INDEX_DOCUMENT, document)
    _settle(deps, message, "extracted", fetched=fetched, published_at=doc.published_at)
    return Outcome(
        "article_extracted",
        "extracted",
        fields={
            "doc_id": doc.id,
            "title": doc.title[:200],
            "topics": [t.code for t in doc.topics],
            "duplicate_of": doc.duplicate_of,
            "extraction_path": doc.extraction_path,
            "published_at_source": doc.published_at_source,
        },
    )


def _settle(
    deps: Deps,
    message: ProcessUrl,
    outcome: str,
    reason: Reason | None = None,
    detail: str = "",
    fetched: FetchResult | None = None,
    published_at: datetime | None = None,
) -> None:
    """Tell the seen-set the URL's final outcome (``shared.seen.settle``): done, failed for now
    (the crawler offers it again later), or final. A done page's validators make its recrawls
    conditional; only recently published articles are recrawled."""
    policy = SeenPolicy.from_settings(deps.settings)
    now = time.time()
    settle(
        deps.redis,
        deps.keys,
        message.url,
        message.source_id,
        outcome,
        reason,
        now,
        policy,
        status=http_status(detail),
        recrawl=policy.recrawls(published_at.timestamp() if published_at else None, now),
        etag=fetched.etag if fetched else None,
        last_modified=fetched.last_modified if fetched else None,
    )

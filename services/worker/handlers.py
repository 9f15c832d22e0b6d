"""The worker's stage handler: fetch a page politely, build the article, send it on.

``(deps, message) -> Outcome``, no Celery here. Every URL ends in one outcome: ``extracted``
(handed to the indexer), or an intent raised for ``shared.runner``: skipped with a reason
(not an article, robots, 4xx, ...), delayed (our host slot, timeouts, 5xx, the site's 429),
or dead-lettered (bad message, retries exhausted, unexpected error).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.worker.article import DuplicateQuery, build_article
from services.worker.build import Page
from services.worker.duplicates import register_and_find_original
from services.worker.extract import ExtractOptions
from services.worker.similarity import NEAR_DUPLICATE_MAX_DISTANCE
from shared.deps import Deps
from shared.errors import PermanentError, Reason
from shared.fetch import FetchResult
from shared.messages import IndexDocument, ProcessUrl, TaskName
from shared.polite_fetch import ensure_indexable, polite_fetch
from shared.ratelimit import Booking
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
        return Outcome("article_unchanged", "unchanged", Reason.UNCHANGED, _validators(fetched))
    ensure_indexable(fetched, deps.fetch_options)  # meta robots / X-Robots-Tag noindex: skipped
    page = Page(
        url,
        message.source_id,
        datetime.now(UTC),
        message.feed_published_at,
        message.feed_title,
        discovered_at=message.discovered_at,
    )
    options = ExtractOptions(min_text_chars=s.min_text_chars, max_html_chars=s.max_body_bytes)
    doc = build_article(page, fetched.content, fetched.charset, options, find_original, normalize_url)
    if doc.canonical_url != url:  # tell the crawler's seen-set about the canonical address too
        mark_new(deps.redis, deps.keys, doc.canonical_url, seen_ttl)
    document = IndexDocument(document=doc).model_dump(mode="json")
    deps.dispatcher.send(TaskName.INDEX_DOCUMENT, document)
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
            "published_at": doc.published_at.isoformat(),  # only recent articles are recrawled
            **_validators(fetched),
        },
    )


def _validators(fetched: FetchResult) -> dict[str, str]:
    """A done page's validators, so its recrawls are conditional GETs."""
    found = {"etag": fetched.etag, "last_modified": fetched.last_modified}
    return {k: v for k, v in found.items() if v}


def settle_final(deps: Deps, kwargs: Mapping[str, Any], outcome: Outcome) -> None:
    """The runner's word that a URL has its final outcome (extracted, unchanged, skipped,
    dead-lettered): the seen-set decides when, if ever, it is due again (``shared.seen``)."""
    url, source_id = kwargs.get("url"), kwargs.get("source_id")
    if not (isinstance(url, str) and isinstance(source_id, str)):
        return  # a message that failed its model: nothing to settle
    fields = outcome.fields
    detail = str(fields.get("detail") or fields.get("error") or "")
    policy = SeenPolicy.from_settings(deps.settings)
    now = time.time()
    published = fields.get("published_at")
    published_ts = datetime.fromisoformat(published).timestamp() if isinstance(published, str) else None
    settle(
        deps.redis,
        deps.keys,
        url,
        source_id,
        outcome.outcome,
        outcome.reason,
        now,
        policy,
        status=http_status(detail),
        recrawl=policy.recrawls(published_ts, now),
        etag=fields.get("etag"),
        last_modified=fields.get("last_modified"),
    )

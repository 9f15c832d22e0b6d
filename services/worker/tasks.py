"""The worker's Celery task shell: fetch a page politely, build the article, send it on.

Every URL ends in one outcome: ``extracted`` (sent to the indexer), ``skipped`` with a reason
(not an article, robots, 4xx, ...), a retry with backoff (timeouts, 5xx, rate limits), or a
dead letter (bad message, retries exhausted, unexpected error).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

import redis
import structlog
from pydantic import ValidationError

from services.worker.article import DuplicateQuery, build_article
from services.worker.build import Page
from services.worker.duplicates import register_and_find_original
from services.worker.extract import ExtractOptions
from services.worker.similarity import NEAR_DUPLICATE_MAX_DISTANCE
from shared import index_stream
from shared.celery_app import create_app
from shared.clients import make_redis
from shared.deadletter import dead_letter
from shared.errors import HostBusy, PermanentError, Reason, RetryableError
from shared.fetch import FetchOptions, make_http_client
from shared.keys import Keys
from shared.logging import truncate
from shared.messages import IndexDocument, ProcessUrl, TaskName
from shared.outcomes import record_outcome
from shared.polite_fetch import ensure_indexable, polite_fetch
from shared.ratelimit import Booking
from shared.retry import retry_countdown
from shared.seen import SeenPolicy, http_status, mark_new, settle
from shared.settings import get_settings
from shared.urls import normalize_url

settings = get_settings()
app = create_app("worker", settings)
keys = Keys(settings.redis_prefix)
r = make_redis(settings)
fetch_options = FetchOptions.from_settings(settings)
http = make_http_client(fetch_options)
extract_options = ExtractOptions(
    min_text_chars=settings.min_text_chars, max_html_chars=settings.max_body_bytes
)
log = structlog.get_logger(__name__)

STAGE = "extract"
SEEN_TTL = int(settings.seen_ttl_days * 86400)
SEEN_POLICY = SeenPolicy.from_settings(settings)


def _settle(
    message: ProcessUrl,
    outcome: str,
    reason: Reason | None = None,
    detail: str = "",
    fetched: Any = None,
    published_at: datetime | None = None,
) -> None:
    """Tell the seen-set the URL's final outcome: done, failed for now (tried again later by
    the crawler), or final (shared.seen.settle); a done page's validators make its
    recrawls conditional; only recently published articles are recrawled."""
    now = time.time()
    settle(
        r,
        keys,
        message.url,
        message.source_id,
        outcome,
        reason,
        now,
        SEEN_POLICY,
        status=http_status(detail),
        recrawl=SEEN_POLICY.recrawls(published_at.timestamp() if published_at else None, now),
        etag=getattr(fetched, "etag", None),
        last_modified=getattr(fetched, "last_modified", None),
    )


def _find_original(query: DuplicateQuery) -> str | None:
    return register_and_find_original(
        r,
        keys,
        doc_id=query.doc_id,
        text_hash=query.text_hash,
        simhash=query.simhash,
        bands=query.bands,
        max_distance=NEAR_DUPLICATE_MAX_DISTANCE,
        ttl_seconds=SEEN_TTL,
        window_seconds=settings.near_duplicate_window_days * 86400,
    )


@app.task(name=TaskName.PROCESS_URL)
def process_url(**kwargs: Any) -> None:
    try:
        message = ProcessUrl.model_validate(kwargs)
    except ValidationError as exc:
        _dead_letter(kwargs, Reason.BAD_MESSAGE, exc, attempts=0)
        return
    structlog.contextvars.bind_contextvars(url=message.url, source=message.source_id)
    url = normalize_url(message.url)
    if url is None:
        record_outcome(r, keys, "article_skipped", stage=STAGE, outcome="skipped", reason=Reason.BAD_URL)
        return
    try:
        fetched = polite_fetch(
            http,
            r,
            keys,
            url,
            fetch_options,
            robots_ttl=settings.robots_ttl_seconds,
            default_rate=settings.host_rate_per_second,
            booking=Booking.from_message(message.booking),
            etag=message.etag,  # a recrawl: conditional GET
            last_modified=message.last_modified,
        )
        if fetched.not_modified:  # a recrawl found the page as it was: nothing to do
            record_outcome(
                r, keys, "article_unchanged", stage=STAGE, outcome="unchanged", reason=Reason.UNCHANGED
            )
            _settle(message, "unchanged", Reason.UNCHANGED, fetched=fetched)
            return
        ensure_indexable(fetched, fetch_options)  # meta robots / X-Robots-Tag noindex: skipped
        page = Page(url, message.source_id, datetime.now(UTC), message.feed_published_at, message.feed_title)
        doc = build_article(
            page, fetched.content, fetched.charset, extract_options, _find_original, normalize_url
        )
    except RetryableError as exc:
        _retry(message, exc)
        return
    except PermanentError as exc:
        record_outcome(
            r,
            keys,
            "article_skipped",
            stage=STAGE,
            outcome="skipped",
            reason=exc.reason,
            detail=truncate(exc.detail, 200),
        )
        _settle(message, "skipped", exc.reason, exc.detail)
        return
    except redis.RedisError:
        # Our own store (and broker) is down: nothing can be recorded or re-sent. Raising
        # leaves the message unacknowledged, so Redis hands it out again once it is back.
        raise
    except Exception as exc:  # a bug or a hostile page we did not foresee: keep it for replay
        log.exception("article_failed")
        _dead_letter(kwargs, Reason.INTERNAL_ERROR, exc, attempts=message.attempt)
        _settle(message, "dead_letter", Reason.INTERNAL_ERROR)
        return

    if doc.canonical_url != url:  # tell the crawler's seen-set about the canonical address too
        mark_new(r, keys, doc.canonical_url, SEEN_TTL)
    index_stream.publish(
        r, keys, [IndexDocument(document=doc.model_dump(mode="json")).model_dump(mode="json")]
    )
    record_outcome(
        r,
        keys,
        "article_extracted",
        stage=STAGE,
        outcome="extracted",
        doc_id=doc.id,
        title=doc.title[:200],
        topics=[t.code for t in doc.topics],
        duplicate_of=doc.duplicate_of,
        extraction_path=doc.extraction_path,
        published_at_source=doc.published_at_source,
    )
    _settle(message, "extracted", fetched=fetched, published_at=doc.published_at)


def _retry(message: ProcessUrl, exc: RetryableError) -> None:
    """Send the URL again later. Waiting for a host's slot or Retry-After is not a failure,
    so it has its own, larger budget; every other retry counts against TASK_MAX_RETRIES."""
    waiting = isinstance(exc, HostBusy) or exc.reason is Reason.RATE_LIMITED
    used, budget = (
        (message.waits, settings.rate_limit_max_waits)
        if waiting
        else (message.attempt, settings.task_max_retries)
    )
    if used >= budget:
        _dead_letter(message.model_dump(mode="json"), Reason.RETRIES_EXHAUSTED, exc, attempts=used)
        _settle(message, "dead_letter", Reason.RETRIES_EXHAUSTED)  # failed for now: tried later
        return
    countdown = retry_countdown(exc, message.attempt, random.random())
    counter = {"waits": used + 1} if waiting else {"attempt": used + 1}
    booking = exc.booking if isinstance(exc, HostBusy) else None
    again = message.model_copy(update={**counter, "booking": booking})
    app.send_task(TaskName.PROCESS_URL, kwargs=again.model_dump(mode="json"), countdown=countdown)
    record_outcome(
        r,
        keys,
        "article_retry",
        stage=STAGE,
        outcome="retry",
        reason=exc.reason,
        attempt=again.attempt,
        waits=again.waits,
        countdown=round(countdown, 2),
    )


def _dead_letter(kwargs: dict[str, Any], reason: Reason, error: object, attempts: int) -> None:
    dead_letter(
        r, keys, task=TaskName.PROCESS_URL, kwargs=kwargs, reason=reason, error=error, attempts=attempts
    )
    record_outcome(
        r,
        keys,
        "article_dead_lettered",
        stage=STAGE,
        outcome="dead_letter",
        reason=reason,
        url=kwargs.get("url"),
        error=truncate(error, 200),
    )

"""The indexer's Celery task shell: batches of documents in, bulk writes out.

``indexer.index_document`` messages are buffered by celery-batches and flushed every
``bulk_max_docs`` messages or ``bulk_flush_seconds``, whichever comes first. Messages are
acknowledged only after the flush (late ack), and every document ends in one outcome:
written, unchanged, requeued with backoff, or dead-lettered.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import structlog
from celery import signals
from celery_batches import Batches, SimpleRequest
from elasticsearch import exceptions as es_exc
from pydantic import ValidationError

from services.indexer.plan import Verdict
from services.indexer.templates import IndexLayout, ensure_layout
from services.indexer.writer import write_batch
from shared.celery_app import MAX_COUNTDOWN_SECONDS, create_app
from shared.clients import make_elasticsearch, make_redis
from shared.deadletter import dead_letter
from shared.document import ArticleDocument
from shared.errors import Reason
from shared.keys import Keys
from shared.logging import truncate
from shared.messages import IndexDocument, TaskName
from shared.outcomes import OutcomeTally
from shared.retry import backoff_seconds
from shared.settings import get_settings

settings = get_settings()
app = create_app("indexer", settings)
# celery-batches buffers in the consumer: it must be allowed to hold whole batches unacked.
# Two writer threads let the consumer keep reading the queue while a bulk request is in flight.
app.conf.worker_pool = "threads"
app.conf.worker_concurrency = 2
app.conf.worker_prefetch_multiplier = settings.bulk_max_docs
keys = Keys(settings.redis_prefix)
es = make_elasticsearch(settings)
r = make_redis(settings)
log = structlog.get_logger(__name__)

STAGE = "index"


_ready = False


def _ensure_templates() -> bool:
    """Install templates once per process; until that works no document is written, since
    an index created without them would get a guessed mapping."""
    global _ready
    if not _ready:
        try:
            ensure_layout(es, IndexLayout.from_settings(settings), datetime.now(UTC))
            _ready = True
        except (es_exc.ApiError, es_exc.TransportError) as exc:
            log.error("templates_install_failed", error=truncate(exc))
    return _ready


@signals.worker_ready.connect(weak=False)
def _install_templates(**_: Any) -> None:
    _ensure_templates()


@app.task(
    name=TaskName.INDEX_DOCUMENT,
    base=Batches,
    flush_every=settings.bulk_max_docs,
    flush_interval=settings.bulk_flush_seconds,
    acks_late=True,
)
def index_document(requests: list[SimpleRequest]) -> None:
    structlog.contextvars.bind_contextvars(batch_size=len(requests))
    tally = OutcomeTally(r, keys, STAGE)
    try:
        _index_batch(requests, tally)
    finally:
        tally.flush()


def _index_batch(requests: list[SimpleRequest], tally: OutcomeTally) -> None:
    batch: dict[str, tuple[IndexDocument, dict[str, Any]]] = {}
    for request in requests:
        try:
            message = IndexDocument.model_validate(request.kwargs)
            doc = ArticleDocument.model_validate(message.document).model_dump(mode="json")
        except ValidationError as exc:
            _dead_letter(tally, request.kwargs, Reason.BAD_MESSAGE, exc, attempts=0)
            continue
        if doc["id"] in batch:  # a later copy of the same article in one batch wins
            tally.record("document_superseded", outcome="superseded", doc_id=doc["id"], url=doc["url"])
        batch[doc["id"]] = (message, doc)
    if not batch:
        return

    try:
        if not _ensure_templates():
            raise es_exc.ConnectionError("index templates are not installed yet")
        results = write_batch(
            es,
            settings.index_prefix,
            [doc for _, doc in batch.values()],
            datetime.now(UTC),
            max_chunk_docs=settings.bulk_max_docs,
            max_chunk_bytes=settings.bulk_max_bytes,
        )
    except (es_exc.ApiError, es_exc.TransportError) as exc:
        # Elasticsearch unreachable or refusing reads: hold every document by requeueing it.
        log.warning("bulk_unavailable", error=truncate(exc), documents=len(batch))
        for message, _ in batch.values():
            _requeue(tally, message, Reason.INDEX_UNAVAILABLE, exc)
        return

    for result in results:
        message, doc = batch[result.doc_id]
        if result.verdict in (Verdict.CREATED, Verdict.UPDATED, Verdict.UNCHANGED):
            tally.record("document_indexed", outcome=result.verdict, doc_id=result.doc_id, url=doc["url"])
        elif result.verdict is Verdict.RETRY:
            _requeue(tally, message, Reason.INDEX_UNAVAILABLE, result.error)
        else:
            _dead_letter(
                tally, message.model_dump(mode="json"), Reason.INDEX_REJECTED, result.error, message.attempt
            )


def _requeue(tally: OutcomeTally, message: IndexDocument, reason: Reason, error: object) -> None:
    if message.attempt >= settings.index_retry_max:
        _dead_letter(tally, message.model_dump(mode="json"), Reason.RETRIES_EXHAUSTED, error, message.attempt)
        return
    jitter = random.random() / 2
    countdown = min(
        MAX_COUNTDOWN_SECONDS,
        backoff_seconds(message.attempt, base=1.0, cap=settings.index_backoff_max_seconds, jitter=jitter),
    )
    retry = message.model_copy(update={"attempt": message.attempt + 1})
    app.send_task(TaskName.INDEX_DOCUMENT, kwargs=retry.model_dump(mode="json"), countdown=countdown)
    tally.record(
        "document_requeued",
        outcome="requeued",
        reason=reason,
        attempt=retry.attempt,
        countdown=round(countdown, 2),
        error=truncate(error, 200),
        doc_id=message.document.get("id"),
        url=message.document.get("url"),
    )


def _dead_letter(
    tally: OutcomeTally, kwargs: dict[str, Any], reason: Reason, error: object, attempts: int
) -> None:
    raw = kwargs.get("document")
    document: dict[str, Any] = raw if isinstance(raw, dict) else {}
    dead_letter(
        r, keys, task=TaskName.INDEX_DOCUMENT, kwargs=kwargs, reason=reason, error=error, attempts=attempts
    )
    tally.record(
        "document_dead_lettered",
        outcome="dead_letter",
        reason=reason,
        doc_id=document.get("id"),
        url=document.get("url"),
        error=truncate(error, 200),
    )

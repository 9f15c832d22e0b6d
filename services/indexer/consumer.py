"""The indexer process: read a batch from the index stream, write it, settle each document.

``python -m services.indexer run`` runs :func:`main`: one consumer of the ``indexers``
group (``shared.index_stream``); run more processes to scale, each under its own name.

Every document ends in one outcome, and its stream entry is acknowledged only once that
outcome is durable:

* written, updated or unchanged in Elasticsearch -> acknowledged;
* superseded by a later copy of the same article before it was written -> acknowledged;
* rejected by Elasticsearch (mapping conflict, 400) or not a valid message -> dead letter,
  then acknowledged;
* delivered more than ``MAX_DELIVERIES`` times (its indexer kept dying while holding it)
  -> dead letter ``poison``, then acknowledged;
* Elasticsearch unreachable, 429, 5xx or a write conflict -> **held**: kept in this
  process and in the stream's pending list, retried with backoff for as long as it takes.
  A document is never dead-lettered because Elasticsearch was away; while this process
  holds a full batch it reads nothing new, so the stream grows and the crawler's
  backpressure (which reads the stream length) stops feeding the pipeline.

Outcomes are logged one event per document, except the commonest: the documents a bulk
wrote (or found unchanged) are listed in one ``documents_indexed`` event per 50, their
``doc_id`` and ``url`` fields lists (``OutcomeTally.record_many``). Counters still count
each document.

Batching: new documents are gathered until ``BULK_MAX_DOCS`` or ``BULK_LINGER_SECONDS``
after the first (Kafka's ``linger.ms``), so a trickle costs Elasticsearch one lookup and
one bulk per linger instead of per document. One bulk at a time is written by a writer
thread while this thread reads, validates and settles the documents around it; the
writer only calls Elasticsearch, every outcome, dead letter and acknowledgement stays on
this thread, after the document's bulk item came back. A newer copy of an article that
arrives while its older copy is being written waits for it, and is written after it (or
replaces it, if that write failed).
"""

from __future__ import annotations

import gc
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
import structlog
from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exc

from services.indexer.plan import Verdict
from services.indexer.templates import IndexLayout, ensure_layout
from services.indexer.writer import ItemResult, write_batch
from shared import metrics
from shared.celery_app import create_app
from shared.deadletters import DeadLetters
from shared.deps import Deps
from shared.errors import Reason
from shared.index_stream import Entry, StreamConsumer
from shared.keys import Keys
from shared.logging import configure_logging, truncate
from shared.messages import IndexDocument, TaskName
from shared.outcomes import OutcomeTally
from shared.retry import backoff_seconds
from shared.settings import Settings, get_settings

log = structlog.get_logger(__name__)

STAGE = "index"
# Held documents are re-claimed this often, well inside the claim idle time.
HOLD_REFRESH_FRACTION = 1 / 3


@dataclass
class Held:
    """A document this process owns until Elasticsearch takes it."""

    entry: Entry
    message: IndexDocument
    doc: dict[str, Any]
    failures: int = 0
    not_before: float = 0.0
    writing: bool = False  # in the bulk being written now


@dataclass
class Flight:
    """The one bulk being written, by the writer thread, while this thread reads the next."""

    batch: dict[str, Held]  # by document id
    future: Future[list[ItemResult]]


# While a bulk is being written, reads wait at most this long, so it is settled promptly.
FLIGHT_POLL_MS = 10


@dataclass
class Indexer:
    settings: Settings
    r: redis.Redis
    es: Elasticsearch
    consumer: StreamConsumer
    dead_letters: DeadLetters
    clock: Callable[[], float] = time.monotonic
    held: dict[str, Held] = field(default_factory=dict)  # by stream entry id
    _held_by_doc: dict[str, str] = field(default_factory=dict)  # document id -> newest entry id
    _linger_until: float | None = None  # when the batch being gathered is written
    _flight: Flight | None = None
    _writer: ThreadPoolExecutor | None = None
    _templates_ready: bool = False
    _last_hold_refresh: float = 0.0

    @property
    def keys(self) -> Keys:
        return Keys(self.settings.redis_prefix)

    def step(self) -> int:
        """One round: take in what fits, settle the bulk that finished, start the next one
        that is due. Returns documents settled.

        Elasticsearch writes one bulk (in the writer thread) while this thread decodes,
        validates and settles the documents around it: the two costs overlap instead of
        adding up. Nothing about a document's outcome moves to the other thread: it is
        recorded and acknowledged here, after its bulk item came back."""
        fresh = self._fresh()
        capacity = 2 * self.settings.bulk_max_docs - len(self.held)
        # Never gather more than one bulk of new documents: a full one is written at once.
        count = min(capacity, self.settings.bulk_max_docs - fresh)
        block_ms = self._block_ms()
        entries: list[Entry] = []
        if count > 0:
            entries = self.consumer.read(count, block_ms)
        elif self._flight is not None:  # hands full: the bulk in flight frees them
            wait([self._flight.future], timeout=block_ms / 1000)
        else:  # hands full of held documents: wait for the next retry, don't spin
            time.sleep(block_ms / 1000)
        tally = OutcomeTally(self.r, self.keys, STAGE)
        settled: list[str] = []
        try:
            for entry in entries:
                if self._admit(entry, tally):
                    settled.append(entry.id)
            landed = self._take_landed(block=False)
            try:
                self._launch_due()  # before settling the landed bulk: Elasticsearch never waits for us
            finally:
                settled += self._settle_landed(landed, tally)
        finally:
            # Outcomes (and dead letters) first, acknowledgement after: a crash in between
            # replays the document, which the _id makes harmless.
            tally.flush()
            self.consumer.ack(settled)
        self._refresh_holds()
        return len(settled)

    def finish_writing(self) -> int:
        """Wait for the bulk in flight and settle it (shutdown, tests). Returns documents settled."""
        tally = OutcomeTally(self.r, self.keys, STAGE)
        settled: list[str] = []
        try:
            settled = self._settle_landed(self._take_landed(block=True), tally)
        finally:
            tally.flush()
            self.consumer.ack(settled)
        return len(settled)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _fresh(self) -> int:
        """Documents admitted and not yet tried: the batch being gathered."""
        return sum(1 for h in self.held.values() if not h.failures and not h.writing)

    def _block_ms(self) -> int:
        flush_ms = int(self.settings.bulk_flush_seconds * 1000)
        if self._flight is not None:  # nothing else can start before it lands: no busy loop
            return min(flush_ms, FLIGHT_POLL_MS)
        wakes = [h.not_before for h in self.held.values() if h.failures and not h.writing]
        if self._linger_until is not None:
            wakes.append(self._linger_until)
        if not wakes:
            return flush_ms
        due_in = min(wakes) - self.clock()
        return max(1, min(flush_ms, int(due_in * 1000)))  # BLOCK 0 would wait forever

    def _admit(self, entry: Entry, tally: OutcomeTally) -> bool:
        """Validate a new entry; True when it is settled at once (dead-lettered)."""
        if entry.id in self.held:  # handed out again while still held here (a claim): keep ours
            return False
        try:
            message = IndexDocument.model_validate_json(entry.raw)
        except ValueError as exc:  # pydantic's ValidationError: not JSON, not the message, or not a document
            raw: dict[str, Any] = {"raw": entry.raw[:10_000]}
            self._dead_letter(tally, raw, Reason.BAD_MESSAGE, exc, entry.deliveries)
            return True
        doc = message.document.model_dump(mode="json")
        if entry.deliveries > self.settings.max_deliveries:
            error = f"delivered {entry.deliveries} times: its indexer died while holding it"
            self._dead_letter(tally, message.model_dump(mode="json"), Reason.POISON, error, entry.deliveries)
            return True
        older = self._held_by_doc.get(doc["id"])
        if older is not None and not self.held[older].writing:
            # An older copy still waiting for Elasticsearch: this one replaces it, so a late
            # retry can never write the older text over the newer. (One being written now
            # lands first; this one is written after it, or replaces it if it fails.)
            tally.record("document_superseded", outcome="superseded", doc_id=doc["id"])
            del self.held[older]
            self.consumer.ack([older])
        self.held[entry.id] = Held(entry, message, doc)
        self._held_by_doc[doc["id"]] = entry.id
        if self._linger_until is None:  # the first of a new batch opens its linger
            self._linger_until = self.clock() + self.settings.bulk_linger_seconds
        return False

    def _launch_due(self) -> None:
        """Start writing retries whose backoff has passed, and the gathered batch once it is
        full or its linger has passed: at a trickle, one bulk (and one lookup) per linger
        instead of one per document, which is what Elasticsearch's CPU pays for."""
        if self._flight is not None:
            return
        now = self.clock()
        full = self._fresh() >= self.settings.bulk_max_docs
        lingered = self._linger_until is not None and self._linger_until <= now
        flush = full or lingered
        due = [
            h for h in self.held.values() if not h.writing and (h.not_before <= now if h.failures else flush)
        ]
        if flush:
            self._linger_until = None
        if not due:
            return
        batch = {h.doc["id"]: h for h in due}  # one copy per article (see _admit)
        for held in batch.values():
            held.writing = True
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk")
        self._flight = Flight(batch, self._writer.submit(self._write, list(batch.values())))

    def _take_landed(self, *, block: bool) -> Flight | None:
        """The bulk in flight once it has finished (its documents stay marked as writing
        until they are settled, so the next launch leaves them alone)."""
        flight = self._flight
        if flight is None or not (block or flight.future.done()):
            return None
        self._flight = None
        return flight

    def _settle_landed(self, flight: Flight | None, tally: OutcomeTally) -> list[str]:
        """Each document of a finished bulk to its outcome: returns the entries settled."""
        if flight is None:
            return []
        for held in flight.batch.values():
            held.writing = False
        settled: list[str] = []
        try:
            results = flight.future.result()
        except (es_exc.ApiError, es_exc.TransportError) as exc:
            log.warning("bulk_unavailable", error=truncate(exc), documents=len(flight.batch))
            for held in flight.batch.values():
                settled += self._retry(held, tally, exc)
            return settled
        indexed: dict[str, list[dict[str, Any]]] = {}  # outcome -> its documents, for one listed event
        for result in results:
            held = flight.batch[result.doc_id]
            settled += self._settle(held, result, tally, indexed)
        for outcome, items in indexed.items():
            tally.record_many("documents_indexed", outcome=outcome, items=items)
        return settled

    def ensure_templates(self) -> None:
        """Templates before the first write: an index created without them would get a
        guessed mapping. Raises while Elasticsearch is unreachable; retried each round."""
        if not self._templates_ready:
            ensure_layout(self.es, IndexLayout.from_settings(self.settings), datetime.now(UTC))
            self._templates_ready = True

    def _write(self, due: list[Held]) -> list[ItemResult]:
        self.ensure_templates()
        return write_batch(
            self.es,
            self.settings.index_prefix,
            [h.doc for h in due],
            datetime.now(UTC),
            max_chunk_docs=self.settings.bulk_max_docs,
            max_chunk_bytes=self.settings.bulk_max_bytes,
        )

    def _settle(
        self, held: Held, result: ItemResult, tally: OutcomeTally, indexed: dict[str, list[dict[str, Any]]]
    ) -> list[str]:
        """One document of a landed bulk: a success joins ``indexed`` (logged per bulk, listed by
        id and URL); a retry or rejection is recorded on its own."""
        doc = held.doc
        if result.verdict in (Verdict.CREATED, Verdict.UPDATED, Verdict.UNCHANGED):
            indexed.setdefault(str(result.verdict), []).append({"doc_id": doc["id"], "url": doc["url"]})
        elif result.verdict is Verdict.RETRY:
            return self._retry(held, tally, result.error)
        else:
            self._dead_letter(
                tally, held.message.model_dump(mode="json"), Reason.INDEX_REJECTED, result.error, 1
            )
        self._forget(held)
        return [held.entry.id]

    def _forget(self, held: Held) -> None:
        del self.held[held.entry.id]
        if self._held_by_doc.get(held.doc["id"]) == held.entry.id:
            del self._held_by_doc[held.doc["id"]]

    def _retry(self, held: Held, tally: OutcomeTally, error: object) -> list[str]:
        """Hold a copy whose write failed for now, unless a newer copy arrived meanwhile."""
        if self._held_by_doc.get(held.doc["id"]) != held.entry.id:
            tally.record("document_superseded", outcome="superseded", doc_id=held.doc["id"])
            self._forget(held)
            return [held.entry.id]
        self._hold(held, tally, error)
        return []

    def _hold(self, held: Held, tally: OutcomeTally, error: object) -> None:
        held.failures += 1
        wait = backoff_seconds(
            held.failures - 1,
            base=0.5,
            cap=self.settings.index_backoff_max_seconds,
            jitter=random.random() / 4,
        )
        held.not_before = self.clock() + wait
        tally.record(
            "document_requeued",
            outcome="requeued",
            reason=Reason.INDEX_UNAVAILABLE,
            doc_id=held.doc["id"],
            failures=held.failures,
            wait=round(wait, 2),
            error=truncate(error, 200),
        )

    def _refresh_holds(self) -> None:
        now = self.clock()
        period = self.settings.index_claim_idle_seconds * HOLD_REFRESH_FRACTION
        if self.held and now - self._last_hold_refresh >= period:
            self.consumer.hold(self.held)
            self._last_hold_refresh = now

    def _dead_letter(
        self, tally: OutcomeTally, kwargs: dict[str, Any], reason: Reason, error: object, attempts: int
    ) -> None:
        document = kwargs.get("document")
        doc = document if isinstance(document, dict) else {}
        self.dead_letters.add(
            task=TaskName.INDEX_DOCUMENT, kwargs=kwargs, reason=reason, error=error, attempts=attempts
        )
        tally.record(
            "document_dead_lettered",
            outcome="dead_letter",
            reason=reason,
            doc_id=doc.get("id"),
            url=doc.get("url"),
            error=truncate(error, 200),
        )


def consumer_name(settings: Settings) -> str:
    """Stable across restarts of one process slot, so a restart reads its own pending first."""
    return settings.indexer_name or socket.gethostname()


# Allocations between young collections (CPython's default: 700).
GC_YOUNG_THRESHOLD = 7000


def tune_gc() -> None:
    """Cyclic garbage collection cost ~0.04 ms of a document's ~0.15 ms while draining (timed
    with ``gc.callbacks``). A held document lives through a bulk, so it survives the young
    collections and piles up in the old generation, whose full collections also walked every
    object of the start-up (Celery, clients, models): frozen here, they are skipped. A larger
    young threshold lets most of a document's objects die by reference count before a
    collection sees them. Measured 0.04-0.06 -> ~0.02 ms a document (docs/throughput.md)."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def run(indexer: Indexer, stop: threading.Event) -> None:
    """Rounds until ``stop``; Redis or Elasticsearch outages are waited out, never fatal."""
    outage = 0
    while not stop.is_set():
        try:
            indexer.step()
            outage = 0
        except redis.RedisError as exc:
            # Held documents stay held; unacknowledged ones stay in the stream's pending list.
            wait = backoff_seconds(outage, base=0.5, cap=10.0)
            outage += 1
            log.warning("redis_unavailable", error=truncate(exc, 200), wait=wait)
            stop.wait(wait)


def main() -> int:
    settings = get_settings()
    configure_logging(settings, "indexer")
    metrics.start_metrics(
        "indexer", settings.metrics_port, bind=settings.metrics_bind, base_dir=settings.metrics_dir
    )
    # The indexer sends nothing downstream, but like every service it runs a delay pump, so
    # replays and delayed messages move on while any one service is alive.
    deps = Deps.build(settings, create_app("indexer", settings))
    consumer = StreamConsumer(
        deps.redis,
        deps.keys,
        consumer_name(settings),
        claim_idle_seconds=settings.index_claim_idle_seconds,
    )
    indexer = Indexer(settings, deps.redis, deps.es, consumer, deps.dead_letters)
    pump = deps.pump().start()
    stop = threading.Event()

    def _stop(signum: int, _: Any) -> None:
        log.info("indexer_stopping", signal=signum, held=len(indexer.held))
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.is_set():
        try:
            consumer.ensure_group()
            break
        except redis.RedisError as exc:
            log.warning("redis_unavailable", error=truncate(exc, 200))
            stop.wait(1.0)
    try:
        indexer.ensure_templates()
    except (es_exc.ApiError, es_exc.TransportError) as exc:  # the first write tries again
        log.warning("templates_install_failed", error=truncate(exc, 200))
    tune_gc()
    log.info("indexer_ready", consumer=consumer.name)
    run(indexer, stop)
    try:  # the bulk in flight lands and is acknowledged; if not, it is read again after a restart
        indexer.finish_writing()
    except (redis.RedisError, es_exc.ApiError, es_exc.TransportError) as exc:
        log.warning("indexer_stop_unsettled", error=truncate(exc, 200))
    indexer.close()
    pump.stop()
    deps.close()
    log.info("indexer_stopped", held=len(indexer.held))
    return 0

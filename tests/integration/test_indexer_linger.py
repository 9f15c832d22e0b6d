"""The indexer's linger and its bulk in flight, in process on real Redis and Elasticsearch,
with a clock the test moves.

New documents are gathered into one bulk until it is full or ``BULK_LINGER_SECONDS`` have
passed since the first of them; until then they stay unacknowledged in the stream. A step
starts the bulk (the writer thread writes it) and a later step settles it;
``finish_writing`` waits for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

from services.indexer.consumer import Indexer
from shared import index_stream, outcomes
from shared.deadletters import DeadLetters
from shared.keys import Keys
from shared.messages import IndexDocument
from shared.outcomes import read_counters
from shared.settings import Settings
from tests.factories import make_document

pytestmark = pytest.mark.integration


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    # A short idle read keeps each step quick; the linger is long on the test's own clock.
    return make_settings(bulk_linger_seconds=10.0, bulk_max_docs=4, bulk_flush_seconds=0.05)


@pytest.fixture
def indexer(settings: Settings, redis_client: Any, es_client: Any, clock: Clock) -> Iterator[Indexer]:
    keys = Keys(settings.redis_prefix)
    consumer = index_stream.StreamConsumer(
        redis_client, keys, f"linger-{uuid.uuid4().hex[:6]}", claim_idle_seconds=30
    )
    consumer.ensure_group()
    indexer = Indexer(
        settings, redis_client, es_client, consumer, DeadLetters(redis_client, keys), clock=clock
    )
    yield indexer
    indexer.close()


def _send(redis_client: Any, settings: Settings, *docs: dict[str, Any]) -> None:
    messages = [IndexDocument(document=doc).model_dump(mode="json") for doc in docs]
    index_stream.publish(redis_client, Keys(settings.redis_prefix), messages)


def _stamps(es: Any, settings: Settings) -> list[str]:
    """indexed_at of every stored document: one value per bulk write."""
    es.indices.refresh(index=f"{settings.index_prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    if not es.indices.exists_alias(name=settings.index_prefix):
        return []
    hits = es.search(index=settings.index_prefix, size=100)["hits"]["hits"]
    return [h["_source"]["indexed_at"] for h in hits]


def _only_document(es: Any, settings: Settings) -> dict[str, Any]:
    """The one stored document (the tests send copies of one article)."""
    es.indices.refresh(index=f"{settings.index_prefix}-*")
    hits = es.search(index=settings.index_prefix)["hits"]["hits"]
    assert len(hits) == 1, hits
    return dict(hits[0]["_source"])


def _unsettled(redis_client: Any, settings: Settings) -> int:
    return index_stream.length(redis_client, Keys(settings.redis_prefix))


def test_a_trickle_is_written_as_one_bulk_once_the_linger_has_passed(
    indexer: Indexer, settings: Settings, es_client: Any, redis_client: Any, clock: Clock
) -> None:
    for i in range(3):  # one document a second, as a slow crawl delivers them
        _send(redis_client, settings, make_document(f"http://news.test/trickle/{i}.html"))
        assert indexer.step() == 0
        clock.now += 1
    assert _stamps(es_client, settings) == []  # nothing written yet ...
    assert _unsettled(redis_client, settings) == 3  # ... and nothing acknowledged

    clock.now += settings.bulk_linger_seconds  # ten seconds after the first one arrived
    indexer.step()
    assert indexer.finish_writing() == 3
    stamps = _stamps(es_client, settings)
    assert len(stamps) == 3 and len(set(stamps)) == 1  # one bulk
    assert _unsettled(redis_client, settings) == 0
    assert read_counters(redis_client, Keys(settings.redis_prefix)).get("index:created") == 3


def test_a_bulk_lists_its_documents_in_its_events_and_counts_each(
    indexer: Indexer, settings: Settings, redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outcomes, "ITEMS_PER_EVENT", 3)
    docs = [make_document(f"http://news.test/listed/{i}.html") for i in range(4)]
    _send(redis_client, settings, *docs)
    with capture_logs() as logs:
        indexer.step()  # a full bulk: written at once
        assert indexer.finish_writing() == 4
    events = [e for e in logs if e["event"] == "documents_indexed"]
    assert [(e["outcome"], e["count"]) for e in events] == [("created", 3), ("created", 1)]
    assert [url for e in events for url in e["url"]] == [d["url"] for d in docs]  # findable by URL
    assert [i for e in events for i in e["doc_id"]] == [d["id"] for d in docs]
    assert read_counters(redis_client, Keys(settings.redis_prefix)).get("index:created") == 4


def test_a_full_batch_is_written_at_once_and_the_rest_waits_for_its_own_linger(
    indexer: Indexer, settings: Settings, es_client: Any, redis_client: Any, clock: Clock
) -> None:
    docs = [make_document(f"http://news.test/burst/{i}.html") for i in range(6)]
    _send(redis_client, settings, *docs)
    indexer.step()
    assert indexer.finish_writing() == settings.bulk_max_docs  # full: no waiting for the linger
    assert indexer.step() == 0  # the other two open a new batch
    assert indexer.finish_writing() == 0
    assert _unsettled(redis_client, settings) == 2
    clock.now += settings.bulk_linger_seconds
    indexer.step()
    assert indexer.finish_writing() == 2
    stamps = _stamps(es_client, settings)
    assert len(stamps) == 6 and len(set(stamps)) == 2  # two bulks: 4 + 2


def test_a_newer_copy_arriving_during_the_linger_replaces_the_older(
    indexer: Indexer, settings: Settings, es_client: Any, redis_client: Any, clock: Clock
) -> None:
    doc = make_document()
    _send(redis_client, settings, doc)
    assert indexer.step() == 0
    _send(redis_client, settings, make_document(text=doc["text"] + " A later correction."))
    assert indexer.step() == 0
    assert _unsettled(redis_client, settings) == 1  # the older copy settled as superseded
    clock.now += settings.bulk_linger_seconds
    indexer.step()
    assert indexer.finish_writing() == 1
    hit = _only_document(es_client, settings)
    assert hit["text"].endswith("A later correction.") and hit["version"] == 1
    counters = read_counters(redis_client, Keys(settings.redis_prefix))
    assert counters.get("index:created") == 1 and counters.get("index:superseded") == 1


def test_a_newer_copy_arriving_while_the_older_is_written_is_written_after_it(
    indexer: Indexer, settings: Settings, es_client: Any, redis_client: Any, clock: Clock
) -> None:
    doc = make_document()
    _send(redis_client, settings, doc)
    indexer.step()
    clock.now += settings.bulk_linger_seconds
    indexer.step()  # the bulk with the first copy starts
    _send(redis_client, settings, make_document(text=doc["text"] + " A later correction."))
    # The newer copy is taken in while the older one is being written: it waits for it.
    assert indexer.step() + indexer.finish_writing() == 1
    clock.now += settings.bulk_linger_seconds
    indexer.step()
    assert indexer.finish_writing() == 1
    hit = _only_document(es_client, settings)
    assert hit["text"].endswith("A later correction.") and hit["version"] == 2
    counters = read_counters(redis_client, Keys(settings.redis_prefix))
    assert counters.get("index:created") == 1 and counters.get("index:updated") == 1
    assert _unsettled(redis_client, settings) == 0


def test_a_restarted_consumer_hands_out_each_of_its_own_pending_entries_once(
    settings: Settings, redis_client: Any
) -> None:
    """Its earlier life's entries come back in id order, each once, although they stay
    pending (held, not yet acknowledged) while the batch is gathered."""
    keys = Keys(settings.redis_prefix)
    before = index_stream.StreamConsumer(redis_client, keys, "same-name", claim_idle_seconds=30)
    before.ensure_group()
    _send(redis_client, settings, *[make_document(f"http://news.test/pending/{i}.html") for i in range(5)])
    assert len(before.read(10, block_ms=100)) == 5  # then it dies holding all five
    after = index_stream.StreamConsumer(redis_client, keys, "same-name", claim_idle_seconds=30)
    first, second, third = after.read(2, block_ms=10), after.read(2, block_ms=10), after.read(2, block_ms=10)
    ids = [e.id for e in first + second + third]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert all(e.deliveries == 2 for e in first + second + third)
    assert after.read(2, block_ms=10) == []  # nothing new, nothing handed out twice


def test_an_older_copy_whose_write_failed_gives_way_to_the_newer_one(
    make_settings: Any, redis_client: Any, clock: Clock
) -> None:
    """Elasticsearch unreachable (nothing listens on port 1): the copy being written fails,
    a newer copy arrived meanwhile, so the older one is settled as superseded instead of
    being held for a retry that would write older text."""
    from shared.clients import make_elasticsearch

    settings = make_settings(
        bulk_linger_seconds=10.0,
        bulk_max_docs=4,
        bulk_flush_seconds=0.05,
        elasticsearch_url="http://127.0.0.1:1",
    )
    keys = Keys(settings.redis_prefix)
    consumer = index_stream.StreamConsumer(redis_client, keys, "unreachable", claim_idle_seconds=30)
    consumer.ensure_group()
    indexer = Indexer(
        settings,
        redis_client,
        make_elasticsearch(settings),
        consumer,
        DeadLetters(redis_client, keys),
        clock=clock,
    )
    try:
        doc = make_document()
        _send(redis_client, settings, doc)
        indexer.step()
        clock.now += settings.bulk_linger_seconds
        indexer.step()  # the first copy's bulk starts, and will fail
        _send(redis_client, settings, make_document(text=doc["text"] + " A later correction."))
        settled = indexer.step() + indexer.finish_writing()
    finally:
        indexer.close()
    assert settled == 1  # the older copy, superseded
    counters = read_counters(redis_client, keys)
    assert counters.get("index:superseded") == 1 and "index:requeued:index_unavailable" not in counters
    [held] = indexer.held.values()  # the newer copy waits for Elasticsearch, still pending
    assert held.doc["text"].endswith("A later correction.")
    assert _unsettled(redis_client, settings) == 1

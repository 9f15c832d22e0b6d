"""The indexer as a real Celery worker on real Redis and Elasticsearch."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.celery_app import create_app
from shared.deadletter import list_dead_letters, replay_dead_letters
from shared.keys import Keys
from shared.messages import IndexDocument, Queue, TaskName
from shared.outcomes import read_counters
from shared.settings import Settings
from tests.factories import make_document
from tests.service_processes import celery_worker, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

ES_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local" / "elasticsearch.sh"


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(
        bulk_flush_seconds=0.3, bulk_max_docs=50, index_backoff_max_seconds=4.0, index_retry_max=60
    )


@pytest.fixture
def indexer(settings: Settings, es_client: Any, redis_client: Any) -> Iterator[None]:
    with celery_worker(
        "services.indexer.tasks", [Queue.INDEX], settings_env(settings), pool=None, concurrency=None
    ):
        yield


def _send(settings: Settings, doc: dict[str, Any]) -> None:
    app = create_app("test-sender", settings)
    app.send_task(TaskName.INDEX_DOCUMENT, kwargs=IndexDocument(document=doc).model_dump(mode="json"))


def _count(es: Any, settings: Settings) -> int:
    es.indices.refresh(index=f"{settings.index_prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    return int(es.count(index=settings.index_prefix)["count"])


def _outcomes(redis_client: Any, settings: Settings) -> dict[str, int]:
    return read_counters(redis_client, Keys(settings.redis_prefix))


def test_replayed_messages_index_each_article_exactly_once(
    indexer: None, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    docs = [make_document(f"http://news.test/news/{i}.html") for i in range(5)]
    for _ in range(3):  # at-least-once delivery: every message arrives three times
        for doc in docs:
            _send(settings, doc)
    wait_for(
        lambda: sum(v for k, v in _outcomes(redis_client, settings).items() if k.startswith("index:")) >= 15,
        timeout=60,
        what="15 index outcomes",
    )
    assert _count(es_client, settings) == 5
    counters = _outcomes(redis_client, settings)
    assert counters.get("index:created") == 5
    # Every copy has an outcome: written once, the other ten unchanged or superseded in-batch.
    assert counters.get("index:unchanged", 0) + counters.get("index:superseded", 0) == 10
    stored = es_client.search(index=settings.index_prefix, size=10)["hits"]["hits"]
    assert {h["_source"]["version"] for h in stored} == {1}


def test_changed_article_is_reindexed_with_next_version(
    indexer: None, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    doc = make_document()
    _send(settings, doc)
    wait_for(lambda: _count(es_client, settings) == 1, timeout=60, what="first version")
    _send(settings, make_document(text=doc["text"] + " Updated with a comment from the ministry."))
    wait_for(lambda: _outcomes(redis_client, settings).get("index:updated"), timeout=60, what="update")
    assert _count(es_client, settings) == 1  # (refreshes first)
    hit = es_client.search(index=settings.index_prefix)["hits"]["hits"][0]["_source"]
    assert hit["version"] == 2 and hit["text"].endswith("ministry.")


def test_mapping_conflict_goes_to_dead_letters_and_replays_after_the_fix(
    indexer: None, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    keys = Keys(settings.redis_prefix)
    wait_for(
        lambda: es_client.indices.exists_index_template(name=settings.index_prefix),
        timeout=30,
        what="templates installed by the indexer on start",
    )
    broken = f"{settings.index_prefix}-2025.10"
    es_client.indices.create(index=broken, mappings={"properties": {"source": {"type": "long"}}})
    doc = make_document()
    _send(settings, doc)
    entries = wait_for(lambda: list_dead_letters(redis_client, keys), timeout=60, what="a dead letter")
    assert entries[0]["reason"] == "index_rejected"
    assert entries[0]["kwargs"]["document"]["id"] == doc["id"]
    assert "source" in entries[0]["error"] and entries[0]["failed_at"]

    es_client.indices.delete(index=broken)  # the fix: the month's index comes back from the template
    assert replay_dead_letters(redis_client, keys, create_app("test-replay", settings)) == 1
    wait_for(lambda: _count(es_client, settings) == 1, timeout=60, what="replayed document indexed")
    assert list_dead_letters(redis_client, keys) == []


def test_indexer_survives_an_elasticsearch_restart_without_losing_documents(
    indexer: None, settings: Settings, es_client: Any, redis_client: Any, elasticsearch_url: str
) -> None:
    port = elasticsearch_url.rsplit(":", 1)[1].strip("/")
    total = 60
    docs = [make_document(f"http://news.test/stream/{i}.html") for i in range(total)]
    sent = [0]
    pause = threading.Event()

    def stream() -> None:
        for doc in docs:
            _send(settings, doc)
            sent[0] += 1
            pause.wait(0.25)

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        wait_for(lambda: _count(es_client, settings) >= 5, timeout=60, what="the stream to start landing")
        subprocess.run([str(ES_SCRIPT), "stop", port], check=True, timeout=120)
        sent_when_stopped = sent[0]
        pause.wait(3)  # documents keep arriving while the node is down
        sent_while_down = sent[0] - sent_when_stopped
        subprocess.run([str(ES_SCRIPT), "start", port], check=True, timeout=300)
    finally:
        sender.join()
        # Whatever happened, leave a healthy node for the rest of the suite.
        subprocess.run([str(ES_SCRIPT), "start", port], check=False, timeout=300)
    assert sent_while_down > 0
    wait_for(
        lambda: _count(es_client, settings) == total, timeout=180, interval=1, what=f"all {total} documents"
    )
    counters = _outcomes(redis_client, settings)
    assert counters.get("index:requeued:index_unavailable", 0) > 0, counters  # it really was down
    assert list_dead_letters(redis_client, Keys(settings.redis_prefix)) == []

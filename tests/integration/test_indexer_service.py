"""The indexer as a real process on real Redis and Elasticsearch, fed through the index stream."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import index_stream
from shared.deadletters import DeadLetters
from shared.keys import Keys
from shared.messages import IndexDocument
from shared.outcomes import read_counters
from shared.settings import Settings
from tests.factories import make_document
from tests.service_processes import indexer_process, settings_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

ES_SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local" / "elasticsearch.sh"


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(
        bulk_flush_seconds=0.3,
        bulk_max_docs=50,
        index_backoff_max_seconds=4.0,
        index_claim_idle_seconds=3.0,
        indexer_name=f"indexer-{uuid.uuid4().hex[:6]}",
    )


@pytest.fixture
def env(settings: Settings, es_client: Any, redis_client: Any) -> dict[str, str]:
    return settings_env(settings)


@pytest.fixture
def indexer(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with indexer_process(env) as proc:
        yield proc


def _send(redis_client: Any, settings: Settings, *docs: dict[str, Any]) -> None:
    messages = [IndexDocument(document=doc).model_dump(mode="json") for doc in docs]
    index_stream.publish(redis_client, Keys(settings.redis_prefix), messages)


def _count(es: Any, settings: Settings) -> int:
    es.indices.refresh(index=f"{settings.index_prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    return int(es.count(index=settings.index_prefix)["count"])


def list_dead_letters(redis_client: Any, keys: Keys) -> list[dict[str, Any]]:
    return DeadLetters(redis_client, keys).list()


def _outcomes(redis_client: Any, settings: Settings) -> dict[str, int]:
    return read_counters(redis_client, Keys(settings.redis_prefix))


def _settled(redis_client: Any, settings: Settings) -> bool:
    return index_stream.length(redis_client, Keys(settings.redis_prefix)) == 0


def test_replayed_messages_index_each_article_exactly_once(
    indexer: Any, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    docs = [make_document(f"http://news.test/news/{i}.html") for i in range(5)]
    for _ in range(3):  # at-least-once delivery: every message arrives three times
        _send(redis_client, settings, *docs)
    wait_for(
        lambda: sum(v for k, v in _outcomes(redis_client, settings).items() if k.startswith("index:")) >= 15,
        timeout=60,
        what="15 index outcomes",
    )
    assert _count(es_client, settings) == 5
    counters = _outcomes(redis_client, settings)
    assert counters.get("index:created") == 5
    # Every copy has an outcome: written once, the other ten unchanged or superseded.
    assert counters.get("index:unchanged", 0) + counters.get("index:superseded", 0) == 10
    stored = es_client.search(index=settings.index_prefix, size=10)["hits"]["hits"]
    assert {h["_source"]["version"] for h in stored} == {1}
    assert _settled(redis_client, settings)  # every entry acknowledged and deleted


def test_changed_article_is_reindexed_with_next_version(
    indexer: Any, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    doc = make_document()
    _send(redis_client, settings, doc)
    wait_for(lambda: _count(es_client, settings) == 1, timeout=60, what="first version")
    _send(
        redis_client, settings, make_document(text=doc["text"] + " Updated with a comment from the ministry.")
    )
    wait_for(lambda: _outcomes(redis_client, settings).get("index:updated"), timeout=60, what="update")
    assert _count(es_client, settings) == 1
    hit = es_client.search(index=settings.index_prefix)["hits"]["hits"][0]["_source"]
    assert hit["version"] == 2 and hit["text"].endswith("ministry.")


def test_malformed_entries_are_dead_lettered_and_the_rest_flows(
    indexer: Any, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    keys = Keys(settings.redis_prefix)
    redis_client.xadd(keys.index_stream, {index_stream.FIELD: "{not json"})
    redis_client.xadd(keys.index_stream, {index_stream.FIELD: '{"document": {"id": 1}}'})
    _send(redis_client, settings, make_document())
    wait_for(lambda: _count(es_client, settings) == 1, timeout=60, what="the good document")
    entries = wait_for(
        lambda: len(list_dead_letters(redis_client, keys)) == 2 and list_dead_letters(redis_client, keys),
        timeout=30,
        what="two dead letters",
    )
    assert {e["reason"] for e in entries} == {"bad_message"}
    assert wait_for(lambda: _settled(redis_client, settings), timeout=10, what="stream settled")


def test_mapping_conflict_goes_to_dead_letters_and_replays_after_the_fix(
    indexer: Any, settings: Settings, es_client: Any, redis_client: Any
) -> None:
    keys = Keys(settings.redis_prefix)
    # Templates come with the first write; make the year's index wrong before any.
    broken = f"{settings.index_prefix}-2025"
    es_client.indices.create(index=broken, mappings={"properties": {"source": {"type": "long"}}})
    doc = make_document()
    _send(redis_client, settings, doc)
    entries = wait_for(lambda: list_dead_letters(redis_client, keys), timeout=60, what="a dead letter")
    assert entries[0]["reason"] == "index_rejected"
    assert entries[0]["kwargs"]["document"]["id"] == doc["id"]
    assert "source" in entries[0]["error"] and entries[0]["last_failure"] > 0

    es_client.indices.delete(index=broken)  # the fix: the year's index comes back from the template
    # Replayed through the delay queue, whose pump (the indexer runs one) sends it on.
    assert DeadLetters(redis_client, keys).replay(reason="index_rejected") == 1
    wait_for(lambda: _count(es_client, settings) == 1, timeout=60, what="replayed document indexed")
    assert list_dead_letters(redis_client, keys) == []


def test_killed_indexer_leaves_nothing_behind_after_its_restart(
    env: dict[str, str], settings: Settings, es_client: Any, redis_client: Any
) -> None:
    """kill -9 with a batch in hand: the restarted process (same consumer name) reads its
    own pending entries first, so every document lands without waiting for a takeover."""
    keys = Keys(settings.redis_prefix)
    total = 120
    docs = [make_document(f"http://news.test/kill/{i}.html") for i in range(total)]
    with indexer_process(env) as proc:
        wait_for(lambda: redis_client.exists(keys.index_stream), timeout=30, what="consumer group")
        _send(redis_client, settings, *docs)
        wait_for(
            lambda: redis_client.xpending(keys.index_stream, index_stream.GROUP)["pending"] > 0,
            timeout=30,
            interval=0.01,
            what="a batch in hand",
        )
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with indexer_process(env):
        wait_for(lambda: _count(es_client, settings) == total, timeout=60, what=f"all {total} documents")
        wait_for(lambda: _settled(redis_client, settings), timeout=30, what="stream settled")
    assert list_dead_letters(redis_client, keys) == []


def test_documents_of_a_dead_consumer_are_taken_over_and_poison_is_bounded(
    env: dict[str, str], settings: Settings, es_client: Any, redis_client: Any
) -> None:
    """Entries held by a consumer that never comes back are claimed after the idle time;
    one that has already been handed out MAX_DELIVERIES times is dead-lettered as poison."""
    keys = Keys(settings.redis_prefix)
    ghost = index_stream.StreamConsumer(redis_client, keys, "ghost", claim_idle_seconds=3600)
    ghost.ensure_group()
    good = make_document("http://news.test/taken-over.html")
    poison = make_document("http://news.test/poison.html")
    _send(redis_client, settings, poison)
    assert len(ghost.read(10, block_ms=100)) == 1
    for _ in range(settings.max_deliveries - 1):  # it has already killed its holder N times
        redis_client.xreadgroup(index_stream.GROUP, "ghost", {keys.index_stream: "0"})
    _send(redis_client, settings, good)
    assert len(ghost.read(10, block_ms=100)) == 1  # the ghost takes the good one too, and dies
    with indexer_process(env):
        wait_for(lambda: _count(es_client, settings) == 1, timeout=60, what="the abandoned document")
        entries = wait_for(lambda: list_dead_letters(redis_client, keys), timeout=30, what="the poison")
        wait_for(lambda: _settled(redis_client, settings), timeout=30, what="stream settled")
    assert [(e["reason"], e["kwargs"]["document"]["url"]) for e in entries] == [("poison", poison["url"])]
    assert entries[0]["attempts"] > settings.max_deliveries


def test_indexer_survives_an_elasticsearch_restart_without_losing_documents(
    indexer: Any, settings: Settings, es_client: Any, redis_client: Any, elasticsearch_url: str
) -> None:
    port = elasticsearch_url.rsplit(":", 1)[1].strip("/")
    total = 60
    docs = [make_document(f"http://news.test/stream/{i}.html") for i in range(total)]
    sent = [0]
    pause = threading.Event()

    def stream() -> None:
        for doc in docs:
            _send(redis_client, settings, doc)
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
    wait_for(lambda: _settled(redis_client, settings), timeout=30, what="stream settled")

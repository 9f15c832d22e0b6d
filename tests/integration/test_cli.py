"""The `newsflow` CLI against the real Redis and Elasticsearch (click's runner, in process)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from services.indexer.templates import IndexLayout, ensure_layout
from services.indexer.writer import write_batch
from shared import cli
from shared.cli import RETAG_TASK, main
from shared.deadletters import DeadLetters
from shared.keys import Keys
from shared.logging import configure_logging
from shared.settings import Settings, get_settings
from tests.factories import make_document
from tests.integration.crawler_support import write_sources
from tests.service_processes import settings_env

pytestmark = pytest.mark.integration


def _run(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    # Loggers are not cached in tests: later tests capture logs with structlog.testing.
    monkeypatch.setattr(
        cli, "configure_logging", lambda s, service: configure_logging(s, service, cache=False)
    )
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def settings(make_settings: Any, tmp_path: Path, fixture_site: Any) -> Settings:
    sources = write_sources(
        tmp_path / "sources.yaml",
        [{"id": "fixture", "name": "Fixture Times", "home_url": fixture_site.url("/")}],
    )
    return make_settings(sources_file=sources)


def test_status_reports_queues_counters_and_sources(
    settings: Settings, es_client: Any, redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = Keys(settings.redis_prefix)
    redis_client.lpush(keys.queue("extract"), json.dumps({"body": "x"}), json.dumps({"body": "y"}))
    redis_client.hset(keys.counters, "extract:skipped:no_text", 3)
    result = _run(settings, monkeypatch, "status", "--json")
    assert result.exit_code == 0, result.output
    reading = json.loads(result.output)
    assert reading["queues"]["extract"]["length"] == 2
    assert reading["counters"] == {"extract:skipped:no_text": 3}
    assert [row["source"] for row in reading["sources"]] == ["fixture"]
    table = _run(settings, monkeypatch, "status")
    assert "extract" in table.output and "fixture" in table.output and "dead letters" in table.output


def test_sources_list_and_check_fetch_the_fixture_site(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _run(settings, monkeypatch, "sources", "list")
    assert listed.exit_code == 0 and "fixture" in listed.output and "discover" in listed.output
    checked = _run(settings, monkeypatch, "sources", "check")
    assert checked.exit_code == 0, checked.output
    assert "CONTACT_URL: ok" in checked.output and "HTTP 200" in checked.output


def test_sources_check_fails_a_public_crawl_without_contact(
    make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    public = write_sources(tmp_path / "public.yaml", [{"id": "orda", "home_url": "https://orda.kz/"}])
    result = _run(
        make_settings(sources_file=public, contact_url=""), monkeypatch, "sources", "check", "--offline"
    )
    assert result.exit_code == 1 and "CONTACT_URL is empty" in result.output


def test_reindex_retag_sends_one_message_per_stale_article(
    settings: Settings, es_client: Any, redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = settings.index_prefix
    ensure_layout(es_client, IndexLayout(prefix), datetime.now(UTC))
    docs = [make_document(f"http://news.test/{i}.html") for i in range(3)]
    docs += [make_document(f"http://news.test/new-{i}.html") for i in range(2)]
    for doc, version in zip(docs, ["1", "1", "1", "2", "2"], strict=True):
        doc["tagger_version"] = version
    write_batch(es_client, prefix, docs, datetime.now(UTC), max_chunk_docs=100, max_chunk_bytes=10**6)
    es_client.indices.refresh(index=prefix)

    dry = _run(settings, monkeypatch, "reindex", "--retag", "--dry-run")
    assert "current tagger_version: 2" in dry.output and "would send 3" in dry.output
    result = _run(settings, monkeypatch, "reindex", "--retag")
    assert result.exit_code == 0 and "sent 3 worker.retag_document" in result.output, result.output

    keys = Keys(settings.redis_prefix)
    sent = []
    for key in redis_client.scan_iter(f"{keys.queue('')}*"):
        if redis_client.type(key) == "list":
            sent += [json.loads(raw) for raw in redis_client.lrange(key, 0, -1)]
    assert sent and all(m["headers"]["task"] == RETAG_TASK for m in sent)
    bodies = [json.loads(base64.b64decode(m["body"]))[1] for m in sent]
    stale = {d["id"] for d in docs[:3]}
    assert {b["doc_id"] for b in bodies} == stale
    assert {b["index"] for b in bodies} == {f"{prefix}-2025"}


def test_dlq_replay_needs_exactly_one_selection(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(main, ["dlq-replay"])
    assert result.exit_code == 2 and "exactly one of --id, --reason or --all" in result.output
    result = CliRunner().invoke(main, ["dlq-replay", "--all", "--reason", "no_text"])
    assert result.exit_code == 2


def test_dlq_lists_and_replays_through_the_registry(
    settings: Settings, redis_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = DeadLetters(redis_client, Keys(settings.redis_prefix))
    first = registry.add(
        task="worker.process_url", kwargs={"url": "http://a/"}, reason="no_text", error="e", attempts=1
    )
    registry.add(
        task="worker.process_url", kwargs={"url": "http://b/"}, reason="oversized", error="e", attempts=1
    )
    listed = _run(settings, monkeypatch, "dlq", "--reason", "no_text")
    assert "1 dead letters (no_text)" in listed.output and first in listed.output
    replayed = _run(settings, monkeypatch, "dlq-replay", "--id", first)
    assert "replayed 1" in replayed.output and registry.count() == 1
    replayed = _run(settings, monkeypatch, "dlq-replay", "--all")
    assert "replayed 1" in replayed.output and registry.count() == 0

"""The index layout on the real Elasticsearch node: yearly indices, green, one copy per article."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.indexer.templates import IndexLayout, ensure_layout, index_for, sources_index
from services.indexer.writer import write_batch
from tests.factories import make_document

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _write(es: Any, prefix: str, docs: list[dict[str, Any]]) -> list[str]:
    results = write_batch(es, prefix, docs, NOW, max_chunk_docs=100, max_chunk_bytes=1_000_000)
    es.indices.refresh(index=prefix)
    return [str(r.verdict) for r in results]


def test_index_name_is_the_publication_year_in_utc() -> None:
    assert index_for("headlines", datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "headlines-2025"
    # 00:30 on 1 January in Almaty is still 2025 in UTC: the name never depends on a zone.
    assert index_for("headlines", "2026-01-01T00:30:00+05:00") == "headlines-2025"
    assert index_for("headlines", "2026-01-01T00:30:00+00:00") == "headlines-2026"


def test_a_decade_of_archive_is_one_index_per_year_and_green(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    ensure_layout(es_client, IndexLayout(prefix), NOW)
    docs = [
        make_document(
            f"http://news.test/{year}/{month}/story.html",
            published_at=datetime(year, month, 15, 9, 0, tzinfo=UTC),
        )
        for year in range(2016, 2026)
        for month in (1, 6, 12)
    ]
    assert _write(es_client, prefix, docs) == ["created"] * len(docs)
    indices = sorted(es_client.indices.get_alias(name=prefix))
    assert indices == [f"{prefix}-{year}" for year in range(2016, 2027)]  # + the current year's
    assert sources_index(prefix) not in indices  # health index stays out of the article alias
    health = es_client.cluster.health(index=f"{prefix}-*", wait_for_status="green", timeout="30s")
    assert health["status"] == "green" and not health["timed_out"]
    settings = es_client.indices.get_settings(index=f"{prefix}-2020")[f"{prefix}-2020"]["settings"]["index"]
    assert settings["number_of_shards"] == "1" and settings["number_of_replicas"] == "0"
    assert es_client.count(index=prefix)["count"] == len(docs)


def test_an_edit_replaces_the_article_in_its_one_index(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    ensure_layout(es_client, IndexLayout(prefix), NOW)
    doc = make_document()
    assert _write(es_client, prefix, [doc]) == ["created"]
    edited = make_document(text=doc["text"] + " Updated with a correction.")
    assert _write(es_client, prefix, [edited]) == ["updated"]
    hits = es_client.search(index=prefix, query={"ids": {"values": [doc["id"]]}})["hits"]["hits"]
    assert [(h["_index"], h["_source"]["version"]) for h in hits] == [(f"{prefix}-2025", 2)]


def test_an_article_in_an_older_monthly_index_is_updated_there(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    ensure_layout(es_client, IndexLayout(prefix), NOW)
    doc = make_document()
    es_client.index(index=f"{prefix}-2025.10", id=doc["id"], document={**doc, "version": 1}, refresh=True)
    edited = make_document(text=doc["text"] + " Updated with a correction.")
    assert _write(es_client, prefix, [edited]) == ["updated"]
    hits = es_client.search(index=prefix, query={"ids": {"values": [doc["id"]]}})["hits"]["hits"]
    assert [h["_index"] for h in hits] == [f"{prefix}-2025.10"]


def test_replicas_follow_the_setting_on_existing_indices(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    ensure_layout(es_client, IndexLayout(prefix, replicas=1), NOW)
    current = index_for(prefix, NOW)
    replicas = es_client.indices.get_settings(index=current)[current]["settings"]["index"][
        "number_of_replicas"
    ]
    assert replicas == "1"  # a cluster setting; this single node would now be yellow
    ensure_layout(es_client, IndexLayout(prefix, replicas=0), NOW)
    replicas = es_client.indices.get_settings(index=current)[current]["settings"]["index"][
        "number_of_replicas"
    ]
    assert replicas == "0"
    assert (
        es_client.cluster.health(index=f"{prefix}-*", wait_for_status="green", timeout="30s")["status"]
        == "green"
    )

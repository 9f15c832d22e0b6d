"""The indexer's write path against the real Elasticsearch node."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from services.indexer.plan import Verdict
from services.indexer.templates import index_for, install_templates
from services.indexer.writer import write_batch
from tests.factories import make_document

pytestmark = pytest.mark.integration

NOW = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)


def _write(es: Any, prefix: str, docs: list[dict[str, Any]]) -> list[Verdict]:
    results = write_batch(es, prefix, docs, NOW, max_chunk_docs=100, max_chunk_bytes=1_000_000)
    es.indices.refresh(index=prefix)
    return [r.verdict for r in results]


def test_template_installs_twice_and_says_why_languages_are_off(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    with capture_logs() as logs:
        first = install_templates(es_client, prefix)
        second = install_templates(es_client, prefix)
    assert first is second is False  # the minimal test node has no analysis-common module
    events = [e for e in logs if e["event"] == "templates_installed"]
    assert len(events) == 2 and events[0]["reason"] == "analysis_common_module_missing"
    template = es_client.indices.get_index_template(name=prefix)["index_templates"][0]["index_template"]
    assert template["composed_of"] == [f"{prefix}-settings", f"{prefix}-mappings"]
    assert template["index_patterns"] == [f"{prefix}-*"]
    # A yearly index created now gets the strict mapping and joins the alias.
    es_client.indices.create(index=f"{prefix}-2025")
    mapping = es_client.indices.get_mapping(index=prefix)[f"{prefix}-2025"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["properties"]["published_at"]["type"] == "date"
    assert es_client.indices.exists_alias(name=prefix, index=f"{prefix}-2025")


def test_replays_are_exactly_once_and_edits_bump_the_version(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    install_templates(es_client, prefix)
    doc = make_document()
    assert _write(es_client, prefix, [doc]) == [Verdict.CREATED]
    assert _write(es_client, prefix, [doc]) == [Verdict.UNCHANGED]
    assert _write(es_client, prefix, [doc]) == [Verdict.UNCHANGED]
    assert es_client.count(index=prefix)["count"] == 1

    edited = make_document(text=doc["text"] + " A correction was appended later.")
    assert _write(es_client, prefix, [edited]) == [Verdict.UPDATED]
    stored = es_client.get(index=index_for(prefix, NOW), id=doc["id"])["_source"]
    assert stored["version"] == 2
    assert stored["changed_at"] and stored["text"].endswith("appended later.")
    assert stored["dedup_key"] == doc["id"]
    assert stored["ingest_lag_seconds"] == int(
        (NOW - datetime(2025, 10, 15, 9, 30, tzinfo=UTC)).total_seconds()
    )
    assert es_client.count(index=prefix)["count"] == 1


def test_mapping_conflict_is_rejected_not_retried(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    install_templates(es_client, prefix)
    # Force a conflict: this year's index maps `source` as a number.
    es_client.indices.create(index=f"{prefix}-2025", mappings={"properties": {"source": {"type": "long"}}})
    results = write_batch(es_client, prefix, [make_document()], NOW, max_chunk_docs=10, max_chunk_bytes=10**6)
    assert [r.verdict for r in results] == [Verdict.REJECTED]
    assert results[0].error and "source" in results[0].error

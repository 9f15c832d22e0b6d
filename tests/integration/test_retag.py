"""Re-tagging stored documents in place against the real Elasticsearch node."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.indexer.templates import index_for, install_templates
from services.worker.retag import RetagResult, retag_fields, retag_in_index
from services.worker.topic_model import TAGGER_NAME, TAGGER_VERSION
from tests.factories import make_document

pytestmark = pytest.mark.integration

PUBLISHED = datetime(2025, 10, 16, 12, 0, tzinfo=UTC)
KYRGYZ_SPORT = (
    "Кыргызстандын футбол курамасы тандоо оюнунда жеңишке жетти",
    "Бишкектеги стадиондо өткөн беттеште биздин оюнчулар каршылашын 2:0 эсебинде утушту. "
    "Машыктыруучу оюнчулардын аракетине ыраазы экенин айтты.",
)


def _store(es: Any, prefix: str, stored: dict[str, Any], **overrides: Any) -> tuple[str, str]:
    doc = make_document(**overrides)
    doc.update(stored)  # fields the factory sets itself
    index = index_for(prefix, PUBLISHED)
    es.index(index=index, id=doc["id"], document=doc, refresh=True)
    return doc["id"], index


def test_old_tagger_documents_are_retagged_in_place(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    install_templates(es_client, prefix)
    title, text = KYRGYZ_SPORT
    doc_id, index = _store(
        es_client,
        prefix,
        # Tagged by the old lexicon, which left Kyrgyz untagged; the markup said Russian.
        {"language": "ru", "topics": [], "tagger": "newsflow-lexicon", "tagger_version": "1.4.0"},
        title=title,
        text=text,
        published_at=PUBLISHED,
    )
    before = es_client.get(index=index, id=doc_id)["_source"]

    assert retag_in_index(es_client, doc_id, index) is RetagResult.RETAGGED
    after = es_client.get(index=index, id=doc_id)["_source"]
    assert after["language"] == "ky"
    assert after["topics"][0]["code"] == "medtop:15000000"
    assert (after["tagger"], after["tagger_version"]) == (TAGGER_NAME, TAGGER_VERSION)
    # Nothing else changed: no re-crawl, no new version.
    for field in ("title", "text", "version", "content_hash", "fetched_at"):
        assert after[field] == before[field]

    # A second run finds it current and writes nothing.
    seq_no = es_client.get(index=index, id=doc_id)["_seq_no"]
    assert retag_in_index(es_client, doc_id, index) is RetagResult.CURRENT
    assert es_client.get(index=index, id=doc_id)["_seq_no"] == seq_no


def test_missing_document(es_client: Any, make_settings: Any) -> None:
    prefix = make_settings().index_prefix
    install_templates(es_client, prefix)
    index = index_for(prefix, PUBLISHED)
    es_client.indices.create(index=index)
    assert retag_in_index(es_client, "no-such-id", index) is RetagResult.MISSING


def test_retag_fields_is_pure_and_versioned() -> None:
    title, text = KYRGYZ_SPORT
    current = {
        "title": title,
        "text": text,
        "language": "ky",
        "tagger": TAGGER_NAME,
        "tagger_version": TAGGER_VERSION,
    }
    assert retag_fields(current) is None
    fields = retag_fields(current, force=True)
    assert fields is not None and fields["topics"][0]["code"] == "medtop:15000000"
    assert set(fields) == {"language", "topics", "tagger", "tagger_version"}


def test_runner_stage_retags_and_counts(es_client: Any, redis_client: Any, make_settings: Any) -> None:
    """The handler as the worker's tasks.py declares it, run in-process by shared.runner."""
    from services.worker.retag import retag_document
    from shared.deps import Deps
    from shared.messages import RetagDocument, TaskName
    from shared.outcomes import read_counters
    from shared.runner import Stage, Verdict, execute
    from tests import probe_tasks

    settings = make_settings()
    prefix = settings.index_prefix
    install_templates(es_client, prefix)
    title, text = KYRGYZ_SPORT
    doc_id, index = _store(es_client, prefix, {"tagger": "newsflow-lexicon"}, title=title, text=text)
    deps = Deps.build(settings, probe_tasks.make_app(settings))
    stage = Stage(TaskName.RETAG_DOCUMENT, RetagDocument, retag_document, "extract", "retag")
    assert execute(stage, deps, {"doc_id": doc_id, "index": index}, delivery_id=None) is Verdict.DONE
    assert execute(stage, deps, {"doc_id": doc_id, "index": index}, delivery_id=None) is Verdict.DONE
    stored = es_client.get(index=index, id=doc_id)["_source"]
    assert stored["tagger"] == TAGGER_NAME and stored["language"] == "ky"
    counters = read_counters(redis_client, deps.keys)
    assert counters.get("extract:retagged") == 1 and counters.get("extract:current") == 1

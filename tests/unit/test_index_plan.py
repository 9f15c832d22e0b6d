from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.indexer.plan import Stored, Verdict, classify_item, plan_action
from tests.factories import make_document

NOW = datetime(2025, 11, 2, 8, 0, tzinfo=UTC)


def test_new_article_is_created_in_the_year_it_was_published() -> None:
    doc = make_document()
    action = plan_action(doc, None, "headlines", NOW)
    assert action is not None
    assert action["_op_type"] == "create"
    assert action["_index"] == "headlines-2025"  # published in 2025, whenever it is indexed
    assert action["_id"] == doc["id"]
    assert action["_source"]["version"] == 1
    assert action["_source"]["dedup_key"] == doc["id"]


def test_unchanged_article_is_a_no_op() -> None:
    doc = make_document()
    stored = Stored("headlines-2025.10", doc["content_hash"], 3, seq_no=7, primary_term=1)
    assert plan_action(doc, stored, "headlines", NOW) is None


def test_changed_article_replaces_the_stored_copy_guarded_by_seq_no() -> None:
    doc = make_document(text="A corrected text.")
    stored = Stored("headlines-2025.09", "other-hash", 3, seq_no=7, primary_term=2)
    action = plan_action(doc, stored, "headlines", NOW)
    assert action is not None
    assert action["_op_type"] == "index"
    assert action["_index"] == "headlines-2025.09"  # where the article already lives
    assert (action["if_seq_no"], action["if_primary_term"]) == (7, 2)
    assert action["_source"]["version"] == 4
    assert action["_source"]["changed_at"] == NOW.isoformat()


def test_duplicate_collapses_onto_its_original() -> None:
    doc = make_document(duplicate_of="abc123")
    action = plan_action(doc, None, "headlines", NOW)
    assert action is not None and action["_source"]["dedup_key"] == "abc123"


@pytest.mark.parametrize(
    ("ok", "item", "verdict"),
    [
        (True, {"create": {"_id": "a", "status": 201, "result": "created"}}, Verdict.CREATED),
        (True, {"index": {"_id": "a", "status": 200, "result": "updated"}}, Verdict.UPDATED),
        (False, {"create": {"_id": "a", "status": 409}}, Verdict.RETRY),
        (False, {"create": {"_id": "a", "status": 429}}, Verdict.RETRY),
        (False, {"create": {"_id": "a", "status": 503}}, Verdict.RETRY),
        (False, {"create": {"_id": "a", "status": "N/A"}}, Verdict.RETRY),
        (
            False,
            {"create": {"_id": "a", "status": 400, "error": {"type": "document_parsing_exception"}}},
            Verdict.REJECTED,
        ),
    ],
)
def test_bulk_item_results_are_classified(ok: bool, item: dict, verdict: Verdict) -> None:
    assert classify_item(ok, item) is verdict


def test_pipeline_lag_is_indexed_at_minus_discovered_at() -> None:
    now = datetime(2025, 10, 15, 10, 0, 2, 500000, tzinfo=UTC)
    doc = make_document(discovered_at=datetime(2025, 10, 15, 10, 0, tzinfo=UTC))
    action = plan_action(doc, None, "headlines", now)
    assert action is not None
    assert action["_source"]["pipeline_lag_seconds"] == 2.5
    assert action["_source"]["indexed_at"] == now.isoformat()


def test_a_document_without_discovery_time_has_no_pipeline_lag() -> None:
    action = plan_action(make_document(), None, "headlines", datetime(2025, 10, 15, 11, tzinfo=UTC))
    assert action is not None
    assert "pipeline_lag_seconds" not in action["_source"]

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.search import SearchRequest, build_query, parse_since

NOW = datetime(2025, 10, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", datetime(2025, 10, 13, 12, 0, tzinfo=UTC)),
        ("12h", datetime(2025, 10, 20, 0, 0, tzinfo=UTC)),
        ("30m", datetime(2025, 10, 20, 11, 30, tzinfo=UTC)),
        ("2w", datetime(2025, 10, 6, 12, 0, tzinfo=UTC)),
        ("2025-10-01", datetime(2025, 10, 1, tzinfo=UTC)),
    ],
)
def test_parse_since(value: str, expected: datetime) -> None:
    assert parse_since(value, NOW) == expected


def test_parse_since_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_since("last tuesday", NOW)


def test_query_combines_text_topics_places_and_dates() -> None:
    body = build_query(
        SearchRequest(
            text='putin "oil fields"', topics=["energy", "medtop:11000000"], places=["sy"], since="7d"
        ),
        NOW,
    )
    bool_q = body["query"]["bool"]
    assert bool_q["must"][0]["simple_query_string"]["query"] == 'putin "oil fields"'
    assert {"term": {"topics.label": "energy"}} in bool_q["filter"]
    assert {"term": {"topics.code": "medtop:11000000"}} in bool_q["filter"]
    assert {"terms": {"places": ["SY"]}} in bool_q["filter"]
    assert {"range": {"published_at": {"gte": "2025-10-13T12:00:00+00:00"}}} in bool_q["filter"]
    assert body["collapse"] == {"field": "dedup_key"}


def test_empty_query_lists_latest_first_and_can_show_all_copies() -> None:
    body = build_query(SearchRequest(collapse_duplicates=False), NOW)
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["sort"] == [{"published_at": "desc"}]
    assert "collapse" not in body

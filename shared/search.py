"""Searching the headline index: the query is built by a pure function, then run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

# Stemmed subfields exist only where the cluster has language analysis; querying a field
# that is not mapped matches nothing, so listing them is harmless on the minimal node.
TEXT_FIELDS = ["title^3", "title.en^3", "title.ru^3", "description^2", "text", "text.en", "text.ru"]

MIN_SHOULD_MATCH = "3<75%"

_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    topics: list[str] = field(default_factory=list)  # topic label or QCode
    places: list[str] = field(default_factory=list)  # ISO country codes
    since: str | None = None  # "7d", "12h", or an ISO date
    until: str | None = None
    source: str | None = None
    size: int = 10
    collapse_duplicates: bool = True


def parse_since(value: str, now: datetime) -> datetime:
    """``7d``/``12h``/``30m``/``2w`` back from ``now``, or an ISO date/time."""
    match = _SINCE.match(value.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_query(req: SearchRequest, now: datetime) -> dict[str, Any]:
    """The search body. Quoted phrases in ``text`` match as phrases (simple_query_string)."""
    must: list[dict[str, Any]] = []
    should: list[dict[str, Any]] = []
    if req.text.strip():
        must.append(
            {
                "simple_query_string": {
                    "query": req.text,
                    "fields": TEXT_FIELDS,
                    "default_operator": "or",
                    # Short queries (up to three terms) need every term, longer ones three in
                    # four: a short article that shares two common words ("oil", "fields")
                    # must not outrank the one that names the person the reader asked for.
                    "minimum_should_match": MIN_SHOULD_MATCH,
                    "flags": "PHRASE|PREFIX|WHITESPACE|AND|OR|NOT|PRECEDENCE",
                }
            }
        )
        # Words that stand together in the query score higher where they stand together
        # in the article (within two positions).
        should.append(
            {
                "multi_match": {
                    "query": req.text.replace('"', " "),
                    "type": "phrase",
                    "fields": ["title^2", "text"],
                    "slop": 2,
                    "boost": 2,
                }
            }
        )
    filters: list[dict[str, Any]] = []
    for topic in req.topics:
        key = "topics.code" if topic.startswith("medtop:") else "topics.label"
        filters.append({"term": {key: topic}})
    if req.places:
        filters.append({"terms": {"places": [p.upper() for p in req.places]}})
    if req.source:
        filters.append({"term": {"source": req.source}})
    if req.since or req.until:
        bounds: dict[str, str] = {}
        if req.since:
            bounds["gte"] = parse_since(req.since, now).isoformat()
        if req.until:
            bounds["lte"] = parse_since(req.until, now).isoformat()
        filters.append({"range": {"published_at": bounds}})
    query: dict[str, Any] = {
        "bool": {"must": must or [{"match_all": {}}], "should": should, "filter": filters}
    }
    body: dict[str, Any] = {
        "query": query,
        "size": req.size,
        "sort": ["_score", {"published_at": "desc"}] if must else [{"published_at": "desc"}],
        "_source": ["title", "url", "published_at", "topics", "places", "source", "duplicate_of"],
        "highlight": {
            "fields": {"text": {"fragment_size": 160, "number_of_fragments": 1}, "title": {}},
            "pre_tags": ["«"],
            "post_tags": ["»"],
        },
        "track_total_hits": True,
    }
    if req.collapse_duplicates:
        body["collapse"] = {"field": "dedup_key"}
    return body


@dataclass(frozen=True)
class Hit:
    id: str
    score: float | None
    title: str
    url: str
    published_at: str
    topics: list[str]
    places: list[str]
    snippet: str


def search(
    es: Elasticsearch, index: str, req: SearchRequest, now: datetime | None = None
) -> tuple[int, list[Hit]]:
    body = build_query(req, now or datetime.now(UTC))
    response = es.search(index=index, **body)
    hits = []
    for h in response["hits"]["hits"]:
        src = h["_source"]
        highlight = h.get("highlight", {})
        snippet = (highlight.get("text") or highlight.get("title") or [""])[0]
        hits.append(
            Hit(
                id=h["_id"],
                score=h.get("_score"),
                title=src.get("title", ""),
                url=src.get("url", ""),
                published_at=src.get("published_at", ""),
                topics=[t.get("label", "") for t in src.get("topics", [])],
                places=src.get("places", []),
                snippet=" ".join(snippet.split()),
            )
        )
    return int(response["hits"]["total"]["value"]), hits

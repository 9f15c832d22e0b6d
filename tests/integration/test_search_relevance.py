"""Relevance on the fixture site: its articles go through the worker's pure pipeline and the
indexer's write path into the real Elasticsearch node, then the documented queries run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.indexer.templates import install_templates
from services.indexer.writer import write_batch
from services.worker.article import build_article
from services.worker.build import Page
from services.worker.extract import ExtractOptions
from shared.clients import make_elasticsearch
from shared.search import SearchRequest, search
from shared.urls import normalize_url

pytestmark = pytest.mark.integration

NOW = datetime(2025, 10, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def indexed(fixture_site: Any, elasticsearch_url: str) -> Iterator[tuple[Any, str, dict[str, str]]]:
    """(client, alias, {title: url}) with every fixture article indexed once."""
    from shared.settings import Settings

    prefix = "t-relevance-headlines"
    es = make_elasticsearch(Settings(elasticsearch_url=elasticsearch_url))
    install_templates(es, prefix)
    docs = []
    with httpx.Client() as http:
        for article in fixture_site.articles:
            body = http.get(article.url).content
            page = Page(article.url, "fixture", NOW)
            doc = build_article(page, body, "utf-8", ExtractOptions(), lambda _q: None, normalize_url)
            docs.append(doc.model_dump(mode="json"))
    write_batch(es, prefix, docs, NOW, max_chunk_docs=100, max_chunk_bytes=10**7)
    es.indices.refresh(index=prefix)
    yield es, prefix, {a.title: a.url for a in fixture_site.articles}
    es.indices.delete(index=f"{prefix}-*")
    es.indices.delete_index_template(name=prefix)
    for part in ("settings", "mappings"):
        es.cluster.delete_component_template(name=f"{prefix}-{part}")
    es.close()


def _urls(indexed: Any, req: SearchRequest) -> list[str]:
    es, alias, _ = indexed
    return [h.url for h in search(es, alias, req, now=NOW)[1]]


def _seed(indexed: Any) -> str:
    return next(url for title, url in indexed[2].items() if "al-Sharaa" in title)


@pytest.mark.parametrize("query", ["Novak oil fields", "Syria Russia energy"])
def test_seed_article_ranks_first(indexed: Any, query: str) -> None:
    urls = _urls(indexed, SearchRequest(text=query))
    assert urls and urls[0] == _seed(indexed)


def test_phrase_query_matches_only_the_exact_phrase(indexed: Any) -> None:
    # Both words occur in several articles; only one has them side by side.
    loose = _urls(indexed, SearchRequest(text="oil fields"))
    phrase = _urls(indexed, SearchRequest(text='"Syrian oil fields"'))
    assert phrase == [_seed(indexed)]
    assert len(loose) > len(phrase)


def test_date_range_filter_keeps_only_articles_published_inside_it(indexed: Any) -> None:
    es, alias, _ = indexed
    _, hits = search(
        es, alias, SearchRequest(since="2025-10-14", until="2025-10-15T23:59:59+05:00", size=50), now=NOW
    )
    dates = [datetime.fromisoformat(h.published_at) for h in hits]
    assert dates, "the fixture has articles on 14 and 15 October"
    assert all(
        datetime(2025, 10, 14, tzinfo=UTC) <= d <= datetime(2025, 10, 15, 18, 59, 59, tzinfo=UTC)
        for d in dates
    )
    assert _seed(indexed) in [h.url for h in hits]
    everything = search(es, alias, SearchRequest(size=50), now=NOW)[0]
    assert len(hits) < everything


def test_topic_and_place_filters(indexed: Any) -> None:
    # Topics are the 17 IPTC top-level Media Topics (services/worker/topic_model.py).
    politics_in_syria = _urls(indexed, SearchRequest(text="Putin", topics=["politics"], places=["sy"]))
    assert politics_in_syria == [_seed(indexed)]
    assert _urls(indexed, SearchRequest(text="Putin", topics=["sport"], places=["sy"])) == []
    assert _urls(indexed, SearchRequest(text="Putin", places=["GE"])) != [_seed(indexed)]

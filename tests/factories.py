"""Small builders for test data (documents as the worker would send them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.document import ArticleDocument, Topic, content_hash, document_id


def make_document(
    url: str = "http://news.test/news/2025/10/15/story.html", **overrides: Any
) -> dict[str, Any]:
    text = overrides.pop(
        "text",
        "Russian Deputy Prime Minister Alexander Novak said firms are ready to work in Syrian oil fields.",
    )
    doc = ArticleDocument(
        id=document_id(url),
        url=url,
        canonical_url=url,
        domain="news.test",
        source="fixture",
        title=overrides.pop("title", "Syria's president meets Putin in Moscow"),
        text=text,
        language="en",
        published_at=overrides.pop("published_at", datetime(2025, 10, 15, 9, 30, tzinfo=UTC)),
        published_at_source="page",
        fetched_at=datetime(2025, 10, 15, 10, 0, tzinfo=UTC),
        topics=[Topic(code="medtop:11000000", label="politics", score=0.8, evidence=["president"])],
        places=["SY", "RU"],
        content_hash=content_hash(text),
        extractor="trafilatura",
        extractor_version="2.3.1",
        extraction_path="trafilatura",
        tagger="test",
        tagger_version="0",
        **overrides,
    )
    return doc.model_dump(mode="json")

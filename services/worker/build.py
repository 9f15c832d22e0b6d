"""Building the article document from what extraction, tagging and dedup found: pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from shared.document import ArticleDocument, Topic, content_hash, document_id
from shared.urls import same_site


@dataclass(frozen=True)
class Page:
    """Facts about the fetched page that are not in its HTML."""

    url: str  # normalised URL the page was fetched from
    source_id: str
    fetched_at: datetime
    feed_published_at: datetime | None = None
    feed_title: str | None = None


def choose_canonical(page_url: str, declared: str | None) -> str:
    """A page may only name a canonical URL on its own site: otherwise a hostile page could
    overwrite another site's article by claiming its address."""
    return declared if declared and same_site(page_url, declared) else page_url


def build_document(
    page: Page,
    *,
    canonical_url: str,
    title: str,
    text: str,
    published_at: datetime,
    published_at_source: str,
    topics: list[Topic],
    places: list[str],
    simhash: str | None,
    duplicate_of: str | None,
    extractor: str,
    extractor_version: str,
    extraction_path: str,
    tagger: str,
    tagger_version: str,
    description: str | None = None,
    language: str | None = None,
    authors: list[str] | None = None,
    site_name: str | None = None,
    image_url: str | None = None,
    page_tags: list[str] | None = None,
    modified_at: datetime | None = None,
) -> ArticleDocument:
    doc_id = document_id(canonical_url)
    return ArticleDocument(
        id=doc_id,
        url=page.url,
        canonical_url=canonical_url,
        domain=(urlsplit(canonical_url).hostname or "").removeprefix("www."),
        source=page.source_id,
        title=title,
        text=text,
        description=description,
        language=language,
        authors=authors or [],
        site_name=site_name,
        image_url=image_url,
        page_tags=page_tags or [],
        published_at=published_at,
        published_at_source=published_at_source,
        modified_at=modified_at,
        fetched_at=page.fetched_at,
        word_count=len(text.split()),
        topics=topics,
        places=places,
        content_hash=content_hash(text),
        simhash=simhash,
        duplicate_of=duplicate_of if duplicate_of != doc_id else None,
        extractor=extractor,
        extractor_version=extractor_version,
        extraction_path=extraction_path,
        tagger=tagger,
        tagger_version=tagger_version,
    )

"""Building the article document from the extraction and what the worker concluded: pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from services.worker.extract import Extraction
from shared.document import ArticleDocument, DateSource, Topic, document_id
from shared.urls import same_site


@dataclass(frozen=True)
class Page:
    """Facts about the fetched page that are not in its HTML."""

    url: str  # normalised URL the page was fetched from
    source_id: str
    fetched_at: datetime
    feed_published_at: datetime | None = None
    feed_title: str | None = None
    discovered_at: datetime | None = None  # when the crawler first saw the URL (ProcessUrl)


@dataclass(frozen=True)
class Findings:
    """What the worker concluded beyond the extraction: identity, date, dedup and tags."""

    canonical_url: str
    title: str
    language: str | None  # identified from the text (the page's markup is only a hint)
    published_at: datetime
    published_at_source: DateSource
    text_hash: str  # content_hash(extraction.text)
    simhash: int
    duplicate_of: str | None
    topics: list[Topic]
    places: list[str]
    tagger: str
    tagger_version: str


def choose_canonical(page_url: str, declared: str | None) -> str:
    """A page may only name a canonical URL on its own site: otherwise a hostile page could
    overwrite another site's article by claiming its address."""
    return declared if declared and same_site(page_url, declared) else page_url


def build_document(page: Page, extraction: Extraction, findings: Findings) -> ArticleDocument:
    doc_id = document_id(findings.canonical_url)
    text = extraction.text
    return ArticleDocument(
        id=doc_id,
        url=page.url,
        canonical_url=findings.canonical_url,
        domain=(urlsplit(findings.canonical_url).hostname or "").removeprefix("www."),
        source=page.source_id,
        title=findings.title,
        text=text,
        description=extraction.description,
        language=findings.language,
        authors=extraction.authors,
        site_name=extraction.site_name,
        image_url=extraction.image_url,
        page_tags=extraction.page_tags,
        published_at=findings.published_at,
        published_at_source=findings.published_at_source,
        modified_at=extraction.modified_at,
        discovered_at=page.discovered_at,
        fetched_at=page.fetched_at,
        word_count=len(text.split()),
        topics=findings.topics,
        places=findings.places,
        content_hash=findings.text_hash,
        simhash=f"{findings.simhash:016x}",
        duplicate_of=findings.duplicate_of if findings.duplicate_of != doc_id else None,
        extractor=extraction.extractor,
        extractor_version=extraction.extractor_version,
        extraction_path=extraction.extraction_path,
        tagger=findings.tagger,
        tagger_version=findings.tagger_version,
    )

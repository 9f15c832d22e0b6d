"""The article document: what the worker builds and the indexer stores.

Field names here are the index mapping's field names (services/indexer/index_templates/).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

DateSource = Literal["page", "feed", "url", "fetch_time"]


class Topic(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str  # IPTC QCode, e.g. "medtop:11000000"
    label: str
    score: float
    evidence: list[str] = Field(default_factory=list)


class ArticleDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    url: str
    canonical_url: str
    domain: str
    source: str
    title: str
    text: str
    description: str | None = None
    language: str | None = None
    authors: list[str] = Field(default_factory=list)
    site_name: str | None = None
    image_url: str | None = None
    page_tags: list[str] = Field(default_factory=list)
    published_at: datetime
    published_at_source: DateSource
    modified_at: datetime | None = None
    # Freshness: the crawler saw the URL (discovered_at), the worker fetched it (fetched_at),
    # the indexer made it searchable (indexed_at, set by the indexer with pipeline_lag_seconds).
    discovered_at: datetime | None = None
    fetched_at: datetime
    indexed_at: datetime | None = None
    changed_at: datetime | None = None
    word_count: int = 0
    topics: list[Topic] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    content_hash: str
    simhash: str | None = None
    duplicate_of: str | None = None
    version: int = 1
    extractor: str
    extractor_version: str
    extraction_path: str
    tagger: str
    tagger_version: str
    schema_version: int = SCHEMA_VERSION


def document_id(canonical_url: str) -> str:
    """Stable ``_id``: a re-run of the same article lands on the same document."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:40]


def content_hash(text: str) -> str:
    """Hash of whitespace- and case-folded text: equal for exact copies under other URLs."""
    folded = " ".join(text.lower().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()

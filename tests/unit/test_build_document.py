from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.worker.build import Findings, Page, build_document, choose_canonical
from services.worker.extract import Extraction
from shared.document import content_hash, document_id


def test_canonical_on_another_site_is_ignored() -> None:
    assert choose_canonical("https://orda.kz/a?x=1", "https://orda.kz/a") == "https://orda.kz/a"
    assert choose_canonical("https://orda.kz/a", "https://evil.example/a") == "https://orda.kz/a"
    assert choose_canonical("https://orda.kz/a", None) == "https://orda.kz/a"
    assert choose_canonical("https://orda.kz/a", "https://www.orda.kz/b") == "https://www.orda.kz/b"


def test_document_id_is_stable_and_depends_on_the_canonical_url_only() -> None:
    assert document_id("https://orda.kz/a") == document_id("https://orda.kz/a")
    assert document_id("https://orda.kz/a") != document_id("https://orda.kz/b")
    assert len(document_id("https://orda.kz/a")) == 40


def test_content_hash_ignores_case_and_whitespace_only() -> None:
    assert content_hash("Novak  said\nthis") == content_hash("novak said this")
    assert content_hash("Novak said this") != content_hash("Novak said that")


def _extraction(text: str = "one two three", **fields: Any) -> Extraction:
    values: dict[str, Any] = {
        "title": "T",
        "text": text,
        "authors": ["A. Writer"],
        "published_at": None,
        "modified_at": None,
        "site_name": "Orda",
        "language": "ru",
        "description": "D",
        "canonical_url": None,
        "image_url": None,
        "page_tags": ["tag"],
        "extractor": "trafilatura",
        "extractor_version": "2.3.1",
        "extraction_path": "trafilatura",
        "missing": [],
    }
    return Extraction(**{**values, **fields})


def _findings(canonical: str, **fields: Any) -> Findings:
    values: dict[str, Any] = {
        "canonical_url": canonical,
        "title": "T",
        "language": "ru",
        "published_at": datetime(2025, 10, 15, 9, tzinfo=UTC),
        "published_at_source": "page",
        "text_hash": content_hash("one two three"),
        "simhash": 0xFF,
        "duplicate_of": None,
        "topics": [],
        "places": ["SY"],
        "tagger": "t",
        "tagger_version": "1",
    }
    return Findings(**{**values, **fields})


def test_build_document_fills_identity_and_counts() -> None:
    page = Page("https://orda.kz/a?ref=1", "orda", datetime(2025, 10, 15, 12, tzinfo=UTC))
    canonical = "https://www.orda.kz/a"
    doc = build_document(
        page,
        _extraction(),
        _findings(canonical, duplicate_of=document_id(canonical)),  # itself: not a duplicate
    )
    assert doc.id == document_id("https://www.orda.kz/a")
    assert doc.domain == "orda.kz"
    assert doc.word_count == 3
    assert doc.duplicate_of is None
    assert doc.url == "https://orda.kz/a?ref=1"
    assert doc.simhash == "00000000000000ff"
    assert doc.content_hash == content_hash("one two three")


def test_build_document_carries_extraction_metadata_and_freshness_stamps() -> None:
    discovered = datetime(2025, 10, 15, 11, 59, 58, tzinfo=UTC)
    fetched = datetime(2025, 10, 15, 12, tzinfo=UTC)
    page = Page("https://orda.kz/a", "orda", fetched, discovered_at=discovered)
    doc = build_document(
        page, _extraction(), _findings("https://orda.kz/a", duplicate_of="other", places=["KG", "KZ"])
    )
    assert (doc.discovered_at, doc.fetched_at, doc.indexed_at) == (discovered, fetched, None)
    assert (doc.authors, doc.site_name, doc.language, doc.description) == (["A. Writer"], "Orda", "ru", "D")
    assert (doc.page_tags, doc.places, doc.duplicate_of) == (["tag"], ["KG", "KZ"], "other")
    assert (doc.extractor, doc.extraction_path, doc.tagger, doc.tagger_version) == (
        "trafilatura",
        "trafilatura",
        "t",
        "1",
    )


def test_a_page_without_discovery_time_still_builds() -> None:
    page = Page("https://orda.kz/a", "orda", datetime(2025, 10, 15, 12, tzinfo=UTC))
    assert build_document(page, _extraction(), _findings("https://orda.kz/a")).discovered_at is None

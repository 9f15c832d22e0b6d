from __future__ import annotations

from datetime import UTC, datetime

from services.worker.build import Page, build_document, choose_canonical
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


def test_build_document_fills_identity_and_counts() -> None:
    page = Page("https://orda.kz/a?ref=1", "orda", datetime(2025, 10, 15, 12, tzinfo=UTC))
    doc = build_document(
        page,
        canonical_url="https://www.orda.kz/a",
        title="T",
        text="one two three",
        published_at=datetime(2025, 10, 15, 9, tzinfo=UTC),
        published_at_source="page",
        topics=[],
        places=["SY"],
        simhash="00ff",
        duplicate_of=document_id("https://www.orda.kz/a"),  # itself: not a duplicate
        extractor="trafilatura",
        extractor_version="2.3.1",
        extraction_path="trafilatura",
        tagger="t",
        tagger_version="1",
    )
    assert doc.id == document_id("https://www.orda.kz/a")
    assert doc.domain == "orda.kz"
    assert doc.word_count == 3
    assert doc.duplicate_of is None
    assert doc.url == "https://orda.kz/a?ref=1"

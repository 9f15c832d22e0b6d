"""The generated site (tests/sitegen): deterministic, varied, and what the worker makes of it
is what ``expected_articles()`` promises: title, canonical URL, date and language, with no
two distinct articles flagged as SimHash near-duplicates."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from services.crawler.listings import parse_feed, parse_section, parse_sitemap
from services.worker.article import build_article
from services.worker.build import Page
from services.worker.extract import ExtractOptions
from services.worker.similarity import NEAR_DUPLICATE_MAX_DISTANCE
from shared.urls import looks_like_article, normalize_url
from tests.sitegen import GeneratedSite, generate
from tests.sitegen.pages import MIN_SIMHASH_DISTANCE, TEMPLATES
from tests.sitegen.poison import POISON_PATH

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def site() -> GeneratedSite:
    s = GeneratedSite(generate(300, seed=1), poison=True)
    s.base_url = BASE
    return s


def test_same_seed_same_site_other_seed_other_site() -> None:
    a, b, c = generate(40, seed=7), generate(40, seed=7), generate(40, seed=8)
    assert [(x.path, x.title, x.story.paragraphs) for x in a] == [
        (x.path, x.title, x.story.paragraphs) for x in b
    ]
    assert {x.title for x in a}.isdisjoint({x.title for x in c})


def test_articles_are_varied(site: GeneratedSite) -> None:
    arts = site.articles
    assert len({a.path for a in arts}) == len({a.title for a in arts}) == 300
    assert set(Counter(a.template for a in arts)) == set(TEMPLATES)
    assert {"en", "de", "fr", "es"} <= {a.story.language for a in arts}
    assert len({a.section for a in arts}) == 8
    words = sorted(sum(len(p.split()) for p in a.story.paragraphs) for a in arts)
    assert words[0] < 300 and words[-1] > 1200  # briefs and long features


def test_worker_extracts_what_expected_articles_promise(site: GeneratedSite) -> None:
    options = ExtractOptions(min_text_chars=200, max_html_chars=5_000_000)
    fingerprints = []
    for expected, article in zip(site.expected_articles(), site.articles, strict=True):
        page = Page(url=expected.url, source_id="gen", fetched_at=datetime.now(UTC))
        status, _, body = site.render(article.path)
        assert status == 200
        doc = build_article(page, body, "utf-8", options, lambda q: None, normalize_url)
        assert (doc.title, doc.canonical_url) == (expected.title, expected.canonical_url), article.template
        assert doc.published_at == expected.published_at
        assert doc.language == expected.language
        fingerprints.append(int(doc.simhash, 16) if isinstance(doc.simhash, str) else doc.simhash)
    closest = min((a ^ b).bit_count() for i, a in enumerate(fingerprints) for b in fingerprints[i + 1 :])
    assert closest > NEAR_DUPLICATE_MAX_DISTANCE
    # generate() redraws any body within MIN_SIMHASH_DISTANCE bits of an earlier one (bench size too)
    assert MIN_SIMHASH_DISTANCE > NEAR_DUPLICATE_MAX_DISTANCE


def test_listings_lead_the_crawler_to_every_article(site: GeneratedSite) -> None:
    expected = {e.url for e in site.expected_articles()}
    index = parse_sitemap(site.render("/sitemap.xml")[2], BASE, 5000)
    found: set[str] = set()
    for child in index.children:
        path = child.removeprefix(BASE)
        found |= {link.url for link in parse_sitemap(site.render(path)[2], BASE, 5000).links}
    assert found - expected == {BASE + POISON_PATH}  # sections.xml holds navigation only
    feed = {link.url for link in parse_feed(site.render("/rss.xml")[2], BASE, 5000).links}
    assert len(feed & expected) == 100  # tracking parameters normalised away
    first = parse_section(site.render("/politics/")[2], BASE + "/politics/", 5000)
    assert first.links and {link.url for link in first.links} <= expected
    assert all(looks_like_article(e.url, e.title) for e in site.expected_articles())


def test_poison_page_stays_under_the_workers_caps(site: GeneratedSite) -> None:
    status, _, body = site.render(POISON_PATH)
    assert status == 200 and len(body) < 5_000_000
    assert POISON_PATH not in {e.url.removeprefix(BASE) for e in site.expected_articles()}

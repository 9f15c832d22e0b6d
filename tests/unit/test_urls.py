"""URL normalisation and the article/navigation heuristic (pure, table-driven)."""

from __future__ import annotations

import pytest

from shared.urls import (
    looks_like_article,
    looks_like_navigation,
    looks_like_section,
    normalize_url,
    same_site,
    url_host,
)


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTP://Example.COM:80/a/b", None, "http://example.com/a/b"),
        ("https://example.com:443/a", None, "https://example.com/a"),
        ("https://example.com:8443/a", None, "https://example.com:8443/a"),
        ("https://example.com/a#comments", None, "https://example.com/a"),
        ("https://example.com", None, "https://example.com/"),
        (
            "https://example.com/a?utm_source=x&utm_medium=y&id=3",
            None,
            "https://example.com/a?id=3",
        ),
        ("https://example.com/a?fbclid=1&gclid=2&b=2&a=1", None, "https://example.com/a?a=1&b=2"),
        (
            "/news/x.html?utm_campaign=z",
            "https://example.com/en/",
            "https://example.com/news/x.html",
        ),
        ("x.html", "https://example.com/en/", "https://example.com/en/x.html"),
        ("//cdn.example.com/a", "https://example.com/", "https://cdn.example.com/a"),
        ("ftp://example.com/file", None, None),
        ("javascript:alert(1)", None, None),
        ("mailto:news@example.com", None, None),
        ("data:text/html,hi", None, None),
        ("", None, None),
        ("https://", None, None),
        ("http://example.com:99999/", None, None),
        ("https://example.com/" + "a" * 3000, None, None),
        ("https://exa\nmple.com/", None, None),
    ],
)
def test_normalize_url(url: str, base: str | None, expected: str | None) -> None:
    assert normalize_url(url, base) == expected


def test_normalize_url_is_idempotent() -> None:
    once = normalize_url("HTTPS://WWW.Example.com:443/Path/?b=2&a=1&utm_term=q#x")
    assert once is not None
    assert normalize_url(once) == once


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.com/a", "example.com"),
        ("http://127.0.0.1:8080/a", "127.0.0.1:8080"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:443/", "example.com:443"),
    ],
)
def test_url_host(url: str, host: str) -> None:
    assert url_host(url) == host


def test_same_site_ignores_www() -> None:
    assert same_site("https://www.example.com/a", "https://example.com/b")
    assert not same_site("https://example.com/a", "https://example.org/a")
    assert not same_site("http://127.0.0.1:1/a", "http://127.0.0.1:2/a")


# (url, anchor text, is article)
ARTICLE_CASES = [
    (
        "https://ex.com/news/2025/10/15/syria-president-moscow-visit.html",
        "Syria's president meets Putin",
        True,
    ),
    ("https://ex.com/en/news/uk-sanctions-lukoil-48455", "UK Sanctions Lukoil", True),
    ("https://ex.com/en/news/uk-sanctions-lukoil-48455", "", True),
    ("https://ex.com/2025/10/09/quiet-blog-post/", "", True),
    (
        "https://ex.com/world/europe/some-long-headline-about-things",
        "A long headline about things here",
        True,
    ),
    ("https://ex.com/article.php?id=123456", "Minister resigns after the vote", True),
    ("https://ex.com/", "Home", False),
    ("https://ex.com/news/", "News", False),
    ("https://ex.com/politics/", "Politics", False),
    ("https://ex.com/about/", "About us", False),
    ("https://ex.com/contacts/", "Contacts", False),
    ("https://ex.com/tags/energy/", "energy", False),
    ("https://ex.com/author/aigerim-sadykova/", "Aigerim Sadykova", False),
    ("https://ex.com/news/page/2/", "Next »", False),
    ("https://ex.com/news/?page=3", "3", False),
    ("https://ex.com/static/logo.svg", "", False),
    ("https://ex.com/rss.xml", "RSS", False),
    ("https://ex.com/privacy-policy/", "Privacy policy", False),
    ("https://ex.com/kz/", "Қаз", False),
    ("https://ex.com/search/?q=oil", "", False),
    ("https://ex.com/news/more", "More", False),
]


@pytest.mark.parametrize(("url", "text", "expected"), ARTICLE_CASES)
def test_looks_like_article(url: str, text: str, expected: bool) -> None:
    assert looks_like_article(url, text) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.com/", True),
        ("https://ex.com/news/", True),
        ("https://ex.com/tags/oil/", True),
        ("https://ex.com/en/news/uk-sanctions-lukoil-48455", False),
        ("https://ex.com/news/2025/10/15/a.html", False),
    ],
)
def test_looks_like_navigation(url: str, expected: bool) -> None:
    assert looks_like_navigation(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.com/news/", True),
        ("https://ex.com/politics/", True),
        ("https://ex.com/about/", False),
        ("https://ex.com/", False),
        ("https://ex.com/news/2025/", False),
        ("https://ex.com/news", False),
        ("https://ex.com/kz/", False),
    ],
)
def test_looks_like_section(url: str, expected: bool) -> None:
    assert looks_like_section(url) is expected


@pytest.mark.parametrize(
    "url",
    [
        "https://ex.com/ru/news/2025/10/15/syria-visit.html",
        "https://ex.com/kz/news/uk-sanctions-lukoil-48455",
        "https://ex.com/archive/2025/10/15/story-about-oil.html",
    ],
)
def test_language_and_archive_prefixes_are_not_navigation(url: str) -> None:
    assert looks_like_article(url, "")

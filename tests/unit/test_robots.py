"""robots.txt parsing and matching (RFC 9309)."""

from __future__ import annotations

import pytest

from shared.robots import Robots, crawl_delay, is_allowed, parse_robots

ROBOTS = """
# comment
User-agent: *
Disallow: /search/
Disallow: /private
Allow: /private/public-
Disallow: /*.pdf$
Disallow: /tmp/*/cache
Crawl-delay: 2

User-agent: newsflow
User-agent: OtherBot
Disallow: /not-for-newsflow/
Allow: /

User-agent: BadBot
Disallow: /

Sitemap: https://ex.com/sitemap.xml
Sitemap: https://ex.com/news-sitemap.xml
"""


@pytest.mark.parametrize(
    ("agent", "path", "allowed"),
    [
        ("somebot", "/", True),
        ("somebot", "/search/?q=x", False),
        ("somebot", "/private/x", False),
        ("somebot", "/privateer", False),
        ("somebot", "/private/public-page", True),  # longer Allow wins
        ("somebot", "/files/report.pdf", False),
        ("somebot", "/files/report.pdf?x=1", True),  # $ anchors the end
        ("somebot", "/tmp/a/b/cache/z", False),
        ("somebot", "/robots.txt", True),
        ("newsflow", "/search/", True),  # its own group replaces *
        ("newsflow", "/not-for-newsflow/x", False),
        ("badbot", "/anything", False),
    ],
)
def test_is_allowed(agent: str, path: str, allowed: bool) -> None:
    assert is_allowed(parse_robots(ROBOTS), agent, "https://ex.com" + path) is allowed


def test_crawl_delay_and_sitemaps() -> None:
    robots = parse_robots(ROBOTS)
    assert crawl_delay(robots, "somebot") == 2.0
    assert crawl_delay(robots, "newsflow") is None
    assert robots.sitemaps == ("https://ex.com/sitemap.xml", "https://ex.com/news-sitemap.xml")


def test_tie_between_allow_and_disallow_allows() -> None:
    robots = parse_robots("User-agent: *\nDisallow: /a\nAllow: /a\n")
    assert is_allowed(robots, "x", "https://ex.com/a")


def test_percent_encoding_matches_both_ways() -> None:
    robots = parse_robots("User-agent: *\nDisallow: /caf%C3%A9\n")
    assert not is_allowed(robots, "x", "https://ex.com/café")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage\n\x00\x01",
        "Disallow: /\n",
        "User-agent: *\nCrawl-delay: soon\n",
        "<html>404</html>",
    ],
)
def test_empty_or_garbage_allows_everything(text: str) -> None:
    robots = parse_robots(text)
    assert is_allowed(robots, "newsflow", "https://ex.com/news/x.html")


def test_allow_all() -> None:
    assert is_allowed(Robots.allow_all(), "newsflow", "https://ex.com/x")


def test_huge_crawl_delay_is_capped() -> None:
    assert crawl_delay(parse_robots("User-agent: *\nCrawl-delay: 86400\n"), "x") == 60.0

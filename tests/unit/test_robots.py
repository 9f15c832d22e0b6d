"""robots.txt parsing and matching (RFC 9309)."""

from __future__ import annotations

import pytest

from shared.robots import MAX_ROBOTS_BYTES, Robots, crawl_delay, is_allowed, page_noindex, parse_robots
from shared.urls import robots_origin

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


@pytest.mark.parametrize(
    ("line", "ours"),
    [
        ("newsflow", True),
        ("NewsFlow", True),
        ("newsflow/1.0", True),  # the token, without its version
        ("newsflowbot", False),  # a different token that merely starts with ours
        ("news", False),  # a substring of ours
        ("not-newsflow", False),
    ],
)
def test_groups_match_whole_product_tokens(line: str, ours: bool) -> None:
    robots = parse_robots(f"User-agent: {line}\nDisallow: /\n\nUser-agent: *\nDisallow: /star-only\n")
    assert is_allowed(robots, "newsflow", "https://ex.com/page") is (not ours)
    assert not is_allowed(robots, "newsflow", "https://ex.com/star-only")  # either group


def test_only_the_first_500_kib_are_parsed() -> None:
    filler = "# padding\n" * (MAX_ROBOTS_BYTES // 10)
    robots = parse_robots("User-agent: *\nDisallow: /early\n" + filler + "Disallow: /late\n")
    assert not is_allowed(robots, "newsflow", "https://ex.com/early")  # a big file still counts
    assert is_allowed(robots, "newsflow", "https://ex.com/late")  # past the limit: not read


@pytest.mark.parametrize(
    ("body", "header", "noindex"),
    [
        (b'<html><head><meta name="robots" content="noindex, follow"></head>', None, True),
        (b"<meta content='NONE' name='ROBOTS'>", None, True),
        (b'<meta name="newsflow" content="noindex">', None, True),  # our token
        (b'<meta name="googlebot" content="noindex">', None, False),  # another crawler's
        (b'<meta name="robots" content="nofollow">', None, False),
        (b'<meta name="description" content="noindex in a description">', None, False),
        (b"<p>noindex</p>", None, False),
        (b"", "noindex", True),
        (b"", "noindex, nofollow", True),
        (b"", "newsflow: noindex", True),
        (b"", "googlebot: noindex", False),
        (b"", "googlebot: noindex, newsflow: none", True),
        (b"", "unavailable_after: 25 Jun 2010 15:00:00 PST", False),
        (b"", "nofollow", False),
    ],
)
def test_page_noindex(body: bytes, header: str | None, noindex: bool) -> None:
    assert page_noindex(body, header, "newsflow") is noindex


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Ex.com/a", "http://ex.com:80"),
        ("http://ex.com:80/b", "http://ex.com:80"),
        ("https://ex.com/", "https://ex.com:443"),
        ("http://ex.com:8080/", "http://ex.com:8080"),
        ("http://user@ex.com/", "http://ex.com:80"),
    ],
)
def test_robots_origin_is_scheme_host_and_port(url: str, origin: str) -> None:
    assert robots_origin(url) == origin

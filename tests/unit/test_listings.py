"""Feeds, sitemaps and section pages -> links; hostile XML is refused with a reason code."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.crawler.listings import (
    discover_feeds,
    discover_sections,
    discover_sitemaps_lines,
    parse_feed,
    parse_section,
    parse_sitemap,
)
from shared.errors import PermanentError, Reason
from shared.robots import parse_robots

SITE = Path(__file__).resolve().parent.parent / "fixtures" / "site"
BASE = "https://dala.example"


def fixture(path: str) -> bytes:
    return (SITE / path).read_bytes().replace(b"{{BASE}}", BASE.encode())


def test_rss_feed_items_with_dates_and_tracking_removed() -> None:
    listing = parse_feed(fixture("main/rss.xml"), BASE + "/rss.xml", 100)
    assert len(listing.links) == 8
    first = listing.links[0]
    assert first.url == BASE + "/en/news/cis-intelligence-chiefs-samarqand-48731"  # no utm_*
    assert first.title == "CIS Intelligence Chiefs to Gather in Samarqand"
    assert first.published_at is not None and first.published_at.isoformat().startswith("2025-10-16")


def test_atom_feed_and_relative_links() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
 <entry><title>One</title><link rel="alternate" href="/a/2025/10/01/one.html"/>
  <updated>2025-10-01T10:00:00Z</updated></entry>
 <entry><title>Bad</title><link href="javascript:evil()"/></entry>
 <entry><title>Two</title><link href="https://other.example/two-12345"/></entry>
</feed>"""
    listing = parse_feed(atom, BASE + "/atom.xml", 100)
    assert [link.url for link in listing.links] == [
        BASE + "/a/2025/10/01/one.html",
        "https://other.example/two-12345",
    ]


def test_feed_in_latin1_declared_encoding() -> None:
    rss = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        "<rss><channel><item><title>Café</title><link>/x-12345</link></item></channel></rss>"
    )
    listing = parse_feed(rss.encode("latin-1"), BASE + "/", 10)
    assert listing.links[0].title == "Café"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (fixture("main/hostile/xxe-feed.xml"), Reason.XML_ATTACK),
        (fixture("main/hostile/broken-feed.xml"), Reason.BAD_FEED),
        (b"", Reason.BAD_FEED),
        (b"<html><body>not a feed</body></html>", Reason.BAD_FEED),
        (
            b'<?xml version="1.0" encoding="utf-8"?><rss><channel><title>\xff\xfe</title></channel></rss>',
            Reason.BAD_FEED,
        ),
    ],
)
def test_hostile_or_broken_feeds(content: bytes, reason: Reason) -> None:
    with pytest.raises(PermanentError) as err:
        parse_feed(content, BASE + "/feed", 100)
    assert err.value.reason is reason


def test_feed_entries_are_capped() -> None:
    items = "".join(f"<item><link>/n/{i}-12345</link></item>" for i in range(50))
    listing = parse_feed(f"<rss><channel>{items}</channel></rss>".encode(), BASE + "/", 10)
    assert len(listing.links) == 10 and listing.truncated


def test_sitemap_index_and_google_news_sitemap() -> None:
    index = parse_sitemap(fixture("main/sitemap.xml"), BASE + "/sitemap.xml", 100)
    assert index.children == [BASE + "/sitemap-news.xml", BASE + "/sitemap-pages.xml"]
    assert index.links == []
    news = parse_sitemap(fixture("main/sitemap-news.xml"), BASE + "/sitemap-news.xml", 100)
    assert len(news.links) == 8
    assert all(link.title and link.published_at for link in news.links)


def test_regular_sitemap_skips_navigation_pages() -> None:
    pages = parse_sitemap(fixture("main/sitemap-pages.xml"), BASE + "/sitemap-pages.xml", 100)
    urls = {link.url for link in pages.links}
    assert len(urls) == 8
    assert BASE + "/" not in urls and BASE + "/about/" not in urls


def test_sitemap_with_entities_is_an_attack() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&b;</loc></url></urlset>"""
    with pytest.raises(PermanentError) as err:
        parse_sitemap(bomb, BASE + "/s.xml", 10)
    assert err.value.reason is Reason.XML_ATTACK


def test_section_page_yields_only_articles() -> None:
    listing = parse_section(fixture("main/news/index.html"), BASE + "/news/", 100)
    urls = {link.url for link in listing.links}
    manifest_paths = {
        "/en/news/cis-intelligence-chiefs-samarqand-48731",
        "/news/2025/10/15/syria-president-moscow-visit.html",
        "/news/2025/10/14/russia-echr-georgia-compensation.html",
        "/en/news/italy-court-halts-nord-stream-extradition-48702",
        "/en/news/trucks-stranded-kazakh-russian-border-48610",
        "/en/news/uk-sanctions-lukoil-48455",
        "/en/news/socar-dunga-oil-field-48390",
        "/news/2025/10/08/aqtau-unemployed-appeal-president.html",
    }
    assert urls == {BASE + p for p in manifest_paths}


def test_article_page_links_are_articles_only() -> None:
    page = fixture("main/news/2025/10/15/syria-president-moscow-visit.html")
    listing = parse_section(page, BASE + "/news/2025/10/15/syria-president-moscow-visit.html", 100)
    assert listing.links
    assert all("/tags/" not in link.url and "/author/" not in link.url for link in listing.links)


def test_discovery_helpers() -> None:
    assert discover_feeds(fixture("main/index.html"), BASE + "/") == [BASE + "/rss.xml"]
    assert discover_feeds(fixture("plain/index.html"), BASE + "/") == []
    robots = parse_robots(fixture("main/robots.txt").decode())
    assert discover_sitemaps_lines(robots.sitemaps, BASE) == [BASE + "/sitemap.xml"]
    assert BASE + "/news/" in discover_sections(fixture("plain/index.html"), BASE + "/")
    assert BASE + "/about/" not in discover_sections(fixture("plain/index.html"), BASE + "/")


def test_million_entry_sitemap_stops_at_the_cap_quickly() -> None:
    import time

    rows = b"".join(b"<url><loc>/n/%d-12345.html</loc></url>" % i for i in range(1_000_000))
    content = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + rows + b"</urlset>"
    started = time.monotonic()
    listing = parse_sitemap(content, BASE + "/", 5000)
    assert len(listing.links) == 5000 and listing.truncated
    assert time.monotonic() - started < 2.0  # streamed: the rest is never parsed

"""Sitemaps against the fixture site and real Redis, in-process: gzip sitemaps, child
sitemaps re-read only when their <lastmod> moved, bounded fan-out, and the live-crawl age
horizon with an explicit backfill mode; no new poll rounds while the crawl queue is flooded."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.crawler import handlers
from services.crawler.listings import ListingKind
from shared.errors import PermanentError, Reason
from shared.messages import PollSource, Queue
from shared.seen import url_key_hash
from shared.sources import Source
from tests.integration.crawler_support import InProcessCrawler, write_sources

pytestmark = pytest.mark.integration

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "site" / "main"
XML = {"Content-Type": "application/xml"}


@pytest.fixture
def make_crawler(make_settings: Any, redis_client: Any) -> Iterator[Callable[..., InProcessCrawler]]:
    made: list[InProcessCrawler] = []

    def make(**settings: Any) -> InProcessCrawler:
        made.append(InProcessCrawler(make_settings(host_rate_per_second=50.0, **settings), redis_client))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def crawler(make_crawler: Callable[..., InProcessCrawler]) -> InProcessCrawler:
    return make_crawler()


def _file(site: Any, name: str) -> bytes:
    return (SITE / name).read_bytes().replace(b"{{BASE}}", site.base_url.encode())


def _index(site: Any, children: list[tuple[str, str | None]]) -> bytes:
    rows = "".join(
        f"<sitemap><loc>{site.url(path)}</loc>" + (f"<lastmod>{lm}</lastmod>" if lm else "") + "</sitemap>"
        for path, lm in children
    )
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</sitemapindex>'.encode()


def test_gzip_sitemap_is_read(fixture_site: Any, crawler: InProcessCrawler) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"))
    body = gzip.compress(_file(fixture_site, "sitemap-news.xml"))
    with fixture_site.override("/sitemap-news.xml.gz", 200, body, {"Content-Type": "application/gzip"}):
        result = crawler.listing(source, fixture_site.url("/sitemap-news.xml.gz"), ListingKind.SITEMAP)
    assert result.outcome == "enqueued" and len(result.new_urls) == 8  # before: refused, not_html


def test_gzip_sitemap_bomb_stops_at_the_body_cap(fixture_site: Any, make_crawler: Any) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"))
    crawler = make_crawler(max_body_bytes=1_000_000)
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    with (
        fixture_site.override("/bomb.xml.gz", 200, bomb, {"Content-Type": "application/x-gzip"}),
        pytest.raises(PermanentError) as err,
    ):
        crawler.listing(source, fixture_site.url("/bomb.xml.gz"), "sitemap")
    assert err.value.reason is Reason.OVERSIZED


def test_children_are_read_again_only_when_their_lastmod_moves(
    fixture_site: Any, crawler: InProcessCrawler, make_crawler: Any
) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"))
    index_url = fixture_site.url("/idx-lastmod.xml")
    news, pages = "/sitemap-news.xml", "/sitemap-pages.xml"
    before = _index(fixture_site, [(news, "2025-10-16T10:15:00+05:00"), (pages, None)])
    with fixture_site.override("/idx-lastmod.xml", 200, before, XML):
        first = crawler.listing(source, index_url, "sitemap")
        assert sorted(u for u, _ in first.children) == sorted(
            [fixture_site.url(news), fixture_site.url(pages)]
        )
        for child, _ in first.children:
            crawler.listing(source, child, "sitemap", depth=1)
        again = crawler.listing(source, index_url, "sitemap")
        assert again.outcome == "unchanged" and again.children == []  # before: every child, every poll
    moved = _index(fixture_site, [(news, "2025-10-17T08:00:00+05:00"), (pages, None)])
    with fixture_site.override("/idx-lastmod.xml", 200, moved, XML):
        assert [u for u, _ in crawler.listing(source, index_url, "sitemap").children] == [
            fixture_site.url(news)
        ]
    # A child with no <lastmod> comes back on the slow schedule.
    crawler = make_crawler(redis_prefix=crawler.settings.redis_prefix, sitemap_recheck_seconds=0.0)
    with fixture_site.override("/idx-lastmod.xml", 200, moved, XML):
        assert fixture_site.url(pages) in [
            u for u, _ in crawler.listing(source, index_url, "sitemap").children
        ]


def test_fan_out_is_bounded_newest_first(fixture_site: Any, make_crawler: Any) -> None:
    source = Source(id="dala", home_url=fixture_site.url("/"))
    crawler = make_crawler(sitemap_children_max=5)
    children = [
        (f"/archive/{i:03d}.xml", f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z") for i in range(300)
    ]
    with fixture_site.override("/idx-flood.xml", 200, _index(fixture_site, children), XML):
        result = crawler.listing(source, fixture_site.url("/idx-flood.xml"), "sitemap")
    newest = sorted(children, key=lambda c: c[1], reverse=True)[:5]
    assert len(result.children) == 5
    assert {u for u, _ in result.children} == {fixture_site.url(p) for p, _ in newest}


def test_live_crawl_skips_old_articles_and_archives_backfill_reads_them(
    fixture_site: Any, make_crawler: Any
) -> None:
    crawler = make_crawler(max_article_age_days=30)
    live = Source(id="live", home_url=fixture_site.url("/"))
    archive = Source(id="archive", home_url=fixture_site.url("/"), backfill=True)
    # The fixture's articles are from October 2025, long past a 30-day horizon.
    old_index = _index(fixture_site, [("/sitemap-news.xml", "2025-10-16T10:15:00+05:00")])
    with fixture_site.override("/idx-age.xml", 200, old_index, XML):
        assert crawler.listing(live, fixture_site.url("/idx-age.xml"), "sitemap").children == []
        assert len(crawler.listing(archive, fixture_site.url("/idx-age.xml"), "sitemap").children) == 1
    skipped = crawler.listing(live, fixture_site.url("/sitemap-news.xml"), "sitemap")
    assert skipped.new_urls == [] and skipped.too_old == 8
    crawler.r.delete(crawler.keys.listing(url_key_hash(fixture_site.url("/sitemap-news.xml"))))  # unread
    taken = crawler.listing(archive, fixture_site.url("/sitemap-news.xml"), "sitemap")
    assert len(taken.new_urls) == 8


def test_no_new_rounds_while_the_crawl_queue_is_flooded(
    fixture_site: Any, make_crawler: Any, redis_client: Any, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "dala", "home_url": fixture_site.url("/")}])
    crawler = make_crawler(sources_file=sources, crawl_queue_max=5)
    queue = crawler.keys.queue(Queue.CRAWL)
    redis_client.rpush(queue, *["{}"] * 6)  # a sitemap flood ahead of us
    outcome = handlers.poll_source(crawler.deps, PollSource(source_id="dala"))
    assert outcome is not None and outcome.outcome == "deferred"
    assert redis_client.llen(queue) == 6  # no new listings sent
    redis_client.delete(queue)
    assert handlers.poll_source(crawler.deps, PollSource(source_id="dala")) is None  # a round
    assert redis_client.llen(queue) == 1  # the home page listing

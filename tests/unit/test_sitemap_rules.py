"""Sitemaps like a search engine reads them: gzip with a decompressed cap, child lastmods,
and the live-crawl age horizon (pure)."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from services.crawler.listings import Link, gunzip_capped, parse_sitemap, too_old
from shared.errors import PermanentError, Reason

BASE = "https://dala.example"
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>/a.xml.gz</loc><lastmod>2025-10-16T10:15:00+05:00</lastmod></sitemap>
<sitemap><loc>/b.xml</loc></sitemap></sitemapindex>"""


def test_gzip_sitemap_is_read_within_the_cap() -> None:
    assert gunzip_capped(gzip.compress(INDEX), 10_000) == INDEX


def test_gzip_bomb_stops_at_the_decompressed_cap() -> None:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = z.compress(b"\0" * 20_000_000) + z.flush()
    assert len(bomb) < 50_000
    with pytest.raises(PermanentError) as err:
        gunzip_capped(bomb, 1_000_000)
    assert err.value.reason is Reason.OVERSIZED


def test_corrupt_gzip_is_a_bad_sitemap() -> None:
    with pytest.raises(PermanentError) as err:
        gunzip_capped(b"\x1f\x8b" + b"garbage" * 10, 1000)
    assert err.value.reason is Reason.BAD_SITEMAP


def test_index_keeps_each_childs_lastmod() -> None:
    index = parse_sitemap(INDEX, BASE + "/sitemap.xml", 100)
    assert index.children == [BASE + "/a.xml.gz", BASE + "/b.xml"]
    assert index.lastmods == {BASE + "/a.xml.gz": "2025-10-16T10:15:00+05:00"}


def test_age_horizon_uses_publication_then_lastmod_and_spares_undated_links() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    old, fresh = now - timedelta(days=40), now - timedelta(days=2)
    assert too_old(Link("u", published_at=old), now, 30)
    assert too_old(Link("u", lastmod=old), now, 30)
    assert not too_old(Link("u", published_at=fresh, lastmod=old), now, 30)
    assert not too_old(Link("u"), now, 30)
    assert not too_old(Link("u", published_at=old), now, 0)  # 0: no horizon

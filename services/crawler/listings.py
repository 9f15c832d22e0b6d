"""Parsing of feeds, sitemaps and HTML listing pages into candidate article links. No I/O.

XML goes through defusedxml: DTD entity declarations (billion laughs) and external
entities (XXE) raise ``PermanentError(XML_ATTACK)``; broken XML raises ``BAD_FEED`` /
``BAD_SITEMAP``. Every parser stops at ``max_entries`` and reports that it was truncated.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
import lxml.html
from defusedxml import DefusedXmlException
from trafilatura.feeds import FeedParameters, determine_feed

from shared.errors import PermanentError, Reason
from shared.urls import (
    looks_like_article,
    looks_like_navigation,
    looks_like_section,
    normalize_url,
    same_site,
)


class ListingKind(StrEnum):
    FEED = "feed"
    SITEMAP = "sitemap"
    SECTION = "section"
    HOME = "home"  # discovery: find feeds/sitemaps, and links like a section page


@dataclass(frozen=True)
class Link:
    url: str
    title: str | None = None
    published_at: datetime | None = None
    lastmod: datetime | None = None  # a sitemap's <lastmod>: for the age filter only

    @property
    def dated(self) -> datetime | None:
        return self.published_at or self.lastmod


@dataclass(frozen=True)
class Listing:
    links: list[Link]
    children: list[str]  # child sitemaps of a sitemap index
    truncated: bool = False
    lastmods: dict[str, str] = field(default_factory=dict)  # child sitemap -> its <lastmod>


GZIP_MAGIC = b"\x1f\x8b"
GZIP_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream")


def gunzip_capped(content: bytes, limit: int) -> bytes:
    """A ``.xml.gz`` sitemap's XML, never more than ``limit`` bytes decompressed (the body
    cap applies to what the parser sees, so a gzip bomb stops at the cap)."""
    decoder = zlib.decompressobj(wbits=31)
    try:
        out = decoder.decompress(content, limit + 1)
        if len(out) > limit or decoder.unconsumed_tail:
            raise PermanentError(Reason.OVERSIZED, f"sitemap decompresses past {limit} bytes")
        out += decoder.flush()
    except zlib.error as exc:
        raise PermanentError(Reason.BAD_SITEMAP, f"corrupt gzip: {exc}") from exc
    if len(out) > limit:
        raise PermanentError(Reason.OVERSIZED, f"sitemap decompresses past {limit} bytes")
    return out


def too_old(link: Link, now: datetime, max_age_days: float) -> bool:
    """True when the link's own date (publication, else sitemap lastmod) is older than the
    live-crawl horizon; undated links are never too old."""
    dated = link.dated
    return max_age_days > 0 and dated is not None and (now - dated).total_seconds() > max_age_days * 86400


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _events(content: bytes, bad: Reason) -> Iterator[tuple[str, Element]]:
    """Streaming parse: ("start" | "end", element). Memory stays bounded because callers
    clear each entry once read and stop at their entry limit."""
    try:
        yield from safe_et.iterparse(
            io.BytesIO(content),
            events=("start", "end"),
            forbid_dtd=False,
            forbid_entities=True,
            forbid_external=True,
        )
    except DefusedXmlException as exc:
        raise PermanentError(Reason.XML_ATTACK, type(exc).__name__) from exc
    except (ParseError, ValueError, UnicodeError) as exc:
        raise PermanentError(bad, str(exc)[:200]) from exc


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _text(el: Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    return el.text.strip()[:1000] or None


def _child(el: Element, *names: str) -> Element | None:
    for child in el:
        if _local(child.tag) in names:
            return child
    return None


def parse_feed(content: bytes, base_url: str, max_entries: int) -> Listing:
    """RSS 2.0, RSS 1.0 (RDF) and Atom items -> links with title and date."""
    links: list[Link] = []
    root: Element | None = None
    for event, el in _events(content, Reason.BAD_FEED):
        if root is None:
            root = el
            if _local(el.tag) not in ("rss", "feed", "rdf"):
                raise PermanentError(Reason.BAD_FEED, f"root element {_local(el.tag)}"[:200])
            continue
        if event != "end" or _local(el.tag) not in ("item", "entry"):
            continue
        if len(links) >= max_entries:
            return Listing(links, [], truncated=True)
        link = _feed_item(el, base_url)
        el.clear()
        if link is not None:
            links.append(link)
    if root is None:
        raise PermanentError(Reason.BAD_FEED, "empty document")
    return Listing(links, [])


def _feed_item(el: Element, base_url: str) -> Link | None:
    href = None
    for child in el:
        if _local(child.tag) != "link":
            continue
        if child.get("href") and child.get("rel", "alternate") == "alternate":
            href = child.get("href")
            break
        if child.text and child.text.strip():
            href = child.text.strip()
            break
    if href is None:
        guid = _child(el, "guid")
        if guid is not None and guid.get("isPermaLink", "true") == "true":
            href = _text(guid)
    url = normalize_url(href, base_url) if href else None
    if url is None:
        return None
    date = _child(el, "pubdate", "published", "updated", "date")
    return Link(url, _text(_child(el, "title")), _parse_date(_text(date)))


def parse_sitemap(content: bytes, base_url: str, max_entries: int) -> Listing:
    """A sitemap index (-> children) or a urlset (with Google News fields when present)."""
    links: list[Link] = []
    children: list[str] = []
    lastmods: dict[str, str] = {}
    kind = ""
    for event, el in _events(content, Reason.BAD_SITEMAP):
        if not kind:
            kind = _local(el.tag)
            if kind not in ("urlset", "sitemapindex"):
                raise PermanentError(Reason.BAD_SITEMAP, f"root element {kind}"[:200])
            continue
        if event != "end" or _local(el.tag) not in ("url", "sitemap"):
            continue
        if len(links) + len(children) >= max_entries:
            return Listing(links, children, truncated=True, lastmods=lastmods)
        loc = normalize_url(_text(_child(el, "loc")) or "", base_url)
        news = _child(el, "news")
        title = _text(_child(news, "title")) if news is not None else None
        published = _parse_date(_text(_child(news, "publication_date"))) if news is not None else None
        lastmod = _text(_child(el, "lastmod"))
        el.clear()
        if loc is None:
            continue
        if kind == "sitemapindex":
            children.append(loc)
            if lastmod:
                lastmods[loc] = lastmod
        elif news is not None or not looks_like_navigation(loc):
            # A regular sitemap lists sections and static pages too; news entries are articles.
            links.append(Link(loc, title, published, _parse_date(lastmod)))
    if not kind:
        raise PermanentError(Reason.BAD_SITEMAP, "empty document")
    return Listing(links, children, lastmods=lastmods)


def parse_section(content: bytes, page_url: str, max_entries: int) -> Listing:
    """Links on a front or section page that look like articles of the same site."""
    try:
        tree = lxml.html.fromstring(content, base_url=page_url)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise PermanentError(Reason.NOT_HTML, str(exc)[:200]) from exc
    links: list[Link] = []
    seen: set[str] = set()
    truncated = False
    for a in tree.iter("a"):
        href = a.get("href")
        if not href:
            continue
        url = normalize_url(href, page_url)
        if url is None or url in seen:
            continue
        seen.add(url)
        if not same_site(url, page_url) and not _is_ip_literal_link(url):
            continue
        text = " ".join(a.text_content().split())[:300]
        if not looks_like_article(url, text):
            continue
        if len(links) >= max_entries:
            truncated = True
            break
        links.append(Link(url, text or None, None))
    return Listing(links, [], truncated)


def _is_ip_literal_link(url: str) -> bool:
    # Off-site links are skipped, except bare IP addresses: they are kept so the fetch-time
    # SSRF rule reports them (reason private_address) instead of them vanishing silently.
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host.replace(".", "").isdigit() or ":" in host


def discover_feeds(content: bytes, page_url: str) -> list[str]:
    """Feed URLs announced by a home page (<link rel="alternate">, via trafilatura)."""
    try:
        html = content.decode("utf-8", errors="replace")
    except (AttributeError, ValueError):
        return []
    from urllib.parse import urlsplit

    parts = urlsplit(page_url)
    params = FeedParameters(f"{parts.scheme}://{parts.netloc}", parts.netloc, page_url)
    found = [normalize_url(u, page_url) for u in determine_feed(html, params)]
    return [u for u in dict.fromkeys(found) if u]


MAX_DISCOVERED_SECTIONS = 10


def discover_sections(content: bytes, page_url: str) -> list[str]:
    """Same-site top-level section pages linked from a home page (for sites without feeds)."""
    try:
        tree = lxml.html.fromstring(content, base_url=page_url)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[str] = []
    for a in tree.iter("a"):
        url = normalize_url(a.get("href") or "", page_url)
        if url and url not in found and same_site(url, page_url) and looks_like_section(url):
            found.append(url)
            if len(found) >= MAX_DISCOVERED_SECTIONS:
                break
    return found


def discover_sitemaps_lines(lines: tuple[str, ...] | list[str], base_url: str) -> list[str]:
    """Sitemap URLs already split out of robots.txt (``Robots.sitemaps``), resolved."""
    found = [normalize_url(u, base_url) for u in lines]
    return [u for u in dict.fromkeys(found) if u]


def parse_listing(kind: ListingKind, content: bytes, url: str, max_entries: int) -> Listing:
    if kind is ListingKind.FEED:
        return parse_feed(content, url, max_entries)
    if kind is ListingKind.SITEMAP:
        return parse_sitemap(content, url, max_entries)
    return parse_section(content, url, max_entries)

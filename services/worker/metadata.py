"""Page metadata that trafilatura does not give us: precise dates, language, canonical URL.

Read from ``<meta>``, ``<link>``, ``<time>`` and JSON-LD only, never from the
visible text or the URL: a date in the URL is a separate, weaker source
(:mod:`services.worker.dates`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "date",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "last-modified",
)
_LANG = re.compile(r"^([a-zA-Z]{2})(?:[-_][a-zA-Z0-9]+)*$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PageMetadata:
    title: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    image_url: str | None = None
    page_type: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @staticmethod
    def trafilatura_date(value: str | None) -> datetime | None:
        """trafilatura's (htmldate's) metadata date, when we found none ourselves."""
        return parse_datetime(value)


def parse_datetime(value: str | None) -> datetime | None:
    """ISO 8601 (and a few near forms) to tz-aware UTC; naive values are taken as UTC."""
    if not value:
        return None
    text = value.strip()
    if len(text) > 64:
        return None
    text = re.sub(r"\s*Z$", "+00:00", text)
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)  # +0100 -> +01:00
    text = re.sub(r"^(\d{4}-\d{2}-\d{2}) (\d)", r"\1T\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        match = re.match(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})", text)
        if not match:
            return None
        try:
            year, month, day = (int(g) for g in match.groups())
            parsed = datetime(year, month, day)
        except ValueError:
            return None
    if parsed.year < 1990:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _meta_map(tree: HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in tree.iterfind(".//meta"):
        key = node.get("property") or node.get("name") or node.get("itemprop") or ""
        key = key.strip().lower()
        if not key and node.get("http-equiv"):
            key = "http-equiv:" + node.get("http-equiv", "").strip().lower()
        content = node.get("content")
        if key and content and content.strip():
            found.setdefault(key, []).append(_SPACE.sub(" ", content).strip())
    return found


def _json_ld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    for node in tree.xpath('.//script[@type="application/ld+json"]'):
        try:
            data = json.loads(node.text_content() or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                if "@graph" in item:
                    stack.append(item["@graph"])


def _first_date(meta: dict[str, list[str]], keys: tuple[str, ...]) -> datetime | None:
    for key in keys:
        for value in meta.get(key, []):
            parsed = parse_datetime(value)
            if parsed is not None:
                return parsed
    return None


def _language(tree: HtmlElement, meta: dict[str, list[str]]) -> str | None:
    candidates = [
        tree.get("lang"),
        tree.get("xml:lang"),
        *meta.get("http-equiv:content-language", []),
        *meta.get("og:locale", []),
        *meta.get("language", []),
    ]
    for candidate in candidates:
        match = _LANG.match((candidate or "").strip().split(",")[0].strip())
        if match:
            return match.group(1).lower()
    return None


def _canonical(tree: HtmlElement, meta: dict[str, list[str]], url: str) -> str | None:
    hrefs = [n.get("href") for n in tree.xpath('.//link[@rel="canonical" or @rel="Canonical"]')]
    hrefs += meta.get("og:url", [])
    page_path = urlsplit(url).path if url else ""
    for href in hrefs:
        if not href or not href.strip():
            continue
        absolute = urljoin(url, href.strip()) if url else href.strip()
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        # A canonical that points at the home page from an article URL is a
        # template bug; trusting it would merge every article into one document.
        if parts.path in ("", "/") and page_path not in ("", "/"):
            continue
        return absolute
    return None


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def read_metadata(tree: HtmlElement, url: str) -> PageMetadata:
    """Collect metadata from meta tags, links, time elements and JSON-LD of a parsed page."""
    meta = _meta_map(tree)
    published, modified = None, None
    authors: list[str] = []
    for obj in _json_ld_objects(tree):
        published = published or parse_datetime(_str(obj.get("datePublished")))
        modified = modified or parse_datetime(_str(obj.get("dateModified")))
        if not authors and obj.get("author"):
            authors = [_SPACE.sub(" ", a).strip() for a in _names(obj.get("author")) if a.strip()]
    published = published or _first_date(meta, _PUBLISHED_META)
    if published is None:
        for node in tree.xpath(".//time[@datetime and (@pubdate or @itemprop='datePublished')]"):
            published = parse_datetime(node.get("datetime"))
            if published:
                break
    modified = modified or _first_date(meta, _MODIFIED_META)
    if not authors:
        authors = meta.get("author", [])[:5]
    tags = [*meta.get("article:tag", []), *meta.get("news_keywords", [])]
    split_tags = [t.strip() for value in tags for t in value.split(",") if t.strip()]
    image = _first(meta, "og:image", "twitter:image")
    return PageMetadata(
        title=_first(meta, "og:title", "twitter:title"),
        published_at=published,
        modified_at=modified,
        language=_language(tree, meta),
        canonical_url=_canonical(tree, meta, url),
        site_name=_first(meta, "og:site_name", "application-name"),
        description=_first(meta, "description", "og:description"),
        image_url=urljoin(url, image) if image and url else image,
        page_type=(_first(meta, "og:type") or "").lower() or None,
        authors=authors,
        tags=split_tags,
    )


def _str(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else None


def _first(meta: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        if meta.get(key):
            return meta[key][0]
    return None

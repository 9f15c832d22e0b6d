"""URL rules without I/O: normalisation, host keys, and the article-vs-navigation heuristic.

``normalize_url`` is the one spelling of a URL used for dedup keys, document ids and
messages: courlan's normalisation (scheme and host case, default ports, sorted query,
tracking parameters such as ``utm_*``, ``fbclid``, ``gclid`` removed) plus dropped fragments.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import courlan

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https")

# Query parameters that only identify a campaign or a click, never the page itself.
_TRACKING_PARAM = re.compile(
    r"^(utm_\w+|fbclid|gclid|gclsrc|dclid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|"
    r"ref_src|ref|cmpid|ncid|ocid|sr_share|at_medium|at_campaign|wt_mc|icid|spm)$",
    re.IGNORECASE,
)


def _strip_tracking(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _TRACKING_PARAM.match(k)]
    return urlencode(sorted(pairs), doseq=True)


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical spelling of ``url`` (resolved against ``base``), or None if unusable."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(c in url for c in "\r\n\t\0"):
        return None
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        return None
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return None
    try:
        normalized = courlan.normalize_url(url, strict=False)
    except (ValueError, UnicodeError):
        return None
    parts = urlsplit(normalized)
    query = _strip_tracking(parts.query)
    path = parts.path or "/"
    result = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))
    return result if len(result) <= MAX_URL_LENGTH else None


def url_host(url: str) -> str:
    """The politeness key of a URL: lower-case host, plus the port when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return f"{host}:{port}" if port and port != default else host


def url_origin(url: str) -> str:
    """scheme://host[:port] of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def robots_origin(url: str) -> str:
    """What one robots.txt governs (RFC 9309 section 2.3): scheme, host and port, with the
    default port spelled out, so ``http://ex.com`` and ``http://ex.com:80`` share one file
    and ``https://ex.com`` or ``http://ex.com:8080`` do not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def same_site(url: str, other: str) -> bool:
    """True when both URLs share a host (ignoring a leading ``www.``) and port."""

    def key(u: str) -> str:
        h = url_host(u)
        return h[4:] if h.startswith("www.") else h

    return key(url) == key(other)


# --- article or navigation? ---------------------------------------------------------------

_NAV_SEGMENTS = frozenset(
    {
        "about",
        "about-us",
        "contact",
        "contacts",
        "tag",
        "tags",
        "topic",
        "topics",
        "author",
        "authors",
        "category",
        "categories",
        "page",
        "search",
        "login",
        "register",
        "account",
        "subscribe",
        "privacy",
        "privacy-policy",
        "terms",
        "advertising",
        "rss",
        "feed",
        "feeds",
        "archive",
        "static",
        "assets",
        "img",
        "images",
        "video",
        "videos",
        "photo",
        "gallery",
        "comments",
        "cookie-policy",
        "sitemap",
        "user",
        "users",
        "newsletter",
        "jobs",
        "careers",
        "imprint",
        "impressum",
        "help",
        "faq",
        "wp-admin",
        "wp-login.php",
        "cart",
        "shop",
    }
)
# Segments that make everything below them navigation too (/tags/x/, /author/y/, /page/2/).
_NAV_PARENTS = frozenset(
    {
        "tag",
        "tags",
        "topic",
        "topics",
        "author",
        "authors",
        "category",
        "categories",
        "page",
        "search",
        "static",
        "assets",
        "img",
        "images",
        "user",
        "users",
        "account",
        "comments",
        "wp-admin",
        "feed",
        "feeds",
    }
)
_DATE_IN_PATH = re.compile(r"/(19|20)\d{2}[/-](0?[1-9]|1[0-2])([/-](0?[1-9]|[12]\d|3[01]))?(/|-|$)")
_NUMERIC_ID = re.compile(r"(^|[-_/])\d{4,}([-_.]|$)")
_ASSET_EXT = re.compile(
    r"\.(jpe?g|png|gif|svg|webp|ico|css|js|pdf|zip|gz|mp3|mp4|avi|mov|xml|rss|json|txt|woff2?|ttf|docx?|xlsx?|pptx?)$",
    re.IGNORECASE,
)
_PAGINATION = re.compile(r"/(page|p)/\d+/?$|[?&](page|p|start|offset)=\d+", re.IGNORECASE)


def looks_like_navigation(url: str) -> bool:
    """URL-pattern test for pages that are certainly not articles (home, sections, tags...)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    segments = [s for s in path.lower().split("/") if s]
    if not segments:
        return True  # the front page
    if _ASSET_EXT.search(path) or _PAGINATION.search(path + ("?" + parts.query if parts.query else "")):
        return True
    if any(seg in _NAV_PARENTS for seg in segments[:-1]) or segments[-1] in _NAV_SEGMENTS:
        return True
    return len(segments) == 1 and path.endswith("/")  # /news/, /politics/


def looks_like_section(url: str) -> bool:
    """A top-level section page such as ``/news/`` or ``/politics/`` (not about, tags...)."""
    path = urlsplit(url).path or "/"
    segments = [s for s in path.lower().split("/") if s]
    return (
        len(segments) == 1
        and path.endswith("/")
        and segments[0] not in _NAV_SEGMENTS
        and len(segments[0]) > 2  # /kz/, /ru/: language editions, not sections
        and not urlsplit(url).query
    )


def looks_like_article(url: str, anchor_text: str = "") -> bool:
    """URL-pattern and link-context heuristic used for links found on front and section pages.

    An article URL is not navigation and carries an article signal: a date in the path, a
    numeric id, a ``.html`` leaf, or a long hyphenated slug; a long anchor text (a headline)
    counts as a signal too.
    """
    if looks_like_navigation(url):
        return False
    path = urlsplit(url).path
    leaf = path.rstrip("/").rsplit("/", 1)[-1]
    words = len(anchor_text.split())
    signals = 0
    if _DATE_IN_PATH.search(path):
        signals += 2
    if _NUMERIC_ID.search(leaf):
        signals += 1
    if leaf.endswith((".html", ".htm", ".shtml", ".php")):
        signals += 1
    if leaf.count("-") >= 3:
        signals += 1
    if words >= 5:
        signals += 1
    elif 0 < words <= 2:
        signals -= 1  # "More", "Contacts", "Next »": menu wording
    return signals >= 2

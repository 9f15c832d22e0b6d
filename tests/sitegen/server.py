"""Serve a generated site on 127.0.0.1 from a threaded HTTP server, with runtime fault switches.

``serve(articles=N, seed=S)`` yields a :class:`GeneratedSite`: its ``base_url``, the
``access_log``, ``faults`` (flip at any time: answer an HTTP error or hang on a fraction of
article requests for a while) and ``expected_articles()``. With ``poison=True`` one extra
article, linked from the sitemaps and the feed like any other, carries a page whose
extraction runs far past any sane task time limit (see :mod:`tests.sitegen.poison`).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.sitegen import pages
from tests.sitegen.pages import GenArticle
from tests.sitegen.poison import POISON_PATH, poison_page
from tests.sitegen.prose import TOPICS


@dataclass(frozen=True)
class Expected:
    """An article that should end up indexed exactly once."""

    url: str
    canonical_url: str
    title: str
    published_at: datetime
    language: str
    topic: str


@dataclass(frozen=True)
class Access:
    time: float
    method: str
    path: str
    status: int  # 0: hung, nothing answered


class AccessLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Access] = []

    def append(self, entry: Access) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, since: float = 0.0) -> list[Access]:
        with self._lock:
            return [e for e in self._entries if e.time >= since]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class _Rule:
    kind: str  # "error" | "hang"
    fraction: float
    until: float
    status: int = 500
    hang_seconds: float = 30.0


class Faults:
    """Fault switches for article requests, safe to flip from any thread while serving."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[_Rule] = []
        self.injected = 0

    def error(self, fraction: float, seconds: float, status: int = 500) -> None:
        """Answer ``status`` to ``fraction`` of article requests for ``seconds``."""
        with self._lock:
            self._rules.append(_Rule("error", fraction, time.time() + seconds, status=status))

    def hang(self, fraction: float, seconds: float, hang_seconds: float = 30.0) -> None:
        """Say nothing for ``hang_seconds`` on ``fraction`` of article requests, for ``seconds``."""
        with self._lock:
            self._rules.append(_Rule("hang", fraction, time.time() + seconds, hang_seconds=hang_seconds))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def active_until(self) -> float:
        with self._lock:
            return max((r.until for r in self._rules), default=0.0)

    def pick(self) -> _Rule | None:
        now = time.time()
        with self._lock:
            self._rules = [r for r in self._rules if r.until > now]
            roll = self._rng.random()
            for rule in self._rules:
                if roll < rule.fraction:
                    self.injected += 1
                    return rule
                roll -= rule.fraction
        return None


@dataclass
class GeneratedSite:
    articles: list[GenArticle]
    base_url: str = ""
    poison: bool = False
    access_log: AccessLog = field(default_factory=AccessLog)
    faults: Faults = field(default_factory=Faults)
    stop_event: threading.Event = field(default_factory=threading.Event)
    _by_path: dict[str, GenArticle] = field(default_factory=dict)
    _cache: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_path = {a.path: a for a in self.articles}

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def poison_url(self) -> str | None:
        return self.base_url + POISON_PATH if self.poison else None

    def expected_articles(self) -> list[Expected]:
        """Every article that must end up indexed exactly once (never the poison page)."""
        return [
            Expected(
                url=self.base_url + a.path,
                canonical_url=self.base_url + a.path,
                title=a.title,
                published_at=a.published_at,
                language=a.story.language,
                topic=a.section,
            )
            for a in self.articles
        ]

    def is_article(self, path: str) -> bool:
        return path in self._by_path or (self.poison and path == POISON_PATH)

    def article_html(self, a: GenArticle) -> str:
        i = a.index
        n = len(self.articles)
        # three related stories, then the rails' stories (tests.sitegen.chrome)
        related = [self.articles[(i + k) % n] for k in range(1, 19) if n > 1 and (i + k) % n != i]
        return pages.render_article(a, self.base_url, related)

    def render(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a path; cached, since pages never change."""
        if path in self._cache:
            return 200, _type(path), self._cache[path]
        rendered = self._render(path)
        if rendered is None:
            return 404, "text/html; charset=utf-8", b"<html><body><h1>Not found</h1></body></html>"
        body = rendered.encode("utf-8")
        self._cache[path] = body
        return 200, _type(path), body

    def _render(self, path: str) -> str | None:
        base = self.base_url
        arts = self.articles
        if path in self._by_path:
            return self.article_html(self._by_path[path])
        if self.poison and path == POISON_PATH:
            return poison_page(base)
        if path == "/":
            return pages.render_home(arts)
        if path == "/robots.txt":
            return pages.render_robots(base)
        if path == "/rss.xml":
            return (
                _with_poison_rss(pages.render_rss(arts, base), base)
                if self.poison
                else pages.render_rss(arts, base)
            )
        if path == "/sitemap.xml":
            return pages.render_sitemap_index(arts, base)
        if path == "/sitemaps/sections.xml":
            return pages.render_sections_sitemap(base)
        if path.startswith("/sitemaps/news-") and path.endswith(".xml"):
            k = path.removeprefix("/sitemaps/news-").removesuffix(".xml")
            xml = pages.render_news_sitemap(arts, base, int(k)) if k.isdigit() else None
            if xml is not None and self.poison and k == "1":
                xml = xml.replace("</urlset>", f"<url><loc>{base}{POISON_PATH}</loc></url></urlset>")
            return xml
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] in TOPICS and path.endswith("/"):
            if len(parts) == 1:
                return pages.render_section(arts, parts[0], 1)
            if len(parts) == 3 and parts[1] == "page" and parts[2].isdigit():
                return pages.render_section(arts, parts[0], int(parts[2]))
        return None


def _with_poison_rss(xml: str, base: str) -> str:
    item = f"<item><title>Poison</title><link>{base}{POISON_PATH}</link><guid isPermaLink='false'>poison</guid></item>"
    return xml.replace("<item>", item + "<item>", 1)


def _type(path: str) -> str:
    if path == "/rss.xml":
        return "application/rss+xml; charset=utf-8"
    if path.endswith(".xml"):
        return "application/xml; charset=utf-8"
    if path.endswith(".txt"):
        return "text/plain; charset=utf-8"
    return "text/html; charset=utf-8"


def _handler(site: GeneratedSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GeneratedTimes/1.0"
        # Headers and body are two writes: with Nagle on, each answer waits ~40 ms for the
        # client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None) -> None:
            site.access_log.append(Access(time.time(), self.command, self.path, status))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                with suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if site.is_article(path):
                rule = site.faults.pick()
                if rule is not None and rule.kind == "error":
                    self._send(rule.status, "text/html", b"<html><body>Server error</body></html>")
                    return
                if rule is not None and rule.kind == "hang":
                    site.access_log.append(Access(time.time(), self.command, self.path, 0))
                    site.stop_event.wait(rule.hang_seconds)
                    self.close_connection = True
                    return
            status, ctype, body = site.render(path)
            if status != 200:
                self._send(status, ctype, body)
                return
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, ctype, b"", {"ETag": etag})
                return
            self._send(200, ctype, body, {"ETag": etag})

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve(
    articles: int | list[GenArticle] = 300, seed: int = 1, *, poison: bool = False, port: int = 0
) -> Iterator[GeneratedSite]:
    """Generate the site (or take ``generate()``'s list) and serve it on 127.0.0.1 for the block
    (``port`` 0: a free one)."""
    listed = pages.generate(articles, seed) if isinstance(articles, int) else articles
    site = GeneratedSite(listed, poison=poison, faults=Faults(seed))
    server = _Server(("127.0.0.1", port), _handler(site))
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="sitegen", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.stop_event.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

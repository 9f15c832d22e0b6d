"""The fixture news site: static pages from tests/fixtures/site/ plus hostile dynamic routes.

``serve_site()`` starts two threaded HTTP servers on 127.0.0.1 (free ports):

* ``base_url``: the full site (``main/``): front page, section pages, articles, RSS with
  ``<link rel="alternate">``, a sitemap index -> Google News sitemap + regular sitemap,
  ``robots.txt`` with ``Sitemap:`` lines, and the ``/hostile/`` section whose links hit the
  dynamic routes below.
* ``plain_base_url``: a variant with no feed, no sitemap and no robots.txt (``plain/``),
  crawlable only through its front and section pages.

``{{BASE}}`` in served text files is replaced by the server's own base URL, so canonical
links and feed/sitemap URLs point at the running port. Static files carry an ``ETag`` and a
``Last-Modified`` and answer conditional requests with 304. Every request lands in the
thread-safe ``access_log``. Nothing here listens beyond loopback.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SITE_DIR = Path(__file__).parent / "fixtures" / "site"
MANIFEST = SITE_DIR / "manifest.json"

# One fixed modification time for every static file: checkouts change mtimes, tests must not.
LAST_MODIFIED = "Thu, 16 Oct 2025 06:00:00 GMT"
_LAST_MODIFIED_TS = parsedate_to_datetime(LAST_MODIFIED).timestamp()

HUGE_PAGE_BYTES = 50 * 1024 * 1024
GZIP_BOMB_BYTES = 100 * 1024 * 1024  # decompressed size; about 100 KB on the wire
SLOW_SECONDS = 5.0
RETRY_AFTER_SECONDS = 2

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    "": "text/html; charset=utf-8",  # /en/news/<slug>-12345 has no extension
}
_SPECIAL_TYPES = {"/rss.xml": "application/rss+xml; charset=utf-8"}


@dataclass(frozen=True)
class Access:
    time: float
    server: str  # "main" or "plain"
    method: str
    path: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class Article:
    path: str
    url: str
    title: str
    published_at: str
    canonical_url: str


class AccessLog:
    """Thread-safe list of requests, appended by the server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Access] = []

    def append(self, entry: Access) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, *, since: float = 0.0, server: str | None = None) -> list[Access]:
        with self._lock:
            return [e for e in self._entries if e.time >= since and (server is None or e.server == server)]

    def paths(self, *, since: float = 0.0, server: str | None = None) -> list[str]:
        return [e.path for e in self.entries(since=since, server=server)]

    def __iter__(self) -> Iterator[Access]:
        return iter(self.entries())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass
class Site:
    base_url: str
    plain_base_url: str
    access_log: AccessLog
    articles: list[Article]
    plain_articles: list[Article]
    hostile_paths: dict[str, str] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)
    # (server, path) -> (status, headers, body): lets a test change a page for a while;
    # use ``site.override(...)`` so it is removed afterwards.
    overrides: dict[tuple[str, str], tuple[int, dict[str, str], bytes]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def plain_url(self, path: str) -> str:
        return self.plain_base_url + path

    @contextmanager
    def override(
        self,
        path: str,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        server: str = "main",
    ) -> Iterator[None]:
        """Serve ``path`` on ``server`` ("main" or "plain") as given, for the with-block."""
        key = (server, path)
        self.overrides[key] = (status, headers or {}, body)
        try:
            yield
        finally:
            self.overrides.pop(key, None)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc


# Hostile routes: name -> path (all under /hostile/, all linked from /hostile/).
HOSTILE = {
    "redirect_loop": "/hostile/news/2025/10/20/redirect-loop.html",
    "redirect_loop_b": "/hostile/news/2025/10/20/redirect-loop-b.html",
    "too_many_redirects": "/hostile/news/2025/10/20/too-many-redirects.html",
    "slow": "/hostile/news/2025/10/20/slow-response.html",
    "huge": "/hostile/news/2025/10/20/huge-page.html",
    "gzip_bomb": "/hostile/news/2025/10/20/gzip-bomb.html",
    "rate_limited": "/hostile/news/2025/10/20/rate-limited.html",
    "server_error": "/hostile/news/2025/10/20/server-error.html",
    "gone": "/hostile/news/2025/10/20/gone-article.html",
    "not_html": "/hostile/news/2025/10/20/annual-report.html",
    "disallowed": "/hostile/private/2025/10/20/members-only.html",
    "private_address": "http://10.255.255.1/news/2025/10/20/intranet-story.html",
    "metadata_address": "http://169.254.169.254/latest/meta-data/news-2025-10-20-metadata.html",
    "xxe_feed": "/hostile/xxe-feed.xml",
    "broken_feed": "/hostile/broken-feed.xml",
    "huge_sitemap": "/hostile/sitemap-huge.xml",
}
HUGE_SITEMAP_ENTRIES = 200_000

_gzip_bomb_lock = threading.Lock()
_gzip_bomb: bytes | None = None


def _gzip_bomb_body() -> bytes:
    global _gzip_bomb
    with _gzip_bomb_lock:
        if _gzip_bomb is None:
            chunk = b"\0" * (1024 * 1024)
            z = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
            parts = [z.compress(chunk) for _ in range(GZIP_BOMB_BYTES // len(chunk))]
            parts.append(z.flush())
            _gzip_bomb = b"".join(parts)
        return _gzip_bomb


def load_manifest(base_url: str, plain_base_url: str) -> tuple[list[Article], list[Article]]:
    raw = json.loads(MANIFEST.read_text(encoding="utf-8"))

    def build(items: list[dict[str, str]], base: str) -> list[Article]:
        return [
            Article(
                path=i["path"],
                url=base + i["path"],
                title=i["title"],
                published_at=i["published_at"],
                canonical_url=base + i["canonical_path"],
            )
            for i in items
        ]

    return build(raw["main"], base_url), build(raw["plain"], plain_base_url)


def _make_handler(site: Site, server_name: str, root: Path) -> type[BaseHTTPRequestHandler]:
    base = site.base_url if server_name == "main" else site.plain_base_url

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "DalaHerald/1.0"
        # Headers and body are two writes: with Nagle on, each answer waits ~40 ms for the
        # client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # silence stderr
            pass

        def _log(self, status: int) -> None:
            site.access_log.append(
                Access(
                    time=time.time(),
                    server=server_name,
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    status=status,
                )
            )

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self._log(status)
            self.send_response(status)
            hdrs = {"Content-Length": str(len(body))} | (headers or {})
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD" and body:
                with suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if (server_name, path) in site.overrides:
                status, headers, body = site.overrides[(server_name, path)]
                self._send(status, body, headers)
                return
            if server_name == "main" and path.startswith("/hostile/"):
                handler = _DYNAMIC.get(path)
                if handler is not None:
                    handler(self)
                    return
            self._static(path)

        # --- static files with validators ---------------------------------------
        def _static(self, path: str) -> None:
            if server_name == "plain" and path == "/robots.txt":
                self._send(404, b"not found", {"Content-Type": "text/plain"})
                return
            rel = path.lstrip("/")
            target = (root / rel).resolve()
            if not str(target).startswith(str(root.resolve())):
                self._send(403, b"forbidden")
                return
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                self._send(404, b"<html><body>Not found</body></html>", _html_type())
                return
            body = target.read_bytes()
            if target.suffix in {".html", ".xml", ".txt", ""}:
                body = body.replace(b"{{BASE}}", base.encode())
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            ctype = _SPECIAL_TYPES.get(path) or _CONTENT_TYPES.get(target.suffix, "application/octet-stream")
            headers = {"Content-Type": ctype, "ETag": etag, "Last-Modified": LAST_MODIFIED}
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None:
                if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
                    self._send(304, b"", {"ETag": etag, "Last-Modified": LAST_MODIFIED})
                    return
            elif ims is not None:
                try:
                    if parsedate_to_datetime(ims).timestamp() >= _LAST_MODIFIED_TS:
                        self._send(304, b"", {"ETag": etag, "Last-Modified": LAST_MODIFIED})
                        return
                except (TypeError, ValueError):
                    pass
            self._send(200, body, headers)

    return Handler


def _html_type() -> dict[str, str]:
    return {"Content-Type": "text/html; charset=utf-8"}


# --- hostile dynamic routes ----------------------------------------------------------------


def _redirect(to: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h._send(302, b"", {"Location": to})  # type: ignore[attr-defined]

    return handle


def _chain(h: BaseHTTPRequestHandler) -> None:
    # /too-many-redirects.html?n=K redirects to ?n=K+1 forever, each a new URL.
    query = urlsplit(h.path).query
    n = int(query[2:]) if query.startswith("n=") and query[2:].isdigit() else 0
    h._send(302, b"", {"Location": f"{HOSTILE['too_many_redirects']}?n={n + 1}"})  # type: ignore[attr-defined]


def _slow(h: BaseHTTPRequestHandler) -> None:
    # Sends headers and a first byte, then stalls: only a read or total timeout ends it.
    h._log(200)  # type: ignore[attr-defined]
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        h.wfile.write(b"<")
        h.wfile.flush()
        deadline = time.monotonic() + SLOW_SECONDS
        while time.monotonic() < deadline and not h.server.site.stop_event.is_set():  # type: ignore[attr-defined]
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass
    h.close_connection = True


def _huge(h: BaseHTTPRequestHandler) -> None:
    # 50 MB generated on the fly (never committed); the client must stop reading early.
    h._log(200)  # type: ignore[attr-defined]
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(HUGE_PAGE_BYTES))
    h.end_headers()
    chunk = b"<p>" + b"padding " * 8187 + b"</p>\n"  # 65,504 bytes
    sent = 0
    try:
        h.wfile.write(b"<html><body>")
        sent += 12
        while sent + len(chunk) <= HUGE_PAGE_BYTES:
            h.wfile.write(chunk)
            sent += len(chunk)
        h.wfile.write(b" " * (HUGE_PAGE_BYTES - sent))
    except (BrokenPipeError, ConnectionResetError):
        pass
    h.close_connection = True


def _bomb(h: BaseHTTPRequestHandler) -> None:
    body = _gzip_bomb_body()
    h._send(  # type: ignore[attr-defined]
        200, body, {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
    )


def _too_many_requests(h: BaseHTTPRequestHandler) -> None:
    h._send(  # type: ignore[attr-defined]
        429,
        b"<html><body>Slow down</body></html>",
        _html_type() | {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _server_error(h: BaseHTTPRequestHandler) -> None:
    h._send(500, b"<html><body>Internal error</body></html>", _html_type())  # type: ignore[attr-defined]


def _gone(h: BaseHTTPRequestHandler) -> None:
    h._send(404, b"<html><body>Not found</body></html>", _html_type())  # type: ignore[attr-defined]


def _not_html(h: BaseHTTPRequestHandler) -> None:
    h._send(200, b"%PDF-1.4\n" + b"\x00" * 2048, {"Content-Type": "application/pdf"})  # type: ignore[attr-defined]


def _huge_sitemap(h: BaseHTTPRequestHandler) -> None:
    # A sitemap with HUGE_SITEMAP_ENTRIES URLs, streamed; ~15 MB, beyond the default body cap.
    h._log(200)  # type: ignore[attr-defined]
    h.send_response(200)
    h.send_header("Content-Type", "application/xml")
    h.end_headers()  # no Content-Length: the connection close ends the body
    h.close_connection = True
    base = h.server.site.base_url  # type: ignore[attr-defined]
    try:
        h.wfile.write(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        )
        batch = []
        for i in range(HUGE_SITEMAP_ENTRIES):
            batch.append(f"<url><loc>{base}/spam/news/2025/10/01/item-{i}.html</loc></url>\n")
            if len(batch) == 2000:
                h.wfile.write("".join(batch).encode())
                batch = []
        h.wfile.write("".join(batch).encode() + b"</urlset>\n")
    except (BrokenPipeError, ConnectionResetError):
        pass


_DYNAMIC: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    HOSTILE["redirect_loop"]: _redirect(HOSTILE["redirect_loop_b"]),
    HOSTILE["redirect_loop_b"]: _redirect(HOSTILE["redirect_loop"]),
    HOSTILE["too_many_redirects"]: _chain,
    HOSTILE["slow"]: _slow,
    HOSTILE["huge"]: _huge,
    HOSTILE["gzip_bomb"]: _bomb,
    HOSTILE["rate_limited"]: _too_many_requests,
    HOSTILE["server_error"]: _server_error,
    HOSTILE["gone"]: _gone,
    HOSTILE["not_html"]: _not_html,
    HOSTILE["huge_sitemap"]: _huge_sitemap,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: Site

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that drop keep-alive connections (a stopped worker, an aborted 50 MB read)
        # are normal here; anything else is printed as usual.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve_site() -> Iterator[Site]:
    """Serve the fixture site (and its plain variant) on free loopback ports."""
    # Bind first to learn the ports, then build the Site the handlers read from.
    main = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    plain = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base_url = f"http://127.0.0.1:{main.server_address[1]}"
    plain_base_url = f"http://127.0.0.1:{plain.server_address[1]}"
    articles, plain_articles = load_manifest(base_url, plain_base_url)
    site = Site(
        base_url=base_url,
        plain_base_url=plain_base_url,
        access_log=AccessLog(),
        articles=articles,
        plain_articles=plain_articles,
        hostile_paths=dict(HOSTILE),
    )
    main.RequestHandlerClass = _make_handler(site, "main", SITE_DIR / "main")
    plain.RequestHandlerClass = _make_handler(site, "plain", SITE_DIR / "plain")
    # Compress the gzip bomb once, in the background, so its first request is not slow.
    threads = [threading.Thread(target=_gzip_bomb_body, name="fixture-bomb", daemon=True)]
    threads[0].start()
    for name, server in (("main", main), ("plain", plain)):
        server.site = site
        t = threading.Thread(target=server.serve_forever, name=f"fixture-{name}", daemon=True)
        t.start()
        threads.append(t)
    try:
        yield site
    finally:
        site.stop_event.set()
        for server in (main, plain):
            server.shutdown()
            server.server_close()
        for t in threads:
            t.join(timeout=5)


if __name__ == "__main__":  # manual browsing: python -m tests.fixture_site
    with serve_site() as s:
        print(f"main: {s.base_url}/  plain: {s.plain_base_url}/  (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass

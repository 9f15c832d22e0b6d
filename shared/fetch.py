"""Safe HTTP fetching, shared by the crawler and the worker.

* http and https only; every redirect hop is re-checked and counted (``max_redirects``).
* Hosts resolving to private, loopback, link-local, reserved or metadata addresses are
  refused before any connection (SSRF), unless named in ``allowed_private_hosts``.
* connect/read timeouts per socket operation plus a total deadline for the whole fetch.
* The body is read raw and decompressed here, chunk by chunk with a bounded output, so
  neither a huge page nor a gzip bomb can exceed ``max_body_bytes`` in memory.
* Conditional GET (ETag / Last-Modified) -> ``not_modified=True`` on 304.

Errors are ``RetryableError`` / ``PermanentError`` with a ``Reason``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from shared.errors import PermanentError, Reason, RetryableError
from shared.settings import Settings
from shared.urls import ALLOWED_SCHEMES

HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = (
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "text/plain",  # some servers send feeds and sitemaps as text/plain
)
FEED_ACCEPT = "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.5"
_CHUNK = 64 * 1024
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class FetchOptions:
    user_agent: str
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_body_bytes: int = 5_000_000
    max_redirects: int = 5
    allowed_private_hosts: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        return cls(
            user_agent=settings.user_agent_header,
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            total_timeout=settings.fetch_total_timeout,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
            allowed_private_hosts=tuple(settings.allowed_private_hosts),
        )


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool


def make_http_client(options: FetchOptions) -> httpx.Client:
    """One pooled client per process. Redirects are followed by ``fetch`` itself."""
    return httpx.Client(
        follow_redirects=False,
        timeout=httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.read_timeout,
            pool=options.connect_timeout,
        ),
        headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        trust_env=False,  # no proxies or netrc from the environment
    )


# --- address checks -----------------------------------------------------------------------


def _is_forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _allowed(host: str, ips: list[Any], allow: tuple[str, ...]) -> bool:
    if host in allow:
        return True
    networks = []
    for entry in allow:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return bool(ips) and all(any(ip in net for net in networks) for ip in ips)


def check_host(url: str, options: FetchOptions) -> None:
    """Refuse a URL whose host resolves to a non-public address (unless allow-listed)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise PermanentError(Reason.BAD_SCHEME, parts.scheme)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise PermanentError(Reason.BAD_URL, url[:200])
    try:
        ips: list[Any] = [ipaddress.ip_address(host)]
    except ValueError:
        if host in options.allowed_private_hosts:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise RetryableError(Reason.DNS_ERROR, f"{host}: {exc}") from exc
        ips = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if any(_is_forbidden_ip(ip) for ip in ips) and not _allowed(host, ips, options.allowed_private_hosts):
        raise PermanentError(Reason.PRIVATE_ADDRESS, host)


# --- header helpers -----------------------------------------------------------------------


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    mime, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower() or None
    return mime.strip().lower() or None, charset


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), bounded."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, min(when - (now if now is not None else time.time()), MAX_RETRY_AFTER))


# --- body reading -------------------------------------------------------------------------


def _read_body(response: httpx.Response, options: FetchOptions, deadline: float) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").lower().strip()
    declared = response.headers.get("content-length")
    if (
        encoding in ("", "identity")
        and declared
        and declared.isdigit()
        and int(declared) > options.max_body_bytes
    ):
        raise PermanentError(Reason.OVERSIZED, f"content-length {declared}")
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    else:
        raise PermanentError(Reason.BAD_ENCODING, f"content-encoding {encoding[:40]}")
    limit = options.max_body_bytes
    out = bytearray()
    raw_total = 0
    for chunk in response.iter_raw(_CHUNK):
        if time.monotonic() > deadline:
            raise RetryableError(Reason.TIMEOUT, "total timeout while reading body")
        raw_total += len(chunk)
        if raw_total > limit:
            raise PermanentError(Reason.OVERSIZED, f"more than {limit} bytes on the wire")
        if decoder is None:
            out += chunk
        else:
            try:
                # max_length bounds the output of this call; the rest stays in the decoder.
                out += decoder.decompress(chunk, limit + 1 - len(out))
                if decoder.unconsumed_tail:
                    raise PermanentError(Reason.OVERSIZED, f"decompresses past {limit} bytes")
            except zlib.error as exc:
                raise PermanentError(Reason.BAD_ENCODING, f"corrupt {encoding}: {exc}") from exc
        if len(out) > limit:
            raise PermanentError(Reason.OVERSIZED, f"more than {limit} bytes decoded")
    if decoder is not None:
        try:
            out += decoder.flush()
        except zlib.error as exc:
            raise PermanentError(Reason.BAD_ENCODING, f"corrupt {encoding}: {exc}") from exc
        if len(out) > limit:
            raise PermanentError(Reason.OVERSIZED, f"more than {limit} bytes decoded")
    return bytes(out)


def _type_allowed(mime: str | None, content_types: tuple[str, ...] | None) -> bool:
    return content_types is None or mime is None or mime in content_types


def fetch(
    client: httpx.Client,
    url: str,
    options: FetchOptions,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = "text/html,application/xhtml+xml",
    content_types: tuple[str, ...] | None = HTML_TYPES,
    before_hop: Callable[[str], None] | None = None,
) -> FetchResult:
    """GET ``url`` safely; see the module docstring. ``content_types=None`` accepts any type.

    ``before_hop(url)`` runs before each redirect hop is requested (``polite_fetch`` checks
    robots.txt and the rate limit of a new host there); it may raise to stop the fetch.
    """
    deadline = time.monotonic() + options.total_timeout
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    visited: set[str] = set()
    for hop in range(options.max_redirects + 1):
        check_host(current, options)
        if hop and before_hop is not None:
            before_hop(current)
        visited.add(current)
        try:
            with client.stream("GET", current, headers=headers) as response:
                status = response.status_code
                if status in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise PermanentError(Reason.HTTP_4XX, f"redirect {status} without Location")
                    try:
                        nxt = urljoin(current, location.strip())
                    except ValueError as exc:
                        raise PermanentError(Reason.BAD_URL, location[:200]) from exc
                    if nxt in visited:
                        raise PermanentError(Reason.REDIRECT_LOOP, f"{current} -> {nxt}"[:300])
                    current = nxt
                    continue
                return _finish(url, current, response, options, deadline, content_types)
        except httpx.TimeoutException as exc:
            raise RetryableError(Reason.TIMEOUT, f"{type(exc).__name__}") from exc
        except httpx.TooManyRedirects as exc:  # pragma: no cover - we never let httpx follow
            raise PermanentError(Reason.TOO_MANY_REDIRECTS, str(exc)) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentError(Reason.BAD_URL, str(exc)[:200]) from exc
        except httpx.DecodingError as exc:
            raise PermanentError(Reason.BAD_ENCODING, str(exc)[:200]) from exc
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise RetryableError(Reason.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}"[:300]) from exc
        if time.monotonic() > deadline:
            raise RetryableError(Reason.TIMEOUT, "total timeout during redirects")
    raise PermanentError(Reason.TOO_MANY_REDIRECTS, f"more than {options.max_redirects} hops")


def _finish(
    url: str,
    final_url: str,
    response: httpx.Response,
    options: FetchOptions,
    deadline: float,
    content_types: tuple[str, ...] | None,
) -> FetchResult:
    status = response.status_code
    headers = {k.lower(): v for k, v in response.headers.items()}
    mime, charset = parse_content_type(headers.get("content-type"))
    etag = headers.get("etag")
    last_modified = headers.get("last-modified")
    if status == 304:
        return FetchResult(url, final_url, status, headers, b"", mime, charset, etag, last_modified, True)
    if status == 429:
        raise RetryableError(
            Reason.RATE_LIMITED,
            "HTTP 429",
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if status == 503 and "retry-after" in headers:
        raise RetryableError(
            Reason.RATE_LIMITED,
            "HTTP 503",
            retry_after=parse_retry_after(headers.get("retry-after")),
        )
    if status >= 500:
        raise RetryableError(Reason.HTTP_5XX, f"HTTP {status}")
    if status == 408:
        raise RetryableError(Reason.TIMEOUT, "HTTP 408")
    if status >= 400:
        raise PermanentError(Reason.HTTP_4XX, f"HTTP {status}")
    if not 200 <= status < 300:
        raise PermanentError(Reason.HTTP_4XX, f"unexpected HTTP {status}")
    if not _type_allowed(mime, content_types):
        raise PermanentError(Reason.NOT_HTML, f"content-type {mime}"[:200])
    content = _read_body(response, options, deadline)
    return FetchResult(url, final_url, status, headers, content, mime, charset, etag, last_modified, False)

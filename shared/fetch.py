"""Safe HTTP fetching, shared by the crawler and the worker.

* http and https only; every redirect hop is re-checked and counted (``max_redirects``).
* Hosts resolving to private, loopback, link-local, reserved or metadata addresses are
  refused before any connection (SSRF), unless named in ``allowed_private_hosts``. IPv6 forms
  that embed an IPv4 address are judged by that address: IPv4-mapped ``::ffff:a.b.c.d``,
  IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96`` and
  ``64:ff9b:1::/48``; Teredo ``2001::/32`` is refused outright (a tunnel whose far end we
  cannot check).
* DNS rebinding is closed: the client's transport resolves each host itself, checks every
  address and connects to the address it checked (:class:`PinnedBackend`); the URL keeps the
  host name, so the Host header, TLS SNI and certificate verification stay those of the host.
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

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

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
    """One pooled client per process. Redirects are followed by ``fetch`` itself; every
    connection goes to an address :class:`PinnedBackend` resolved and checked."""
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
    return httpx.Client(
        transport=PinnedTransport(options, limits=limits),
        follow_redirects=False,
        timeout=httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.read_timeout,
            pool=options.connect_timeout,
        ),
        headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
        trust_env=False,  # no proxies or netrc from the environment
    )


class PinnedBackend(SyncBackend):
    """httpcore's socket backend, resolving and checking the host itself.

    httpcore opens the TCP connection with ``connect_tcp(host)`` and starts TLS afterwards with
    the request's own host name, so connecting to the checked IP here pins the address
    without touching Host, SNI or certificate checks. The check and the connect use one
    resolution: a name that answers a public address to ``check_host`` and a private one a
    moment later cannot reach the private one.
    """

    def __init__(self, allowed_private_hosts: tuple[str, ...]) -> None:
        self._allow = allowed_private_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self._allow)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream: httpcore.NetworkStream = super().connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"{host}: no address")


class PinnedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose pool connects through :class:`PinnedBackend`."""

    def __init__(self, options: FetchOptions, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        ssl_context = self._pool._ssl_context  # the context httpx built (certifi, verify on)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(options.allowed_private_hosts),
        )


# --- address checks -----------------------------------------------------------------------


_TEREDO = ipaddress.ip_network("2001::/32")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _TEREDO:
            return True
        inner = embedded_ipv4(ip)
        if inner is not None:
            ip = inner
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


def resolve_checked(host: str, port: int, allow: tuple[str, ...]) -> list[Any]:
    """Resolve ``host`` once and return its addresses, or refuse it: one forbidden address
    (private, loopback, metadata, an IPv6 form embedding one) refuses the whole host unless
    it is allow-listed by name or every address lies in an allow-listed network."""
    host = host.lower().rstrip(".").strip("[]")
    try:
        ips: list[Any] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise RetryableError(Reason.DNS_ERROR, f"{host}: {exc}") from exc
        ips = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if any(_is_forbidden_ip(ip) for ip in ips) and not _allowed(host, ips, allow):
        raise PermanentError(Reason.PRIVATE_ADDRESS, host)
    return ips


def check_host(url: str, options: FetchOptions) -> None:
    """Refuse a URL whose host resolves to a non-public address (unless allow-listed).

    An early, friendly refusal; the connection itself is checked again by
    :class:`PinnedBackend` against the address it actually uses."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise PermanentError(Reason.BAD_SCHEME, parts.scheme)
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise PermanentError(Reason.BAD_URL, url[:200])
    resolve_checked(
        host, parts.port or (443 if parts.scheme.lower() == "https" else 80), options.allowed_private_hosts
    )


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

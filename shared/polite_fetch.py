"""Polite fetching: robots.txt (cached per origin in Redis) + the shared per-host rate limit.

``polite_fetch`` is what the crawler and the worker call for every request:

1. the URL's host must be a public address (or allow-listed) - checked before anything;
2. robots.txt for the host comes from Redis, or is fetched once (taking a rate-limit slot);
   4xx means "no rules", 5xx or no answer means "wait and retry" (RFC 9309);
3. a disallowed URL raises ``PermanentError(DISALLOWED_BY_ROBOTS)``;
4. a slot is taken from the shared per-host limit: the source's configured rate for the
   host if the crawler set one, else ``default_rate``; never faster than Crawl-delay;
   when none is free, ``HostBusy(host, wait, booked=...)``: the runner delays the message to
   the booked slot and the booking ``{host, at[, url]}`` travels with it - delayed, never
   dropped, never spinning. A booking is spent only on a request to its own host (a
   redirect hop to another host books there, and the retry resumes at that hop);
5. 429/503 with Retry-After push the whole host back for every process.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import httpx
import redis

from shared.errors import HostBusy, PermanentError, Reason, RetryableError
from shared.fetch import FetchOptions, FetchResult, check_host, fetch
from shared.keys import Keys
from shared.ratelimit import BOOKING_HORIZON_SECONDS, Booking, acquire_slot, interval_for, push_back
from shared.robots import MAX_ROBOTS_BYTES, Robots, crawl_delay, is_allowed, page_noindex, parse_robots
from shared.urls import robots_origin, url_host, url_origin

ROBOTS_UNREACHABLE_SECONDS = 120.0  # how long a 5xx/unreachable robots.txt blocks a host


def agent_token(options: FetchOptions) -> str:
    """The product token robots.txt groups are matched against (``newsflow``)."""
    return options.user_agent.split("/", 1)[0].split(" ", 1)[0].lower()


def ensure_indexable(result: FetchResult, options: FetchOptions) -> None:
    """``PermanentError(NOINDEX)`` when a fetched page asks not to be indexed (meta robots or
    ``X-Robots-Tag``, for every crawler or for ours). For article pages only: a listing
    marked noindex is still read for its links."""
    if page_noindex(result.content, result.headers.get("x-robots-tag"), agent_token(options)):
        raise PermanentError(Reason.NOINDEX, result.final_url[:300])


class PendingBooking:
    """The booking this try carries: spent on the first request to its own host, once.

    Share one between the calls of a try (robots.txt, listing, page) so only one spends it.
    (Spending it twice would not break politeness, the Lua script refuses the second, but
    would cost a wait.)
    """

    def __init__(self, booking: Booking | None) -> None:
        self._booking = booking
        self._resume = booking.resume if booking is not None else None

    def take_resume(self) -> str | None:
        """The redirect hop the booking was made for (its retry starts there), once."""
        resume, self._resume = self._resume, None
        if resume is None or self._booking is None or url_host(resume) != self._booking.host:
            return None
        return resume

    def take(self, host: str) -> Booking | None:
        booking = self._booking
        if booking is None or booking.host != host:
            return None
        self._booking = None
        return booking


def _take_slot(
    r: redis.Redis,
    keys: Keys,
    host: str,
    interval: float,
    floor: float | None = None,
    *,
    pending: PendingBooking | None = None,
) -> None:
    booking = pending.take(host) if pending is not None else None
    grant = acquire_slot(r, keys, host, interval, floor_seconds=floor or 0.0, booking=booking)
    if grant.go:
        return
    if grant.booking is not None:
        raise HostBusy(host, grant.wait, booked=True)
    # The queue for this host is longer than the horizon: come back nearer the turn.
    raise HostBusy(host, max(1.0, -grant.wait - BOOKING_HORIZON_SECONDS / 2), booked=False)


def _pending(booking: Booking | PendingBooking | None) -> PendingBooking:
    return booking if isinstance(booking, PendingBooking) else PendingBooking(booking)


def _pushing_back(r: redis.Redis, keys: Keys, host: str, exc: RetryableError) -> None:
    if exc.reason is Reason.RATE_LIMITED and exc.retry_after:
        push_back(r, keys, host, exc.retry_after)


def get_robots(
    client: httpx.Client,
    r: redis.Redis,
    keys: Keys,
    url: str,
    options: FetchOptions,
    *,
    robots_ttl: float,
    default_rate: float,
    booking: Booking | PendingBooking | None = None,
) -> Robots:
    """The rules for ``url``'s origin (scheme, host, port: one robots.txt each, RFC 9309)
    from the Redis cache, fetching robots.txt when missing (taking a slot of the host's
    rate limit). A file larger than 500 KiB is cut there and its start parsed."""
    host = url_host(url)
    key = keys.robots(robots_origin(url))
    cached = r.get(key)
    if cached is not None:
        entry = json.loads(cached)
        if entry["status"] == "unreachable":
            ttl = r.ttl(key)
            wait = float(ttl) if isinstance(ttl, int) and ttl > 0 else ROBOTS_UNREACHABLE_SECONDS
            raise RetryableError(Reason.HTTP_5XX, f"robots.txt of {host} unreachable", retry_after=wait)
        return _parse_robots(entry.get("text", ""))
    _take_slot(r, keys, host, interval_for(default_rate), pending=_pending(booking))
    robots_options = dataclasses.replace(options, max_body_bytes=MAX_ROBOTS_BYTES, truncate_body=True)
    status, text = "ok", ""
    try:
        result = fetch(
            client,
            url_origin(url) + "/robots.txt",
            robots_options,
            accept="text/plain,*/*;q=0.5",
            content_types=None,
        )
        content = result.content
        if len(content) >= MAX_ROBOTS_BYTES:  # cut at the limit: drop the partial last line
            content = content[: content.rfind(b"\n") + 1]
        text = content.decode(result.charset or "utf-8", errors="replace")
    except PermanentError as exc:
        if exc.reason in (Reason.PRIVATE_ADDRESS, Reason.BAD_SCHEME, Reason.BAD_URL):
            raise
        status = "allow_all"  # 4xx, odd redirects: no usable rules means allowed
    except RetryableError as exc:
        _pushing_back(r, keys, host, exc)
        wait = max(exc.retry_after or 0.0, ROBOTS_UNREACHABLE_SECONDS)
        r.set(key, json.dumps({"status": "unreachable"}), ex=int(wait))
        raise RetryableError(exc.reason, f"robots.txt of {host}: {exc.detail}", retry_after=wait) from exc
    r.set(key, json.dumps({"status": status, "text": text}), ex=max(1, int(robots_ttl)))
    return _parse_robots(text)


# Parsed rules per process, by text: a 500 KiB file is parsed once, not on every fetch.
_parse_robots = functools.lru_cache(maxsize=256)(parse_robots)


def polite_fetch(
    client: httpx.Client,
    r: redis.Redis,
    keys: Keys,
    url: str,
    options: FetchOptions,
    *,
    robots_ttl: float,
    default_rate: float,
    booking: Booking | PendingBooking | None = None,
    **fetch_kwargs: Any,
) -> FetchResult:
    """``fetch`` behind robots.txt and the shared per-host rate limit (see module docstring).

    ``booking``: the slot an earlier try booked, when this call is its retry scheduled for
    that slot; the first request made here to the booking's host (robots.txt, the page, or a
    redirect hop to that host) spends it. A booking for another host is never spent here.
    """
    check_host(url, options)
    pending = _pending(booking)
    start = pending.take_resume() or url  # the retry of a redirect hop that waited for its host
    if start != url:
        check_host(start, options)
    host = url_host(start)
    robots = get_robots(
        client, r, keys, start, options, robots_ttl=robots_ttl, default_rate=default_rate, booking=pending
    )
    agent = agent_token(options)
    if not is_allowed(robots, agent, start):
        raise PermanentError(Reason.DISALLOWED_BY_ROBOTS, start[:300])
    _take_slot(r, keys, host, interval_for(default_rate), crawl_delay(robots, agent), pending=pending)

    requested = [host]  # the host of the last request: a 429 pushes back that one

    def before_hop(hop_url: str) -> None:
        # A redirect to another host is a request to that host: its robots.txt and its
        # rate limit apply too. (Same-host hops ride on the slot already taken.)
        hop_host = url_host(hop_url)
        requested.append(hop_host)
        if hop_host == requested[-2]:
            return
        try:
            hop_robots = get_robots(
                client,
                r,
                keys,
                hop_url,
                options,
                robots_ttl=robots_ttl,
                default_rate=default_rate,
                booking=pending,
            )
            if not is_allowed(hop_robots, agent, hop_url):
                raise PermanentError(Reason.DISALLOWED_BY_ROBOTS, hop_url[:300])
            _take_slot(
                r, keys, hop_host, interval_for(default_rate), crawl_delay(hop_robots, agent), pending=pending
            )
        except HostBusy as busy:
            if not busy.booked:
                raise
            # The retry resumes at this hop with the slot booked on its own host.
            raise HostBusy(hop_host, busy.wait, booked=True, resume=hop_url) from None

    try:
        result = fetch(client, start, options, before_hop=before_hop, **fetch_kwargs)
        return result if start == url else dataclasses.replace(result, url=url)
    except RetryableError as exc:
        _pushing_back(r, keys, requested[-1], exc)
        raise

"""Polite fetching: robots.txt (cached per host in Redis) + the shared per-host rate limit.

``polite_fetch`` is what the crawler and the worker call for every request:

1. the URL's host must be a public address (or allow-listed) - checked before anything;
2. robots.txt for the host comes from Redis, or is fetched once (taking a rate-limit slot);
   4xx means "no rules", 5xx or no answer means "wait and retry" (RFC 9309);
3. a disallowed URL raises ``PermanentError(DISALLOWED_BY_ROBOTS)``;
4. a slot is taken from the shared per-host limit: the source's configured rate for the
   host if the crawler set one, else ``default_rate``; never faster than Crawl-delay;
   when none is free, ``HostBusy(host, wait, booked=...)``: the runner delays the message to
   the booked slot - delayed, never dropped, never spinning;
5. 429/503 with Retry-After push the whole host back for every process.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import httpx
import redis

from shared.errors import HostBusy, PermanentError, Reason, RetryableError
from shared.fetch import FetchOptions, FetchResult, check_host, fetch
from shared.keys import Keys
from shared.ratelimit import BOOKING_HORIZON_SECONDS, acquire_slot, interval_for, push_back
from shared.robots import MAX_ROBOTS_BYTES, Robots, crawl_delay, is_allowed, parse_robots
from shared.urls import url_host, url_origin

ROBOTS_UNREACHABLE_SECONDS = 120.0  # how long a 5xx/unreachable robots.txt blocks a host


def agent_token(options: FetchOptions) -> str:
    """The product token robots.txt groups are matched against (``newsflow``)."""
    return options.user_agent.split("/", 1)[0].split(" ", 1)[0].lower()


@dataclass
class Booking:
    """A request slot for ``host`` that an earlier try booked (``HostBusy.booked``) and whose
    time has now come: it serves this try's next request to that host, once."""

    host: str | None = None

    def use(self, host: str) -> bool:
        if self.host is None or self.host != host:
            return False
        self.host = None
        return True


def _take_slot(
    r: redis.Redis,
    keys: Keys,
    host: str,
    interval: float,
    floor: float | None = None,
    *,
    booking: Booking | None = None,
) -> None:
    if booking is not None and booking.use(host):
        return
    wait = acquire_slot(r, keys, host, interval, floor_seconds=floor or 0.0)
    if wait > 0:
        raise HostBusy(host, wait, booked=True)
    if wait < 0:  # the queue for this host is longer than the horizon: come back nearer the turn
        raise HostBusy(host, max(1.0, -wait - BOOKING_HORIZON_SECONDS / 2), booked=False)


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
    booking: Booking | None = None,
) -> Robots:
    """The host's robots rules from the Redis cache, fetching robots.txt when missing."""
    host = url_host(url)
    key = keys.robots(host)
    cached = r.get(key)
    if cached is not None:
        entry = json.loads(cached)
        if entry["status"] == "unreachable":
            ttl = r.ttl(key)
            wait = float(ttl) if isinstance(ttl, int) and ttl > 0 else ROBOTS_UNREACHABLE_SECONDS
            raise RetryableError(Reason.HTTP_5XX, f"robots.txt of {host} unreachable", retry_after=wait)
        return parse_robots(entry.get("text", ""))
    _take_slot(r, keys, host, interval_for(default_rate), booking=booking)
    robots_options = dataclasses.replace(
        options, max_body_bytes=min(options.max_body_bytes, MAX_ROBOTS_BYTES)
    )
    status, text = "ok", ""
    try:
        result = fetch(
            client,
            url_origin(url) + "/robots.txt",
            robots_options,
            accept="text/plain,*/*;q=0.5",
            content_types=None,
        )
        text = result.content.decode(result.charset or "utf-8", errors="replace")
    except PermanentError as exc:
        if exc.reason in (Reason.PRIVATE_ADDRESS, Reason.BAD_SCHEME, Reason.BAD_URL):
            raise
        status = "allow_all"  # 4xx, oversized, odd redirects: no usable rules means allowed
    except RetryableError as exc:
        _pushing_back(r, keys, host, exc)
        wait = max(exc.retry_after or 0.0, ROBOTS_UNREACHABLE_SECONDS)
        r.set(key, json.dumps({"status": "unreachable"}), ex=int(wait))
        raise RetryableError(exc.reason, f"robots.txt of {host}: {exc.detail}", retry_after=wait) from exc
    r.set(key, json.dumps({"status": status, "text": text}), ex=max(1, int(robots_ttl)))
    return parse_robots(text)


def polite_fetch(
    client: httpx.Client,
    r: redis.Redis,
    keys: Keys,
    url: str,
    options: FetchOptions,
    *,
    robots_ttl: float,
    default_rate: float,
    booking: Booking | None = None,
    **fetch_kwargs: Any,
) -> FetchResult:
    """``fetch`` behind robots.txt and the shared per-host rate limit (see module docstring).

    ``booking``: the slot an earlier try booked, when this call is its retry scheduled for
    that slot; the first request made here (robots.txt or the page) uses it.
    """
    check_host(url, options)
    host = url_host(url)
    robots = get_robots(
        client, r, keys, url, options, robots_ttl=robots_ttl, default_rate=default_rate, booking=booking
    )
    agent = agent_token(options)
    if not is_allowed(robots, agent, url):
        raise PermanentError(Reason.DISALLOWED_BY_ROBOTS, url[:300])
    _take_slot(r, keys, host, interval_for(default_rate), crawl_delay(robots, agent), booking=booking)

    requested = [host]  # the host of the last request: a 429 pushes back that one

    def before_hop(hop_url: str) -> None:
        # A redirect to another host is a request to that host: its robots.txt and its
        # rate limit apply too. (Same-host hops ride on the slot already taken.)
        hop_host = url_host(hop_url)
        requested.append(hop_host)
        if hop_host == host:
            return
        hop_robots = get_robots(
            client, r, keys, hop_url, options, robots_ttl=robots_ttl, default_rate=default_rate
        )
        if not is_allowed(hop_robots, agent, hop_url):
            raise PermanentError(Reason.DISALLOWED_BY_ROBOTS, hop_url[:300])
        _take_slot(
            r, keys, hop_host, interval_for(default_rate), crawl_delay(hop_robots, agent), booking=booking
        )

    try:
        return fetch(client, url, options, before_hop=before_hop, **fetch_kwargs)
    except RetryableError as exc:
        _pushing_back(r, keys, requested[-1], exc)
        raise

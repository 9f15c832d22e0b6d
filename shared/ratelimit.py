"""The per-host rate limit shared by every process and machine: one Redis key per host.

The key holds the earliest time (Redis server clock, microseconds) at which the next request
to that host may start. ``acquire_slot`` runs one Lua script that books the next free slot
and moves the key one interval past it: a caller either goes now, or holds a booking
``wait`` seconds ahead and is retried exactly then without booking again. Bookings make a
burst of N URLs for one host cost N retries in all, not N² as first-come-first-served
polling would. Bookings reach at most :data:`BOOKING_HORIZON_SECONDS` ahead; beyond that the
caller is told to come back when its turn is within the horizon. No process ever sleeps
or spins here.

``push_back`` (429/503 with Retry-After, or a robots Crawl-delay) moves the time further.
"""

from __future__ import annotations

import redis

from shared.keys import Keys

# KEYS[1] next-allowed key, KEYS[2] per-host interval override (seconds, set by the
# crawler from a source's rate_per_second); ARGV[1] default interval us; ARGV[2] minimum key
# ttl ms; ARGV[3] floor us (robots Crawl-delay); ARGV[4] booking horizon us.
# Returns the wait in microseconds of the slot it booked (0: go now), or minus the wait to
# the first free slot when that lies beyond the horizon (nothing booked).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[1])
local override = tonumber(redis.call('GET', KEYS[2]) or '')
if override then interval = override * 1000000 end
interval = math.max(interval, tonumber(ARGV[3]))
local slot = math.max(now, nxt)
local wait = slot - now
if wait > tonumber(ARGV[4]) then return -wait end
local ttl = math.max(tonumber(ARGV[2]), math.floor((wait + interval) / 500))
redis.call('SET', KEYS[1], string.format('%d', slot + interval), 'PX', ttl)
return wait
"""

# KEYS[1]; ARGV[1] delay us; ARGV[2] ttl ms. Never moves the time backwards.
_PUSH_BACK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local target = now + tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if target > nxt then
  redis.call('SET', KEYS[1], string.format('%d', target), 'PX', ARGV[2])
end
return target - now
"""

_MIN_TTL_MS = 60_000
# How far ahead a slot may be booked; a later turn is told to come back nearer the time.
BOOKING_HORIZON_SECONDS = 300.0


def interval_for(rate_per_second: float) -> float:
    """Seconds between two requests to one host at ``rate_per_second``."""
    return 1.0 / rate_per_second if rate_per_second > 0 else 1.0


def acquire_slot(
    r: redis.Redis, keys: Keys, host: str, interval_seconds: float, *, floor_seconds: float = 0.0
) -> float:
    """Book the next request slot for ``host``.

    Returns 0.0 (go now), a positive wait in seconds (a slot is booked then), or a negative
    number: the first free slot is that many seconds away, beyond the booking horizon, and
    nothing was booked. The spacing is the host's configured interval
    (``set_host_interval``) if any, else ``interval_seconds``, and never less than
    ``floor_seconds`` (Crawl-delay).
    """
    interval_us = int(interval_seconds * 1_000_000)
    floor_us = int(floor_seconds * 1_000_000)
    ttl_ms = max(_MIN_TTL_MS, int(max(interval_seconds, floor_seconds) * 2000))
    wait_us = r.eval(
        _ACQUIRE,
        2,
        keys.host_next_slot(host),
        keys.host_interval(host),
        interval_us,
        ttl_ms,
        floor_us,
        int(BOOKING_HORIZON_SECONDS * 1_000_000),
    )
    return int(wait_us) / 1_000_000


def set_host_interval(
    r: redis.Redis, keys: Keys, host: str, rate_per_second: float, ttl_seconds: float
) -> None:
    """Make ``rate_per_second`` the limit of ``host`` for every process (crawler and worker)."""
    r.set(keys.host_interval(host), repr(interval_for(rate_per_second)), ex=max(1, int(ttl_seconds)))


def push_back(r: redis.Redis, keys: Keys, host: str, delay_seconds: float) -> None:
    """Nobody requests ``host`` for ``delay_seconds`` (Retry-After)."""
    delay_us = int(max(delay_seconds, 0.0) * 1_000_000)
    ttl_ms = max(_MIN_TTL_MS, int(delay_seconds * 2000))
    r.eval(_PUSH_BACK, 1, keys.host_next_slot(host), delay_us, ttl_ms)

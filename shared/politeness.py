"""The per-host rate limit shared by every process and machine: one Redis key per host.

The key holds the earliest time (Redis server clock, microseconds) at which the next request
to that host may start. ``acquire_slot`` runs one Lua script: if that time has come, it
moves it ``interval`` ahead and grants the slot; otherwise it returns how long to wait. No
process ever sleeps or spins here: a caller that must wait raises ``RATE_LIMITED`` with the
wait as ``retry_after`` and its task is retried with that countdown.

``push_back`` (429/503 with Retry-After, or a robots Crawl-delay) moves the time further.
"""

from __future__ import annotations

import redis

from shared.keys import Keys

# KEYS[1] next-allowed key, KEYS[2] per-host interval override (seconds, set by the
# crawler from a source's rate_per_second); ARGV[1] default interval us; ARGV[2] key ttl ms;
# ARGV[3] floor us (robots Crawl-delay). Returns 0 when the slot is granted, else the wait
# in microseconds.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt > now then return nxt - now end
local interval = tonumber(ARGV[1])
local override = tonumber(redis.call('GET', KEYS[2]) or '')
if override then interval = override * 1000000 end
interval = math.max(interval, tonumber(ARGV[3]))
redis.call('SET', KEYS[1], string.format('%d', now + interval), 'PX', ARGV[2])
return 0
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


def interval_for(rate_per_second: float) -> float:
    """Seconds between two requests to one host at ``rate_per_second``."""
    return 1.0 / rate_per_second if rate_per_second > 0 else 1.0


def acquire_slot(
    r: redis.Redis, keys: Keys, host: str, interval_seconds: float, *, floor_seconds: float = 0.0
) -> float:
    """0.0 if a request to ``host`` may start now (and the slot is taken), else seconds to wait.

    The spacing is the host's configured interval (``set_host_interval``) if any, else
    ``interval_seconds``, and never less than ``floor_seconds`` (Crawl-delay).
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

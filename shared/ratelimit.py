"""The per-host rate limit shared by every process and machine: one Redis hash per host.

Two things are kept per host (``Keys.host_state``), both on the Redis server clock (µs):

* ``next``: the booking frontier, the earliest slot not yet promised to anyone. A caller that
  cannot go now **books** the next slot and is retried exactly then: a burst of N URLs for one
  host costs N waits in all, not N² as first-come-first-served polling would.
* ``starts``: the start times of the last few requests actually made. Every request, booked
  or not, is checked against them **at request time**, in the same Lua script that records
  it. So a booking that runs late (a stalled worker, a slow delay pump) can never fire back
  to back with the next one: it is refused and books again.

The guarantee, per host and across any number of processes: never two request starts closer
than half the interval, and never more than ``rate + 1`` in any one-second window. Both are
enforced with a margin (the gap is half the interval plus up to a quarter, at most 20 ms
more; the window is one second plus up to 100 ms), which absorbs the time between the
grant here and the request reaching the site, so the site's own log shows the bound too. ``until`` (429/503 Retry-After, set by ``push_back``) blocks even booked requests.

A booking (:class:`Booking`) names its host and slot; it is spent only on that host, once.
Bookings reach at most :data:`BOOKING_HORIZON_SECONDS` ahead; beyond that nothing is booked
and the caller comes back when its turn is nearer. No process ever sleeps or spins here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from shared.keys import Keys

# KEYS[1] host state hash, KEYS[2] per-host interval override (seconds, set by the crawler
# from a source's rate_per_second).
# ARGV[1] default interval us; ARGV[2] floor us (robots Crawl-delay); ARGV[3] booking
# horizon us; ARGV[4] booked slot us (-1: no booking); ARGV[5] minimum key ttl ms.
# Returns {wait_us, slot_us}: {0, now} go now (recorded); {w, s} with w > 0: slot s is booked
# for the caller (or, for a booking not yet due, still held); {-w, 0}: nothing free within
# the horizon, nothing booked.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local override = tonumber(redis.call('GET', KEYS[2]) or '')
if override then interval = override * 1000000 end
interval = math.max(interval, tonumber(ARGV[2]), 1000)
local horizon = tonumber(ARGV[3])
local booked = tonumber(ARGV[4])
local st = redis.call('HMGET', KEYS[1], 'next', 'until', 'starts')
local nxt = tonumber(st[1] or '0') or 0
local blocked = tonumber(st[2] or '0') or 0
local starts = {}
if st[3] then
  for s in string.gmatch(st[3], '[^,]+') do starts[#starts + 1] = tonumber(s) end
end
local cap = math.floor(1000000 / interval + 1e-9) + 1
local window = 1000000 + math.min(interval / 2, 100000)
local gap = interval / 2 + math.min(interval / 4, 20000)
local earliest = blocked
if starts[1] then earliest = math.max(earliest, starts[1] + gap) end
if #starts >= cap then earliest = math.max(earliest, starts[cap] + window) end

local function keep(frontier)
  local ttl = math.max(tonumber(ARGV[5]), math.floor((math.max(frontier, blocked) - now + 2 * window) / 1000))
  redis.call('PEXPIRE', KEYS[1], ttl)
end

local function go()
  table.insert(starts, 1, now)
  local parts = {}
  for i = 1, math.min(#starts, cap) do parts[i] = string.format('%d', starts[i]) end
  local frontier = math.max(nxt, now + interval)
  redis.call('HSET', KEYS[1], 'next', string.format('%d', frontier), 'starts', table.concat(parts, ','))
  keep(frontier)
  return {0, now}
end

if booked >= 0 then
  -- Not due yet (50 ms of slack: the message's time comes from the runner's clock).
  if now < booked - 50000 then return {booked - now, booked} end
  if now >= earliest then return go() end
  -- Too close to a request actually made (this booking ran late): it is void; book afresh.
end
local slot = math.max(now, nxt, earliest)
if slot <= now then return go() end
local wait = slot - now
if wait > horizon then return {-wait, 0} end
redis.call('HSET', KEYS[1], 'next', string.format('%d', slot + interval))
keep(slot + interval)
return {wait, slot}
"""

# KEYS[1] host state; ARGV[1] delay us; ARGV[2] minimum ttl ms. Never moves times backwards.
_PUSH_BACK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local target = now + tonumber(ARGV[1])
local st = redis.call('HMGET', KEYS[1], 'next', 'until')
local nxt = tonumber(st[1] or '0') or 0
local blocked = tonumber(st[2] or '0') or 0
if target > blocked then redis.call('HSET', KEYS[1], 'until', string.format('%d', target)) end
if target > nxt then redis.call('HSET', KEYS[1], 'next', string.format('%d', target)) end
local ttl = math.max(tonumber(ARGV[2]), math.floor((target - now) / 1000) + 60000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return target - now
"""

_MIN_TTL_MS = 60_000
# How far ahead a slot may be booked; a later turn is told to come back nearer the time.
BOOKING_HORIZON_SECONDS = 300.0


@dataclass(frozen=True)
class Booking:
    """A request slot promised to one caller: ``host`` at ``at`` (epoch seconds, Redis clock).

    Travels in the retried message as ``{"host": ..., "at": ...}``; spent at most once, and
    only on a request to ``host``. ``resume``: when the slot was booked for a redirect hop,
    the hop's URL, so the retry goes on from there instead of asking the first host again
    (which would need a slot of its own and could keep the two from ever lining up).
    """

    host: str
    at: float
    resume: str | None = None

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"host": self.host, "at": self.at}
        if self.resume:
            message["url"] = self.resume
        return message

    @classmethod
    def from_message(cls, raw: object) -> Booking | None:
        """The booking a message carries (``shared.messages.Booking`` or its dict), or None
        (absent or malformed: book afresh)."""
        if raw is not None and not isinstance(raw, dict):
            raw = {name: getattr(raw, name, None) for name in ("host", "at", "url")}
        if not isinstance(raw, dict):
            return None
        host, at, resume = raw.get("host"), raw.get("at"), raw.get("url")
        if not isinstance(host, str) or not host or not isinstance(at, int | float):
            return None
        return cls(host, float(at), resume if isinstance(resume, str) and resume else None)


@dataclass(frozen=True)
class Grant:
    """The answer of :func:`acquire_slot`.

    ``wait == 0``: go now (the request is recorded). ``wait > 0``: ``booking`` is yours, come
    back in ``wait`` seconds. ``wait < 0`` (``booking`` None): nothing free within the
    horizon; the first free slot is ``-wait`` seconds away.
    """

    wait: float
    booking: Booking | None = None
    started: float | None = None  # go now: the request's start on the Redis clock

    @property
    def go(self) -> bool:
        return self.wait == 0


def interval_for(rate_per_second: float) -> float:
    """Seconds between two requests to one host at ``rate_per_second``."""
    return 1.0 / rate_per_second if rate_per_second > 0 else 1.0


def acquire_slot(
    r: redis.Redis,
    keys: Keys,
    host: str,
    interval_seconds: float,
    *,
    floor_seconds: float = 0.0,
    booking: Booking | None = None,
) -> Grant:
    """Go now, or book the next request slot for ``host`` (see the module docstring).

    The spacing is the host's configured interval (``set_host_interval``) if any, else
    ``interval_seconds``, never less than ``floor_seconds`` (Crawl-delay). ``booking``: the
    slot an earlier try booked for this host; it is spent here if its time has come and the
    host's recent requests allow it, else a new slot is booked.
    """
    if booking is not None and booking.host != host:
        booking = None  # a booking belongs to its host
    ttl_ms = max(_MIN_TTL_MS, int(max(interval_seconds, floor_seconds) * 2000))
    # EVALSHA (redis-py loads the script again after a Redis restart): every request to a
    # host runs this, so its 2 KB of source is not sent each time.
    wait_us, slot_us = r.register_script(_ACQUIRE)(
        keys=[keys.host_state(host), keys.host_interval(host)],
        args=[
            int(interval_seconds * 1_000_000),
            int(floor_seconds * 1_000_000),
            int(BOOKING_HORIZON_SECONDS * 1_000_000),
            int(booking.at * 1_000_000) if booking is not None else -1,
            ttl_ms,
        ],
    )
    wait = int(wait_us) / 1_000_000
    if wait > 0:
        return Grant(wait, Booking(host, int(slot_us) / 1_000_000))
    if wait == 0:
        return Grant(0.0, started=int(slot_us) / 1_000_000)
    return Grant(wait)


def set_host_interval(
    r: redis.Redis, keys: Keys, host: str, rate_per_second: float, ttl_seconds: float
) -> None:
    """Make ``rate_per_second`` the limit of ``host`` for every process (crawler and worker)."""
    r.set(keys.host_interval(host), repr(interval_for(rate_per_second)), ex=max(1, int(ttl_seconds)))


def push_back(r: redis.Redis, keys: Keys, host: str, delay_seconds: float) -> None:
    """Nobody requests ``host`` for ``delay_seconds`` (Retry-After), bookings included."""
    delay_us = int(max(delay_seconds, 0.0) * 1_000_000)
    r.eval(_PUSH_BACK, 1, keys.host_state(host), delay_us, _MIN_TTL_MS)

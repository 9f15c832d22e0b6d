"""THE one way to delay a message: a Redis sorted set of ``(task, kwargs)`` entries by due time.

Retries with backoff, waits for a booked politeness slot and dead-letter replays all land
here, never in a Celery ``countdown``/``eta`` (which a worker holds unacknowledged until
its time, and which a short visibility timeout would hand out twice). Nothing waits
inside a worker, so the broker's unacknowledged messages are only the ones being worked on.

Each entry is one sorted-set member, JSON ``{"id", "task", "kwargs"}``, scored by its due
time on the **Redis server's clock** (the same clock the politeness bookings use).

A :class:`Pump` thread runs in every service process and moves due entries on, lease-claimed
and at least once:

1. ``claim`` (one Lua script) takes up to N due entries and pushes their score ``lease``
   seconds ahead, so another pump does not take them meanwhile;
2. the pump dispatches them by task name (one pipelined round trip per task);
3. then removes them. A pump that dies between 1 and 3 leaves its entries in the set; they
   are due again when the lease runs out and another pump sends them (a duplicate at
   worst, which every stage tolerates: the document ``_id`` is the URL's hash).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis
import structlog

from shared.keys import Keys

log = structlog.get_logger(__name__)


class Sender(Protocol):
    def send_many(self, task: str, kwargs_list: list[dict[str, Any]]) -> None: ...


# KEYS[1] delayed set; ARGV[1] seconds from now (Redis clock); ARGV[2] member.
_SCHEDULE_IN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], string.format('%.6f', now + tonumber(ARGV[1])), ARGV[2])
return 1
"""

# KEYS[1] delayed set; ARGV[1] lease seconds; ARGV[2] most entries to take.
# Returns the due members, oldest due first, each now scored at the end of its lease.
_CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now),
                       'LIMIT', 0, tonumber(ARGV[2]))
local leased = string.format('%.6f', now + tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], leased, member)
end
return due
"""


def encode_entry(task: str, kwargs: Mapping[str, Any]) -> str:
    """The member for one delayed message. ``shared.deadletters`` writes the same shape."""
    return json.dumps({"id": uuid.uuid4().hex, "task": task, "kwargs": kwargs}, separators=(",", ":"))


@dataclass(frozen=True)
class Delayed:
    member: str  # the raw sorted-set member, to remove it once dispatched
    task: str
    kwargs: dict[str, Any]


def _decode(member: str) -> Delayed | None:
    try:
        entry = json.loads(member)
        task, kwargs = entry["task"], entry["kwargs"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(task, str) or not isinstance(kwargs, dict):
        return None
    return Delayed(member, task, kwargs)


class DelayQueue:
    def __init__(self, r: redis.Redis, keys: Keys) -> None:
        self._r, self._key = r, keys.delayed
        self._schedule_in = r.register_script(_SCHEDULE_IN)
        self._claim = r.register_script(_CLAIM)

    def schedule(self, task: str, kwargs: Mapping[str, Any], at: float) -> None:
        """Send ``task(**kwargs)`` at ``at`` (epoch seconds on the Redis clock) or soon after."""
        self._r.zadd(self._key, {encode_entry(task, kwargs): at})

    def schedule_in(self, task: str, kwargs: Mapping[str, Any], seconds: float) -> None:
        """Send ``task(**kwargs)`` ``seconds`` from now, measured on the Redis clock."""
        self._schedule_in(keys=[self._key], args=[max(0.0, seconds), encode_entry(task, kwargs)])

    def claim(self, lease_seconds: float, limit: int) -> list[Delayed | str]:
        """Due entries, leased to the caller; malformed members come back as raw strings."""
        members = self._claim(keys=[self._key], args=[lease_seconds, limit])
        return [_decode(m) or m for m in members]

    def remove(self, members: Iterable[str]) -> None:
        members = list(members)
        if members:
            self._r.zrem(self._key, *members)

    def size(self) -> int:
        return int(self._r.zcard(self._key))

    def entries(self) -> list[tuple[Delayed | str, float]]:
        """Every entry with its due time, soonest first (for tests and ``status``)."""
        return [(_decode(m) or m, float(s)) for m, s in self._r.zrange(self._key, 0, -1, withscores=True)]


class Pump:
    """Moves due delayed messages to their queues; one thread per service process."""

    def __init__(
        self,
        delay: DelayQueue,
        sender: Sender,
        *,
        poll_seconds: float = 0.2,
        lease_seconds: float = 30.0,
        batch: int = 500,
        on_malformed: Callable[[str], None] | None = None,
    ) -> None:
        self._delay, self._sender = delay, sender
        self._poll, self._lease, self._batch = poll_seconds, lease_seconds, batch
        self._on_malformed = on_malformed  # keeps an unsendable entry, e.g. as a dead letter
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pump_once(self) -> int:
        """Claim, dispatch and remove what is due now; returns how many were sent."""
        claimed = self._delay.claim(self._lease, self._batch)
        by_task: dict[str, list[Delayed]] = {}
        for entry in claimed:
            if isinstance(entry, str):
                log.error("delayed_entry_malformed", member=entry[:300])
                if self._on_malformed is not None:
                    self._on_malformed(entry)
                self._delay.remove([entry])
                continue
            by_task.setdefault(entry.task, []).append(entry)
        sent = 0
        for task, entries in by_task.items():  # dicts keep the due order within each task
            try:
                self._sender.send_many(task, [e.kwargs for e in entries])
            except ValueError:  # no route for this task (a version skew): it can never be sent
                log.error("delayed_entry_unroutable", task=task, entries=len(entries))
                if self._on_malformed is not None:
                    for e in entries:
                        self._on_malformed(e.member)
            self._delay.remove(e.member for e in entries)
            sent += len(entries)
        return sent

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.pump_once() >= self._batch:
                    continue  # more are due: no pause
            except Exception as exc:  # Redis or broker away: the entries wait, leased or not
                log.warning("delay_pump_failed", error=str(exc)[:300])
                self._stop.wait(1.0)
            self._stop.wait(self._poll)

    def start(self) -> Pump:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="delay-pump", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

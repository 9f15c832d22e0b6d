"""Reading the queues' state for operators: lengths, the oldest waiting item, delays, dead letters.

One reading serves ``newsflow status`` and the cluster gauges of ``shared.metrics``.

* Celery queues are Redis lists in the **broker** Redis (``BROKER_URL``): their length is what
  waits, not what workers hold (prefetched and running messages sit in kombu's unacked hash).
  kombu messages carry no enqueue time, so the age of the oldest waiting message is measured by
  watching the list's tail (the next message out): :class:`QueueProbe` remembers when it first
  saw the current tail; the age is exact to one reading interval (a scrape).
* The index hop is a Redis Stream (group ``indexers``) in the shared-state Redis whose entries
  are deleted once settled: its length is what is unsettled, pending (delivered, unacknowledged)
  and lag (not yet delivered) come from ``XINFO GROUPS``, and entry ids are millisecond
  timestamps, so the oldest unsettled entry's age is exact.
* The delay queue is a sorted set scored by due time: its size and how overdue its head is.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import redis

from shared import index_stream
from shared.deadletters import DeadLetters
from shared.index_stream import GROUP as INDEX_GROUP
from shared.keys import Keys
from shared.messages import Queue

CELERY_QUEUES = (Queue.CRAWL, Queue.EXTRACT)


class QueueProbe:
    """Reads queue state; keeps the tail-watch memory between readings."""

    def __init__(self, broker: redis.Redis, state: redis.Redis, keys: Keys) -> None:
        self._broker, self._state, self._keys = broker, state, keys
        self._tails: dict[str, tuple[str, float]] = {}

    def _list(self, queue: str, now: float) -> dict[str, Any]:
        key = self._keys.queue(queue)
        pipe = self._broker.pipeline(transaction=False)
        pipe.llen(key)
        pipe.lindex(key, -1)  # kombu LPUSHes and BRPOPs: the tail is the oldest
        length, tail = pipe.execute()
        if not length or tail is None:
            self._tails.pop(queue, None)
            return {"length": int(length or 0), "oldest_age_seconds": 0.0}
        tag = hashlib.blake2b(str(tail).encode("utf-8", "replace"), digest_size=8).hexdigest()
        seen_tag, since = self._tails.get(queue, ("", now))
        if seen_tag != tag:
            since = now
            self._tails[queue] = (tag, now)
        return {"length": int(length), "oldest_age_seconds": max(0.0, now - since)}

    def _stream(self, now: float) -> dict[str, Any]:
        """Entries are deleted once settled, so the stream holds exactly the unsettled ones."""
        length = index_stream.length(self._state, self._keys)
        try:
            groups = self._state.xinfo_groups(self._keys.index_stream)
        except redis.ResponseError:  # no stream yet
            groups = []
        group = next((g for g in groups if g.get("name") == INDEX_GROUP), None)
        pending = int(group.get("pending") or 0) if group else 0
        lag = group.get("lag") if group else length
        oldest = index_stream.oldest_age_seconds(self._state, self._keys, now)
        return {
            "length": length,
            "pending": pending,
            "lag": int(lag) if lag is not None else None,
            "oldest_age_seconds": oldest or 0.0,
        }

    def _delayed(self, now: float) -> dict[str, Any]:
        pipe = self._state.pipeline(transaction=False)
        pipe.zcard(self._keys.delayed)
        pipe.zrange(self._keys.delayed, 0, 0, withscores=True)
        items, head = pipe.execute()
        overdue = max(0.0, now - float(head[0][1])) if head else 0.0
        return {"items": int(items), "overdue_seconds": overdue}

    def dead_letters(self) -> int:
        return dead_letter_count(self._state, self._keys)

    def read(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        queues = {q: self._list(q, now) for q in CELERY_QUEUES}
        # The index hop is a stream once the lead's indexer runs; a Celery list before that.
        stream_exists = bool(self._state.exists(self._keys.index_stream))
        queues[Queue.INDEX] = self._stream(now) if stream_exists else self._list(Queue.INDEX, now)
        return {
            "queues": queues,
            "unacked": int(self._broker.hlen(self._keys.unacked)),  # held by workers right now
            "delayed": self._delayed(now),
            "dead_letters": self.dead_letters(),
        }


def dead_letter_count(r: redis.Redis, keys: Keys) -> int:
    return DeadLetters(r, keys).count()


def queue_depths(broker: redis.Redis, keys: Keys | str) -> dict[str, int]:
    """What is waiting or held: each Celery list, the index stream, kombu's unacked messages
    and the delay queue (one Redis for both roles, as the e2e tests run it)."""
    keys = Keys(keys) if isinstance(keys, str) else keys
    depths = {q: int(broker.llen(keys.queue(q))) for q in CELERY_QUEUES}
    depths[Queue.INDEX] = index_stream.length(broker, keys)
    depths["unacked"] = int(broker.hlen(keys.unacked))
    depths["delayed"] = int(broker.zcard(keys.delayed))
    return depths

"""The index hop: worker -> one Redis Stream -> the indexers' consumer group.

Why a stream and not a Celery queue for this hop: the indexer works in batches of hundreds
of documents, and a stream gives a batch what a list of Celery messages cannot:

* one ``XREADGROUP`` reads a whole batch, one pipelined ``XACK``+``XDEL`` settles it, so the
  per-document broker cost is a few microseconds instead of two round trips per message;
* each document is acknowledged on its own, after its bulk item succeeded or its outcome
  (dead letter) was durably recorded;
* the pending-entries list (PEL) keeps a delivery count per entry: a document whose
  indexer died while holding it comes back with its count raised, so poison is bounded;
* a live consumer keeps what it holds by re-claiming it (``XCLAIM ... JUSTID``, which
  resets the idle time without counting a delivery); an entry idle longer than
  ``claim_idle_seconds`` belonged to a dead consumer and any other consumer takes it over
  (``XAUTOCLAIM``). A consumer restarted under the same name reads its own PEL first, at once.

Entries are deleted when acknowledged, so ``XLEN`` is the number of documents not yet
settled: the crawler's backpressure reads it. The payload is the ``IndexDocument`` message
as JSON under one field, the same dict a dead letter keeps and a replay re-sends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from shared.keys import Keys

GROUP = "indexers"
FIELD = "m"


def publish(r: redis.Redis, keys: Keys, messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Append messages to the stream in one round trip; returns their entry ids."""
    if not messages:
        return []
    pipe = r.pipeline(transaction=False)
    for message in messages:
        pipe.xadd(keys.index_stream, {FIELD: json.dumps(message, separators=(",", ":"), default=str)})
    return [str(entry_id) for entry_id in pipe.execute()]


def length(r: redis.Redis, keys: Keys) -> int:
    """Documents published and not yet settled (waiting plus held by an indexer)."""
    return int(r.xlen(keys.index_stream))


def oldest_age_seconds(r: redis.Redis, keys: Keys, now: float | None = None) -> float | None:
    """Age of the oldest unsettled document (entry ids start with their epoch milliseconds)."""
    first = r.xrange(keys.index_stream, count=1)
    if not first:
        return None
    millis = int(str(first[0][0]).split("-", 1)[0])
    return max(0.0, (now if now is not None else time.time()) - millis / 1000)


@dataclass(frozen=True)
class Entry:
    id: str
    raw: str  # the message JSON, validated by the consumer (it may be malformed)
    deliveries: int  # times handed to a consumer, this one included


class StreamConsumer:
    """One member of the ``indexers`` group: read, hold, acknowledge."""

    def __init__(self, r: redis.Redis, keys: Keys, name: str, *, claim_idle_seconds: float) -> None:
        self._r, self._key, self.name = r, keys.index_stream, name
        self._claim_idle_ms = int(claim_idle_seconds * 1000)
        self._own_pending_done = False
        # Own pending entries are read in id order from here: entries still held are pending
        # too, and reading from "0" again would hand them out a second time.
        self._own_cursor = "0"

    def ensure_group(self) -> None:
        try:
            self._r.xgroup_create(self._key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int, block_ms: int) -> list[Entry]:
        """Up to ``count`` entries: first this consumer's own pending ones (left by an earlier
        life under the same name), then entries abandoned by dead consumers, then new ones."""
        if count <= 0:
            return []
        while not self._own_pending_done:
            own, last = self._read_group(self._own_cursor, count, block_ms=None)
            if last is None:
                self._own_pending_done = True
                break
            self._own_cursor = last
            if own:
                return own
        claimed = self._claim_abandoned(count)
        if claimed:
            return claimed
        return self._read_group(">", count, block_ms=block_ms)[0]

    def hold(self, ids: Iterable[str]) -> None:
        """Keep entries this consumer still works on from looking abandoned."""
        ids = list(ids)
        if ids:
            self._r.xclaim(self._key, GROUP, self.name, 0, ids, justid=True)

    def ack(self, ids: Iterable[str]) -> None:
        """Settle entries: acknowledged and deleted, in one round trip."""
        ids = list(ids)
        if not ids:
            return
        pipe = self._r.pipeline(transaction=False)
        pipe.xack(self._key, GROUP, *ids)
        pipe.xdel(self._key, *ids)
        pipe.execute()

    def _read_group(self, start: str, count: int, block_ms: int | None) -> tuple[list[Entry], str | None]:
        """The entries read from ``start``, and the id of the last one Redis returned (also
        when deleted while pending: the next read of own pending entries starts after it)."""
        try:
            response = self._r.xreadgroup(GROUP, self.name, {self._key: start}, count=count, block=block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()  # Redis came back without the group (lost before a fsync)
            return [], None
        ids = [str(i) for _, messages in (response or []) for i, _ in messages]
        last = ids[-1] if ids else None
        rows = [(str(i), f) for _, messages in (response or []) for i, f in messages if f]
        gone = [str(i) for _, messages in (response or []) for i, f in messages if not f]
        if gone:  # deleted while pending (settled by a consumer that lost its ack): drop them
            self._r.xack(self._key, GROUP, *gone)
        if start == ">":
            return [Entry(i, _field(f), 1) for i, f in rows], last
        return self._with_counts(rows), last

    def _claim_abandoned(self, count: int) -> list[Entry]:
        _, messages, *_ = self._r.xautoclaim(
            self._key, GROUP, self.name, self._claim_idle_ms, start_id="0-0", count=count
        )
        return self._with_counts([(str(i), f) for i, f in messages if f])

    def _with_counts(self, rows: list[tuple[str, Mapping[str, Any]]]) -> list[Entry]:
        if not rows:
            return []
        pending = self._r.xpending_range(
            self._key, GROUP, min=rows[0][0], max=rows[-1][0], count=len(rows) * 2, consumername=self.name
        )
        counts = {str(p["message_id"]): int(p["times_delivered"]) for p in pending}
        return [Entry(i, _field(f), counts.get(i, 1)) for i, f in rows]


def _field(fields: Mapping[str, Any]) -> str:
    value = fields.get(FIELD)
    return value if isinstance(value, str) else json.dumps({k: str(v) for k, v in fields.items()})

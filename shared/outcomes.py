"""One outcome per item: a structured log event, a counter in Redis and a Prometheus counter.

Outcomes naming a source also feed its health notes (``shared.source_health``).

Counting outcomes is then one ``HGETALL`` (``make status``) or one Kibana query on the
``outcome``/``reason`` fields, and every URL can be traced end to end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import redis
import structlog

from shared import metrics
from shared.errors import Reason
from shared.keys import Keys
from shared.source_health import HealthNotes

log = structlog.get_logger(__name__)

# Items named in one listed event (``OutcomeTally.record_many``): 50 ids and URLs make a
# line of ~10 KB, under the 16 KB at which Docker and CRI runtimes split a log line.
ITEMS_PER_EVENT = 50


def record_outcome(
    r: redis.Redis,
    keys: Keys,
    event: str,
    *,
    stage: str,
    outcome: str,
    reason: Reason | None = None,
    **fields: Any,
) -> None:
    """Log ``event`` with its outcome and bump ``stage:outcome[:reason]`` in Redis."""
    tally = OutcomeTally(r, keys, stage)
    tally.record(event, outcome=outcome, reason=reason, **fields)
    tally.flush()


class OutcomeTally:
    """Outcomes of a batch: one log event per item, counters written in one round trip."""

    def __init__(self, r: redis.Redis, keys: Keys, stage: str) -> None:
        self._r, self._keys, self._stage = r, keys, stage
        self._counts: Counter[str] = Counter()
        self._health = HealthNotes(keys)  # per-source notes (ops)

    def record(self, event: str, *, outcome: str, reason: Reason | None = None, **fields: Any) -> None:
        if reason is None:
            log.info(event, outcome=outcome, **fields)
        else:
            log.warning(event, outcome=outcome, reason=str(reason), **fields)
        self._counts[f"{self._stage}:{outcome}" + (f":{reason}" if reason else "")] += 1
        metrics.observe_outcome(self._stage, outcome, str(reason) if reason else None, fields)
        self._health.note(self._stage, outcome, str(reason) if reason else None, fields)

    def record_many(self, event: str, *, outcome: str, items: Sequence[Mapping[str, Any]]) -> None:
        """Items that share one outcome and no reason: counted one by one like ``record``, but
        logged as one event per ``ITEMS_PER_EVENT`` items, each field a list in item order
        (``doc_id=[...]``, ``url=[...]``) plus ``count``. For a stage that settles hundreds of
        items a round: an event per item was a quarter of the indexer's CPU, and a listed
        event still finds any URL's outcome by its ``url`` field."""
        if not items:
            return
        for start in range(0, len(items), ITEMS_PER_EVENT):
            chunk = items[start : start + ITEMS_PER_EVENT]
            listed = {name: [item.get(name) for item in chunk] for name in chunk[0]}
            log.info(event, outcome=outcome, count=len(chunk), **listed)
        self._counts[f"{self._stage}:{outcome}"] += len(items)
        metrics.observe_outcome(self._stage, outcome, None, amount=len(items))
        context = structlog.contextvars.get_contextvars()  # once, not per item
        for fields in items:
            self._health.note(self._stage, outcome, None, fields, context)

    def flush(self, *, forget: str | None = None) -> None:
        """Write the counters; ``forget``: a best-effort key to delete in the same round trip
        (the runner's delivery count of a message that ended)."""
        if not self._counts and forget is None:
            return
        try:
            pipe = self._r.pipeline(transaction=False)
            for counter, n in self._counts.items():
                pipe.hincrby(self._keys.counters, counter, n)
            self._health.write(pipe)
            if forget is not None:
                pipe.delete(forget)
            pipe.execute()
        except redis.RedisError as exc:  # a counter is not worth failing the items for
            log.warning("counter_failed", counters=dict(self._counts), error=str(exc)[:200])
        self._counts.clear()
        self._health.clear()


def read_counters(r: redis.Redis, keys: Keys) -> dict[str, int]:
    raw: dict[str, str] = r.hgetall(keys.counters)
    return {k: int(v) for k, v in sorted(raw.items())}

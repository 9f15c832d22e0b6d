"""DEPRECATED shim over ``shared.deadletters`` for the Celery indexer until the lead's stream
indexer replaces it. New code uses ``shared.deadletters.DeadLetters`` (via ``shared.deps``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis

from shared.deadletters import DeadLetters
from shared.delay import DelayQueue, Pump
from shared.errors import Reason
from shared.keys import Keys


def dead_letter(
    r: redis.Redis,
    keys: Keys,
    *,
    task: str,
    kwargs: dict[str, Any],
    reason: Reason,
    error: object,
    attempts: int,
) -> None:
    DeadLetters(r, keys).add(task=task, kwargs=kwargs, reason=reason, error=error, attempts=attempts)


def list_dead_letters(r: redis.Redis, keys: Keys, limit: int = 100) -> list[dict[str, Any]]:
    entries = DeadLetters(r, keys).list(limit)
    for entry in entries:  # the old entries' time field
        entry["failed_at"] = datetime.fromtimestamp(entry["last_failure"], UTC).isoformat()
    return entries


class _SendTask:
    """A ``send_task`` sender (Celery app or the like) as the pump's ``send_many``."""

    def __init__(self, sender: Any) -> None:
        self._sender = sender

    def send_many(self, task: str, kwargs_list: list[dict[str, Any]]) -> None:
        for kwargs in kwargs_list:
            self._sender.send_task(task, kwargs=kwargs)


def replay_dead_letters(r: redis.Redis, keys: Keys, sender: Any = None) -> int:
    """Every dead letter back into the delay queue, due now (atomically); with a ``sender``,
    also pump the due delayed messages through it at once, for callers without a pump."""
    n = DeadLetters(r, keys).replay()
    if sender is not None:
        Pump(DelayQueue(r, keys), _SendTask(sender)).pump_once()
    return n

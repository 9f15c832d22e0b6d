"""The dead-letter store: permanent or exhausted failures, kept for inspection and replay.

Each entry is JSON with the task name, its arguments, the reason, the attempt count, the
truncated error and the time. ``make dlq`` lists them, ``make dlq-replay`` re-sends them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from shared.errors import Reason
from shared.keys import Keys
from shared.logging import truncate


class TaskSender(Protocol):
    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any: ...


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
    entry = {
        "task": task,
        "kwargs": kwargs,
        "reason": str(reason),
        "error": truncate(error),
        "attempts": attempts,
        "failed_at": datetime.now(UTC).isoformat(),
    }
    r.rpush(keys.dead_letters, json.dumps(entry, default=str))


def list_dead_letters(r: redis.Redis, keys: Keys, limit: int = 100) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in r.lrange(keys.dead_letters, 0, limit - 1)]


def replay_dead_letters(r: redis.Redis, keys: Keys, sender: TaskSender) -> int:
    """Re-send every dead letter by task name; an entry leaves the list only once re-sent."""
    replayed = 0
    while True:
        raw = r.lpop(keys.dead_letters)
        if raw is None:
            return replayed
        entry = json.loads(raw)
        try:
            kwargs = dict(entry["kwargs"])
            for counter in ("attempt", "waits"):  # a replay gets a fresh retry budget
                if counter in kwargs:
                    kwargs[counter] = 0
            sender.send_task(entry["task"], kwargs=kwargs)
        except Exception:
            r.lpush(keys.dead_letters, raw)
            raise
        replayed += 1

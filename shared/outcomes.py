"""One outcome per item: a structured log event plus a counter in Redis.

Counting outcomes is then one ``HGETALL`` (``make status``) or one Kibana query on the
``outcome``/``reason`` fields, and every URL can be traced end to end.
"""

from __future__ import annotations

from typing import Any

import redis
import structlog

from shared.errors import Reason
from shared.keys import Keys

log = structlog.get_logger(__name__)


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
    if reason is None:
        log.info(event, outcome=outcome, **fields)
    else:
        log.warning(event, outcome=outcome, reason=str(reason), **fields)
    counter = f"{stage}:{outcome}" + (f":{reason}" if reason else "")
    try:
        r.hincrby(keys.counters, counter, 1)
    except redis.RedisError as exc:  # a counter is not worth failing the item for
        log.warning("counter_failed", counter=counter, error=str(exc)[:200])


def read_counters(r: redis.Redis, keys: Keys) -> dict[str, int]:
    raw: dict[str, str] = r.hgetall(keys.counters)  # type: ignore[assignment]
    return {k: int(v) for k, v in sorted(raw.items())}

"""Redis client factory: one pooled client per process."""

from __future__ import annotations

import redis

from shared.settings import Settings


def make_redis(settings: Settings) -> redis.Redis:
    # Short socket timeouts: a stalled Redis must surface as a retryable error, not a hang.
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
    )

"""How long a retryable failure waits before its next try: one policy for every service.

Pure functions; the caller passes the random ``jitter`` in [0, 1) so they stay testable.
"""

from __future__ import annotations

from shared.celery_app import MAX_COUNTDOWN_SECONDS
from shared.errors import RetryableError


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0, jitter: float = 0.0) -> float:
    """Exponential backoff; ``jitter`` in [0, 1) spreads retries of one outage apart."""
    return min(cap, base * (2 ** max(0, attempt))) * (1 + jitter)


def retry_countdown(exc: RetryableError, attempt: int, jitter: float) -> float:
    """Seconds until the next try of something that failed with ``exc`` on try ``attempt``.

    * a booked request slot: exactly when it comes (jitter would waste or collide with it);
    * a wait the host asked for (Retry-After, a busy host): that, plus up to 25 % jitter;
    * otherwise exponential backoff from 2 s, plus up to 25 % jitter.
    Never beyond the broker's countdown limit.
    """
    if exc.slot_reserved and exc.retry_after is not None:
        return min(exc.retry_after, MAX_COUNTDOWN_SECONDS)
    base = exc.retry_after if exc.retry_after is not None else backoff_seconds(attempt)
    return min(MAX_COUNTDOWN_SECONDS, base * (1 + 0.25 * jitter))

"""How long a message waits before its next try: one policy object per stage.

``RetryPolicy`` comes from settings (``<STAGE>_RETRY_*``); ``delay_seconds`` is pure, the
caller passing the random ``jitter`` in [0, 1) so it stays testable. ``shared.runner`` is the
only caller: it decides *whether* to try again, this module only *when*.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import RetryableError
from shared.settings import Settings

# Longest wait we accept from a Retry-After header or a backoff: beyond this the site or
# the setting is unreasonable, and an hour is long enough to ride out any outage step.
MAX_DELAY_SECONDS = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int  # retries of a RetryableError; one more failure is a dead letter
    max_waits: int  # waits for our own host slot (HostBusy); one more is a dead letter
    base_seconds: float = 2.0  # first backoff, doubled per attempt
    cap_seconds: float = 300.0  # longest backoff
    jitter: float = 0.25  # a backoff is stretched by up to this fraction

    @classmethod
    def for_stage(cls, settings: Settings, stage: str) -> RetryPolicy:
        """The policy of ``stage`` (``crawl`` or ``extract``) from ``<STAGE>_RETRY_*``."""
        return cls(
            max_attempts=getattr(settings, f"{stage}_retry_max_attempts"),
            max_waits=getattr(settings, f"{stage}_retry_max_waits"),
            base_seconds=getattr(settings, f"{stage}_retry_base_seconds"),
            cap_seconds=getattr(settings, f"{stage}_retry_cap_seconds"),
            jitter=getattr(settings, f"{stage}_retry_jitter"),
        )


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0, jitter: float = 0.0) -> float:
    """Exponential backoff; ``jitter`` in [0, 1) spreads retries of one outage apart."""
    return min(cap, base * (2 ** max(0, attempt))) * (1 + jitter)


def delay_seconds(policy: RetryPolicy, exc: RetryableError, attempt: int, jitter: float) -> float:
    """Seconds until the next try of something that failed with ``exc`` on try ``attempt``.

    * a wait the site asked for (Retry-After): that, plus up to ``policy.jitter`` more;
    * otherwise exponential backoff from ``base_seconds`` up to ``cap_seconds``, plus jitter.
    Never beyond :data:`MAX_DELAY_SECONDS`.
    """
    if exc.retry_after is not None:
        base = exc.retry_after
    else:
        base = backoff_seconds(attempt, base=policy.base_seconds, cap=policy.cap_seconds)
    return min(MAX_DELAY_SECONDS, base * (1 + policy.jitter * jitter))

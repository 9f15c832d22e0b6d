"""Adaptive polling, as pure functions: how long until a source is polled again.

After each poll round the interval moves towards the source's observed rhythm: a round that
found new articles shortens it (in proportion to how many), an empty round lengthens it by
half. A busy wire page thus settles near the minimum (a minute or two) and a quiet blog
drifts to the maximum (an hour or more), always within the configured bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

GROWTH = 1.5  # an empty round: wait 50% longer next time
TARGET_NEW_PER_ROUND = 2.0  # aim for about this many new articles per poll


@dataclass(frozen=True)
class PollBounds:
    min_seconds: float
    max_seconds: float


def next_interval(current: float | None, new_count: int, bounds: PollBounds) -> float:
    """The next re-poll interval after a round that yielded ``new_count`` new articles."""
    if current is None or current <= 0:
        current = bounds.min_seconds
    if new_count <= 0:
        interval = current * GROWTH
    else:
        # Scale towards TARGET_NEW_PER_ROUND: 8 new in a round -> a quarter of the wait,
        # 1 new -> unchanged-ish (x2 capped by shrinking never growing on yield).
        interval = current * min(1.0, TARGET_NEW_PER_ROUND / new_count)
    return max(bounds.min_seconds, min(bounds.max_seconds, interval))
